//! Liveness (`/healthz`: the process answers), readiness (`/readyz`: the catalog is loaded and
//! the store answers within a deadline) and Prometheus metrics (`/metrics`).

use std::time::Duration;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

use crate::AppState;
use crate::telemetry::CATALOG_ENTITIES;

/// How long the store may take to answer the readiness probe.
const STORE_DEADLINE: Duration = Duration::from_secs(2);

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "`{\"status\": \"ok\", \"uptimeSeconds\"}`", body = serde_json::Value)))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<serde_json::Value> {
    Json(json!({"status": "ok", "uptimeSeconds": state.started.elapsed().as_secs()}))
}

/// Ready to serve: the first read of the configured locations has ended (until then: 503,
/// `loading`, with the entities read so far) and the store answers a trivial query in time.
#[utoipa::path(get, path = "/readyz", tag = "health",
    responses((status = 200, description = "`{\"status\": \"ready\", \"entities\"}`", body = serde_json::Value),
              (status = 503, description = "`{\"status\": \"unavailable\" or \"loading\", \"reason\"}`", body = serde_json::Value)))]
pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let entities = state.catalog.read().len();
    if state.startup.is_loading() {
        let body = json!({"status": "loading", "entities": entities, "reason": "the catalog's locations are still being read"});
        return (StatusCode::SERVICE_UNAVAILABLE, Json(body)).into_response();
    }
    let probe = tokio::time::timeout(STORE_DEADLINE, state.catalog.store().get_location("readiness-probe")).await;
    let reason = match probe {
        Ok(Ok(_)) => return Json(json!({"status": "ready", "entities": entities})).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: the store failed");
            "the store is not answering"
        }
        Err(_) => {
            tracing::warn!(deadline = ?STORE_DEADLINE, "readiness: the store did not answer in time");
            "the store did not answer in time"
        }
    };
    (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable", "reason": reason}))).into_response()
}

/// Prometheus text exposition.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    metrics::gauge!(CATALOG_ENTITIES).set(state.catalog.read().len() as f64);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render()).into_response()
}
