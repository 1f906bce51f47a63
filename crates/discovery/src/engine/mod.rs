//! The discovery engine: runs [`Provider`]s, keeps every source's contributions, merges them
//! by evidence and priority into entities with per-field provenance, and hands the result to
//! the catalog's one write path.

pub mod provider;

pub use provider::{Contribution, Doc, Evidence, Provider, ProviderError, ProgressFn, Scan, ScanContext, ScanProgress, ScopeOutcome, ScopeScan};
