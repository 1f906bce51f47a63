//! Self-service actions over the API: the templates a reader may see, one template's form,
//! runs (a dry run answered at once; a real run stored, executed by a worker, followed live as
//! Server-Sent Events), a run's cancellation, and the history of runs by template, person or
//! entity.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use portico_actions::{RunView, SubmitError, Template};
use portico_graph::Visible;
use portico_store::RunFilter;
use serde::Deserialize;
use serde_json::{Value, json};

use super::entities::{key_of, no_entity_named};
use crate::AppState;
use crate::auth::{Principal, Seen};
use crate::error::{ApiError, ErrorResponse};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/actions", get(list))
        .route("/actions/{namespace}/{name}", get(one))
        .route("/actions/{namespace}/{name}/runs", get(template_runs).post(start))
        .route("/actions/{namespace}/{name}/runs/{id}", get(run))
        .route("/actions/{namespace}/{name}/runs/{id}/events", get(events))
        .route("/actions/{namespace}/{name}/runs/{id}/cancel", post(cancel))
        .route("/actions/{namespace}/{name}/runs/{id}/rollback", post(rollback))
        .route("/runs", get(runs))
        .route("/entities/{kind}/{namespace}/{name}/actions", get(of_entity))
}

/// The day-2 templates the reader may run on an entity (their `spec.target` selects it).
pub fn templates_for(state: &AppState, seen: &Seen, key: &str) -> Vec<Template> {
    readable_templates(state, seen).into_iter().filter_map(Result::ok).filter(|t| t.target.is_some() && t.applies_to(state.catalog.graph(), key)).collect()
}

/// The day-2 templates that run on an entity, and its latest runs.
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/actions", tag = "actions",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`items`: the templates (as `/api/v1/actions` lists them); `runs`: the latest runs on the entity", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn of_entity(State(state): State<AppState>, seen: Seen, Path((kind, namespace, name)): Path<(String, String, String)>) -> Result<Json<Value>, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    {
        let graph = state.catalog.read();
        if Visible::new(&graph, &seen.0).get(&key).is_none() {
            return Err(no_entity_named(&kind, &namespace, &name));
        }
    }
    let items: Vec<Value> = templates_for(&state, &seen, &key).iter().map(|t| summary(&state, t)).collect();
    let runs = state.runs.store().runs(&RunFilter { entity_key: Some(key), ..Default::default() }, 20).await?;
    let runs: Vec<RunView> = runs.iter().map(RunView::from_record).collect();
    Ok(Json(json!({ "items": items, "runs": runs })))
}

/// The templates the reader may read: read, or why not (by key).
pub fn readable_templates(state: &AppState, seen: &Seen) -> Vec<Result<Template, (String, Vec<portico_model::FieldError>)>> {
    let graph = state.catalog.read();
    let visible = Visible::new(&graph, &seen.0);
    portico_actions::template::all(&graph)
        .into_iter()
        .filter(|t| {
            let key = match t {
                Ok(t) => &t.key,
                Err((k, _)) => k,
            };
            visible.id_of(key).is_some()
        })
        .collect()
}

/// The template of a path, if the reader may read it.
pub fn readable_template(state: &AppState, seen: &Seen, namespace: &str, name: &str) -> Result<Template, ApiError> {
    let key = key_of("template", namespace, name);
    match readable_templates(state, seen).into_iter().find(|t| t.as_ref().map_or_else(|(k, _)| *k == key, |t| t.key == key)) {
        Some(Ok(t)) => Ok(t),
        Some(Err((_, errors))) => Err(ApiError::Input(format!("{key} does not read: {}", joined(&errors)))),
        None => Err(no_entity_named("Template", namespace, name)),
    }
}

fn joined(errors: &[portico_model::FieldError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A template as listings show it: with the actions this Portico lacks.
pub fn summary(state: &AppState, t: &Template) -> Value {
    let unknown: Vec<String> = t.unknown_actions(|a| state.runs.engine().registry().contains(a)).into_iter().map(|e| e.message).collect();
    json!({
        "ref": t.key, "title": t.title, "description": t.description, "type": t.template_type, "owner": t.owner,
        "tags": t.tags, "steps": t.steps.len(), "ready": unknown.is_empty(), "unknownActions": unknown, "target": t.target,
    })
}

/// Every template the reader may read, by title.
#[utoipa::path(get, path = "/api/v1/actions", tag = "actions",
    responses((status = 200, description = "`items`: `{ref, title, description, type, owner, tags, steps, ready, unknownActions}`; `broken`: templates that do not read, with why", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>, seen: Seen) -> Json<Value> {
    let (mut items, mut broken) = (Vec::new(), Vec::new());
    for t in readable_templates(&state, &seen) {
        match t {
            Ok(t) => items.push(summary(&state, &t)),
            Err((key, errors)) => broken.push(json!({ "ref": key, "error": joined(&errors) })),
        }
    }
    Json(json!({ "items": items, "broken": broken }))
}

/// One template: its form (parameter pages, JSON Schema), steps and output.
#[utoipa::path(get, path = "/api/v1/actions/{namespace}/{name}", tag = "actions",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The template (`pages`, `steps`, `output`) with `ready` and `unknownActions`", body = serde_json::Value),
              (status = 404, description = "No such template", body = ErrorResponse)))]
pub(crate) async fn one(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    let t = readable_template(&state, &seen, &namespace, &name)?;
    let mut body = serde_json::to_value(&t).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Some(o) = body.as_object_mut() {
        o.remove("location");
        if let Value::Object(s) = summary(&state, &t) {
            o.extend(s.into_iter().filter(|(k, _)| k == "ready" || k == "unknownActions"));
        }
    }
    Ok(Json(body))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StartBody {
    #[serde(default)]
    parameters: Value,
    #[serde(default)]
    dry_run: bool,
    /// The entity a day-2 template runs on (`kind:namespace/name`).
    #[serde(default)]
    entity: Option<String>,
}

/// The entity a run names (`kind:namespace/name`; a bare name is a Component's): its key, and
/// its body when the reader may read it.
pub fn run_entity(state: &AppState, seen: &Seen, reference: &str) -> Result<(String, Option<Value>), ApiError> {
    let key = portico_model::EntityRef::parse(reference, portico_model::RefDefaults { kind: Some("component"), namespace: None }).map_err(|e| ApiError::Input(format!("entity: {e}")))?.key();
    let graph = state.catalog.read();
    let value = Visible::new(&graph, &seen.0).get(&key).map(|e| e.entity.to_value());
    Ok((key, value))
}

/// `user` in a run's expressions and policies: the caller's reference, groups (inherited ones
/// too), owners (the reference and the groups), whether an admin, and its entity when the
/// catalog has it.
pub fn user_value(state: &AppState, who: &Principal) -> Value {
    let subject = state.auth.subject(who, state.catalog.graph());
    let graph = state.catalog.read();
    let entity = graph.get(&who.subject.to_ascii_lowercase()).map(|e| e.entity.to_value());
    json!({ "ref": who.subject, "groups": subject.identity.groups, "owners": subject.identity.owners(), "admin": subject.admin, "entity": entity })
}

/// Runs a template. A dry run answers with its report (each step's rendered input, the files
/// the skeleton made) and stores nothing; a real run is stored and answered with 202 at once.
#[utoipa::path(post, path = "/api/v1/actions/{namespace}/{name}/runs", tag = "actions",
    params(("namespace" = String, Path), ("name" = String, Path)),
    request_body(content = serde_json::Value, description = "`{parameters: {...}, dryRun?: bool, entity?: ref}`"),
    responses((status = 200, description = "A dry run's report: `{status, steps, output, files, policies}` (`policies`: each policy's answer, `{name, passed, message}`)", body = serde_json::Value),
              (status = 202, description = "The run, queued (or `waiting`, when a policy asks for an approval first: `approvals` says whose): `{id, status, steps, approvals, ...}`; follow it at `…/runs/{id}/events`", body = serde_json::Value),
              (status = 400, description = "Parameters that fail the form (each named: `parameters.name: …`), an unknown action, a bad body", body = ErrorResponse),
              (status = 403, description = "A policy of the template refuses the run (named, with its message)", body = ErrorResponse),
              (status = 404, description = "No such template", body = ErrorResponse),
              (status = 429, description = "Too many runs of this template or by this person are queued or running", body = ErrorResponse)))]
pub(crate) async fn start(
    State(state): State<AppState>,
    seen: Seen,
    Extension(who): Extension<Arc<Principal>>,
    Path((namespace, name)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: StartBody = serde_json::from_slice(&body).map_err(|e| ApiError::Input(format!("the body: {e}; expected {{\"parameters\": {{...}}, \"dryRun\": false}}")))?;
    let t = readable_template(&state, &seen, &namespace, &name)?;
    let entity = match &body.entity {
        None => None,
        Some(r) => match run_entity(&state, &seen, r)? {
            (key, Some(value)) => Some((key, value)),
            (key, None) => return Err(ApiError::Input(format!("entity: no entity {key}"))),
        },
    };
    let parameters = if body.parameters.is_null() { json!({}) } else { body.parameters };
    let user = user_value(&state, &who);
    if body.dry_run {
        // A dry run says what the policies would answer, and runs anyway: nothing happens.
        let verdicts = state.runs.policies(&t, &parameters, &who.subject, &user, entity.as_ref().map(|(k, _)| k.as_str())).await?;
        let report = state.runs.dry_run(&t, &parameters, user, entity).await.map_err(|e| ApiError::Input(joined(&e)))?;
        let mut body = serde_json::to_value(report).map_err(|e| ApiError::Internal(e.to_string()))?;
        body["policies"] = serde_json::to_value(verdicts).unwrap_or_default();
        return Ok(Json(body).into_response());
    }
    match state.runs.submit(&t, &parameters, &who.subject, user, entity).await {
        Ok(run) => Ok((StatusCode::ACCEPTED, Json(run)).into_response()),
        Err(SubmitError::Invalid(errors)) => Err(ApiError::Input(joined(&errors))),
        Err(SubmitError::Busy(m)) => Err(ApiError::TooManyRequests { message: m, retry_after_secs: 30 }),
        Err(e @ SubmitError::Refused(_)) => Err(ApiError::Forbidden(format!("the template's policies refuse this run: {e}"))),
        Err(SubmitError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RunsQuery {
    template: Option<String>,
    actor: Option<String>,
    entity: Option<String>,
    status: Option<String>,
    limit: Option<u32>,
}

async fn list_runs(state: &AppState, filter: RunFilter, limit: Option<u32>) -> Result<Json<Value>, ApiError> {
    let limit = limit.unwrap_or(50).clamp(1, 500);
    let runs = state.runs.store().runs(&filter, limit).await?;
    let items: Vec<Value> = runs.iter().map(|r| {
        let mut v = serde_json::to_value(RunView::from_record(r)).unwrap_or_default();
        // Lists show who ran what and how it went; one run's page has its steps.
        if let Some(o) = v.as_object_mut() {
            o.remove("steps");
            o.remove("parameters");
        }
        v
    }).collect();
    Ok(Json(json!({ "items": items })))
}

/// Runs, newest first: of a template, by a person (`actor`), on an entity, in a status.
#[utoipa::path(get, path = "/api/v1/runs", tag = "actions",
    params(("template" = Option<String>, Query), ("actor" = Option<String>, Query), ("entity" = Option<String>, Query), ("status" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "`items`: `{id, template, title, status, actor, entity, createdAt, startedAt, finishedAt, attempts, output, error}`", body = serde_json::Value)))]
pub(crate) async fn runs(State(state): State<AppState>, Query(q): Query<RunsQuery>) -> Result<Json<Value>, ApiError> {
    if let Some(s) = &q.status
        && !["queued", "running", "waiting", "completed", "failed", "cancelled"].contains(&s.as_str())
    {
        return Err(ApiError::Input(format!("status: {s:?} is not one of queued, running, waiting, completed, failed, cancelled")));
    }
    let lower = |s: Option<String>| s.map(|s| s.to_ascii_lowercase());
    list_runs(&state, RunFilter { template: lower(q.template), actor: q.actor, entity_key: lower(q.entity), status: q.status }, q.limit).await
}

/// A template's runs, newest first.
#[utoipa::path(get, path = "/api/v1/actions/{namespace}/{name}/runs", tag = "actions",
    params(("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`items`: runs, newest first", body = serde_json::Value)))]
pub(crate) async fn template_runs(State(state): State<AppState>, Path((namespace, name)): Path<(String, String)>) -> Result<Json<Value>, ApiError> {
    list_runs(&state, RunFilter { template: Some(key_of("template", &namespace, &name)), ..Default::default() }, None).await
}

async fn stored_run(state: &AppState, namespace: &str, name: &str, id: &str) -> Result<RunView, ApiError> {
    let template = key_of("template", namespace, name);
    state.runs.view(id).await?.filter(|r| r.template == template).ok_or_else(|| ApiError::NotFound(format!("no run {id} of {template}")))
}

/// One run: its steps (status, rendered input, output, duration), output and error.
#[utoipa::path(get, path = "/api/v1/actions/{namespace}/{name}/runs/{id}", tag = "actions",
    params(("namespace" = String, Path), ("name" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "The run", body = serde_json::Value),
              (status = 404, description = "No such run of this template", body = ErrorResponse)))]
pub(crate) async fn run(State(state): State<AppState>, Path((namespace, name, id)): Path<(String, String, String)>) -> Result<Json<RunView>, ApiError> {
    stored_run(&state, &namespace, &name, &id).await.map(Json)
}

/// Asks a run to stop: a queued one is cancelled at once, a running one at its next step or
/// during the current one.
#[utoipa::path(post, path = "/api/v1/actions/{namespace}/{name}/runs/{id}/cancel", tag = "actions",
    params(("namespace" = String, Path), ("name" = String, Path), ("id" = String, Path)),
    responses((status = 202, description = "Asked", body = serde_json::Value),
              (status = 404, description = "No such run", body = ErrorResponse),
              (status = 409, description = "The run has already finished", body = ErrorResponse)))]
pub(crate) async fn cancel(State(state): State<AppState>, Path((namespace, name, id)): Path<(String, String, String)>) -> Result<Response, ApiError> {
    let run = stored_run(&state, &namespace, &name, &id).await?;
    if !state.runs.cancel(&run.id).await? {
        return Err(ApiError::Conflict(format!("run {id} has already finished ({})", run.status)));
    }
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": run.id, "cancelRequested": true }))).into_response())
}

/// Undoes a failed or cancelled run's completed steps, last first (each step's `undo`, else its
/// action's own: a pushed branch is deleted), and says per step what was and was not undone.
#[utoipa::path(post, path = "/api/v1/actions/{namespace}/{name}/runs/{id}/rollback", tag = "actions",
    params(("namespace" = String, Path), ("name" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "`items`: per completed step, last first, `{step, status: undone|nothing|failed|skipped, message}`", body = serde_json::Value),
              (status = 404, description = "No such run", body = ErrorResponse),
              (status = 409, description = "The run did not fail, has not finished, or was rolled back already", body = ErrorResponse)))]
pub(crate) async fn rollback(State(state): State<AppState>, Path((namespace, name, id)): Path<(String, String, String)>) -> Result<Json<Value>, ApiError> {
    let run = stored_run(&state, &namespace, &name, &id).await?;
    match state.runs.rollback(&run.id).await {
        Ok(items) => Ok(Json(json!({ "items": items }))),
        Err(SubmitError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}

/// A run live, as Server-Sent Events: `log` (`{seq, step, at, line}`), `run` (the run with its
/// steps, whenever a step starts or ends) and, last, `end` (the finished run). Events already
/// past are sent first, so a late subscriber sees the whole run.
#[utoipa::path(get, path = "/api/v1/actions/{namespace}/{name}/runs/{id}/events", tag = "actions",
    params(("namespace" = String, Path), ("name" = String, Path), ("id" = String, Path)),
    responses((status = 200, description = "`text/event-stream`", body = String),
              (status = 404, description = "No such run", body = ErrorResponse)))]
pub(crate) async fn events(State(state): State<AppState>, Path((namespace, name, id)): Path<(String, String, String)>) -> Result<Sse<impl futures::Stream<Item = Result<SseEvent, Infallible>>>, ApiError> {
    let first = stored_run(&state, &namespace, &name, &id).await?;
    let notify = state.runs.notifier(&id);
    let stream = futures::stream::unfold((state, id, first, 0i64, String::new(), false), move |(state, id, mut run, mut seq, mut steps_seen, done)| {
        let notify = notify.clone();
        async move {
            if done {
                return None;
            }
            loop {
                // Listening before looking, so progress saved meanwhile is not missed.
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let mut out: Vec<SseEvent> = Vec::new();
                // The run first, then its lines: a worker appends every line before it marks the
                // run finished, so a run seen finished here has all its lines in what follows.
                if let Ok(Some(r)) = state.runs.store().run(&id).await {
                    run = RunView::from_record(&r);
                }
                let lines = state.runs.store().run_log(&id, seq, 500).await.unwrap_or_default();
                for l in &lines {
                    seq = l.seq;
                    out.push(SseEvent::default().event("log").json_data(l).unwrap_or_default());
                }
                let steps = format!("{}{}", run.status, serde_json::to_string(&run.steps).unwrap_or_default());
                if steps != steps_seen || steps_seen.is_empty() {
                    steps_seen = steps;
                    out.push(SseEvent::default().event("run").json_data(&run).unwrap_or_default());
                }
                // Finished, and every line it wrote sent: the end.
                let finished = run.finished() && lines.len() < 500;
                if finished {
                    out.push(SseEvent::default().event("end").json_data(&run).unwrap_or_default());
                }
                if !out.is_empty() {
                    let batch = futures::stream::iter(out.into_iter().map(Ok));
                    return Some((batch, (state, id, run, seq, steps_seen, finished)));
                }
                // Woken at once by progress saved on this replica; else looks every 250 ms
                // (a run on another replica).
                let _ = tokio::time::timeout(Duration::from_millis(250), notified).await;
            }
        }
    });
    use futures::StreamExt;
    Ok(Sse::new(stream.flatten()).keep_alive(KeepAlive::default()))
}
