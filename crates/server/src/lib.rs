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
//! Start it with [`Application::build`] then [`Application::run_until_stopped`]; tests bind
//! port 0 and read [`Application::port`].

mod api;
pub mod error;
mod params;
mod render;
mod startup;
pub mod telemetry;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use portico_discovery::{Catalog, LocationService};

pub use api::openapi::ApiDoc;
pub use error::ApiError;
pub use startup::Application;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub catalog: Arc<Catalog>,
    pub locations: LocationService,
    /// Renders `/metrics`; see [`telemetry::prometheus_handle`].
    pub metrics: PrometheusHandle,
    pub started: Instant,
}

impl AppState {
    /// A state with the process's metrics recorder and the start time set to now.
    pub fn new(catalog: Arc<Catalog>, locations: LocationService) -> Self {
        Self { catalog, locations, metrics: telemetry::prometheus_handle(), started: Instant::now() }
    }
}

/// The whole HTTP API with its middleware (request ids, tracing, metrics, error shape).
pub fn router(state: AppState) -> Router {
    api::router(state)
}

