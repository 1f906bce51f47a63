//! Persistence of the catalog: one [`Store`] trait with a SQLite backend (the embedded default,
//! WAL mode, one file in a data directory) and a PostgreSQL backend (production, several
//! replicas). All SQL lives in this crate; both backends share the statements in `sql.rs`
//! (the dialects differ only in connection setup), and migrations sit side by side in
//! `migrations/sqlite` and `migrations/postgres`.
//!
//! Writes come in [`ChangeSet`]s, each applied in one transaction: the catalog never holds half
//! of a source's update.

pub mod approvals;
pub mod audit;
pub mod edits;
pub mod auth;
pub mod discovery;
pub mod events;
pub mod levels;
pub mod runs;
mod postgres;
mod records;
pub mod session;
pub mod stars;
mod sql;
mod sqlite;
pub mod testing;

use std::sync::Arc;

pub use approvals::{ApprovalFilter, ApprovalRecord, ApprovalStore, Decided, Decision};
pub use edits::{EditStore, EntityEdit};
pub use audit::{AuditEvent, AuditFilter, AuditStore};
pub use auth::{ApiToken, AuthStore};
pub use discovery::{ContributionRow, ContributionWrite, DiscoveryRun, DiscoveryStore};
pub use events::{EventFilter, EventOutcome, EventRow, EventStore, FactRow};
pub use levels::{LevelRow, LevelStore, ProgressRow};
pub use runs::{RunFilter, RunLogLine, RunProgress, RunRecord, RunStore};
pub use postgres::PgStore;
pub use records::*;
pub use session::{RefreshedSession, Session, SessionStore, SignInAttempt};
pub use stars::{Star, StarStore};
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored entity `{key}` is corrupt: {reason}")]
    Corrupt { key: String, reason: String },
    #[error("location `{0}` not found")]
    LocationNotFound(String),
    #[error("unsupported database url {0:?}: expected sqlite:… or postgres://…")]
    BadUrl(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The catalog's storage.
#[async_trait::async_trait]
pub trait Store: DiscoveryStore + AuthStore + AuditStore + SessionStore + StarStore + EventStore + LevelStore + RunStore + ApprovalStore + EditStore + Send + Sync + 'static {
    /// `sqlite` or `postgres`.
    fn backend(&self) -> &'static str;
    /// Creates or upgrades the schema.
    async fn migrate(&self) -> Result<()>;
    /// Every current entity, for building the read model.
    async fn load_entities(&self) -> Result<Vec<portico_model::CatalogEntry>>;
    /// Applies a change set in one transaction.
    async fn apply(&self, changes: &ChangeSet) -> Result<ApplyStats>;
    /// Every version of one entity, oldest first.
    async fn history(&self, key: &str) -> Result<Vec<VersionRecord>>;
    /// The entity as it was at `at` (ms since the epoch): its latest version then, with the
    /// last descriptor it had (an orphaning keeps the descriptor before it). `None` when it did
    /// not exist then (never added yet, or removed).
    async fn entity_at(&self, key: &str, at: i64) -> Result<Option<VersionRecord>>;
    /// Keys of the entities that changed after `from` and up to `to`, with the last change of
    /// each in that window.
    /// Every entity as it was at `at` (ms): the latest version of each key recorded by then,
    /// without the removed ones; an orphaned entity keeps its last descriptor.
    async fn entities_at(&self, at: i64) -> Result<Vec<portico_model::CatalogEntry>>;
    /// How many versions were recorded by `at`, and the time of the last: a cache key for
    /// [`Store::entities_at`].
    async fn history_marker(&self, at: i64) -> Result<HistoryMarker>;
    /// The time of the first recorded version, if any.
    async fn history_start(&self) -> Result<Option<i64>>;
    /// Every version, oldest first, reduced to what catalog analytics count by: key, time,
    /// change, and the `spec.owner` and `spec.lifecycle` it had.
    async fn version_summaries(&self) -> Result<Vec<VersionSummary>>;
    async fn list_saved_queries(&self) -> Result<Vec<SavedQuery>>;
    async fn get_saved_query(&self, name: &str) -> Result<Option<SavedQuery>>;
    /// Creates or replaces (keeping `created_at`); true when it was created.
    async fn put_saved_query(&self, query: &SavedQuery) -> Result<bool>;
    /// True when there was one to delete.
    async fn delete_saved_query(&self, name: &str) -> Result<bool>;
    async fn changes_between(&self, from: i64, to: i64) -> Result<Vec<VersionRecord>>;
    /// Errors recorded by sources, optionally only those of one entity.
    async fn errors(&self, key: Option<&str>) -> Result<Vec<ErrorRecord>>;
    /// Errors recorded by one source.
    async fn source_errors(&self, source: &str) -> Result<Vec<ErrorRecord>>;
    async fn list_locations(&self) -> Result<Vec<LocationRecord>>;
    async fn get_location(&self, id: &str) -> Result<Option<LocationRecord>>;
    /// Adds a location; returns the existing one when the same type and target is registered.
    async fn add_location(&self, location: &LocationRecord) -> Result<(LocationRecord, bool)>;
    async fn delete_location(&self, id: &str) -> Result<()>;
    async fn sources(&self) -> Result<Vec<SourceRecord>>;
    /// Records the outcome of a source run that wrote nothing.
    async fn record_source_run(&self, run: &SourceRecord) -> Result<()>;
    /// Entities that were removed (and not re-added): key and the version of the removal.
    async fn tombstones(&self) -> Result<Vec<(String, i64)>>;
    /// Current entities of one source (for replicas catching up with another's change).
    async fn load_source(&self, source: &str) -> Result<Vec<portico_model::CatalogEntry>>;
    /// Announcements of committed change sets made by any replica sharing this database:
    /// `(replica, source)` pairs, delivered after commit. `None` when the backend has no other
    /// replicas to hear from (SQLite is embedded in one process).
    async fn changes(&self) -> Result<Option<futures::stream::BoxStream<'static, Result<(String, String)>>>>;
}

/// Opens a store from a URL: `sqlite://path/to/file.db` (created if missing) or
/// `postgres://…`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::open(url).await?))
    } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::open(url).await?))
    } else {
        Err(StoreError::BadUrl(url.to_owned()))
    }
}

#[cfg(test)]
mod tests;
