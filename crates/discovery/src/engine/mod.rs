//! The discovery engine: runs [`Provider`]s, keeps every source's contributions, merges them
//! by evidence and priority into entities with per-field provenance, and hands the result to
//! the catalog's one write path.
//!
//! Contributions live in the store, not in memory, so several replicas can share the work:
//! each run reads the source's previous contributions, diffs them with what it sees now,
//! re-merges only the entities touched, and writes them as one delta under the catalog source
//! [`CATALOG_SOURCE`]. Scheduled runs are shared out through leases in the store.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;
use portico_store::DiscoveryRun;
use tokio::sync::Mutex;

use portico_catalog::reader::Reader;
use portico_catalog::Catalog;

pub mod config;
pub mod drift;
pub mod merge;
pub mod provenance;
pub mod provider;
pub mod registry;
mod run;
pub use run::Trigger;
mod schedule;
pub mod techdocs;
pub mod webhook;

pub use config::{SourceDecl, parse_interval, parse_sources};
pub use merge::FieldProvenance;
pub use registry::Registry;
pub use portico_catalog::Doc;
pub use provider::{Contribution, Evidence, Provider, ProviderError, ProgressFn, Scan, ScanContext, ScanProgress, ScopeOutcome, ScopeScan};

/// The catalog source every merged discovery entity is written under.
pub const CATALOG_SOURCE: &str = portico_catalog::DISCOVERY_SOURCE;

/// The owner given to a discovered entity of a kind that requires one when no source names
/// one (a Terraform resource without owner tags). Such entities also carry
/// [`ANNOTATION_NO_OWNER`], and the drift report lists them.
pub const UNOWNED: &str = "group:default/unowned";
pub const ANNOTATION_NO_OWNER: &str = "portico.dev/no-owner";

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("no discovery source named `{0}`")]
    UnknownSource(String),
    #[error(transparent)]
    Store(#[from] portico_store::StoreError),
    #[error(transparent)]
    Ingest(#[from] portico_catalog::IngestError),
    /// The run this request joined (see [`Engine::run`]) failed.
    #[error("{0}")]
    Shared(String),
}

/// A configured source and its provider.
pub struct Source {
    pub decl: SourceDecl,
    pub provider: Arc<dyn Provider>,
    /// One run at a time per source in this process.
    running: Mutex<()>,
}

/// What a source is doing right now.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LiveStatus {
    pub running: bool,
    pub started_at: Option<i64>,
    pub progress: Option<ScanProgress>,
}

pub struct Engine {
    catalog: Arc<Catalog>,
    reader: Reader,
    cache_root: PathBuf,
    sources: Vec<Arc<Source>>,
    /// Shared with progress callbacks, which only hold it weakly.
    live: Arc<RwLock<HashMap<String, LiveStatus>>>,
    /// This process among replicas, for leases.
    holder: String,
    /// Requests to run a source (and scope) that arrive during a run share the next one.
    coalesce: portico_catalog::coalesce::Coalesce<DiscoveryRun>,
}

impl Engine {
    /// Builds the providers of the declared sources with the factories of `registry`. Errors
    /// name the source and field.
    pub fn new(catalog: Arc<Catalog>, reader: Reader, cache_root: PathBuf, registry: &Registry, decls: Vec<SourceDecl>) -> Result<Arc<Self>, String> {
        let mut sources = Vec::new();
        for decl in decls {
            let provider = registry
                .build(&decl.kind, &decl.settings)
                .map_err(|e| format!("discovery source `{}`: {e}", decl.name))?;
            sources.push(Arc::new(Source { decl, provider, running: Mutex::new(()) }));
        }
        Ok(Self::with_sources(catalog, reader, cache_root, sources))
    }

    /// An engine over providers built elsewhere (tests, benchmarks).
    pub fn with_providers(
        catalog: Arc<Catalog>,
        reader: Reader,
        cache_root: PathBuf,
        sources: Vec<(SourceDecl, Arc<dyn Provider>)>,
    ) -> Arc<Self> {
        let sources = sources.into_iter().map(|(decl, provider)| Arc::new(Source { decl, provider, running: Mutex::new(()) })).collect();
        Self::with_sources(catalog, reader, cache_root, sources)
    }

    fn with_sources(catalog: Arc<Catalog>, reader: Reader, cache_root: PathBuf, sources: Vec<Arc<Source>>) -> Arc<Self> {
        Arc::new(Self {
            catalog,
            reader,
            cache_root,
            sources,
            live: Arc::new(RwLock::new(HashMap::new())),
            holder: uuid::Uuid::new_v4().to_string(),
            coalesce: Default::default(),
        })
    }

    pub fn catalog(&self) -> &Arc<Catalog> {
        &self.catalog
    }

    pub fn sources(&self) -> impl Iterator<Item = &SourceDecl> {
        self.sources.iter().map(|s| &s.decl)
    }

    pub fn source(&self, name: &str) -> Result<&Arc<Source>, EngineError> {
        self.sources.iter().find(|s| s.decl.name == name).ok_or_else(|| EngineError::UnknownSource(name.to_owned()))
    }

    pub fn live(&self, name: &str) -> LiveStatus {
        self.live.read().get(name).cloned().unwrap_or_default()
    }

    /// The configured priority of a source (0 for one no longer configured).
    fn priority(&self, source: &str) -> i32 {
        self.sources.iter().find(|s| s.decl.name == source).map_or(0, |s| s.decl.priority)
    }

    /// The latest runs, newest first.
    pub async fn runs(&self, source: Option<&str>, limit: i64) -> Result<Vec<DiscoveryRun>, EngineError> {
        Ok(self.catalog.store().discovery_runs(source, limit).await?)
    }

    /// Markdown documents of an entity: what sources found, `(source, doc)`, and for
    /// entities from local descriptors the folder their `techdocs-ref` names (`(location, doc)`).
    pub async fn docs(&self, key: &str) -> Result<Vec<(String, Doc)>, EngineError> {
        let mut docs = portico_catalog::docs::docs_of(&self.catalog, key).await?;
        let entry = self.catalog.read().get(key).cloned();
        if let Some(entry) = entry.filter(|e| e.source != CATALOG_SOURCE) {
            let reader = self.reader.clone();
            let source = entry.source.clone();
            let local = tokio::task::spawn_blocking(move || techdocs::local_docs(&entry.entity, &reader)).await.unwrap_or_default();
            docs.extend(local.into_iter().map(|d| (source.clone(), d)));
        }
        Ok(docs)
    }
}
