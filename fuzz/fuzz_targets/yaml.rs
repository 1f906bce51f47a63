//! The YAML reader on arbitrary input: parsing descriptor files must never panic, overflow the
//! stack or exceed its limits (documents, nodes, depth, alias expansion per document and per
//! file), and locating a field in what parsed must never panic either.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run yaml -- -max_total_time=600` from `fuzz/`; the seed
//! corpus is `fuzz/corpus/yaml`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use portico_model::yaml::{YamlLimits, locate, parse_documents_with};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Small limits, so that the fuzzer reaches them.
    let limits = YamlLimits { max_file_bytes: 1 << 20, max_documents: 1_000, max_nodes: 100_000, max_entity_bytes: 64 << 10, ..YamlLimits::default() };
    if let Ok(docs) = parse_documents_with(text, &limits) {
        assert!(docs.len() <= limits.max_documents);
        for (i, doc) in docs.iter().enumerate() {
            // Every parsed document is under the entity limit (its JSON is a fair measure).
            assert!(serde_json::to_vec(doc).map_or(0, |v| v.len()) <= 2 * limits.max_entity_bytes + 1024);
            let _ = locate(text, i, "metadata.name");
            let _ = locate(text, i, "spec.x[3].y");
        }
    }
});
