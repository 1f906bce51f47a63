//! `GET /api/v1/analytics/series`: how many entities there were, per kind, owner or
//! lifecycle, at evenly spaced times, from the version history (the dashboards' charts).

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_catalog::{parse_time, Series, SeriesBy};

use crate::error::{ApiError, ErrorResponse};
use crate::params::QueryParams;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/analytics/series", get(series))
}

const DAY_MS: i64 = 86_400_000;

/// Counts over time per `by`: `{by, times, lines: [{name, values}]}`.
#[utoipa::path(get, path = "/api/v1/analytics/series", tag = "portico",
    params(("by" = String, Query, description = "`kind`, `owner` or `lifecycle`"),
        ("from" = Option<String>, Query, description = "RFC 3339; default 30 days before `to`, or the start of the history if later"),
        ("to" = Option<String>, Query, description = "RFC 3339; default now"),
        ("points" = Option<usize>, Query, description = "1 to 500, default 30"),
        ("top" = Option<usize>, Query, description = "Lines shown, the rest summed as `other`; 1 to 50, default 8")),
    responses((status = 200, description = "`{by, times, lines}`", body = serde_json::Value),
              (status = 400, description = "Bad parameters", body = ErrorResponse)))]
pub(crate) async fn series(State(state): State<AppState>, seen: crate::auth::Seen, RawQuery(raw): RawQuery) -> Result<Json<Series>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let by = params.one("by")?.ok_or_else(|| ApiError::Input("by: required (kind, owner or lifecycle)".into()))?;
    let by = SeriesBy::parse(by).ok_or_else(|| ApiError::Input(format!("by: {by:?} is not one of kind, owner, lifecycle")))?;
    let to = match params.one("to")? {
        Some(t) => parse_time("to", t).map_err(ApiError::Input)?,
        None => portico_catalog::now_ms(),
    };
    let from = match params.one("from")? {
        Some(t) => parse_time("from", t).map_err(ApiError::Input)?,
        None => {
            let start = state.catalog.store().history_start().await?.unwrap_or(to);
            (to - 30 * DAY_MS).max(start).min(to)
        }
    };
    let number = |name: &str, default: usize, max: usize| -> Result<usize, ApiError> {
        match params.one(name)? {
            None => Ok(default),
            Some(v) => v
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| ApiError::Input(format!("{name}: {v:?} is not a number from 1 to {max}"))),
        }
    };
    let points = number("points", 30, 500)?;
    let top = number("top", 8, 50)?;
    Ok(Json(series_for(&state, &seen, by, from, to, points, top).await?))
}

/// The series as a reader may see it: a reader the policy restricts sees the entities it may
/// read now, through their history (entities since removed are left out for it).
pub async fn series_for(state: &AppState, seen: &crate::auth::Seen, by: SeriesBy, from: i64, to: i64, points: usize, top: usize) -> Result<Series, portico_catalog::IngestError> {
    if seen.0.is_all() {
        return state.catalog.series(by, from, to, points, top, &|_| true).await;
    }
    let visible: std::collections::HashSet<String> = portico_graph::Visible::new(&state.catalog.read(), &seen.0).entries().map(|e| e.key.clone()).collect();
    state.catalog.series(by, from, to, points, top, &|k| visible.contains(k)).await
}
