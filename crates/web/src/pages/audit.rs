//! `/audit`: the audit log — who changed what, and what was refused — filtered by who, action,
//! outcome and time, with a chart of the actions shown and a CSV export (`/audit.csv`) of the
//! same filter. Its filters and columns are the API's (`GET /api/v1/audit`).

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::response::{Html, Response};
use portico_server::AppState;
use portico_server::params::QueryParams;
use serde::Serialize;

use crate::error::PageError;

#[derive(Serialize)]
struct Row {
    at: i64,
    actor: String,
    via: String,
    action: String,
    target: String,
    outcome: String,
    status: String,
    detail: String,
}

#[derive(Serialize)]
struct AuditPage {
    nav: &'static str,
    actor: String,
    action: String,
    outcome: String,
    rows: Vec<Row>,
    chart: Option<String>,
    /// The query string of the CSV export and of the next page.
    csv: String,
    older: Option<String>,
}

/// The filter's own fields, kept for the form and the links.
const FIELDS: [&str; 6] = ["actor", "action", "target", "outcome", "since", "until"];

fn carried(params: &QueryParams) -> Vec<(String, String)> {
    params.pairs().iter().filter(|(k, v)| FIELDS.contains(&k.as_str()) && !v.is_empty()).cloned().collect()
}

fn query_string(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

pub(crate) async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = QueryParams::parse(raw.as_deref());
    let filter = portico_server::audit_filter(&params)?;
    let events = state.catalog.store().list_audit(&filter).await?;
    let mut by_action: BTreeMap<String, u64> = BTreeMap::new();
    for e in &events {
        *by_action.entry(e.action.clone()).or_default() += 1;
    }
    let counts: Vec<(String, u64)> = by_action.into_iter().collect();
    let chart = if counts.is_empty() { None } else { Some(crate::svg::chart::bars("Actions shown", &counts, |_| None, crate::svg::colour)?) };
    let keep = carried(&params);
    let older = (events.len() == filter.limit as usize).then(|| events.last().map(|e| e.id)).flatten().map(|id| {
        let mut pairs = keep.clone();
        pairs.push(("cursor".into(), id.to_string()));
        query_string(&pairs)
    });
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    let rows = events
        .iter()
        .map(|e| Row {
            at: e.at,
            actor: e.actor.clone(),
            via: e.via.clone(),
            action: e.action.clone(),
            target: text(&e.target),
            outcome: e.outcome.clone(),
            status: e.status.map(|s| s.to_string()).unwrap_or_default(),
            detail: text(&e.detail),
        })
        .collect();
    let field = |name: &str| params.one(name).ok().flatten().unwrap_or_default().to_owned();
    crate::templates::render(
        "audit.html",
        AuditPage { nav: "audit", actor: field("actor"), action: field("action"), outcome: field("outcome"), rows, chart, csv: query_string(&keep), older },
    )
}

/// `/audit.csv`: the same filter, as a file.
pub(crate) async fn csv(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, PageError> {
    let params = QueryParams::parse(raw.as_deref());
    let mut filter = portico_server::audit_filter(&params)?;
    if params.one("limit").ok().flatten().is_none() {
        filter.limit = 1000;
    }
    let events = state.catalog.store().list_audit(&filter).await?;
    Ok(portico_server::audit_csv(&events))
}
