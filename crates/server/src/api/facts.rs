//! Facts over the API: reports imported from the tools teams already run
//! (`POST /api/v1/facts/import?format=…&entity=…`, the report as the body), an entity's
//! recorded facts, and monthly cost rolled up per system, owner or domain (the FinOps view).

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_scorecards::import::Format;
use portico_scorecards::{GroupBy, Imported};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{key_of, no_entity_named};
use super::events::{group_by, record_error};
use crate::AppState;
use crate::auth::Seen;
use crate::error::{ApiError, ErrorResponse};

/// A billing export of a month of a large estate fits.
const MAX_REPORT: usize = 64 * 1024 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/facts/import", post(import).layer(DefaultBodyLimit::max(MAX_REPORT)))
        .route("/entities/{kind}/{namespace}/{name}/facts", get(of_entity))
        .route("/costs", get(costs))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ImportParams {
    format: Option<String>,
    entity: Option<String>,
}

/// Imports a report (the body, as the tool wrote it): `trivy` or `grype` JSON (counts of
/// vulnerabilities by severity: facts `security.*`), `junit` XML (`tests.*`), `cobertura` XML or
/// `lcov` (`coverage.*`) about the entity `entity`; or a `billing` CSV export, whose rows are
/// matched to entities (`cost.*`). The same report twice records nothing twice.
#[utoipa::path(post, path = "/api/v1/facts/import", tag = "events",
    params(("format" = String, Query, description = "trivy, grype, junit, cobertura, lcov or billing"),
           ("entity" = Option<String>, Query, description = "The entity the report is about (all formats but billing)")),
    request_body(content = String, description = "The report as the tool wrote it"),
    responses((status = 200, description = "`{format, facts: {entity: {name: value}}, added, updated, unchanged, events, skipped}`", body = serde_json::Value),
              (status = 400, description = "An unknown format, a missing or unknown entity, or a report that cannot be read (with where)", body = ErrorResponse)))]
pub(crate) async fn import(State(state): State<AppState>, Query(p): Query<ImportParams>, body: Bytes) -> Result<Json<Imported>, ApiError> {
    let format = Format::named(p.format.as_deref().ok_or_else(|| ApiError::Input("format: required: trivy, grype, junit, cobertura, lcov or billing".into()))?)
        .map_err(ApiError::Input)?;
    let done = state.recorder.import(format, &body, p.entity.as_deref()).await.map_err(record_error)?;
    Ok(Json(done))
}

/// The facts recorded about an entity (by events and importers), by name.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/facts", tag = "events",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`{entity, facts: {name: value}}`", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn of_entity(State(state): State<AppState>, seen: Seen, Path((kind, namespace, name)): Path<(String, String, String)>) -> Result<Json<Value>, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    let graph = state.catalog.read();
    if !graph.id_of(&key).is_some_and(|id| graph.entry(id).is_some() && seen.0.sees(id)) {
        return Err(no_entity_named(&kind, &namespace, &name));
    }
    let facts = graph.recorded_facts(&key).map(|f| Value::Object((**f).clone())).unwrap_or_else(|| json!({}));
    Ok(Json(json!({ "entity": key, "facts": facts })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct CostParams {
    group_by: Option<String>,
}

/// Monthly cost (the latest month of the imported billing exports) summed per system, owner or
/// domain, largest first.
#[utoipa::path(get, path = "/api/v1/costs", tag = "events",
    params(("groupBy" = Option<String>, Query, description = "system (default), owner or domain")),
    responses((status = 200, description = "`{groupBy, items: [{group, entities, monthly, currencies}]}`", body = serde_json::Value),
              (status = 400, description = "An unknown grouping", body = ErrorResponse)))]
pub(crate) async fn costs(State(state): State<AppState>, seen: Seen, Query(p): Query<CostParams>) -> Result<Json<Value>, ApiError> {
    let by: GroupBy = group_by(p.group_by.as_deref())?;
    let items = state.recorder.costs(by, &|id| seen.0.sees(id));
    Ok(Json(json!({ "groupBy": by, "items": items })))
}
