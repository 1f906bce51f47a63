//! Scorecards over the API: the scorecards and how entities fare on them
//! (`/api/v1/scorecards`), one entity's results (`/api/v1/entities/{ref}/scorecards`), and the
//! deploy gate (`/api/v1/gates/{ref}?scorecard=…&level=…`), which CI asks before a deploy.
//! Answers count only the entities the reader may read, and are brought up to date with the
//! catalog before they are given (a pipeline that just changed an entity sees its new level).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use portico_scorecards::report::{self, EntityResult, GateAnswer, Listed, Summary};
use portico_scorecards::Broken;
use portico_store::AuditEvent;
use serde::{Deserialize, Serialize};

use super::entities::{key_of, no_entity_named};
use crate::auth::{Principal, Seen};
use crate::error::{ApiError, ErrorResponse};
use crate::params::MAX_LIMIT;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/scorecards", get(list))
        .route("/scorecards/{namespace}/{name}", get(one))
        .route("/entities/{kind}/{namespace}/{name}/scorecards", get(of_entity))
        .route("/gates/{kind}/{namespace}/{name}", get(gate))
        .route("/scorecards/{namespace}/{name}/history", get(history))
        .route("/scorecards/{namespace}/{name}/levels", get(levels_at))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryParams {
    entity: Option<String>,
    since: Option<String>,
    until: Option<String>,
    limit: Option<u32>,
}

/// The scorecard a reader may read, by path.
fn readable_card(state: &AppState, seen: &Seen, namespace: &str, name: &str) -> Result<Arc<portico_scorecards::Card>, ApiError> {
    let key = key_of("scorecard", namespace, name);
    let graph = state.catalog.read();
    state.scorecards.card(&key).filter(|_| sees_card(&graph, seen, &key)).ok_or_else(|| no_entity_named("Scorecard", namespace, name))
}

pub(crate) fn time_param(field: &str, value: Option<&str>) -> Result<Option<i64>, ApiError> {
    value.map(|v| portico_catalog::parse_time(field, v).map_err(ApiError::Input)).transpose()
}

/// Level changes on a scorecard, newest first: when each entity was first scored, went up or
/// down a level, or was no longer scored (`level: -1`). Stored within 30 seconds of the change.
#[utoipa::path(get, path = "/api/v1/scorecards/{namespace}/{name}/history", tag = "scorecards",
    params(("namespace" = String, Path), ("name" = String, Path),
           ("entity" = Option<String>, Query, description = "One entity's changes (`cart` is component:default/cart)"),
           ("since" = Option<String>, Query, description = "RFC 3339"), ("until" = Option<String>, Query, description = "RFC 3339"),
           ("limit" = Option<u32>, Query, description = "At most 10,000; 100 by default")),
    responses((status = 200, description = "`items`: `{scorecard, entityKey, at, level, levelName, score}`", body = serde_json::Value),
              (status = 400, description = "A bad parameter", body = ErrorResponse),
              (status = 404, description = "No such scorecard", body = ErrorResponse)))]
pub(crate) async fn history(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, Query(p): Query<HistoryParams>) -> Result<Json<serde_json::Value>, ApiError> {
    let card = readable_card(&state, &seen, &namespace, &name)?;
    let entity = p.entity.as_deref().map(|e| portico_scorecards::events::entity_key(e, &|_| true).map_err(ApiError::Input)).transpose()?;
    let (since, until) = (time_param("since", p.since.as_deref())?, time_param("until", p.until.as_deref())?);
    let rows = state.catalog.store().level_changes(&card.card.key, entity.as_deref(), since, until, p.limit.unwrap_or(100).clamp(1, 10_000)).await?;
    let graph = state.catalog.read();
    let items: Vec<_> = rows.into_iter().filter(|r| graph.id_of(&r.entity_key).is_some_and(|id| seen.0.sees(id))).collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct LevelsParams {
    as_of: Option<String>,
    limit: Option<usize>,
}

/// Every entity's level on a scorecard as it was at `asOf` (default: now), from the stored
/// history: the distribution, and the entities (lowest level first, at most `limit`).
#[utoipa::path(get, path = "/api/v1/scorecards/{namespace}/{name}/levels", tag = "scorecards",
    params(("namespace" = String, Path), ("name" = String, Path),
           ("asOf" = Option<String>, Query, description = "RFC 3339; default now"),
           ("limit" = Option<usize>, Query, description = "Entities listed, at most 10,000; 100 by default")),
    responses((status = 200, description = "`{scorecard, asOf, distribution: [{level, count}], totalItems, items: [{entityKey, level, levelName, score, at}]}`", body = serde_json::Value),
              (status = 400, description = "A bad time", body = ErrorResponse),
              (status = 404, description = "No such scorecard", body = ErrorResponse)))]
pub(crate) async fn levels_at(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, Query(p): Query<LevelsParams>) -> Result<Json<serde_json::Value>, ApiError> {
    let card = readable_card(&state, &seen, &namespace, &name)?;
    let at = time_param("asOf", p.as_of.as_deref())?.unwrap_or_else(portico_catalog::now_ms);
    let rows = state.catalog.store().levels_at(&card.card.key, at).await?;
    let (mut items, counts) = {
        let graph = state.catalog.read();
        let visible = |k: &str| graph.id_of(k).is_some_and(|id| seen.0.sees(id));
        let counts = portico_scorecards::history::distribution(&rows, card.card.levels.len(), visible);
        let items: Vec<portico_store::LevelRow> = rows.into_iter().filter(|r| r.level >= 0 && visible(&r.entity_key)).collect();
        (items, counts)
    };
    items.sort_by(|a, b| a.level.cmp(&b.level).then(a.score.total_cmp(&b.score)).then_with(|| a.entity_key.cmp(&b.entity_key)));
    let total = items.len();
    items.truncate(p.limit.unwrap_or(100).min(MAX_LIMIT));
    let distribution: Vec<serde_json::Value> = counts
        .iter()
        .enumerate()
        .map(|(i, c)| serde_json::json!({"level": if i == 0 { None } else { Some(&card.card.levels[i - 1]) }, "count": c}))
        .collect();
    let as_of = chrono::DateTime::from_timestamp_millis(at).map(|t| t.to_rfc3339()).unwrap_or_default();
    Ok(Json(serde_json::json!({ "scorecard": card.card.key, "asOf": as_of, "distribution": distribution, "totalItems": total, "items": items })))
}

/// The results, up to date with the read model: a change made just before is scored first
/// (the gate must not let a deploy through on a level the last change took away).
pub async fn fresh(state: &AppState) -> Result<(), ApiError> {
    bring_up_to_date(state, true).await
}

/// As [`fresh`], for pages that show results beside other things (an entity's page): when an
/// update already running (a scorecard just changed and is evaluated in full) goes on past a
/// second, the page shows the results before it rather than waiting.
pub async fn fresh_or_running(state: &AppState) -> Result<(), ApiError> {
    bring_up_to_date(state, false).await
}

async fn bring_up_to_date(state: &AppState, wait: bool) -> Result<(), ApiError> {
    if state.scorecards.generation() == state.catalog.read().generation() {
        return Ok(());
    }
    let s = state.scorecards.clone();
    tokio::task::spawn_blocking(move || if wait { Some(s.update()) } else { s.update_within(std::time::Duration::from_secs(1)) })
        .await
        .map_err(|e| ApiError::Internal(format!("updating the scorecards failed: {e}")))?;
    Ok(())
}

#[derive(Serialize)]
struct List {
    items: Vec<Summary>,
    /// Scorecard entities left out, with why (shown to readers who see every entity).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    broken: Vec<Broken>,
}

/// Every scorecard with its levels, rules, and how many entities are at each level.
#[utoipa::path(get, path = "/api/v1/scorecards", tag = "scorecards",
    responses((status = 200, description = "`items`: each scorecard with `distribution` (entities per level, none first), `averageScore` and per rule `passed`/`failed`", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>, seen: Seen) -> Result<Json<serde_json::Value>, ApiError> {
    fresh(&state).await?;
    let items = readable_cards(&state, &seen).iter().map(|c| report::summary(c, &seen.0)).collect();
    let broken = if seen.0.is_all() { state.scorecards.broken() } else { Vec::new() };
    Ok(Json(serde_json::to_value(List { items, broken }).unwrap_or_default()))
}

/// A scorecard is itself an entity: one the reader may not read is, to it, absent.
pub fn sees_card(graph: &portico_graph::CatalogGraph, seen: &Seen, key: &str) -> bool {
    graph.id_of(key).is_some_and(|id| graph.entry(id).is_some() && seen.0.sees(id))
}

/// The scorecards the reader may read, with their results.
pub fn readable_cards(state: &AppState, seen: &Seen) -> Vec<Arc<portico_scorecards::Card>> {
    let graph = state.catalog.read();
    state.scorecards.cards().into_iter().filter(|c| sees_card(&graph, seen, &c.card.key)).collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OneParams {
    /// Only entities at this level (`none`: those that reached no level).
    level: Option<String>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct One {
    #[serde(flatten)]
    summary: Summary,
    /// Entities listed (after `level`), lowest level and score first.
    total_items: usize,
    items: Vec<Listed>,
}

/// A scorecard and its entities, lowest level first: what needs work first.
#[utoipa::path(get, path = "/api/v1/scorecards/{namespace}/{name}", tag = "scorecards",
    params(("namespace" = String, Path), ("name" = String, Path),
           ("level" = Option<String>, Query, description = "Only entities at this level; `none` for those that reached none"),
           ("offset" = Option<usize>, Query), ("limit" = Option<usize>, Query, description = "At most 10,000; 100 by default")),
    responses((status = 200, description = "The summary, `totalItems` and `items`: `{ref, level, score, failing}`", body = serde_json::Value),
              (status = 400, description = "An unknown level", body = ErrorResponse),
              (status = 404, description = "No such scorecard", body = ErrorResponse)))]
pub(crate) async fn one(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, Query(p): Query<OneParams>) -> Result<Json<serde_json::Value>, ApiError> {
    fresh(&state).await?;
    let key = key_of("scorecard", &namespace, &name);
    let graph = state.catalog.read();
    let card = state.scorecards.card(&key).filter(|_| sees_card(&graph, &seen, &key)).ok_or_else(|| no_entity_named("Scorecard", &namespace, &name))?;
    let level = match p.level.as_deref() {
        None => None,
        Some(l) if l.eq_ignore_ascii_case("none") => Some(""),
        Some(l) if card.card.level_index(l).is_some() => Some(l),
        Some(l) => return Err(ApiError::Input(format!("level: {l:?} is not a level of {key}; its levels: {} (or none)", card.card.levels.join(", ")))),
    };
    let limit = p.limit.unwrap_or(100).min(MAX_LIMIT);
    let (total_items, items) = report::entities(&card, &graph, &seen.0, level, p.offset, limit);
    let one = One { summary: report::summary(&card, &seen.0), total_items, items };
    Ok(Json(serde_json::to_value(one).unwrap_or_default()))
}

/// An entity's results on every scorecard that applies to it: level, score, and each rule
/// passed or failed, with its remediation.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/scorecards", tag = "scorecards",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`items`: `{scorecard, title, level, levels, score, nextLevel, rules}`", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn of_entity(State(state): State<AppState>, seen: Seen, Path((kind, namespace, name)): Path<(String, String, String)>) -> Result<Json<serde_json::Value>, ApiError> {
    fresh(&state).await?;
    let key = key_of(&kind, &namespace, &name);
    let graph = state.catalog.read();
    let Some(id) = graph.id_of(&key).filter(|&id| graph.entry(id).is_some() && seen.0.sees(id)) else {
        return Err(no_entity_named(&kind, &namespace, &name));
    };
    drop(graph);
    let items: Vec<EntityResult> = report::entity_results(&readable_cards(&state, &seen), id);
    Ok(Json(serde_json::json!({ "items": items })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GateParams {
    scorecard: Option<String>,
    level: Option<String>,
}

/// Whether an entity reaches a scorecard's level: `pass`, the level reached, and the failing
/// rules of the required level and below with their remediation. An unknown entity, or one
/// the scorecard does not apply to, fails (`scorecards.gate.unknown: pass` lets it through).
/// Every answer is in the audit log (`scorecard.gate`).
#[utoipa::path(get, path = "/api/v1/gates/{kind}/{namespace}/{name}", tag = "scorecards",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path),
           ("scorecard" = String, Query, description = "The scorecard: its name, or namespace/name"),
           ("level" = String, Query, description = "The level required")),
    responses((status = 200, description = "`{pass, entity, scorecard, required, level, score, reason, failing}`", body = serde_json::Value),
              (status = 400, description = "No scorecard or level asked, an unknown scorecard, or a level it does not have", body = ErrorResponse)))]
pub(crate) async fn gate(
    State(state): State<AppState>,
    seen: Seen,
    Extension(who): Extension<Arc<Principal>>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
    Query(p): Query<GateParams>,
) -> Result<Json<GateAnswer>, ApiError> {
    let (Some(scorecard), Some(level)) = (p.scorecard.filter(|s| !s.is_empty()), p.level.filter(|s| !s.is_empty())) else {
        return Err(ApiError::Input("scorecard and level are required: /api/v1/gates/{kind}/{namespace}/{name}?scorecard=readiness&level=Silver".into()));
    };
    fresh(&state).await?;
    let entity = format!("{}:{namespace}/{name}", kind.to_ascii_lowercase());
    let answer = {
        let graph = state.catalog.read();
        let card = state.scorecards.card(&scorecard).filter(|c| sees_card(&graph, &seen, &c.card.key));
        let Some(card) = card else {
            let known: Vec<String> = state.scorecards.cards().iter().filter(|c| sees_card(&graph, &seen, &c.card.key)).map(|c| c.card.name.clone()).collect();
            return Err(ApiError::Input(format!("scorecard: no scorecard {scorecard:?}; the scorecards: {}", if known.is_empty() { "none".to_owned() } else { known.join(", ") })));
        };
        let id = graph.id_of(&key_of(&kind, &namespace, &name)).filter(|&id| graph.entry(id).is_some() && seen.0.sees(id));
        report::gate(&card, &entity, id, &level, state.gate_unknown).map_err(|e| ApiError::Input(format!("level: {e}")))?
    };
    let outcome = if answer.pass { "passed" } else { "failed" };
    let detail = format!(
        "{} at {} (reached {}){}",
        answer.scorecard,
        answer.required,
        answer.level.as_deref().unwrap_or("none"),
        answer.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_else(|| if answer.failing.is_empty() { String::new() } else { format!("; failing: {}", answer.failing.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", ")) })
    );
    crate::auth::gate::record(&state, AuditEvent::of(who.subject.clone(), who.via, "scorecard.gate", Some(entity), outcome).with(Some(200), None, detail)).await;
    Ok(Json(answer))
}
