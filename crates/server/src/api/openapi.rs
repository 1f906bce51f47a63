//! `GET /api/openapi.json`: the OpenAPI description, generated from the `#[utoipa::path]`
//! annotation on each handler, so it changes with the code.

use std::sync::OnceLock;

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use utoipa::OpenApi;

use super::{analytics, analyze, audit, discovery, entities, facets, health, locations, query, refresh, policy, saved_queries, sessions, stars, tokens, v1};
use crate::AppState;
use crate::error::{ErrorDetail, ErrorResponse, RequestDetail, ResponseDetail};

/// Portico's HTTP API.
#[derive(OpenApi)]
#[openapi(
    info(title = "Portico API", description = "Portico's catalog API: Backstage's catalog read API under /api/catalog and Portico's own under /api/v1."),
    paths(
        entities::list,
        entities::query::by_query,
        entities::query::by_predicate,
        facets::facets_by_query,
        entities::by_name,
        entities::ancestry,
        entities::by_uid,
        entities::delete_by_uid,
        entities::by_refs,
        facets::facets,
        locations::list,
        locations::get_one,
        locations::create,
        locations::delete,
        locations::by_entity,
        locations::by_query::by_query,
        analyze::analyze,
        refresh::refresh,
        refresh::validate_entity,
        v1::entity_as_of,
        v1::history,
        v1::changes,
        v1::errors,
        v1::catalog_health,
        query::query,
        query::vocabulary,
        saved_queries::list,
        saved_queries::get_one,
        saved_queries::put,
        saved_queries::delete,
        saved_queries::run,
        tokens::create,
        tokens::list,
        tokens::revoke,
        tokens::me,
        sessions::list,
        sessions::revoke,
        stars::list,
        stars::star,
        stars::unstar,
        super::scorecards::list,
        super::scorecards::one,
        super::scorecards::of_entity,
        super::scorecards::gate,
        super::scorecards::history,
        super::scorecards::levels_at,
        super::actions::list,
        super::actions::one,
        super::actions::start,
        super::actions::runs,
        super::actions::template_runs,
        super::actions::run,
        super::actions::cancel,
        super::actions::rollback,
        super::actions::events,
        super::actions::of_entity,
        super::approvals::list,
        super::approvals::one,
        super::approvals::decide,
        super::initiatives::list,
        super::initiatives::one,
        super::initiatives::history,
        super::initiatives::of_entity,
        super::events::record,
        super::events::list,
        super::events::of_entity,
        super::events::rollup,
        super::facts::import,
        super::facts::of_entity,
        super::facts::costs,
        policy::policy,
        audit::list,
        analytics::series,
        discovery::sources,
        discovery::runs,
        discovery::refresh,
        discovery::hook,
        discovery::drift_report,
        discovery::entity_provenance,
        health::healthz,
        health::readyz,
        health::metrics,
        openapi_json,
    ),
    components(schemas(ErrorResponse, ErrorDetail, RequestDetail, ResponseDetail)),
    tags(
        (name = "catalog", description = "Backstage-compatible entity routes"),
        (name = "locations", description = "Backstage-compatible location routes"),
        (name = "portico", description = "Portico's own routes"),
        (name = "scorecards", description = "Scorecards, entities' levels, initiatives and the deploy gate"),
        (name = "actions", description = "Self-service templates and their runs"),
        (name = "events", description = "Deployments, incidents and facts recorded by other tools; DORA metrics"),
        (name = "discovery", description = "Discovery sources, runs, webhooks, drift and provenance"),
        (name = "health", description = "Probes and metrics"),
    )
)]
pub struct ApiDoc;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/api/openapi.json", get(openapi_json))
}

/// This document.
#[utoipa::path(get, path = "/api/openapi.json", tag = "portico",
    responses((status = 200, description = "OpenAPI 3 document", body = serde_json::Value)))]
pub(crate) async fn openapi_json() -> impl IntoResponse {
    static DOC: OnceLock<String> = OnceLock::new();
    let doc = DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned()));
    ([(header::CONTENT_TYPE, "application/json")], doc.as_str())
}
