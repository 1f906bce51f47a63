//! `/catalog/{namespace}/{kind}/{name}/history`: every stored version of an entity (also of one
//! that has since been removed), and with `?from=<version>&to=<version>` the field-level
//! differences between any two of them. Without them, the latest change is shown.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::Html;
use portico_model::diff::diff;
use portico_server::AppState;
use portico_auth::Permission;
use portico_server::auth::Principal;
use portico_store::{AuditFilter, VersionRecord};
use serde::Serialize;
use serde_json::Value;

use crate::error::PageError;
use crate::pages::entity::{EntityPath, not_found};
use crate::params::Params;
use crate::view::entity_url;

#[derive(Serialize)]
struct Version {
    version: i64,
    at: i64,
    change: String,
    source: String,
    /// Who made it, when a person, token or the command line did.
    by: Option<String>,
}

#[derive(Serialize)]
struct Change {
    path: String,
    before: Option<String>,
    after: Option<String>,
}

/// One audited action on the entity: who refreshed or deleted it, or was refused.
#[derive(Serialize)]
struct Action {
    at: i64,
    actor: String,
    action: String,
    outcome: String,
}

#[derive(Serialize)]
struct History {
    nav: &'static str,
    name: String,
    r#ref: String,
    url: String,
    present: bool,
    versions: Vec<Version>,
    from: Option<i64>,
    to: Option<i64>,
    changes: Vec<Change>,
    /// Shown to those who may read the audit log; `None` to others.
    actions: Option<Vec<Action>>,
    audit_url: String,
}

/// Audited actions shown on the page.
const ACTIONS: u32 = 20;

/// The descriptor without what changes on every write.
fn content(v: &VersionRecord) -> Value {
    let mut body = v.body.clone().unwrap_or(Value::Null);
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("etag");
    }
    body
}

fn shown(v: Option<Value>) -> Option<String> {
    v.map(|v| match v {
        Value::String(s) => s,
        other => serde_json::to_string(&other).unwrap_or_default(),
    })
}

pub(crate) async fn page(
    State(state): State<AppState>,
    seen: portico_server::auth::Seen,
    Extension(who): Extension<Arc<Principal>>,
    EntityPath(r): EntityPath,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["from", "to"])?;
    let history = state.catalog.store().history(&r.key()).await?;
    let last = history.last().ok_or_else(|| not_found(&r))?.version;
    if !seen.sees_history(&state, &r.key(), &history).await? {
        return Err(not_found(&r));
    }
    let version = |name: &str| -> Result<Option<&VersionRecord>, PageError> {
        let Some(v) = params.one(name)? else { return Ok(None) };
        let n: i64 = v.parse().map_err(|_| PageError::BadRequest(format!("`{name}` must be a version number, not {v:?}")))?;
        history
            .iter()
            .find(|h| h.version == n)
            .map(Some)
            .ok_or_else(|| PageError::BadRequest(format!("`{name}`: {r} has no version {n}; its versions are 1 to {last}")))
    };
    let (from, to) = match (version("from")?, version("to")?) {
        (Some(a), Some(b)) => (Some(a), Some(b)),
        (None, None) if history.len() >= 2 => (history.get(history.len() - 2), history.last()),
        (None, None) => (None, None),
        _ => return Err(PageError::BadRequest("give both `from` and `to` to compare two versions".into())),
    };
    let changes = match (from, to) {
        (Some(a), Some(b)) => diff(&content(a), &content(b))
            .into_iter()
            .map(|c| Change { path: c.path, before: shown(c.before), after: shown(c.after) })
            .collect(),
        _ => Vec::new(),
    };
    let present = seen.sees_now(&state, &r.key());
    // Who acted on it comes from the audit log, for those the policy lets read it.
    let actions = if state.auth.check(&who, Permission::AuditRead, None, None, state.catalog.graph()).is_ok() {
        let filter = AuditFilter { target: Some(r.key()), limit: ACTIONS, ..Default::default() };
        let events = state.catalog.store().list_audit(&filter).await?;
        Some(events.into_iter().map(|e| Action { at: e.at, actor: e.actor, action: e.action, outcome: e.outcome }).collect())
    } else {
        None
    };
    let audit_url = format!("/audit?{}", form_urlencoded::Serializer::new(String::new()).append_pair("target", &r.key()).finish());
    crate::templates::render(
        "history.html",
        History {
            nav: "catalog",
            name: r.name().to_owned(),
            r#ref: r.to_string(),
            url: entity_url(&r),
            present,
            from: from.map(|v| v.version),
            to: to.map(|v| v.version),
            changes,
            actions,
            audit_url,
            versions: history.into_iter().rev().map(|v| Version { version: v.version, at: v.at, change: v.change, source: v.source, by: v.actor }).collect(),
        },
    )
}
