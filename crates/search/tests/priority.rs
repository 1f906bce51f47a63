//! The indexer runs below the rest of the process in CPU priority, and so do the threads its
//! index writer starts (Linux: read from `/proc`). A test binary of its own: other tests make
//! indexes, and their writers' threads, at normal priority.

#![cfg(target_os = "linux")]

use portico_catalog::{Catalog, CatalogOptions};
use portico_search::SearchIndex;
use portico_store::testing::TestDb;

/// The nice value in a `/proc/…/stat` line (field 19; fields after the name start at 3).
fn nice_in(stat: &str) -> i32 {
    stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(16).unwrap().parse().unwrap()
}

/// Every thread of this process: its name and nice value.
fn threads() -> Vec<(String, i32)> {
    let mut out = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        // A thread may end while this reads.
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else { continue };
        let name = stat[stat.find('(').unwrap() + 1..stat.rfind(')').unwrap()].to_owned();
        out.push((name, nice_in(&stat)));
    }
    out
}

fn nice_of_this_thread() -> i32 {
    nice_in(&std::fs::read_to_string("/proc/thread-self/stat").unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_indexer_and_its_writer_threads_run_ten_nice_steps_below_the_process() {
    let db = TestDb::sqlite().await;
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let normal = nice_of_this_thread();
    let index = SearchIndex::follow(&catalog).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !index.is_ready() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(index.is_ready(), "the index was built");
    let threads = threads();
    let indexing: Vec<&(String, i32)> = threads.iter().filter(|(name, _)| name == "search-index" || name.starts_with("merge_thread") || name.starts_with("thrd-tantivy")).collect();
    assert!(indexing.iter().any(|(name, _)| name == "search-index"), "{threads:?}");
    assert!(indexing.iter().any(|(name, _)| name.starts_with("merge_thread")), "the writer's threads are there: {threads:?}");
    let lowered = (normal + 10).min(19);
    assert!(indexing.iter().all(|(_, nice)| *nice == lowered), "every indexing thread at nice {lowered}: {indexing:?}");
    assert_eq!(nice_of_this_thread(), normal, "the caller's priority is its own");
    let runtime: Vec<_> = threads.iter().filter(|(name, _)| name.starts_with("tokio-rt")).collect();
    assert!(!runtime.is_empty() && runtime.iter().all(|(_, nice)| *nice == normal), "the runtime's threads are untouched: {runtime:?}");
}
