use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{PgPool, Postgres};

use crate::Result;

/// The production backend. Several Portico replicas may share one database.
pub struct PgStore {
    pub(crate) pool: PgPool,
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
        Ok(Self { pool })
    }

    fn migrator(&self) -> sqlx::migrate::Migrator {
        sqlx::migrate!("migrations/postgres")
    }
}

crate::sql::impl_store!(PgStore, Postgres, "postgres");
