//! `/create/approvals`: what waits for the reader's decision (the runs others asked for that a
//! group of theirs approves), each with its run, who asked, the message and the deadline, and
//! Approve / Reject with a comment. The same form sits on a waiting run's page.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use portico_server::AppState;
use portico_server::auth::Principal;
use portico_store::ApprovalRecord;
use serde::Serialize;

use crate::error::PageError;

#[derive(Serialize)]
struct InboxPage {
    nav: &'static str,
    items: Vec<ApprovalRecord>,
    /// The groups the reader approves for.
    groups: Vec<String>,
}

pub(crate) async fn inbox(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>) -> Result<Html<String>, PageError> {
    let items = portico_server::approval_inbox(&state, &who).await?;
    crate::templates::render("approvals.html", InboxPage { nav: "create", items, groups: portico_server::groups_of(&state, &who) })
}

/// The ids of `approvals` the reader may decide now (pending, of a group of theirs, not their
/// own run, not decided by them yet).
pub(crate) fn decidable(state: &AppState, who: &Principal, approvals: &[ApprovalRecord]) -> Vec<String> {
    let groups = portico_server::groups_of(state, who);
    approvals
        .iter()
        .filter(|a| portico_actions::runs::may_decide(a, &who.subject, &groups))
        .map(|a| a.id.clone())
        .collect()
}

/// Approve or Reject (the button pressed), with the comment: then back to the run.
pub(crate) async fn decide(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>, Path(id): Path<String>, body: String) -> Result<Response, PageError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let approve = match field("decision").as_deref() {
        Some("approve") => true,
        Some("reject") => false,
        other => return Err(PageError::BadRequest(format!("decision: {other:?} is not approve or reject"))),
    };
    let comment = field("comment").filter(|c| !c.trim().is_empty());
    if comment.as_ref().is_some_and(|c| c.chars().count() > 2000) {
        return Err(PageError::BadRequest("comment: longer than 2000 characters".into()));
    }
    let approval = portico_server::decide_approval(&state, &who, &id, approve, comment).await?;
    Ok(Redirect::to(&format!("/create/runs/{}", approval.run_id)).into_response())
}
