//! `GET /api/v1/audit`: the audit log, newest first, filtered and paged, as JSON or CSV.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use portico_catalog::parse_time;
use portico_store::{AuditEvent, AuditFilter};

use crate::AppState;
use crate::error::{ApiError, ErrorResponse};
use crate::params::QueryParams;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/audit", get(list))
}

/// At most this many events per page.
const MAX_LIMIT: usize = 1000;

/// The filter of a request's query string; the message names the bad parameter.
pub fn filter_of(params: &QueryParams) -> Result<AuditFilter, ApiError> {
    let text = |name: &str| -> Result<Option<String>, ApiError> { Ok(params.one(name)?.map(str::to_owned).filter(|s| !s.is_empty())) };
    let time = |name: &str| -> Result<Option<i64>, ApiError> { params.one(name)?.filter(|s| !s.is_empty()).map(|t| parse_time(name, t).map_err(ApiError::Input)).transpose() };
    let outcome = text("outcome")?;
    if let Some(o) = &outcome
        && !matches!(o.as_str(), "allowed" | "denied" | "failed")
    {
        return Err(ApiError::Input(format!("outcome: {o:?} is not one of allowed, denied, failed")));
    }
    let before = match params.one("cursor")? {
        None => None,
        Some(c) => Some(c.parse::<i64>().map_err(|_| ApiError::Input(format!("cursor: {c:?} is not a cursor from a previous page")))?),
    };
    // `entity`, `from` and `to` are other names of `target`, `since` and `until`; an entity is
    // named as a reference (`component:default/cart`, any case) and found by its key.
    fn either(params: &QueryParams, a: &'static str, b: &'static str) -> Result<&'static str, ApiError> {
        match (params.one(a)?, params.one(b)?) {
            (Some(_), Some(_)) => Err(ApiError::Input(format!("{a} and {b} are the same filter; give one"))),
            (None, Some(_)) => Ok(b),
            _ => Ok(a),
        }
    }
    let target = match either(params, "target", "entity")? {
        "entity" => Some(portico_model::EntityRef::parse_full(params.one("entity")?.unwrap_or_default()).map_err(|e| ApiError::Input(format!("entity: {e}")))?.key()),
        name => text(name)?,
    };
    Ok(AuditFilter {
        actor: text("actor")?,
        action: text("action")?,
        target,
        outcome,
        since: time(either(params, "since", "from")?)?,
        until: time(either(params, "until", "to")?)?,
        before,
        limit: params.limit_up_to(MAX_LIMIT)?.unwrap_or(100).max(1) as u32,
    })
}

/// The columns of the CSV export.
const CSV_HEADER: [&str; 10] = ["id", "at", "actor", "via", "action", "target", "outcome", "status", "requestId", "detail"];

/// Events as a CSV file to download (the API's `format=csv`, the page's `/audit.csv`).
pub fn csv_file(events: &[AuditEvent]) -> Response {
    let rows: Vec<Vec<String>> = events.iter().map(csv_row).collect();
    let body = portico_catalog::csv_table(&CSV_HEADER, &rows);
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"audit.csv\"")], body).into_response()
}

/// An event as a CSV row.
fn csv_row(e: &AuditEvent) -> Vec<String> {
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        e.id.to_string(),
        portico_catalog::format_time(e.at),
        e.actor.clone(),
        e.via.clone(),
        e.action.clone(),
        opt(&e.target),
        e.outcome.clone(),
        e.status.map(|s| s.to_string()).unwrap_or_default(),
        opt(&e.request_id),
        opt(&e.detail),
    ]
}

/// The audit log: `{items, nextCursor}` (newest first), or CSV with `format=csv`.
#[utoipa::path(get, path = "/api/v1/audit", tag = "portico",
    params(("actor" = Option<String>, Query, description = "Who (`user:default/ada`, `service:deployer`, `guest`)"),
        ("action" = Option<String>, Query, description = "A permission, or its start (`catalog.`)"),
        ("target" = Option<String>, Query, description = "An entity reference, location, token or query id"),
        ("entity" = Option<String>, Query, description = "An entity reference (`component:default/cart`); another name of target for entities"),
        ("outcome" = Option<String>, Query, description = "`allowed`, `denied` or `failed`"),
        ("since" = Option<String>, Query, description = "RFC 3339, inclusive (also `from`)"),
        ("until" = Option<String>, Query, description = "RFC 3339, exclusive (also `to`)"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` of the previous page"),
        ("limit" = Option<usize>, Query, description = "1 to 1000, default 100"),
        ("format" = Option<String>, Query, description = "`csv` for a CSV file")),
    responses((status = 200, description = "`{items, nextCursor}`, or CSV", body = serde_json::Value),
              (status = 400, description = "Bad parameters", body = ErrorResponse),
              (status = 403, description = "Not allowed `audit.read`", body = ErrorResponse)))]
pub(crate) async fn list(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let filter = filter_of(&params)?;
    let csv = match params.one("format")? {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => return Err(ApiError::Input(format!("format: {other:?} is not one of json, csv"))),
    };
    let items = state.catalog.store().list_audit(&filter).await?;
    if csv {
        return Ok(csv_file(&items));
    }
    let next = (items.len() == filter.limit as usize).then(|| items.last().map(|e| e.id.to_string())).flatten();
    Ok(Json(serde_json::json!({"items": items, "nextCursor": next})).into_response())
}
