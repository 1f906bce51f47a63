//! What a discovery source is to the engine: a [`Provider`] reads one kind of place (git
//! repositories, a Terraform state, a Kubernetes API, an LDAP directory, a database server)
//! and answers a [`Scan`]: what it sees, as [`Contribution`]s grouped by scope (one repository,
//! one state file, one namespace). Providers never write the store; the engine merges their
//! contributions with every other source's and hands the result to the catalog's one write path.

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::Value;

use portico_catalog::{Doc, SourceError};
use portico_catalog::reader::Reader;

/// How strongly a source's word counts when several describe the same entity. Declared beats
/// observed beats inferred; within a class, the source's configured `priority` decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Evidence {
    /// Guessed from what code looks like (a `go.mod`, a README, CODEOWNERS).
    Inferred,
    /// Seen running or existing (a Kubernetes Deployment, a Terraform resource, an LDAP entry).
    Observed,
    /// Written down by people (a `catalog-info.yaml`).
    Declared,
}

impl Evidence {
    /// The evidence a stored name stands for (`inferred` for anything unknown).
    pub fn parse(s: &str) -> Self {
        match s {
            "declared" => Evidence::Declared,
            "observed" => Evidence::Observed,
            _ => Evidence::Inferred,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Evidence::Inferred => "inferred",
            Evidence::Observed => "observed",
            Evidence::Declared => "declared",
        }
    }
}

/// One source's statement about one entity: a full or partial entity document. It must name
/// `kind` and `metadata.name` (and `metadata.namespace` when not `default`); every other field
/// is optional, and the engine merges what all sources say.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub document: Value,
    pub evidence: Evidence,
    /// Where exactly it was found, for provenance and errors: `repo@commit:path/to/go.mod`,
    /// `terraform.tfstate#aws_s3_bucket.logs`, `k8s:ns/Deployment/cart`, an LDAP DN.
    pub location: String,
    /// Markdown documents of the entity (its README, `docs/*.md`), shown on its Docs tab and
    /// indexed by search.
    pub docs: Vec<Doc>,
}

impl Contribution {
    pub fn new(evidence: Evidence, location: impl Into<String>, document: Value) -> Self {
        Self { document, evidence, location: location.into(), docs: Vec::new() }
    }

    /// The entity key (`kind:namespace/name`, lower case), when the document names one.
    pub fn key(&self) -> Option<String> {
        portico_catalog::raw_key(&self.document)
    }
}

/// What one scope (a repository, a state file, a cluster namespace…) yielded.
#[derive(Debug, Clone)]
pub enum ScopeOutcome {
    /// Read in full: these contributions replace everything the scope gave before. When
    /// `complete` is false (some files could not be read) nothing of the scope is removed.
    Full { contributions: Vec<Contribution>, errors: Vec<SourceError>, complete: bool },
    /// Changes only (an event): upserts, and removals by entity key.
    Delta { upserts: Vec<Contribution>, removals: Vec<String> },
    /// Nothing changed since the state the engine passed in (same commit, same serial): the
    /// scope's contributions stay as they are and cost nothing.
    Unchanged,
    /// The scope could not be read: its contributions stay as they were, the error is recorded.
    Failed { error: SourceError },
}

#[derive(Debug, Clone)]
pub struct ScopeScan {
    /// Stable name of the scope within the source, e.g. the repository URL.
    pub scope: String,
    pub outcome: ScopeOutcome,
}

/// The answer of one run of a provider.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    pub scopes: Vec<ScopeScan>,
    /// True when `scopes` lists every scope the source has: scopes not listed are gone (a
    /// repository removed from the configuration) and their contributions are removed. A run
    /// narrowed to one scope (a webhook) sets it false.
    pub exhaustive: bool,
    /// What the provider wants back next time (commits per repository, state serials…).
    pub state: Value,
}

/// A provider-level failure: nothing could be read (LDAP down, bad credentials). Nothing
/// changes in the catalog; the error is recorded on the source's run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ProviderError {
    pub message: String,
}

impl ProviderError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into() }
    }
}

/// Progress of a run, for progress bars and logs.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ScanProgress {
    /// What is being read now (a repository, a file).
    pub item: String,
    pub done: u64,
    /// Total when known.
    pub total: Option<u64>,
}

pub type ProgressFn = Arc<dyn Fn(ScanProgress) + Send + Sync>;

/// Everything a provider may use during a run.
#[derive(Clone)]
pub struct ScanContext {
    /// The state the provider returned after its last successful run (`Value::Null` at first).
    pub previous: Value,
    /// When set, read only this scope (a webhook naming one repository).
    pub only: Option<String>,
    /// Reads allowed URLs and files; its allow-list governs every outbound request.
    pub reader: Reader,
    /// A directory the provider may keep caches in (clones), its own per source.
    pub cache_dir: PathBuf,
    pub progress: ProgressFn,
}

impl ScanContext {
    /// A context for tests and one-off runs: no previous state, no progress.
    pub fn new(reader: Reader, cache_dir: PathBuf) -> Self {
        Self { previous: Value::Null, only: None, reader, cache_dir, progress: Arc::new(|_| {}) }
    }

    pub fn report(&self, item: impl Into<String>, done: u64, total: Option<u64>) {
        (self.progress)(ScanProgress { item: item.into(), done, total });
    }
}

/// A discovery source. One implementation per file under `providers/`.
#[async_trait::async_trait]
pub trait Provider: Send + Sync {
    /// The source type as written in `portico.yaml` (`git`, `terraform`, …).
    fn kind(&self) -> &'static str;

    /// Reads the source. `Err` only when nothing at all could be read; a scope that fails is
    /// a [`ScopeOutcome::Failed`] in an `Ok` scan.
    async fn scan(&self, ctx: &ScanContext) -> Result<Scan, ProviderError>;
}
