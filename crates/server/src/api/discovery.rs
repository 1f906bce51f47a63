//! Discovery under `/api/v1`: the sources and their runs, on-demand refresh, webhooks, the
//! drift report, and per-field provenance of an entity.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_discovery::engine::{EngineError, Trigger, drift, provenance, webhook};
use serde::Serialize;
use serde_json::{Value, json};

use super::entities::{key_of, no_entity_named};
use crate::AppState;
use crate::error::{ApiError, ErrorResponse};
use crate::params::QueryParams;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/discovery", get(sources))
        .route("/discovery/{source}/runs", get(runs))
        .route("/discovery/{source}/refresh", post(refresh))
        .route("/discovery/{source}/webhook", post(hook))
        .route("/drift", get(drift_report))
        .route("/entities/{kind}/{namespace}/{name}/provenance", get(entity_provenance))
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        match e {
            EngineError::UnknownSource(name) => ApiError::NotFound(format!("no discovery source named `{name}`")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SourceView {
    name: String,
    #[serde(rename = "type")]
    kind: String,
    /// Seconds between scheduled runs; absent when it runs only on demand.
    interval_seconds: Option<u64>,
    priority: i32,
    enabled: bool,
    webhook: bool,
    live: portico_discovery::engine::LiveStatus,
    last_run: Option<portico_store::DiscoveryRun>,
}

/// Every configured discovery source, what it is doing now and its last run.
#[utoipa::path(get, path = "/api/v1/discovery", tag = "discovery",
    responses((status = 200, description = "`items`: sources with `live` progress and `lastRun`", body = serde_json::Value)))]
pub(crate) async fn sources(State(state): State<AppState>) -> Result<Json<Value>, ApiError> {
    let engine = &state.discovery;
    let mut items = Vec::new();
    for d in engine.sources() {
        let last_run = engine.runs(Some(&d.name), 1).await?.into_iter().next();
        items.push(SourceView {
            name: d.name.clone(),
            kind: d.kind.clone(),
            interval_seconds: d.interval.map(|i| i.as_secs()),
            priority: d.priority,
            enabled: d.enabled,
            webhook: true,
            live: engine.live(&d.name),
            last_run,
        });
    }
    Ok(Json(json!({ "items": items })))
}

/// The latest runs of a source, newest first (`limit`, default 20, at most 500).
#[utoipa::path(get, path = "/api/v1/discovery/{source}/runs", tag = "discovery",
    params(("source" = String, Path), ("limit" = Option<i64>, Query)),
    responses((status = 200, description = "`items`: runs with counts and errors", body = serde_json::Value),
              (status = 404, description = "No such source", body = ErrorResponse)))]
pub(crate) async fn runs(
    State(state): State<AppState>,
    Path(source): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<Value>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let limit = params.limit()?.unwrap_or(20).min(500) as i64;
    state.discovery.source(&source)?;
    let items = state.discovery.runs(Some(&source), limit).await?;
    Ok(Json(json!({ "items": items })))
}

/// Runs a source now and answers with the run. `wait=false` answers 202 at once and runs in
/// the background; `scope` narrows the run to one scope (a repository). A source with a
/// `webhookSecret` runs on request only for who knows it (`Authorization: Bearer <secret>` or
/// `X-Gitlab-Token`): the secret that guards its webhook guards this door too.
#[utoipa::path(post, path = "/api/v1/discovery/{source}/refresh", tag = "discovery",
    params(("source" = String, Path), ("wait" = Option<bool>, Query), ("scope" = Option<String>, Query)),
    responses((status = 200, description = "The run: status, counts, errors", body = serde_json::Value),
              (status = 202, description = "Started (`wait=false`)", body = serde_json::Value),
              (status = 401, description = "The source has a webhookSecret and the request does not carry it", body = ErrorResponse),
              (status = 404, description = "No such source", body = ErrorResponse)))]
pub(crate) async fn refresh(
    State(state): State<AppState>,
    Path(source): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let wait = !params.has("wait") || params.flag("wait")?;
    let scope = params.one("scope")?.map(str::to_owned);
    let decl = state.discovery.source(&source)?.decl.clone();
    check_secret(decl.webhook_secret.as_deref(), &headers, &body)?;
    if !wait {
        spawn_run(&state, source.clone(), Trigger::Manual, scope.clone());
        return Ok((StatusCode::ACCEPTED, Json(json!({ "source": source, "scope": scope, "accepted": true }))).into_response());
    }
    let run = state.discovery.run(&source, Trigger::Manual, scope, None).await?;
    Ok(Json(run).into_response())
}

/// A git server's push hook or a CI job: runs the source at once, narrowed to the repository
/// the payload names (GitHub, Gitea, GitLab, Bitbucket payloads, or `{"repository": …}`).
/// When the source has a `webhookSecret`, the request must carry `X-Hub-Signature-256`,
/// `X-Gitlab-Token` or `Authorization: Bearer`.
#[utoipa::path(post, path = "/api/v1/discovery/{source}/webhook", tag = "discovery",
    params(("source" = String, Path)),
    responses((status = 202, description = "Accepted: the run started", body = serde_json::Value),
              (status = 400, description = "The body is not JSON", body = ErrorResponse),
              (status = 401, description = "Missing or wrong secret", body = ErrorResponse),
              (status = 404, description = "No such source", body = ErrorResponse)))]
pub(crate) async fn hook(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let decl = state.discovery.source(&source)?.decl.clone();
    check_secret(decl.webhook_secret.as_deref(), &headers, &body)?;
    let payload: Value = if body.iter().all(u8::is_ascii_whitespace) {
        Value::Null
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Input(format!("webhook body is not JSON: {e} (line {}, column {})", e.line(), e.column())))?
    };
    let scope = webhook::scope_hints(&payload).into_iter().next();
    spawn_run(&state, source.clone(), Trigger::Webhook, scope.clone());
    Ok((StatusCode::ACCEPTED, Json(json!({ "source": source, "scope": scope, "accepted": true }))).into_response())
}

/// Checks a request against a source's `webhookSecret` (none: every request passes).
pub fn check_secret(secret: Option<&str>, headers: &HeaderMap, body: &[u8]) -> Result<(), ApiError> {
    let lowered: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned())))
        .collect();
    webhook::authorized(secret, lowered.iter().map(|(k, v)| (k.as_str(), v.as_str())), body).map_err(ApiError::Unauthorized)
}

fn spawn_run(state: &AppState, source: String, trigger: Trigger, scope: Option<String>) {
    state.discovery.spawn_run(source, trigger, scope);
}

/// Where declarations and what runs disagree: declared services nothing runs, workloads and
/// resources nobody declared or owns, dependencies observed but not declared (and the
/// reverse), owners that do not exist.
#[utoipa::path(get, path = "/api/v1/drift", tag = "discovery",
    responses((status = 200, description = "`{generatedAt, counts, runtimeSources, items}`", body = serde_json::Value)))]
pub(crate) async fn drift_report(State(state): State<AppState>, seen: crate::auth::Seen) -> Result<Json<drift::DriftReport>, ApiError> {
    Ok(Json(drift_for(&state, &seen).await?))
}

/// The drift report without items about entities the reader may not see (at either end), and
/// its counts of what is left.
pub async fn drift_for(state: &AppState, seen: &crate::auth::Seen) -> Result<drift::DriftReport, EngineError> {
    let kinds: HashMap<String, String> = state.discovery.sources().map(|d| (d.name.clone(), d.kind.clone())).collect();
    let mut report = drift::report(&state.catalog, &kinds).await?;
    if !seen.0.is_all() {
        let graph = state.catalog.read();
        let hidden = |r: &str| portico_model::EntityRef::parse_full(r).is_ok_and(|r| graph.id_of(&r.key()).is_some_and(|id| !seen.0.sees(id)));
        report.items.retain(|i| !hidden(&i.entity_ref) && !i.target.as_deref().is_some_and(hidden));
        for n in report.counts.values_mut() {
            *n = 0;
        }
        for i in &report.items {
            *report.counts.entry(i.kind).or_default() += 1;
        }
    }
    Ok(report)
}

/// Which source, location and time set each field of an entity. Discovered entities answer
/// from the merge of their contributions; others from their version history.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/provenance", tag = "discovery",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`{entityRef, method, sources, fields}`", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn entity_provenance(
    State(state): State<AppState>,
    seen: crate::auth::Seen,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<provenance::Provenance>, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    if !seen.0.is_all() && !seen.sees_now(&state, &key) {
        return Err(no_entity_named(&kind, &namespace, &name));
    }
    match provenance::provenance(&state.catalog, &key).await? {
        Some(p) => Ok(Json(p)),
        None => Err(no_entity_named(&kind, &namespace, &name)),
    }
}
