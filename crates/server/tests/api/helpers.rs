//! The test harness: a server over a fresh database with Backstage's examples registered
//! (`all.yaml` and `acme/org.yaml`), and assertions on responses.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, QueryConfig, Reader, ReaderConfig};
use portico_server::{AppState, Application, ServerConfig};
use portico_store::testing::TestDb;
use serde_json::Value;

pub const ALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/backstage/examples/all.yaml");
pub const ORG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/backstage/examples/acme/org.yaml");

/// The examples' directory, canonical.
pub fn examples_dir() -> PathBuf {
    Path::new(ALL).parent().unwrap().canonicalize().unwrap()
}

pub struct TestApp {
    pub url: String,
    pub port: u16,
    pub client: reqwest::Client,
    pub catalog: Arc<Catalog>,
    /// The runs service (its workers not started: `app.runs.start()`).
    pub runs: Arc<portico_actions::Runs>,
    _db: TestDb,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// How a test server is set up besides its database.
#[derive(Default)]
pub struct Setup {
    pub roots: Vec<PathBuf>,
    pub examples: bool,
    pub sources: Vec<Value>,
    pub server: ServerConfig,
    pub queries: QueryConfig,
    pub auth: portico_server::auth::AuthConfig,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    /// A server over `db` with the examples registered, reading files under the examples.
    pub async fn spawn(db: TestDb) -> Self {
        Self::spawn_with_roots(db, Vec::new(), true).await
    }

    /// As [`Self::spawn`], with extra allowed roots, and optionally without the examples.
    pub async fn spawn_with_roots(db: TestDb, roots: Vec<PathBuf>, examples: bool) -> Self {
        Self::spawn_with_sources(db, roots, examples, &[]).await
    }

    /// As [`Self::spawn_with_roots`], with discovery sources declared as in `portico.yaml`.
    pub async fn spawn_with_sources(db: TestDb, roots: Vec<PathBuf>, examples: bool, sources: &[Value]) -> Self {
        Self::spawn_setup(db, Setup { roots, examples, sources: sources.to_vec(), ..Setup::default() }).await
    }

    /// A server set up as `setup` says.
    pub async fn spawn_setup(db: TestDb, setup: Setup) -> Self {
        let Setup { mut roots, examples, sources, server, queries, auth } = setup;
        let sources = &sources[..];
        roots.push(examples_dir());
        let catalog = Catalog::open(db.store.clone(), CatalogOptions { queries, ..CatalogOptions::default() }).await.unwrap();
        let reader = Reader::new(ReaderConfig { allowed_roots: roots, ..Default::default() });
        let locations = LocationService::new(catalog.clone(), reader.clone());
        let decls = portico_discovery::engine::parse_sources(sources).unwrap();
        let cache = std::env::temp_dir().join(format!("portico-api-cache-{}", std::process::id()));
        let engine = portico_discovery::engine::Engine::new(catalog.clone(), reader, cache, &portico_discovery::providers::registry(), decls).unwrap();
        if examples {
            for target in [ALL, ORG] {
                let spec = LocationSpec { kind: "file".into(), target: target.into() };
                locations.register(&spec, false).await.unwrap();
            }
        }
        let state = AppState::new(catalog.clone(), locations).with_discovery(engine).with_auth(auth.authorizer().expect("a valid auth configuration"));
        let runs = state.runs.clone();
        let app = Application::build(state, "127.0.0.1:0".parse().unwrap())
            .await
            .unwrap()
            .with_config(server);
        assert_ne!(app.port(), 0);
        let (url, port) = (app.url(), app.port());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(app.run_until(async move {
            let _ = stopped.await;
        }));
        Self { url, port, client: reqwest::Client::new(), catalog, runs, _db: db, server, stop: Some(stop) }
    }

    /// A server over `db` without the examples, with `yaml` written to a file in a fresh
    /// directory and registered as a location (through the API, as the guest); the directory
    /// (kept alive by the caller) and the file.
    pub async fn with_registered_file(db: TestDb, yaml: &str) -> (Self, tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("catalog-info.yaml");
        std::fs::write(&file, yaml).unwrap();
        let app = Self::spawn_with_roots(db, vec![dir.path().to_path_buf()], false).await;
        json(app.post("/api/catalog/locations", &serde_json::json!({"type": "file", "target": file})).await, 201).await;
        (app, dir, file)
    }

    /// Signals the server to stop and waits until it has, up to `within`; the time it took.
    pub async fn stop(mut self, within: std::time::Duration) -> std::time::Duration {
        let started = std::time::Instant::now();
        let _ = self.stop.take().map(|s| s.send(()));
        let server = std::mem::replace(&mut self.server, tokio::spawn(async { Ok(()) }));
        tokio::time::timeout(within, server).await.expect("the server stopped in time").unwrap().unwrap();
        started.elapsed()
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.url)).send().await.unwrap()
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client.delete(format!("{}{path}", self.url)).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client.post(format!("{}{path}", self.url)).json(body).send().await.unwrap()
    }

    pub async fn post_raw(&self, path: &str, body: &'static str) -> reqwest::Response {
        self.client
            .post(format!("{}{path}", self.url))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap()
    }
}

/// The body of a response with the expected status, as JSON.
pub async fn json(res: reqwest::Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let url = res.url().clone();
    let text = res.text().await.unwrap();
    assert_eq!(got, status, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text}"))
}

/// Asserts the one error shape and returns the message.
pub async fn error(res: reqwest::Response, status: u16, name: &str, method: &str) -> String {
    let path = res.url().path().to_owned();
    // As Backstage writes it: relative to the catalog router for its routes.
    let path = path.strip_prefix("/api/catalog").map_or(path.clone(), str::to_owned);
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned());
    assert_eq!(content_type.as_deref(), Some("application/json; charset=utf-8"));
    let body = json(res, status).await;
    let keys: Vec<&String> = body.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["error", "request", "response"], "{body}");
    assert_eq!(body["error"]["name"], name, "{body}");
    assert_eq!(body["request"]["method"], method, "{body}");
    assert!(body["request"]["url"].as_str().unwrap().starts_with(&path), "{body}");
    assert_eq!(body["response"]["statusCode"], status, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// `metadata.name` of each item.
pub fn names(items: &Value) -> Vec<String> {
    items.as_array().unwrap().iter().map(|e| e["metadata"]["name"].as_str().unwrap().to_owned()).collect()
}
