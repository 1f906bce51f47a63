//! The DORA card of an entity page: the four keys with their bands, and deployments and lead
//! time week by week, for an entity with deployments or incidents recorded.

use portico_catalog::{Line, Series, SeriesBy};
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;

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
    let hours = |h: Option<f64>| h.map_or_else(|| "not measured".to_owned(), |h| if h < 48.0 { format!("{h} h") } else { format!("{:.1} days", h / 24.0) });
    let band = |b: Option<portico_scorecards::dora::Band>| b.map(|b| b.name());
    let metrics = vec![
        Metric { name: "Deployment frequency", value: if d.deployments == 0 { "none".into() } else { format!("{} a week", d.deploys_per_week) }, band: band(d.deploy_frequency_band) },
        Metric { name: "Lead time for changes", value: hours(d.lead_time_hours), band: band(d.lead_time_band) },
        Metric { name: "Change failure rate", value: d.change_failure_rate.map_or_else(|| "not measured".into(), |r| format!("{:.0}%", r * 100.0)), band: band(d.change_failure_band) },
        Metric { name: "Time to restore", value: hours(d.time_to_restore_hours), band: band(d.time_to_restore_band) },
    ];
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
        band: band(d.band),
        deployments: d.deployments,
        open_incidents: d.open_incidents,
        window_days: d.window_days,
        chart,
        api_url: format!("/api/v1/dora/{api_path}"),
    }))
}
