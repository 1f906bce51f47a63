//! Portico's HTTP server: the read side of Backstage's catalog REST API under `/api/catalog`
//! (same paths, parameters, filter syntax and response shapes, so Backstage clients work
//! against it), Portico's own endpoints under `/api/v1`, an OpenAPI description, health
//! checks and Prometheus metrics.
//!
//! Handlers answer from the in-memory read model ([`portico_graph::CatalogGraph`]) and hold
//! its lock only long enough to take `Arc`s of the entities they need; serialization happens
//! after the lock is released. Every write (registering, refreshing or deleting a location,
//! deleting an entity) goes through the discovery crate's one write path. Every error has one
//! JSON shape ([`error::ApiError`]).
//!
//! `fullTextFilter` is answered with the help of the search index ([`portico_search`]): it
//! names the candidates, the read model checks them.
//!
//! Start it with [`Application::build`] then [`Application::run_until_stopped`]; tests bind
//! port 0 and read [`Application::port`]. [`Application::build_with`] serves another router
//! instead (the web crate's pages, which fall back to this API).

mod api;
mod catalog_port;
pub use catalog_port::ServerCatalog;
pub mod error;
pub mod auth;
mod guard;
pub mod origin;
pub mod params;
mod render;
mod startup;
mod stream;
pub mod telemetry;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use portico_discovery::engine::Engine;
use portico_catalog::{Catalog, LocationService};
use portico_search::SearchIndex;

pub use api::locations::{Registration, SourceProblem, register_location};
pub use api::openapi::ApiDoc;
pub use api::audit::{csv_file as audit_csv, filter_of as audit_filter};
pub use api::analytics::series_for;
pub use api::discovery::{check_secret, drift_for};
pub use api::query::refused;
pub use api::saved_queries::save_query;
pub use api::approvals::{decision as decide_approval, groups_of, inbox as approval_inbox};
pub use api::actions::{readable_template, readable_templates, run_entity, summary as template_summary, templates_for, user_value};
pub use api::initiatives::{Membership, memberships, owner_key, progress_of, readable_initiative, readable_initiatives};
pub use api::scorecards::{fresh as fresh_scorecards, fresh_or_running as fresh_scorecards_for_pages, readable_cards, sees_card};
pub use error::ApiError;
pub use guard::ServerConfig;
pub use render::EntityView;
pub use startup::Application;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    pub locations: LocationService,
    /// Renders `/metrics`; see [`telemetry::prometheus_handle`].
    pub metrics: PrometheusHandle,
    pub started: Instant,
    /// Full-text index of the catalog, kept current from its change feed.
    pub search: Arc<SearchIndex>,
    /// The discovery engine (no sources unless configured: [`AppState::with_discovery`]).
    pub discovery: Arc<Engine>,
    /// Whether the first read of the configured locations is still running.
    pub startup: Arc<Startup>,
    /// `auth:` of the configuration, with its policy compiled.
    pub auth: Arc<auth::Authorizer>,
    /// The scorecards and their results, kept current with the catalog.
    pub scorecards: Arc<portico_scorecards::Scorecards>,
    /// What the deploy gate answers for an entity with no result (`scorecards.gate.unknown`).
    pub gate_unknown: portico_scorecards::report::Unknown,
    /// Records events and keeps the facts and DORA metrics they imply current.
    pub recorder: Arc<portico_scorecards::Recorder>,
    /// Self-service runs: submitted here, executed by workers ([`portico_actions::Runs::start`]).
    pub runs: Arc<portico_actions::Runs>,
}

/// The server answers as soon as its port is open; until the first read of the configured
/// locations ends, `/readyz` says `loading` and pages say that the catalog is still being read.
#[derive(Debug, Default)]
pub struct Startup {
    loading: std::sync::atomic::AtomicBool,
}

impl Startup {
    /// Whether the first read is still running.
    pub fn is_loading(&self) -> bool {
        self.loading.load(std::sync::atomic::Ordering::Acquire)
    }

    /// The first read has ended (whatever its outcome).
    pub fn finish(&self) {
        self.loading.store(false, std::sync::atomic::Ordering::Release);
    }
}

impl AppState {
    /// A state with the process's metrics recorder, the start time set to now, and a search
    /// index that builds itself in the background and then follows the catalog's changes.
    pub fn new(catalog: Arc<Catalog>, locations: LocationService) -> Self {
        let search = SearchIndex::follow(&catalog).expect("an in-memory search index can always be created");
        let discovery = Engine::with_providers(catalog.clone(), locations.reader().clone(), std::env::temp_dir(), Vec::new());
        let scorecards = portico_scorecards::Scorecards::new(catalog.graph().clone());
        let port = Arc::new(catalog_port::ServerCatalog { catalog: catalog.clone(), locations: locations.clone() });
        Self {
            catalog: catalog.clone(),
            locations,
            metrics: telemetry::prometheus_handle(),
            started: Instant::now(),
            search,
            discovery,
            startup: Arc::default(),
            auth: Arc::default(),
            scorecards,
            gate_unknown: portico_scorecards::report::Unknown::Fail,
            recorder: Arc::new(portico_scorecards::Recorder::new(catalog.clone(), portico_scorecards::dora::DoraConfig::default())),
            runs: portico_actions::Runs::new(
                catalog.store().clone(),
                catalog.graph().clone(),
                Arc::new(portico_actions::Engine::new(portico_actions::Registry::builtin()).with_catalog(port)),
                std::env::temp_dir().join(format!("portico-runs-{}", std::process::id())),
                portico_actions::RunsConfig::default(),
            ),
        }
    }

    /// The state with the runs service configured (`actions:`): where run workspaces live and
    /// the limits. Its workers start with [`portico_actions::Runs::start`].
    pub fn with_runs(mut self, root: std::path::PathBuf, config: portico_actions::RunsConfig) -> Self {
        let port = catalog_port::ServerCatalog { catalog: self.catalog.clone(), locations: self.locations.clone() };
        let engine = portico_actions::Engine::new(portico_actions::Registry::builtin()).with_remotes(config.remotes.clone()).with_catalog(Arc::new(port));
        self.runs = portico_actions::Runs::new(self.catalog.store().clone(), self.catalog.graph().clone(), Arc::new(engine), root, config);
        self
    }

    /// The state of a server whose first read of its locations is still to come: see
    /// [`Startup`]. Call `startup.finish()` when it ends.
    pub fn loading(self) -> Self {
        self.startup.loading.store(true, std::sync::atomic::Ordering::Release);
        self
    }

    /// The state with the identity configuration (`AuthConfig::authorizer`).
    pub fn with_auth(mut self, auth: auth::Authorizer) -> Self {
        self.auth = Arc::new(auth);
        self
    }

    /// The state with the deploy gate's answer for entities with no result.
    pub fn with_gate_unknown(mut self, unknown: portico_scorecards::report::Unknown) -> Self {
        self.gate_unknown = unknown;
        self
    }

    /// The state with DORA's environments and window (`scorecards.dora`).
    pub fn with_dora(mut self, config: portico_scorecards::dora::DoraConfig) -> Self {
        self.recorder = Arc::new(portico_scorecards::Recorder::new(self.catalog.clone(), config));
        self
    }

    /// The state with a configured discovery engine.
    pub fn with_discovery(mut self, engine: Arc<Engine>) -> Self {
        self.discovery = engine;
        self
    }
}

/// The whole HTTP API with its middleware (request ids, tracing, metrics, error shape).
pub fn router(state: AppState) -> Router {
    api::router(state)
}

