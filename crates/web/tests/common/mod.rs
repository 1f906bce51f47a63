//! The harness of the web tests: the real portal (pages and API) on a random loopback port over
//! a fresh SQLite database, holding Backstage's example catalog, with a directory of extra
//! descriptors the register form may read.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_server::{AppState, Application};
use portico_store::testing::TestDb;

pub const ALL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/backstage/examples/all.yaml");
pub const ORG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/backstage/examples/acme/org.yaml");

/// A descriptor the catalog does not hold yet, for the register form.
pub const TO_IMPORT: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout-service
  description: Takes orders and payments
spec:
  type: service
  lifecycle: experimental
  owner: team-a
  dependsOn: [resource:checkout-db]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: checkout-db
spec:
  type: database
  owner: team-a
";

pub struct WebApp {
    pub url: String,
    pub state: AppState,
    /// Holds `to-import/catalog-info.yaml` ([`TO_IMPORT`]).
    pub extra: tempfile::TempDir,
    pub client: reqwest::Client,
    _db: TestDb,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for WebApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebApp {
    pub async fn spawn() -> Self {
        Self::spawn_with_sources(&[]).await
    }

    /// As [`Self::spawn`], with discovery sources declared as in `portico.yaml`.
    pub async fn spawn_with_sources(sources: &[serde_json::Value]) -> Self {
        Self::start(TestDb::sqlite().await, 0, sources, None).await
    }

    /// A portal over `db` on `port` (0: any) with `auth:` of `portico.yaml`.
    pub async fn spawn_with_auth(db: TestDb, port: u16, auth: portico_server::auth::AuthConfig) -> Self {
        Self::start(db, port, &[], Some(auth.authorizer().unwrap())).await
    }

    async fn start(db: TestDb, port: u16, sources: &[serde_json::Value], auth: Option<portico_server::auth::Authorizer>) -> Self {
        let extra = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(extra.path().join("to-import")).unwrap();
        std::fs::write(extra.path().join("to-import/catalog-info.yaml"), TO_IMPORT).unwrap();
        let examples = Path::new(ALL).parent().unwrap().canonicalize().unwrap();
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let roots = vec![examples, extra.path().canonicalize().unwrap()];
        let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig { allowed_roots: roots, ..Default::default() }));
        for target in [ALL, ORG] {
            locations.register(&LocationSpec { kind: "file".into(), target: target.into() }, false).await.unwrap();
        }
        let decls = portico_discovery::engine::parse_sources(sources).unwrap();
        let engine = portico_discovery::engine::Engine::new(catalog.clone(), locations.reader().clone(), extra.path().join("cache"), &portico_discovery::providers::registry(), decls).unwrap();
        // Runs publish only to local repositories under <extra>/git.
        let git = extra.path().canonicalize().unwrap().join("git");
        std::fs::create_dir_all(&git).unwrap();
        let runs = portico_actions::RunsConfig { remotes: portico_actions::Remotes { roots: vec![git], ..Default::default() }, ..Default::default() };
        let mut state = AppState::new(catalog, locations).with_discovery(engine).with_runs(extra.path().join("runs"), runs);
        state.runs.start();
        if let Some(auth) = auth {
            state = state.with_auth(auth);
        }
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        let app = Application::build_with(state.clone(), addr, portico_web::router(state.clone()))
            .await
            .unwrap();
        let url = app.url();
        let server = tokio::spawn(app.run_until(std::future::pending()));
        let app = Self { url, state, extra, client: reqwest::Client::new(), _db: db, server };
        app.wait_for_search().await;
        app
    }

    /// Waits until the search index holds every entity of the read model.
    pub async fn wait_for_search(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let want = self.state.catalog.read().len() as u64;
            if self.state.search.is_ready() && self.state.search.len() == want {
                return;
            }
            assert!(Instant::now() < deadline, "the search index did not catch up");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn import_path(&self) -> PathBuf {
        self.extra.path().canonicalize().unwrap().join("to-import/catalog-info.yaml")
    }

    /// Writes `yaml` as `<extra>/<dir>/catalog-info.yaml` and registers it as a location.
    pub async fn import(&self, dir: &str, yaml: &str) {
        let folder = self.extra.path().canonicalize().unwrap().join(dir);
        std::fs::create_dir_all(&folder).unwrap();
        let file = folder.join("catalog-info.yaml");
        std::fs::write(&file, yaml).unwrap();
        let spec = LocationSpec { kind: "file".into(), target: file.display().to_string() };
        self.state.locations.register(&spec, false).await.unwrap();
    }

    /// A demo template (`python-service`, `add-runbook`) and its skeleton in `<extra>/<name>`,
    /// publishing to `<extra>/git`, registered.
    pub async fn import_demo_template(&self, name: &str) {
        let extra = self.extra.path().canonicalize().unwrap();
        let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/demo/templates").join(name);
        for (rel, path) in portico_actions::workspace::walk(&demo).unwrap() {
            let to = extra.join(name).join(&rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(path, to).unwrap();
        }
        let text = std::fs::read_to_string(demo.join("template.yaml")).unwrap().replace("@DEMO_GIT@", &format!("file://{}", extra.join("git").display()));
        self.import(name, &text).await;
    }

    /// GET a path: its status and body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        let res = self.client.get(format!("{}{path}", self.url)).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }

    /// GET a path with these extra headers (as a browser would send them): status, headers, body.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
        let mut req = self.client.get(format!("{}{path}", self.url));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.send().await.unwrap();
        let (status, headers) = (res.status().as_u16(), res.headers().clone());
        (status, headers, res.text().await.unwrap())
    }

    /// POST a form: its status and body.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        self.post_form_with(path, fields, &[]).await
    }

    /// POST a form with these extra headers (as a browser would send them).
    pub async fn post_form_with(&self, path: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> (u16, String) {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
        let mut req = self.client.post(format!("{}{path}", self.url)).header("content-type", "application/x-www-form-urlencoded");
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let res = req.body(body).send().await.unwrap();
        (res.status().as_u16(), res.text().await.unwrap())
    }
}

/// HTML with the auto-escaped `/` read back, for simple `contains` checks.
pub fn plain(html: &str) -> String {
    html.replace("&#x2f;", "/").replace("&quot;", "\"").replace("&#x27;", "'").replace("&amp;", "&")
}
