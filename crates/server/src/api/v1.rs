//! Portico's own read endpoints under `/api/v1`: an entity's history (every stored version),
//! an entity as it was at a time, what changed between two times, the errors sources
//! recorded, and the catalog's health (sizes and unresolved relations).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_graph::{Unresolved, Visible};
use portico_model::EntityRef;
use portico_catalog::{ChangeReport, parse_time};
use portico_store::{ErrorRecord, VersionRecord};
use serde::Serialize;

use super::entities::{key_of, no_entity_named};
use crate::AppState;
use crate::auth::Seen;
use crate::error::{ApiError, ErrorResponse};
use crate::params::QueryParams;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/entities/{kind}/{namespace}/{name}", get(entity_as_of))
        .route("/entities/{kind}/{namespace}/{name}/history", get(history))
        .route("/changes", get(changes))
        .route("/errors", get(errors))
        .route("/health/catalog", get(catalog_health))
}

#[derive(Serialize)]
pub(crate) struct Items<T> {
    items: Vec<T>,
}

impl<T> Items<T> {
    pub(crate) fn new(items: Vec<T>) -> Self {
        Self { items }
    }
}

/// Every stored version of an entity, oldest first (removed entities keep their history).
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/history", tag = "portico",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`items`: versions, oldest first", body = serde_json::Value),
              (status = 404, description = "The entity never existed", body = ErrorResponse)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    seen: Seen,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<Items<VersionRecord>>, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    let items = state.catalog.store().history(&key).await?;
    if items.is_empty() || !seen.sees_history(&state, &key, &items).await? {
        return Err(no_entity_named(&kind, &namespace, &name));
    }
    Ok(Json(Items { items }))
}

/// An entity's stored descriptor as it was at `asOf` (RFC 3339), with the version and source
/// of its latest change then. Without `asOf`, as it is now.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}", tag = "portico",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path),
        ("asOf" = Option<String>, Query, description = "RFC 3339 time, not in the future")),
    responses((status = 200, description = "`{version, at, source, change, body}`", body = serde_json::Value),
              (status = 400, description = "Bad or future `asOf`", body = ErrorResponse),
              (status = 404, description = "The entity did not exist then", body = ErrorResponse)))]
pub(crate) async fn entity_as_of(
    State(state): State<AppState>,
    seen: Seen,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    RawQuery(raw): RawQuery,
) -> Result<Json<VersionRecord>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let at = match params.one("asOf")? {
        Some(t) => parse_time("asOf", t).map_err(ApiError::Input)?,
        None => portico_catalog::now_ms(),
    };
    let key = key_of(&kind, &namespace, &name);
    match state.catalog.entity_at(&key, at).await? {
        Some(v) if v.body.is_none() || seen.sees_at(&state, &key, at).await? => Ok(Json(v)),
        _ => Err(no_entity_named(&kind, &namespace, &name)),
    }
}

/// What changed after `from` and up to `to` (RFC 3339; `to` defaults to now): entities added,
/// removed and changed, with field-level differences and the source of each change.
#[utoipa::path(get, path = "/api/v1/changes", tag = "portico",
    params(("from" = String, Query, description = "RFC 3339 time"),
        ("to" = Option<String>, Query, description = "RFC 3339 time, default now")),
    responses((status = 200, description = "`{from, to, added, removed, changed, truncated}`", body = serde_json::Value),
              (status = 400, description = "Missing, malformed, future or reversed times", body = ErrorResponse)))]
pub(crate) async fn changes(State(state): State<AppState>, seen: Seen, RawQuery(raw): RawQuery) -> Result<Json<ChangeReport>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let from = params.one("from")?.ok_or_else(|| ApiError::Input("from: required (an RFC 3339 time)".into()))?;
    let from = parse_time("from", from).map_err(ApiError::Input)?;
    let to = match params.one("to")? {
        Some(t) => parse_time("to", t).map_err(ApiError::Input)?,
        None => portico_catalog::now_ms(),
    };
    if from > to {
        return Err(ApiError::Input("from must not be after to".into()));
    }
    let mut report = state.catalog.changes(from, to).await?;
    if !seen.0.is_all() {
        // Added and changed entities as they were at `to`, removed ones as they were at `from`.
        let key = |c: &portico_catalog::EntityChange| EntityRef::parse_full(&c.entity_ref).map(|r| r.key()).unwrap_or_default();
        for (list, at) in [(&mut report.added, to), (&mut report.changed, to), (&mut report.removed, from)] {
            let keys: Vec<String> = list.iter().map(key).collect();
            // A past that cannot be read hides the entities no longer there.
            let seen_then = match seen.sees_all_at(&state, &keys, at).await {
                Ok(answers) => answers,
                Err(_) => keys.iter().map(|k| seen.sees_now(&state, k)).collect(),
            };
            let mut answers = seen_then.into_iter();
            list.retain(|_| answers.next().unwrap_or(false));
        }
        // Which of the entities beyond the report's bound the reader may see is not known:
        // their number would tell about the others.
        report.truncated = 0;
    }
    Ok(Json(report))
}

/// Errors recorded by sources (unreadable files, invalid descriptors, conflicts), optionally
/// only those concerning one entity (`entityRef`).
#[utoipa::path(get, path = "/api/v1/errors", tag = "portico",
    params(("entityRef" = Option<String>, Query, description = "Only errors concerning this entity")),
    responses((status = 200, description = "`items`: recorded errors", body = serde_json::Value),
              (status = 400, description = "Bad reference", body = ErrorResponse)))]
pub(crate) async fn errors(State(state): State<AppState>, seen: Seen, RawQuery(raw): RawQuery) -> Result<Json<Items<ErrorRecord>>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let key = match params.one("entityRef")? {
        Some(r) => Some(EntityRef::parse_full(r).map_err(|e| ApiError::Input(format!("entityRef: {e}")))?.key()),
        None => None,
    };
    let mut items = state.catalog.store().errors(key.as_deref()).await?;
    seen.retain_errors(&state, &mut items);
    Ok(Json(Items { items }))
}

#[derive(Serialize)]
pub(crate) struct CatalogHealth {
    entities: usize,
    errors: usize,
    #[serde(rename = "unresolvedRelations")]
    unresolved_relations: Vec<Unresolved>,
}

/// How many entities and recorded errors the catalog has, and which relations point at
/// entities that do not exist.
#[utoipa::path(get, path = "/api/v1/health/catalog", tag = "portico",
    responses((status = 200, description = "`{\"entities\", \"errors\", \"unresolvedRelations\": [{\"source\", \"type\", \"target\"}]}`", body = serde_json::Value)))]
pub(crate) async fn catalog_health(State(state): State<AppState>, seen: Seen) -> Result<Json<CatalogHealth>, ApiError> {
    let (entities, unresolved_relations) = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        (graph.len(), graph.unresolved())
    };
    let mut errors = state.catalog.store().errors(None).await?;
    seen.retain_errors(&state, &mut errors);
    let errors = errors.len();
    Ok(Json(CatalogHealth { entities, errors, unresolved_relations }))
}
