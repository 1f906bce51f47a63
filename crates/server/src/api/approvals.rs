//! Approvals over the API: the caller's inbox (what waits for their decision), every approval
//! by status, one approval, and a decision with a comment. Who may decide is checked by the runs
//! service: a member of the approval's group, never the person who asked for the run.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use portico_actions::SubmitError;
use portico_store::{ApprovalFilter, ApprovalRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorResponse};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/approvals", get(list)).route("/approvals/{id}", get(one)).route("/approvals/{id}/decision", post(decide))
}

/// The caller's groups, inherited ones included (who they may approve for).
pub fn groups_of(state: &AppState, who: &Principal) -> Vec<String> {
    state.auth.subject(who, state.catalog.graph()).identity.groups.iter().map(|g| g.to_ascii_lowercase()).collect()
}

/// What waits for `who`'s decision.
pub async fn inbox(state: &AppState, who: &Principal) -> Result<Vec<ApprovalRecord>, ApiError> {
    Ok(state.runs.inbox(&who.subject, &groups_of(state, who)).await?)
}

const STATUSES: [&str; 5] = ["pending", "approved", "rejected", "expired", "cancelled"];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// `true`: every approval (in `status`, if given); else the caller's inbox.
    all: Option<bool>,
    status: Option<String>,
    limit: Option<u32>,
}

/// The caller's inbox: pending approvals of their groups, of runs others asked for, that they
/// have not decided. With `all=true`, every approval, newest first (by `status`).
#[utoipa::path(get, path = "/api/v1/approvals", tag = "actions",
    params(("all" = Option<bool>, Query), ("status" = Option<String>, Query), ("limit" = Option<u32>, Query)),
    responses((status = 200, description = "`items`: `{id, runId, step, approvers, required, requester, template, entity, message, status, createdAt, deadline, decidedAt, decisions: [{approver, decision, comment, at}]}`", body = serde_json::Value),
              (status = 400, description = "An unknown status", body = ErrorResponse)))]
pub(crate) async fn list(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>, Query(q): Query<ListQuery>) -> Result<Json<Value>, ApiError> {
    if let Some(s) = &q.status
        && !STATUSES.contains(&s.as_str())
    {
        return Err(ApiError::Input(format!("status: {s:?} is not one of {}", STATUSES.join(", "))));
    }
    let items = if q.all.unwrap_or(false) {
        let filter = ApprovalFilter { status: q.status, ..Default::default() };
        state.runs.store().approvals(&filter, q.limit.unwrap_or(100).clamp(1, 500)).await?
    } else {
        inbox(&state, &who).await?
    };
    Ok(Json(json!({ "items": items })))
}

/// One approval, with its decisions.
#[utoipa::path(get, path = "/api/v1/approvals/{id}", tag = "actions",
    params(("id" = String, Path)),
    responses((status = 200, description = "The approval", body = serde_json::Value),
              (status = 404, description = "No such approval", body = ErrorResponse)))]
pub(crate) async fn one(State(state): State<AppState>, Path(id): Path<String>) -> Result<Json<ApprovalRecord>, ApiError> {
    state.runs.store().approval(&id).await?.map(Json).ok_or_else(|| ApiError::NotFound(format!("no approval {id}")))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecisionBody {
    decision: String,
    #[serde(default)]
    comment: Option<String>,
}

/// Approves or rejects: one rejection rejects the approval; the `required` number of approvals
/// approves it. Either way the run goes on (or fails, saying who rejected it and why).
#[utoipa::path(post, path = "/api/v1/approvals/{id}/decision", tag = "actions",
    params(("id" = String, Path)),
    request_body(content = serde_json::Value, description = "`{decision: approve|reject, comment?: string}`"),
    responses((status = 200, description = "The approval as it stands after the decision", body = serde_json::Value),
              (status = 400, description = "A bad body", body = ErrorResponse),
              (status = 403, description = "The caller asked for the run, or is not a member of the approving group", body = ErrorResponse),
              (status = 404, description = "No such approval", body = ErrorResponse),
              (status = 409, description = "The approval is settled, or the caller decided already", body = ErrorResponse)))]
pub(crate) async fn decide(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>, Path(id): Path<String>, body: Bytes) -> Result<Json<ApprovalRecord>, ApiError> {
    let body: DecisionBody = serde_json::from_slice(&body).map_err(|e| ApiError::Input(format!("the body: {e}; expected {{\"decision\": \"approve\" or \"reject\", \"comment\": \"…\"}}")))?;
    let approve = match body.decision.as_str() {
        "approve" => true,
        "reject" => false,
        other => return Err(ApiError::Input(format!("decision: {other:?} is not approve or reject"))),
    };
    if body.comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::Input("comment: longer than 2000 characters".into()));
    }
    decision(&state, &who, &id, approve, body.comment).await.map(Json)
}

/// Records `who`'s decision, as the API and the portal's forms ask for it.
pub async fn decision(state: &AppState, who: &Principal, id: &str, approve: bool, comment: Option<String>) -> Result<ApprovalRecord, ApiError> {
    let groups = groups_of(state, who);
    match state.runs.decide(id, &who.subject, &groups, approve, comment).await {
        Ok(a) => {
            tracing::info!(approval = %id, run = %a.run_id, approver = %who.subject, approve, status = %a.status, "approval decided");
            Ok(a)
        }
        Err(SubmitError::NotAllowed(m)) => Err(ApiError::Forbidden(m)),
        Err(SubmitError::Decision(m)) => Err(ApiError::Conflict(m)),
        Err(SubmitError::NotFound(m)) => Err(ApiError::NotFound(m)),
        Err(SubmitError::Store(e)) => Err(e.into()),
        Err(e) => Err(ApiError::Conflict(e.to_string())),
    }
}
