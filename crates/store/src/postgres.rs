use std::str::FromStr;
use std::time::Duration;

use futures::stream::BoxStream;
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::Result;

/// The production backend. Several Portico replicas may share one database.
pub struct PgStore {
    pub(crate) pool: PgPool,
    /// NOTIFY channel for change announcements; per schema, so that several catalogs (tests,
    /// tenants) in one database do not hear each other.
    channel: String,
}

impl PgStore {
    /// Opens `postgres://…`. A `search_path` in the URL's `options` selects a schema
    /// (tests use a fresh schema each).
    pub async fn open(url: &str) -> Result<Self> {
        Self::open_with(PgConnectOptions::from_str(url)?).await
    }

    pub async fn open_with(options: PgConnectOptions) -> Result<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await?;
        let schema: String = sqlx::query_scalar("select current_schema()").fetch_one(&pool).await?;
        let channel = format!("portico_{}", schema.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>());
        Ok(Self { pool, channel })
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        sqlx::migrate!("migrations/postgres")
    }

    /// [`crate::Store::version_summaries`]: JSON paths are the one thing the dialects spell differently.
    const VERSION_SUMMARIES: &'static str = "select key, at, change, \
        body::jsonb #>> '{spec,owner}', body::jsonb #>> '{spec,lifecycle}' \
        from entity_versions order by at, key, version";

    /// One recorder of events at a time across replicas (readers are not blocked): a merge
    /// reads, then writes.
    const LOCK_EVENTS: &'static str = "lock table events in share row exclusive mode";

    /// NOTIFY inside the change set's transaction: delivered only if it commits.
    async fn announce(&self, tx: &mut sqlx::PgConnection, replica: &str, source: &str) -> Result<()> {
        sqlx::query("select pg_notify($1, $2)")
            .bind(&self.channel)
            .bind(format!("{replica}\n{source}"))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// LISTEN on a connection of its own; the stream ends when that connection fails for good.
    async fn listen(&self) -> Result<Option<BoxStream<'static, Result<(String, String)>>>> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(&self.channel).await?;
        let stream = futures::stream::unfold(listener, |mut l| async move {
            let next = l.recv().await.map_err(crate::StoreError::from).map(|n| {
                let (replica, source) = n.payload().split_once('\n').unwrap_or(("", n.payload()));
                (replica.to_owned(), source.to_owned())
            });
            Some((next, l))
        });
        Ok(Some(Box::pin(stream)))
    }
}

crate::sql::impl_store!(PgStore, Postgres, "postgres");
crate::discovery::impl_discovery_store!(PgStore, Postgres);
crate::auth::impl_auth_store!(PgStore);
crate::audit::impl_audit_store!(PgStore);
crate::session::impl_session_store!(PgStore);
crate::stars::impl_star_store!(PgStore);
crate::events::impl_event_store!(PgStore, Postgres);
crate::levels::impl_level_store!(PgStore, Postgres);
crate::runs::impl_run_store!(PgStore, Postgres, "for update skip locked");
crate::approvals::impl_approval_store!(PgStore, Postgres);
crate::edits::impl_edit_store!(PgStore);
