//! The `postgres` source against the real server on 127.0.0.1:5432 (or `PORTICO_TEST_PG_URL`):
//! a database created for the test shows up with its facts and the owner of its comment.
//! Without a reachable server these tests skip with a message, unless
//! `PORTICO_TEST_REQUIRE_PG=1`, where they fail.

use std::net::TcpListener;
use std::sync::Arc;

use portico_discovery::engine::{Provider, ScanContext, ScopeOutcome};
use portico_discovery::providers::build;
use portico_catalog::{Reader, ReaderConfig};
use serde_json::{Value, json};
use sqlx::Connection;
use sqlx::postgres::PgConnection;

const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

fn base_url() -> String {
    std::env::var("PORTICO_TEST_PG_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_owned())
}

async fn admin() -> Option<PgConnection> {
    let base = base_url();
    let required = std::env::var("PORTICO_TEST_REQUIRE_PG").is_ok_and(|v| v == "1");
    match PgConnection::connect(&base).await {
        Ok(c) => Some(c),
        Err(e) if !required => {
            eprintln!("skipping PostgreSQL test: cannot connect to {base}: {e} (set PORTICO_TEST_REQUIRE_PG=1 to fail instead)");
            None
        }
        Err(e) => panic!("PORTICO_TEST_REQUIRE_PG=1 but PostgreSQL at {base} is unreachable: {e}"),
    }
}

/// A database of its own, dropped when the test ends (even when it fails).
struct TestDatabase {
    name: String,
}

impl TestDatabase {
    async fn create(conn: &mut PgConnection, comment: &str) -> Self {
        let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(sqlx::AssertSqlSafe(format!("create database {name} encoding 'UTF8' template template0 connection limit 7")))
            .execute(&mut *conn)
            .await
            .expect("create database");
        let comment = comment.replace('\'', "''");
        sqlx::query(sqlx::AssertSqlSafe(format!("comment on database {name} is '{comment}'"))).execute(&mut *conn).await.expect("comment");
        Self { name }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let name = self.name.clone();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut c = PgConnection::connect(&base_url()).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!("drop database if exists {name}"))).execute(&mut c).await.ok()?;
                c.close().await.ok()
            })
        })
        .join();
    }
}

fn provider(settings: Value) -> Arc<dyn Provider> {
    build("postgres", &settings).unwrap_or_else(|e| panic!("{e}"))
}

fn context() -> ScanContext {
    ScanContext::new(Reader::new(ReaderConfig::default()), std::env::temp_dir())
}

fn documents(outcome: &ScopeOutcome) -> Vec<Value> {
    match outcome {
        ScopeOutcome::Full { contributions, .. } => contributions.iter().map(|c| c.document.clone()).collect(),
        other => panic!("expected a full scope, got {other:?}"),
    }
}

#[tokio::test]
async fn each_database_becomes_a_resource_with_its_facts_and_owner() {
    let Some(mut conn) = admin().await else { return };
    let db = TestDatabase::create(&mut conn, "Orders of the shop. owner=group:payments").await;
    let version: String = sqlx::query_scalar("select current_setting('server_version')").fetch_one(&mut conn).await.unwrap();
    let role: String = sqlx::query_scalar("select current_user::text").fetch_one(&mut conn).await.unwrap();

    let p = provider(json!({"url": base_url(), "name": "main-pg"}));
    let scan = p.scan(&context()).await.unwrap();
    assert!(scan.exhaustive);
    assert_eq!(scan.scopes.len(), 1);
    assert_eq!(scan.scopes[0].scope, "main-pg");
    let docs = documents(&scan.scopes[0].outcome);
    let name = format!("main-pg-{}", db.name);
    let doc = docs.iter().find(|d| d["metadata"]["name"] == name.as_str()).unwrap_or_else(|| panic!("{name} not among {docs:?}"));
    assert_eq!(doc["kind"], "Resource");
    assert_eq!(doc["spec"], json!({"type": "database", "owner": "group:payments"}));
    assert_eq!(doc["metadata"]["annotations"]["portico.dev/postgres-server"], "main-pg");
    let facts = &doc["status"]["facts"];
    assert!(facts["postgres.sizeBytes"].as_i64().is_some_and(|s| s > 0), "{facts}");
    assert_eq!(facts["postgres.encoding"], "UTF8");
    assert_eq!(facts["postgres.owner"], role.as_str());
    assert_eq!(facts["postgres.connectionLimit"], 7);
    assert_eq!(facts["postgres.version"], version.as_str());
    // Templates are left out by default.
    assert!(docs.iter().all(|d| !d["metadata"]["name"].as_str().unwrap().contains("template")), "{docs:?}");
    conn.close().await.unwrap();
}

#[tokio::test]
async fn excluded_databases_and_the_default_label_follow_the_settings() {
    let Some(mut conn) = admin().await else { return };
    let db = TestDatabase::create(&mut conn, "no owner given").await;
    conn.close().await.unwrap();
    let opts: sqlx::postgres::PgConnectOptions = base_url().parse().unwrap();
    let label = format!("{}:{}", opts.get_host(), opts.get_port());

    let p = provider(json!({"url": base_url(), "includeTemplates": true}));
    let scan = p.scan(&context()).await.unwrap();
    assert_eq!(scan.scopes[0].scope, label);
    let docs = documents(&scan.scopes[0].outcome);
    let ours = docs.iter().find(|d| d["status"]["facts"]["postgres.database"] == db.name.as_str()).expect("our database");
    assert!(ours["spec"].get("owner").is_none(), "a comment without owner= gives no owner");
    assert!(ours["metadata"]["name"].as_str().unwrap().ends_with(&db.name));
    assert!(docs.iter().any(|d| d["status"]["facts"]["postgres.database"] == "template1"));

    let p = provider(json!({"url": base_url(), "exclude": ["portico_test_*"]}));
    let docs = documents(&p.scan(&context()).await.unwrap().scopes[0].outcome);
    assert!(docs.iter().all(|d| d["status"]["facts"]["postgres.database"] != db.name.as_str()));
}

#[tokio::test]
async fn an_unreachable_server_fails_the_whole_run_with_a_clear_error() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let p = provider(json!({"url": format!("postgres://postgres:hunter2@127.0.0.1:{port}/postgres")}));
    let err = p.scan(&context()).await.unwrap_err().message;
    assert!(err.starts_with(&format!("postgres server 127.0.0.1:{port}: cannot connect: ")), "{err}");
    assert!(!err.contains("hunter2"), "{err}");
}

#[tokio::test]
async fn a_refused_login_fails_the_whole_run_naming_the_server() {
    let Some(conn) = admin().await else { return };
    conn.close().await.unwrap();
    let mut opts: url::Url = base_url().parse().unwrap();
    opts.set_username("portico_no_such_role").unwrap();
    let p = provider(json!({"url": opts.to_string(), "name": "db1"}));
    let err = p.scan(&context()).await.unwrap_err().message;
    assert!(err.starts_with("postgres server db1: cannot connect: ") && err.contains("portico_no_such_role"), "{err}");
}

#[tokio::test]
async fn a_missing_url_variable_is_named() {
    let p = provider(json!({"urlEnv": "PORTICO_TEST_PG_URL_THAT_IS_NOT_SET"}));
    let err = p.scan(&context()).await.unwrap_err().message;
    assert_eq!(err, "the environment variable PORTICO_TEST_PG_URL_THAT_IS_NOT_SET named by urlEnv is not set");
}
