//! Backstage filter strings on arbitrary input: parsing must never panic, must take time linear
//! in the input (a 690 KB filter with many keys once took 18 s), and must keep to its cap on
//! statements.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run filter -- -max_total_time=600` from `fuzz/`; the seed
//! corpus is `fuzz/corpus/filter`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_graph::filter::{MAX_STATEMENTS, parse_filter_json, parse_filter_params};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // As query parameters: split where a URL would have `&filter=`.
    let params: Vec<&str> = text.split('&').collect();
    if let Ok(Some(filter)) = parse_filter_params(&params) {
        let statements: usize = filter.any_of.iter().map(|a| a.all_of.len()).sum();
        assert!(statements <= MAX_STATEMENTS);
        assert!(filter.any_of.iter().all(|a| a.all_of.iter().all(|s| !s.key.is_empty())));
    }
    // As a request body: any JSON value.
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(text) {
        let _ = parse_filter_json(&value);
    }
});
