//! The routes, one module per resource, merged here with the middleware every request passes
//! through (outermost first): request id, tracing span, metrics, error shape, cross-site refusal,
//! and who is asking ([`crate::auth`]).

pub(crate) mod actions;
pub(crate) mod approvals;
pub(crate) mod analytics;
pub(crate) mod audit;
pub(crate) mod analyze;
pub(crate) mod discovery;
pub(crate) mod events;
pub(crate) mod facts;
pub(crate) mod entities;
pub(crate) mod facets;
pub(crate) mod health;
pub(crate) mod locations;
pub(crate) mod openapi;
pub(crate) mod policy;
pub(crate) mod query;
pub(crate) mod refresh;
pub(crate) mod saved_queries;
pub(crate) mod initiatives;
pub(crate) mod scorecards;
pub(crate) mod sessions;
pub(crate) mod stars;
pub(crate) mod tokens;
pub(crate) mod v1;

use axum::Router;
use axum::extract::Request;
use axum::http::HeaderName;
use axum::middleware;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::AppState;
use crate::auth::gate::{Gate, gate};
use crate::error::{no_route, shape_errors};
use crate::telemetry::track;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

pub(crate) fn router(state: AppState) -> Router {
    let catalog = entities::router().merge(facets::router()).merge(locations::router()).merge(refresh::router()).merge(analyze::router());
    Router::new()
        .nest("/api/catalog", catalog)
        .nest(
            "/api/v1",
            v1::router().merge(query::router()).merge(saved_queries::router()).merge(analytics::router()).merge(discovery::router()).merge(tokens::router()).merge(sessions::router()).merge(stars::router()).merge(scorecards::router()).merge(initiatives::router()).merge(actions::router()).merge(approvals::router()).merge(events::router()).merge(facts::router()).merge(policy::router()).merge(audit::router()),
        )
        .merge(openapi::router())
        .merge(health::router())
        .fallback(no_route)
        .method_not_allowed_fallback(no_route)
        .layer(middleware::from_fn_with_state(Gate::api(state.clone()), gate))
        .with_state(state)
        .layer(middleware::from_fn(crate::origin::same_origin_only))
        .layer(middleware::from_fn(shape_errors))
        .layer(middleware::from_fn(track))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|req: &Request| {
                    let id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO))
                .on_failure(log_failure),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A 503 is the server refusing work it has no room for (the query gate, shutdown): expected
/// under load, so a warning; every other failure is an error.
fn log_failure(class: tower_http::classify::ServerErrorsFailureClass, latency: std::time::Duration, _span: &tracing::Span) {
    use tower_http::classify::ServerErrorsFailureClass::StatusCode;
    let ms = latency.as_millis() as u64;
    match class {
        StatusCode(status) if status == axum::http::StatusCode::SERVICE_UNAVAILABLE => tracing::warn!(%status, ms, "refused: no room"),
        class => tracing::error!(%class, ms, "response failed"),
    }
}
