//! `/dashboards`: the catalog at a glance. Counts over time per kind, owner and lifecycle (from
//! the version history), health figures that each open the query behind them (orphaned
//! resources, components whose owner does not exist, unresolved relations, entities with
//! errors), and one panel per saved query: its count, and its groups as a bar chart when it
//! counts by something.
//!
//! Saved queries are anyone's: each panel runs under its own, shorter time limit
//! (`queries.panelTimeoutMs`), all panels at once (the catalog's query gate decides how many
//! really run together), and a panel that fails or runs out of time shows as failed; the page
//! itself always renders.

use std::collections::HashSet;

use axum::extract::{RawQuery, State};
use axum::response::Html;
use portico_catalog::SeriesBy;
use portico_graph::eval::ExprQuery;
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;
use crate::links::join;
use crate::params::Params;

const DAY_MS: i64 = 86_400_000;
/// Saved queries shown.
const PANELS: usize = 24;
/// Groups drawn per saved query.
const BARS: usize = 12;

/// Health figures: label, condition, what a lower number means.
const HEALTH: &[(&str, &str)] = &[
    ("Orphaned resources", "kind == 'Resource' && (related('ownedBy').size() == 0 || inverse('dependsOn').size() == 0)"),
    ("Components whose owner does not exist", "kind == 'Component' && related('ownedBy').size() == 0"),
    ("APIs nobody provides", "kind == 'API' && inverse('providesApi').size() == 0"),
];

#[derive(Serialize)]
struct Figure {
    label: String,
    value: Option<usize>,
    url: String,
}

#[derive(Serialize)]
struct Panel {
    title: String,
    name: String,
    owner: String,
    description: String,
    url: String,
    total: Option<usize>,
    chart: Option<String>,
    error: Option<String>,
}

#[derive(Serialize)]
struct Dashboards {
    nav: &'static str,
    figures: Vec<Figure>,
    over_time: Vec<(String, String)>,
    since: String,
    panels: Vec<Panel>,
    drift_chart: String,
}

pub(crate) async fn page(State(state): State<AppState>, seen: portico_server::auth::Seen, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["days"])?;
    let days = params.number("days", 1, 3650, 30)? as i64;
    let to = portico_catalog::now_ms();
    let start = state.catalog.store().history_start().await?.unwrap_or(to);
    let from = (to - days * DAY_MS).max(start).min(to);

    let mut figures = Vec::new();
    let (total, unresolved) = {
        let graph = state.catalog.read();
        let graph = portico_graph::Visible::new(&graph, &seen.0);
        (graph.len(), graph.unresolved().len())
    };
    figures.push(Figure { label: "Entities".into(), value: Some(total), url: "/catalog".into() });
    let limits = state.catalog.query_config().panel_limits();
    let health = futures::future::join_all(HEALTH.iter().map(|(_, condition)| {
        let q = ExprQuery { expression: (*condition).to_owned(), limit: 0, ..Default::default() };
        state.catalog.query(q, None, &limits, &seen.0)
    }))
    .await;
    for ((label, condition), n) in HEALTH.iter().zip(health) {
        // A figure that could not be counted (the server is busy) shows as missing.
        let value = n.map(|o| o.total_items).ok();
        figures.push(Figure { label: (*label).into(), value, url: join("/query", &[("q", condition)]) });
    }
    figures.push(Figure { label: "Unresolved relations".into(), value: Some(unresolved), url: "/api/v1/health/catalog".into() });
    let mut errors = state.catalog.store().errors(None).await?;
    seen.retain_errors(&state, &mut errors);
    let with_errors = errors.iter().filter_map(|e| e.key.as_deref()).collect::<HashSet<_>>().len();
    figures.push(Figure { label: "Entities with errors".into(), value: Some(with_errors), url: "/".into() });
    // Drift: declarations against what discovery observes.
    let drift = crate::pages::discovery::drift_counts(&state, &seen).await?;
    let drift_chart = crate::svg::chart::bars(
        "Drift",
        &drift.iter().map(|(title, _, n)| (title.clone(), *n as u64)).collect::<Vec<_>>(),
        |title| drift.iter().find(|d| d.0 == title).map(|d| format!("/drift#{}", d.1)),
        crate::svg::colour,
    )?;

    let mut over_time = Vec::new();
    for (id, by, title) in [("by-kind", SeriesBy::Kind, "Entities by kind"), ("by-owner", SeriesBy::Owner, "Entities by owner"), ("by-lifecycle", SeriesBy::Lifecycle, "Entities by lifecycle")] {
        let series = portico_server::series_for(&state, &seen, by, from, to, 30, 8).await?;
        over_time.push((crate::svg::lines::chart(id, title, &series)?, title.to_string()));
    }

    let saved: Vec<_> = state.catalog.store().list_saved_queries().await?.into_iter().take(PANELS).collect();
    let answers = futures::future::join_all(saved.iter().map(|saved| async {
        let mut q = serde_json::from_value::<ExprQuery>(saved.query.clone()).map_err(|e| format!("no longer reads: {e}"))?;
        q.limit = 0;
        q.offset = 0;
        let output = state.catalog.query(q.clone(), None, &limits, &seen.0).await.map_err(|e| e.to_string())?;
        Ok::<_, String>((q, output))
    }))
    .await;
    let mut panels = Vec::new();
    for (saved, answer) in saved.iter().zip(answers) {
        let url = join("/query", &[("saved", &saved.name)]);
        let mut panel = Panel { title: saved.title.clone(), name: saved.name.clone(), owner: saved.owner.clone(), description: saved.description.clone(), url, total: None, chart: None, error: None };
        match answer {
            Err(e) => panel.error = Some(e),
            Ok((q, o)) => {
                panel.total = Some(o.total_items);
                if let (Some(groups), Some(by)) = (&o.result.groups, &q.group_by) {
                    let counts: Vec<(String, u64)> = groups
                        .iter()
                        .take(BARS)
                        .map(|g| (g.key.as_str().map_or_else(|| g.key.to_string(), str::to_owned), g.count as u64))
                        .collect();
                    panel.chart = Some(crate::svg::chart::bars(&format!("{}: count by {by}", saved.title), &counts, |_| None, crate::svg::colour)?);
                }
            }
        }
        panels.push(panel);
    }
    let since = chrono::DateTime::from_timestamp_millis(from).map_or_else(String::new, |t| t.format("%Y-%m-%d %H:%M UTC").to_string());
    crate::templates::render("dashboards.html", Dashboards { nav: "dashboards", figures, over_time, since, panels, drift_chart })
}
