//! Initiatives over the API: every initiative with its progress (`/api/v1/initiatives`), one
//! with its progress per owner and to-do list, its burn-down from the stored history, and the
//! initiatives an entity is part of. Answers count only the entities the reader may read, and
//! are brought up to date with the catalog first, as the scorecards' are.

use axum::extract::{Path, Query, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_scorecards::Broken;
use portico_scorecards::initiative::{self, Initiative, Progress, Todo};
use serde::{Deserialize, Serialize};

use super::entities::{key_of, no_entity_named};
use super::scorecards::{fresh, sees_card, time_param};
use crate::auth::Seen;
use crate::error::{ApiError, ErrorResponse};
use crate::params::MAX_LIMIT;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/initiatives", get(list))
        .route("/initiatives/{namespace}/{name}", get(one))
        .route("/initiatives/{namespace}/{name}/history", get(history))
        .route("/entities/{kind}/{namespace}/{name}/initiatives", get(of_entity))
}

fn now() -> (i64, chrono::DateTime<chrono::FixedOffset>) {
    let t = chrono::Utc::now();
    (t.timestamp_millis(), t.fixed_offset())
}

/// The initiatives the reader may read: compiled, or why not.
pub fn readable_initiatives(state: &AppState, seen: &Seen) -> Vec<Result<Initiative, Broken>> {
    let graph = state.catalog.read();
    initiative::all(&graph)
        .into_iter()
        .filter(|i| sees_card(&graph, seen, match i {
            Ok(i) => &i.key,
            Err(b) => &b.reference,
        }))
        .collect()
}

/// The initiative of a key, if the reader may read it: compiled, or why not.
pub fn readable_initiative(state: &AppState, seen: &Seen, key: &str) -> Option<Result<Initiative, Broken>> {
    readable_initiatives(state, seen).into_iter().find(|i| i.as_ref().map_or_else(|b| b.reference == key, |i| i.key == key))
}

/// The initiative of a path, compiled, if the reader may read it.
fn readable_one(state: &AppState, seen: &Seen, namespace: &str, name: &str) -> Result<Initiative, ApiError> {
    let key = key_of("initiative", namespace, name);
    match readable_initiative(state, seen, &key) {
        Some(Ok(i)) => Ok(i),
        Some(Err(b)) => Err(ApiError::Input(format!("{key} does not compile: {}", b.error))),
        None => Err(no_entity_named("Initiative", namespace, name)),
    }
}

/// An initiative's progress over what the reader may read; an error naming the field when its
/// scorecard, level or rules do not resolve.
pub fn progress_of(state: &AppState, seen: &Seen, i: &Initiative) -> Result<(Progress, initiative::Scope), Broken> {
    let (ms, at) = now();
    let scope = initiative::scope(i, &state.scorecards, &seen.0, at, None).map_err(|error| Broken { reference: i.key.clone(), error })?;
    Ok((initiative::progress(i, &scope, ms), scope))
}

#[derive(Serialize)]
struct List {
    items: Vec<Progress>,
    /// Initiatives that do not resolve (an unknown scorecard, level or rule), with why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    broken: Vec<Broken>,
}

/// Every initiative with its progress: entities in scope, done, overdue, and per owner; the
/// nearest deadline first.
#[utoipa::path(get, path = "/api/v1/initiatives", tag = "scorecards",
    responses((status = 200, description = "`items`: `{ref, title, scorecard, level, rules, deadline, daysLeft, pastDeadline, total, done, percent, overdue, owners}`; `broken`: those that do not resolve", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>, seen: Seen) -> Result<Json<serde_json::Value>, ApiError> {
    fresh(&state).await?;
    let (mut items, mut broken) = (Vec::new(), Vec::new());
    for i in readable_initiatives(&state, &seen) {
        match i.and_then(|i| progress_of(&state, &seen, &i)) {
            Ok((p, _)) => items.push(p),
            Err(b) => broken.push(b),
        }
    }
    Ok(Json(serde_json::to_value(List { items, broken }).unwrap_or_default()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct OneParams {
    /// Only this owner's to-do list (`group:default/payments`, `payments`, or `none`).
    owner: Option<String>,
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct One {
    #[serde(flatten)]
    progress: Progress,
    /// Entities on the to-do list (after `owner`).
    total_items: usize,
    /// What each entity still misses, with the remediation of each rule.
    items: Vec<Todo>,
}

/// An owner as asked (`payments`, `group:payments`, `group:default/payments`, `none`), as a key.
pub fn owner_key(owner: &str) -> Result<String, ApiError> {
    if owner.eq_ignore_ascii_case("none") {
        return Ok("none".into());
    }
    portico_model::EntityRef::parse(owner, portico_model::RefDefaults { kind: Some("Group"), namespace: Some("default") })
        .map(|r| r.key())
        .map_err(|e| ApiError::Input(format!("owner: {e}")))
}

/// An initiative: its progress per owner, and the to-do list of entities that miss the target,
/// each with the rules to fix and their remediation (by owner, then entity).
#[utoipa::path(get, path = "/api/v1/initiatives/{namespace}/{name}", tag = "scorecards",
    params(("namespace" = String, Path), ("name" = String, Path),
           ("owner" = Option<String>, Query, description = "Only this owner's to-do list (`payments` is group:default/payments; `none`: no owner)"),
           ("offset" = Option<usize>, Query), ("limit" = Option<usize>, Query, description = "At most 10,000; 100 by default")),
    responses((status = 200, description = "The progress, `totalItems` and `items`: `{ref, owner, level, score, overdue, fix}`", body = serde_json::Value),
              (status = 400, description = "A bad owner, or an initiative that does not resolve", body = ErrorResponse),
              (status = 404, description = "No such initiative", body = ErrorResponse)))]
pub(crate) async fn one(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, Query(p): Query<OneParams>) -> Result<Json<serde_json::Value>, ApiError> {
    fresh(&state).await?;
    let owner = p.owner.as_deref().map(owner_key).transpose()?;
    let i = readable_one(&state, &seen, &namespace, &name)?;
    let (progress, scope) = progress_of(&state, &seen, &i).map_err(|b| ApiError::Input(b.error))?;
    let page = p.offset..p.offset.saturating_add(p.limit.unwrap_or(100).min(MAX_LIMIT));
    let (total_items, items) = initiative::todo(&i, &scope, &state.catalog.read(), owner.as_deref(), now().0, page);
    Ok(Json(serde_json::to_value(One { progress, total_items, items }).unwrap_or_default()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HistoryParams {
    since: Option<String>,
    until: Option<String>,
}

/// An initiative's progress over time, from the stored history (written within 30 seconds of a
/// change): the burn-down (entities remaining, and where the ideal line starts and ends) and
/// every owner's rows. Counted over every entity, so shown only to readers who may read every
/// entity (`restricted: true` for the others).
#[utoipa::path(get, path = "/api/v1/initiatives/{namespace}/{name}/history", tag = "scorecards",
    params(("namespace" = String, Path), ("name" = String, Path),
           ("since" = Option<String>, Query, description = "RFC 3339; default the initiative's start, else everything"),
           ("until" = Option<String>, Query, description = "RFC 3339; default now")),
    responses((status = 200, description = "`{initiative, restricted, burndown: {start, deadline, remainingAtStart, points: [[ms, remaining, total]]}, items: [{owner, at, done, total}]}`", body = serde_json::Value),
              (status = 400, description = "A bad time", body = ErrorResponse),
              (status = 404, description = "No such initiative", body = ErrorResponse)))]
pub(crate) async fn history(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, Query(p): Query<HistoryParams>) -> Result<Json<serde_json::Value>, ApiError> {
    let i = readable_one(&state, &seen, &namespace, &name)?;
    let since = time_param("since", p.since.as_deref())?.or(i.start).unwrap_or(0);
    let until = time_param("until", p.until.as_deref())?.unwrap_or_else(portico_catalog::now_ms);
    if !seen.0.is_all() {
        return Ok(Json(serde_json::json!({ "initiative": i.key, "restricted": true, "burndown": null, "items": [] })));
    }
    let rows = state.catalog.store().progress(&i.key, since, until.saturating_add(1)).await?;
    let burndown = initiative::burndown(&i, &rows);
    Ok(Json(serde_json::json!({ "initiative": i.key, "restricted": false, "burndown": burndown, "items": rows })))
}

/// One initiative an entity is part of.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    #[serde(rename = "ref")]
    pub reference: String,
    pub title: String,
    pub scorecard: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    pub deadline: String,
    pub days_left: i64,
    /// The entity meets the target.
    pub done: bool,
    pub overdue: bool,
    /// The rules it must still pass, with their remediation.
    pub fix: Vec<portico_scorecards::report::RuleResult>,
}

/// The initiatives whose scope holds entity `id` (which the reader may read).
pub fn memberships(state: &AppState, seen: &Seen, id: portico_graph::Id) -> Vec<Membership> {
    let (ms, at) = now();
    let mut out = Vec::new();
    for i in readable_initiatives(state, seen).into_iter().flatten() {
        let Ok(scope) = initiative::scope(&i, &state.scorecards, &seen.0, at, Some(&[id])) else { continue };
        if scope.entities.is_empty() {
            continue;
        }
        let p = initiative::progress(&i, &scope, ms);
        let todo = initiative::todo(&i, &scope, &state.catalog.read(), None, ms, 0..1).1.pop();
        out.push(Membership {
            reference: p.reference,
            title: p.title,
            scorecard: p.scorecard,
            level: p.level,
            rules: p.rules,
            deadline: p.deadline,
            days_left: p.days_left,
            done: todo.is_none(),
            overdue: todo.as_ref().is_some_and(|t| t.overdue),
            fix: todo.map(|t| t.fix).unwrap_or_default(),
        });
    }
    out
}

/// The initiatives an entity is part of: whether it meets each target, and what to fix.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/initiatives", tag = "scorecards",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`items`: `{ref, title, scorecard, level, rules, deadline, daysLeft, done, overdue, fix}`", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn of_entity(State(state): State<AppState>, seen: Seen, Path((kind, namespace, name)): Path<(String, String, String)>) -> Result<Json<serde_json::Value>, ApiError> {
    fresh(&state).await?;
    let key = key_of(&kind, &namespace, &name);
    let id = {
        let graph = state.catalog.read();
        graph.id_of(&key).filter(|&id| graph.entry(id).is_some() && seen.0.sees(id))
    };
    let Some(id) = id else { return Err(no_entity_named(&kind, &namespace, &name)) };
    Ok(Json(serde_json::json!({ "items": memberships(&state, &seen, id) })))
}
