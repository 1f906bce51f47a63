//! DORA on the pages: `/dora`, the four keys per system, team or domain with their bands, a
//! chart of deployments per group and the monthly cost of each (from billing exports); and the
//! DORA card of an entity page (the four keys, and deployments week by week).

use axum::extract::{RawQuery, State};
use axum::response::Html;
use portico_catalog::{Line, Series, SeriesBy};
use portico_graph::Visible;
use portico_model::EntityRef;
use portico_scorecards::dora::{Band, Dora};
use portico_scorecards::GroupBy;
use portico_server::AppState;
use portico_server::auth::Seen;
use serde::Serialize;

use crate::error::PageError;
use crate::params::Params;
use crate::view::{RefLink, ref_link};

#[derive(Serialize)]
struct GroupRow {
    group: Option<RefLink>,
    entities: usize,
    deployments: u64,
    metrics: Vec<Metric>,
    band: Option<&'static str>,
    open_incidents: u64,
}

#[derive(Serialize)]
struct CostRow {
    group: Option<RefLink>,
    entities: usize,
    monthly: String,
}

#[derive(Serialize)]
struct DashboardPage {
    nav: &'static str,
    by: &'static str,
    rows: Vec<GroupRow>,
    chart: Option<String>,
    costs: Vec<CostRow>,
    cost_chart: Option<String>,
    window_days: i64,
}

/// `/dora?groupBy=system|owner|domain`.
pub(crate) async fn page(State(state): State<AppState>, seen: Seen, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["groupBy"])?;
    let by: GroupBy = params.one("groupBy")?.unwrap_or("system").parse().map_err(|e| PageError::BadRequest(format!("`groupBy`: {e}")))?;
    let name = by.name();
    let groups = state.recorder.rollup(by, &|id| seen.0.sees(id)).await.map_err(|e| PageError::Internal(e.to_string()))?;
    let costs = state.recorder.costs(by, &|id| seen.0.sees(id));
    let link = |graph: &Visible<'_>, key: &str| EntityRef::parse_full(key).ok().map(|r| ref_link(graph, &r, None));
    let (rows, cost_rows) = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        let rows: Vec<GroupRow> = groups
            .iter()
            .map(|g| GroupRow {
                group: link(&graph, &g.group),
                entities: g.entities,
                deployments: g.dora.deployments,
                metrics: metrics(&g.dora),
                band: g.dora.band.map(Band::name),
                open_incidents: g.dora.open_incidents,
            })
            .collect();
        let costs: Vec<CostRow> = costs
            .iter()
            .map(|c| CostRow { group: link(&graph, &c.group), entities: c.entities, monthly: format!("{:.2} {}", c.monthly, c.currencies.join("/")).trim().to_owned() })
            .collect();
        (rows, costs)
    };
    let label = |g: &str| g.split_once('/').map_or(g, |(_, n)| n).to_owned();
    let chart = if groups.is_empty() {
        None
    } else {
        let counts: Vec<(String, u64)> = groups.iter().map(|g| (label(&g.group), g.dora.deployments)).collect();
        Some(crate::svg::chart::bars(&format!("Production deployments per {name}, last {} days", state.recorder.config().window_days), &counts, |_| None, crate::svg::colour)?)
    };
    let cost_chart = if costs.is_empty() {
        None
    } else {
        let counts: Vec<(String, u64)> = costs.iter().map(|c| (label(&c.group), c.monthly.round() as u64)).collect();
        Some(crate::svg::chart::bars(&format!("Monthly cost per {name}"), &counts, |_| None, crate::svg::colour)?)
    };
    crate::templates::render(
        "dora.html",
        DashboardPage { nav: "scorecards", by: name, rows, chart, costs: cost_rows, cost_chart, window_days: state.recorder.config().window_days },
    )
}

#[derive(Serialize)]
pub(crate) struct DoraView {
    metrics: Vec<Metric>,
    band: Option<&'static str>,
    deployments: u64,
    open_incidents: u64,
    window_days: i64,
    chart: String,
    api_url: String,
}

#[derive(Serialize)]
struct Metric {
    name: &'static str,
    value: String,
    band: Option<&'static str>,
}

/// The card, or `None` when nothing was recorded about the entity.
pub(crate) async fn entity_card(state: &AppState, key: &str, api_path: &str) -> Result<Option<DoraView>, PageError> {
    let recorded = state.catalog.read().recorded_facts(key).is_some_and(|f| f.contains_key("dora"));
    if !recorded {
        return Ok(None);
    }
    let (d, weeks) = state.recorder.entity(key, 12).await.map_err(|e| PageError::Internal(e.to_string()))?;
    if d.deployments == 0 && d.incidents == 0 && d.open_incidents == 0 {
        return Ok(None);
    }
    let metrics = metrics(&d);
    let series = Series {
        by: SeriesBy::Kind,
        times: weeks.iter().map(|w| w.start).collect(),
        lines: vec![
            Line { name: "Deployments".into(), values: weeks.iter().map(|w| w.deployments).collect() },
            Line {
                name: "Failed changes".into(),
                values: weeks.iter().map(|w| (w.change_failure_rate.unwrap_or(0.0) * w.deployments as f64).round() as u64).collect(),
            },
        ],
    };
    let chart = crate::svg::lines::chart("dora", "Production deployments per week", &series)?;
    Ok(Some(DoraView {
        metrics,
        band: d.band.map(Band::name),
        deployments: d.deployments,
        open_incidents: d.open_incidents,
        window_days: d.window_days,
        chart,
        api_url: format!("/api/v1/dora/{api_path}"),
    }))
}

fn metrics(d: &Dora) -> Vec<Metric> {
    let hours = |h: Option<f64>| h.map_or_else(|| "not measured".to_owned(), |h| if h < 48.0 { format!("{h} h") } else { format!("{:.1} days", h / 24.0) });
    let band = |b: Option<Band>| b.map(Band::name);
    vec![
        Metric { name: "Deployment frequency", value: if d.deployments == 0 { "none".into() } else { format!("{} a week", d.deploys_per_week) }, band: band(d.deploy_frequency_band) },
        Metric { name: "Lead time for changes", value: hours(d.lead_time_hours), band: band(d.lead_time_band) },
        Metric { name: "Change failure rate", value: d.change_failure_rate.map_or_else(|| "not measured".into(), |r| format!("{:.0}%", r * 100.0)), band: band(d.change_failure_band) },
        Metric { name: "Time to restore", value: hours(d.time_to_restore_hours), band: band(d.time_to_restore_band) },
    ]
}
