//! The catalog: the one write path into it and everything that reads it.
//!
//! Sources hand the [`Catalog`] a [`Mutation`]: the full set of what they see, or a delta. The
//! catalog validates every document, diffs it against what that source contributed before (by
//! content hash), writes the adds, updates and removals in one transaction with a new version
//! for each change, and then updates the in-memory read model and tells subscribers. Sources
//! never write to the store.
//!
//! Besides the write path this crate holds what reads or feeds the catalog and is needed by
//! more than discovery: the [`Reader`] (allowed roots, URL allow-list), placeholders, the
//! Backstage-compatible location source ([`LocationService`]), history, queries, analytics
//! and replica following. Discovery, scorecards and actions meet here; none depends on another.
//!
//! The trade-off: a full mutation costs a validation per entity even when nothing changed, but
//! a source can never leave the catalog half-updated, and a source that fails to read
//! everything (`complete: false`) never deletes anything.

pub mod actor;
mod catalog;
pub mod coalesce;
pub mod docs;
pub mod location;
mod mutation;
pub mod placeholders;
pub mod reader;

pub use catalog::analytics::{Line, Series, SeriesBy};
pub use catalog::history::{ChangeReport, EntityChange, format_time, parse_time};
pub use catalog::query::{QueryError, QueryItem, QueryOutput, csv_table, text_table};
pub use catalog::gate::{QueryConfig, Refused};
pub use catalog::{Catalog, CatalogEvent, CatalogOptions, FACTS_SOURCE, IngestReport, Ingest, OrphanStrategy, with_declared_kinds};
pub use docs::Doc;
pub use location::{CatalogRule, CatalogRules, LocationService, LocationSpec, ReadOutcome, RuleLocation, expand as find_descriptor_files};
pub use mutation::{Mutation, Origin, RawEntity, SourceError, raw_key};
pub use reader::{Reader, ReaderConfig, ReadError};

/// The catalog source discovery writes its merged entities under (every other source is a
/// registered location, `location:<id>`, or an API edit).
pub const DISCOVERY_SOURCE: &str = "discovery";

/// Errors of the write path (per-entity problems are not errors: they are recorded).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Store(#[from] portico_store::StoreError),
    #[error("{0}")]
    Invalid(String),
    #[error("location `{0}` not found")]
    LocationNotFound(String),
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A memory figure of this process from `/proc/self/status` in KiB (`VmRSS:`, `VmHWM:`; Linux,
/// 0 elsewhere).
pub fn memory_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// Resident memory of this process in MiB, for progress logs.
pub fn rss_mib() -> u64 {
    memory_kib("VmRSS:") / 1024
}
