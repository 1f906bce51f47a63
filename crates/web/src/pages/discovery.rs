//! `/discovery`: the configured sources, what each is doing, its recent runs as a chart and a
//! table, their errors, and a button to run one now. `/drift`: the drift report, counts as a
//! bar chart and every item linked to its entity.

use std::collections::HashMap;

use axum::extract::{Path, RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use portico_discovery::engine::{Trigger, drift};
use portico_model::EntityRef;
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;
use crate::params::Params;
use crate::view::{RefLink, ref_link};

/// Runs listed per source.
const RUNS: i64 = 10;

#[derive(Serialize)]
struct RunLine {
    id: i64,
    trigger: String,
    status: String,
    started_at: i64,
    ms: i64,
    added: i64,
    updated: i64,
    removed: i64,
    unchanged: i64,
    errors: Vec<(String, String)>,
}

#[derive(Serialize)]
struct SourceCard {
    name: String,
    kind: String,
    interval: Option<String>,
    priority: i32,
    enabled: bool,
    running: bool,
    progress: Option<String>,
    runs: Vec<RunLine>,
    chart: Option<String>,
    webhook_url: String,
    /// Runs on request need the source's webhook secret.
    protected: bool,
}

#[derive(Serialize)]
struct DiscoveryPage {
    nav: &'static str,
    sources: Vec<SourceCard>,
    started: Option<String>,
}

pub(crate) async fn page(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["started"])?;
    let engine = &state.discovery;
    let mut sources = Vec::new();
    for d in engine.sources() {
        let runs = engine.runs(Some(&d.name), RUNS).await.map_err(|e| PageError::Internal(e.to_string()))?;
        let live = engine.live(&d.name);
        let chart = if runs.is_empty() {
            None
        } else {
            let counts: Vec<(String, u64)> = runs
                .iter()
                .rev()
                .map(|r| (format!("#{} {}", r.id, r.status), u64::try_from(r.added + r.updated + r.removed).unwrap_or(0)))
                .collect();
            Some(crate::svg::chart::bars(&format!("{}: entities changed per run", d.name), &counts, |_| None, crate::svg::colour)?)
        };
        sources.push(SourceCard {
            name: d.name.clone(),
            kind: d.kind.clone(),
            interval: d.interval.map(|i| humanize(i.as_secs())),
            priority: d.priority,
            enabled: d.enabled,
            running: live.running,
            progress: live.progress.map(|p| match p.total {
                Some(t) => format!("{} ({}/{t})", p.item, p.done),
                None => format!("{} ({})", p.item, p.done),
            }),
            runs: runs.into_iter().map(run_line).collect(),
            chart,
            webhook_url: format!("/api/v1/discovery/{}/webhook", d.name),
            protected: d.webhook_secret.is_some(),
        });
    }
    let started = params.0.one("started").map_err(PageError::from)?.map(str::to_owned);
    crate::templates::render("discovery.html", DiscoveryPage { nav: "discovery", sources, started })
}

fn run_line(r: portico_store::DiscoveryRun) -> RunLine {
    let errors = r
        .errors
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["location"].as_str().unwrap_or_default().to_owned(), e["message"].as_str().unwrap_or_default().to_owned()))
        .collect();
    RunLine {
        id: r.id,
        trigger: r.trigger,
        status: r.status,
        started_at: r.started_at,
        ms: r.finished_at - r.started_at,
        added: r.added,
        updated: r.updated,
        removed: r.removed,
        unchanged: r.unchanged,
        errors,
    }
}

fn humanize(secs: u64) -> String {
    match secs {
        s if s % 86_400 == 0 => format!("every {}d", s / 86_400),
        s if s % 3600 == 0 => format!("every {}h", s / 3600),
        s if s % 60 == 0 => format!("every {}m", s / 60),
        s => format!("every {s}s"),
    }
}

/// `POST /discovery/{source}/run`: starts a run in the background and goes back to the page.
/// A source with a `webhookSecret` runs only when the form carries it (field `secret`).
pub(crate) async fn run_now(State(state): State<AppState>, Path(source): Path<String>, body: String) -> Result<Response, PageError> {
    let decl = state.discovery.source(&source).map_err(|e| PageError::NotFound(e.to_string()))?.decl.clone();
    if decl.webhook_secret.is_some() {
        let secret = form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "secret").map(|(_, v)| v.into_owned()).unwrap_or_default();
        let mut headers = axum::http::HeaderMap::new();
        if let Ok(v) = axum::http::HeaderValue::from_str(&format!("Bearer {secret}")) {
            headers.insert(axum::http::header::AUTHORIZATION, v);
        }
        portico_server::check_secret(decl.webhook_secret.as_deref(), &headers, b"").map_err(|_| {
            PageError::Forbidden(format!("the source `{source}` has a webhook secret: enter it to run the source now"))
        })?;
    }
    state.discovery.spawn_run(source.clone(), Trigger::Manual, None);
    let back = format!("/discovery?started={}", form_urlencoded::byte_serialize(source.as_bytes()).collect::<String>());
    Ok(Redirect::to(&back).into_response())
}

#[derive(Serialize)]
struct DriftLine {
    entity: RefLink,
    target: Option<RefLink>,
    detail: String,
    sources: String,
}

#[derive(Serialize)]
struct DriftGroup {
    key: &'static str,
    title: &'static str,
    items: Vec<DriftLine>,
}

#[derive(Serialize)]
struct DriftPage {
    nav: &'static str,
    chart: String,
    total: usize,
    runtime_sources: bool,
    groups: Vec<DriftGroup>,
}

pub(crate) async fn drift_page(State(state): State<AppState>, seen: portico_server::auth::Seen, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    Params::parse(raw.as_deref(), &[])?;
    let report = portico_server::drift_for(&state, &seen).await.map_err(|e| PageError::Internal(e.to_string()))?;
    let counts: Vec<(String, u64)> = report.counts.iter().map(|(k, n)| (k.title().to_owned(), *n as u64)).collect();
    let anchors: HashMap<&str, &str> = drift::DriftKind::ALL.iter().map(|k| (k.title(), k.as_str())).collect();
    let chart = crate::svg::chart::bars("Drift by kind", &counts, |title| anchors.get(title).map(|a| format!("#{a}")), crate::svg::colour)?;
    let graph = state.catalog.read();
    let graph = portico_graph::Visible::new(&graph, &seen.0);
    let link = |r: &str| EntityRef::parse_full(r).ok().map(|r| ref_link(&graph, &r, None));
    let groups = drift::DriftKind::ALL
        .iter()
        .map(|kind| DriftGroup {
            key: kind.as_str(),
            title: kind.title(),
            items: report
                .items
                .iter()
                .filter(|i| i.kind == *kind)
                .filter_map(|i| {
                    Some(DriftLine {
                        entity: link(&i.entity_ref)?,
                        target: i.target.as_deref().and_then(link),
                        detail: i.detail.clone(),
                        sources: i.sources.join(", "),
                    })
                })
                .collect(),
        })
        .collect();
    crate::templates::render("drift.html", DriftPage { nav: "drift", chart, total: report.items.len(), runtime_sources: report.runtime_sources, groups })
}

/// Drift counts for the dashboards: (title, anchor, count).
pub(crate) async fn drift_counts(state: &AppState, seen: &portico_server::auth::Seen) -> Result<Vec<(String, String, usize)>, PageError> {
    let report = portico_server::drift_for(state, seen).await.map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(report.counts.iter().map(|(k, n)| (k.title().to_owned(), k.as_str().to_owned(), *n)).collect())
}
