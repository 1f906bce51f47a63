//! Test and benchmark support: fresh databases on every backend ([`TestDb`]), a running portal on
//! a random port ([`TestApp`]), and the synthetic catalog generator ([`synth`]) that tests and
//! `portico bench` share, and real git repositories ([`repos`]) for discovery tests and benchmarks.

pub mod oidc;
pub mod oidc_forger;
pub mod repos;
pub mod synth;
pub mod tfstate;

pub use portico_store::testing::TestDb;

use std::sync::Arc;

use portico_catalog::{Catalog, CatalogOptions, LocationService, Reader, ReaderConfig};
use portico_server::{AppState, Application};

/// A portal running on a random loopback port over a fresh database.
pub struct TestApp {
    pub url: String,
    pub catalog: Arc<Catalog>,
    pub locations: LocationService,
    pub db: TestDb,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl TestApp {
    /// Starts a portal over `db`, reading files under `roots` (and no URLs).
    pub async fn spawn(db: TestDb, roots: Vec<std::path::PathBuf>) -> anyhow::Result<Self> {
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await?;
        let reader = Reader::new(ReaderConfig { allowed_roots: roots, ..Default::default() });
        let locations = LocationService::new(catalog.clone(), reader);
        let app = Application::build(AppState::new(catalog.clone(), locations.clone()), "127.0.0.1:0".parse()?).await?;
        let url = app.url();
        let server = tokio::spawn(app.run_until_stopped());
        Ok(Self { url, catalog, locations, db, server })
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}
