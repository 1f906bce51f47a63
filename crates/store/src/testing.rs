//! Fresh databases for tests: a SQLite file in a temporary directory, and a PostgreSQL schema
//! created on the server at `PORTICO_TEST_PG_URL` (default: the local server) and dropped
//! afterwards. Without a reachable PostgreSQL, PostgreSQL tests skip with a message, unless
//! `PORTICO_TEST_REQUIRE_PG=1`, where they fail.

use std::sync::Arc;

use crate::{PgStore, SqliteStore, Store};

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// A fresh, migrated store and the URL that opens it again.
pub struct TestDb {
    pub store: Arc<dyn Store>,
    pub url: String,
    schema: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub fn backend(&self) -> &'static str {
        self.store.backend()
    }

    /// A fresh SQLite database.
    pub async fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("portico.db").display());
        let store = SqliteStore::open(&url).await.expect("open sqlite");
        store.migrate().await.expect("migrate sqlite");
        Self { store: Arc::new(store), url, schema: None, _dir: Some(dir) }
    }

    /// A fresh PostgreSQL schema, or `None` (with a message) when no server is reachable
    /// and PostgreSQL is not required.
    pub async fn postgres() -> Option<Self> {
        let base = std::env::var("PORTICO_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned());
        let required = std::env::var("PORTICO_TEST_REQUIRE_PG").is_ok_and(|v| v == "1");
        let admin = match sqlx::PgPool::connect(&base).await {
            Ok(p) => p,
            Err(e) if !required => {
                eprintln!("skipping PostgreSQL test: cannot connect to {base}: {e} (set PORTICO_TEST_REQUIRE_PG=1 to fail instead)");
                return None;
            }
            Err(e) => panic!("PORTICO_TEST_REQUIRE_PG=1 but PostgreSQL at {base} is unreachable: {e}"),
        };
        let schema = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("create schema {schema}"))).execute(&admin).await.expect("create schema");
        admin.close().await;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let store = PgStore::open(&url).await.expect("open postgres");
        store.migrate().await.expect("migrate postgres");
        Some(Self { store: Arc::new(store), url, schema: Some((base, schema)), _dir: None })
    }

    /// SQLite, and PostgreSQL when available: every store test runs on both.
    pub async fn all() -> Vec<Self> {
        let mut dbs = vec![Self::sqlite().await];
        dbs.extend(Self::postgres().await);
        dbs
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((base, schema)) = self.schema.take() {
            // Dropping runs outside any async context we could borrow, so use a thread of its own.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
                rt.block_on(async {
                    let pool = sqlx::PgPool::connect(&base).await.ok()?;
                    sqlx::query(sqlx::AssertSqlSafe(format!("drop schema if exists {schema} cascade"))).execute(&pool).await.ok()?;
                    pool.close().await;
                    Some(())
                })
            })
            .join();
        }
    }
}

/// A queued run of `template` by `actor` asked for at `at`, for the store's tests.
pub fn sample_run(id: &str, template: &str, actor: &str, at: i64) -> crate::RunRecord {
    crate::RunRecord::queued(id.into(), template.into(), "{}".into(), r#"{"name":"cart"}"#.into(), actor.into(), at)
}
