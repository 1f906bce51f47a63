//! Events and DORA over the API: `POST /api/v1/events` records deployments, incidents and
//! custom facts (CI pipelines and incident tools send them), `GET /api/v1/events` lists them,
//! and `/api/v1/dora` answers the four keys for an entity (with its weeks) or rolled up per
//! system, owner or domain. Lists and roll-ups count only entities the reader may read.

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_scorecards::{GroupBy, RecordError, Recorded};
use portico_store::{EventFilter, EventRow};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{key_of, no_entity_named};
use crate::AppState;
use crate::auth::Seen;
use crate::error::{ApiError, ErrorResponse};

/// A batch of 10,000 events fits.
const MAX_BODY: usize = 16 * 1024 * 1024;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/events", get(list).post(record).layer(DefaultBodyLimit::max(MAX_BODY)))
        .route("/dora", get(rollup))
        .route("/dora/{kind}/{namespace}/{name}", get(of_entity))
}

/// Records events: one, a list, or `{"events": [...]}` (at most 10,000). Each has a `type`:
/// `deployment` (`id`, `entity`, `environment`, `status`, `finishedAt` once finished, and
/// optionally `version`, `commitSha`, `commitTime`, `startedAt`, `url`), `incident` (`id`,
/// `entity`, `openedAt`, optionally `resolvedAt`, `severity`, `title`, `deployment`, `url`) or
/// `fact` (`entity`, `name`, `value`, optionally `at` and `id`). Times are RFC 3339. The same id
/// again merges into the recorded event (a retry changes nothing). Any bad event refuses the
/// batch, naming each problem as `events[i]: field: …`.
#[utoipa::path(post, path = "/api/v1/events", tag = "events",
    request_body(content = serde_json::Value, description = "An event, a list of events, or `{\"events\": [...]}`"),
    responses((status = 200, description = "`{added, updated, unchanged, events: [{id, entity, outcome}]}`", body = serde_json::Value),
              (status = 400, description = "A bad event, an unknown entity, an absurd time, or an id recorded for something else: nothing recorded", body = ErrorResponse)))]
pub(crate) async fn record(State(state): State<AppState>, body: Bytes) -> Result<Json<Recorded>, ApiError> {
    let body: Value = serde_json::from_slice(&body).map_err(|e| ApiError::Input(format!("the body is not JSON: {e}")))?;
    state.recorder.record(&body).await.map(Json).map_err(record_error)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListParams {
    entity: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
}

/// Recorded events, newest first: of one entity, one type, a time range.
#[utoipa::path(get, path = "/api/v1/events", tag = "events",
    params(("entity" = Option<String>, Query, description = "An entity reference (`cart` is component:default/cart)"),
           ("type" = Option<String>, Query, description = "deployment, incident or fact"),
           ("since" = Option<String>, Query, description = "RFC 3339"), ("until" = Option<String>, Query, description = "RFC 3339"),
           ("limit" = Option<u32>, Query, description = "At most 1,000; 100 by default")),
    responses((status = 200, description = "`items`: `{id, type, entityKey, at, body, recordedAt, updatedAt}`", body = serde_json::Value),
              (status = 400, description = "A bad parameter", body = ErrorResponse)))]
pub(crate) async fn list(State(state): State<AppState>, seen: Seen, Query(p): Query<ListParams>) -> Result<Json<Value>, ApiError> {
    let entity_keys = match p.entity.as_deref() {
        Some(r) => Some(vec![portico_scorecards::events::entity_key(r, &|_| true).map_err(ApiError::Input)?]),
        None => None,
    };
    if let Some(k) = p.kind.as_deref().filter(|k| !["deployment", "incident", "fact"].contains(k)) {
        return Err(ApiError::Input(format!("type: {k:?} is not deployment, incident or fact")));
    }
    let time = |field: &str, v: Option<&str>| -> Result<Option<i64>, ApiError> {
        v.map(|t| portico_catalog::parse_time(field, t).map_err(ApiError::Input)).transpose()
    };
    let filter = EventFilter {
        entity_keys,
        kinds: p.kind.into_iter().collect(),
        since: time("since", p.since.as_deref())?,
        until: time("until", p.until.as_deref())?,
        limit: p.limit.unwrap_or(100).clamp(1, 1000),
    };
    let events = state.catalog.store().events(&filter).await?;
    let graph = state.catalog.read();
    let items: Vec<EventRow> = events.into_iter().filter(|e| graph.id_of(&e.entity_key).is_some_and(|id| seen.0.sees(id))).collect();
    Ok(Json(json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EntityParams {
    weeks: Option<usize>,
}

/// An entity's DORA metrics over the window (90 days unless configured), each with its band,
/// and the same week by week.
#[utoipa::path(get, path = "/api/v1/dora/{kind}/{namespace}/{name}", tag = "events",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path),
           ("weeks" = Option<usize>, Query, description = "Weeks of history, at most 104; 12 by default")),
    responses((status = 200, description = "`{entity, dora, weeks}`", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn of_entity(
    State(state): State<AppState>,
    seen: Seen,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Query(p): Query<EntityParams>,
) -> Result<Json<Value>, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    let visible = {
        let graph = state.catalog.read();
        graph.id_of(&key).is_some_and(|id| graph.entry(id).is_some() && seen.0.sees(id))
    };
    if !visible {
        return Err(no_entity_named(&kind, &namespace, &name));
    }
    let weeks = p.weeks.unwrap_or(12).clamp(1, 104);
    let (dora, weeks) = state.recorder.entity(&key, weeks).await.map_err(record_error)?;
    Ok(Json(json!({ "entity": key, "dora": dora, "weeks": weeks })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct RollupParams {
    group_by: Option<String>,
}

/// DORA metrics pooled per system, owner or domain: every deployment and incident of the
/// group's entities counted together.
#[utoipa::path(get, path = "/api/v1/dora", tag = "events",
    params(("groupBy" = Option<String>, Query, description = "system (default), owner or domain")),
    responses((status = 200, description = "`{groupBy, items: [{group, entities, dora}]}`", body = serde_json::Value),
              (status = 400, description = "An unknown grouping", body = ErrorResponse)))]
pub(crate) async fn rollup(State(state): State<AppState>, seen: Seen, Query(p): Query<RollupParams>) -> Result<Json<Value>, ApiError> {
    let by = group_by(p.group_by.as_deref())?;
    let items = state.recorder.rollup(by, &|id| seen.0.sees(id)).await.map_err(record_error)?;
    Ok(Json(json!({ "groupBy": by, "items": items })))
}

/// `groupBy`: system (the default), owner or domain.
pub(crate) fn group_by(p: Option<&str>) -> Result<GroupBy, ApiError> {
    p.unwrap_or("system").parse().map_err(|e| ApiError::Input(format!("groupBy: {e}")))
}

pub(crate) fn record_error(e: RecordError) -> ApiError {
    match e {
        RecordError::Invalid(p) => ApiError::Input(portico_scorecards::record::list(&p)),
        RecordError::Report(m) => ApiError::Input(m),
        RecordError::Store(e) => e.into(),
    }
}
