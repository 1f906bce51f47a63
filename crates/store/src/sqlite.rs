use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool};

use futures::stream::BoxStream;

use crate::Result;

/// The embedded default: one SQLite file in WAL mode.
pub struct SqliteStore {
    pub(crate) pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating if missing) `sqlite://path` or `sqlite::memory:`.
    pub async fn open(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(10))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        Ok(Self { pool })
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        sqlx::migrate!("migrations/sqlite")
    }

    /// [`crate::Store::version_summaries`]: JSON paths are the one thing the dialects spell differently.
    const VERSION_SUMMARIES: &'static str = "select key, at, change, \
        cast(json_extract(body, '$.spec.owner') as text), cast(json_extract(body, '$.spec.lifecycle') as text) \
        from entity_versions order by at, key, version";

    /// Takes the write lock at the start of a transaction that reads before it writes.
    const LOCK_EVENTS: &'static str = "update events set id = id where 1 = 0";

    /// One process owns an SQLite database: there is nobody to tell.
    async fn announce(&self, _tx: &mut sqlx::SqliteConnection, _replica: &str, _source: &str) -> Result<()> {
        Ok(())
    }

    async fn listen(&self) -> Result<Option<BoxStream<'static, Result<(String, String)>>>> {
        Ok(None)
    }
}

crate::sql::impl_store!(SqliteStore, Sqlite, "sqlite");
crate::discovery::impl_discovery_store!(SqliteStore, Sqlite);
crate::auth::impl_auth_store!(SqliteStore);
crate::audit::impl_audit_store!(SqliteStore);
crate::session::impl_session_store!(SqliteStore);
crate::stars::impl_star_store!(SqliteStore);
crate::events::impl_event_store!(SqliteStore, Sqlite);
crate::levels::impl_level_store!(SqliteStore, Sqlite);
crate::runs::impl_run_store!(SqliteStore, Sqlite, "");
crate::approvals::impl_approval_store!(SqliteStore, Sqlite);
crate::edits::impl_edit_store!(SqliteStore);
