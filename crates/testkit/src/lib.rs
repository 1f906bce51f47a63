//! Test and benchmark support: fresh databases on every backend ([`TestDb`]), a running portal on
//! a random port ([`TestApp`]), and the synthetic catalog generator ([`synth`]) that tests and
//! `portico bench` share, and real git repositories ([`repos`]) for discovery tests and benchmarks.

pub mod repos;
pub mod synth;
pub mod tfstate;

pub use portico_store::testing::TestDb;

use std::sync::Arc;

use portico_discovery::{Catalog, CatalogOptions, LocationService, Reader, ReaderConfig};
use portico_server::{AppState, Application};

/// A portal running on a random loopback port over a fresh database.
pub struct TestApp {
    pub url: String,
    pub catalog: Arc<Catalog>,
    pub discovery: Arc<portico_discovery::engine::Engine>,
    pub locations: LocationService,
    pub db: TestDb,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    /// Starts a portal over `db`, reading files under `roots` (and no URLs).
    pub async fn spawn(db: TestDb, roots: Vec<std::path::PathBuf>) -> anyhow::Result<Self> {
        Self::spawn_with_sources(db, roots, &[], ReaderConfig::default()).await
    }

    /// Starts a portal with discovery `sources` declared as in `portico.yaml`
    /// (`discovery.sources`), reading with `reading` (its roots extended by `roots`).
    pub async fn spawn_with_sources(
        db: TestDb,
        roots: Vec<std::path::PathBuf>,
        sources: &[serde_json::Value],
        mut reading: ReaderConfig,
    ) -> anyhow::Result<Self> {
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await?;
        reading.allowed_roots.extend(roots);
        let reader = Reader::new(reading);
        let locations = LocationService::new(catalog.clone(), reader.clone());
        let decls = portico_discovery::engine::parse_sources(sources).map_err(anyhow::Error::msg)?;
        let cache = std::env::temp_dir().join(format!("portico-test-cache-{}", uuid::Uuid::new_v4()));
        let discovery = portico_discovery::engine::Engine::new(catalog.clone(), reader, cache, decls).map_err(anyhow::Error::msg)?;
        let state = AppState::new(catalog.clone(), locations.clone()).with_discovery(discovery.clone());
        let app = Application::build(state, "127.0.0.1:0".parse()?).await?;
        let url = app.url();
        let server = tokio::spawn(app.run_until_stopped());
        Ok(Self { url, catalog, discovery, locations, db, server })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}
