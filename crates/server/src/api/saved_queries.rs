//! Saved queries: named, described, owned queries in the expression language, stored in the
//! catalog store and shared by URL (`/api/v1/queries/{name}` to read or run; the console opens
//! `/query?saved={name}`).

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_expr::Limits;
use portico_graph::eval::{Compiled, ExprQuery};
use portico_model::EntityRef;
use portico_store::SavedQuery;
use serde::{Deserialize, Serialize};

use super::query::{answer, query_error, Format, QueryRequest};
use crate::error::{ApiError, ApiJson, ErrorResponse};
use crate::params::QueryParams;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/queries", get(list))
        .route("/queries/{name}", get(get_one).put(put).delete(delete))
        .route("/queries/{name}/run", post(run))
}

/// What a client sends to save a query.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SaveRequest {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: String,
    /// An entity reference (usually a group), e.g. `group:default/platform`.
    owner: String,
    /// `{expression, fields?, orderBy?, groupBy?, limit?}`.
    query: ExprQuery,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedView {
    #[serde(flatten)]
    saved: SavedQuery,
    /// Where to run it (POST) and where to open it in the console.
    run_url: String,
    console_url: String,
}

fn view(saved: SavedQuery) -> SavedView {
    let run_url = format!("/api/v1/queries/{}/run", saved.name);
    let console_url = format!("/query?saved={}", saved.name);
    SavedView { saved, run_url, console_url }
}

/// A name is 1 to 63 characters of `a-z0-9`, `-`, `_`, `.`, starting with a letter or digit.
fn check_name(name: &str) -> Result<(), ApiError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(ApiError::Input(format!(
            "name: {name:?} must be 1 to 63 characters of a-z, 0-9, '-', '_' or '.', starting with a letter or digit"
        )))
    }
}

async fn load(state: &AppState, name: &str) -> Result<SavedQuery, ApiError> {
    check_name(name)?;
    state.catalog.store().get_saved_query(name).await?.ok_or_else(|| ApiError::NotFound(format!("No saved query named {name:?}")))
}

/// Every saved query, by name.
#[utoipa::path(get, path = "/api/v1/queries", tag = "portico",
    responses((status = 200, description = "`items`: saved queries", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Json<super::v1::Items<SavedView>>, ApiError> {
    let items = state.catalog.store().list_saved_queries().await?.into_iter().map(view).collect();
    Ok(Json(super::v1::Items::new(items)))
}

/// One saved query.
#[utoipa::path(get, path = "/api/v1/queries/{name}", tag = "portico", params(("name" = String, Path)),
    responses((status = 200, description = "The saved query", body = serde_json::Value),
              (status = 404, description = "No such query", body = ErrorResponse)))]
pub(crate) async fn get_one(State(state): State<AppState>, Path(name): Path<String>) -> Result<Json<SavedView>, ApiError> {
    Ok(Json(view(load(&state, &name).await?)))
}

/// Saves a query under a name (creating or replacing it). The query is checked first: a query
/// that does not compile is refused with its error.
#[utoipa::path(put, path = "/api/v1/queries/{name}", tag = "portico", params(("name" = String, Path)),
    request_body(content = serde_json::Value, description = "`{title?, description?, owner, query: {expression, fields?, orderBy?, groupBy?, limit?}}`"),
    responses((status = 201, description = "Created", body = serde_json::Value),
              (status = 200, description = "Replaced", body = serde_json::Value),
              (status = 400, description = "Bad name, owner or query", body = ErrorResponse)))]
pub(crate) async fn put(State(state): State<AppState>, Path(name): Path<String>, ApiJson(body): ApiJson<SaveRequest>) -> Result<Response, ApiError> {
    let (saved, created) = save_query(&state, &name, body.title.as_deref(), &body.description, &body.owner, &body.query).await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(view(saved))).into_response())
}

/// Checks and saves a query under `name` (the API's `PUT` and the console's save form):
/// the name's syntax, the owner's reference (kind defaults to `group`), and that the query
/// compiles. Returns what was stored and whether it was created.
pub async fn save_query(
    state: &AppState,
    name: &str,
    title: Option<&str>,
    description: &str,
    owner: &str,
    query: &ExprQuery,
) -> Result<(SavedQuery, bool), ApiError> {
    check_name(name)?;
    let owner = EntityRef::parse(owner, portico_model::RefDefaults { kind: Some("group"), namespace: Some("default") })
        .map_err(|e| ApiError::Input(format!("owner: {e}")))?;
    Compiled::new(query, &Limits::default()).map_err(|e| query_error(e.into()))?;
    let now = portico_catalog::now_ms();
    let saved = SavedQuery {
        title: title.map(str::trim).filter(|t| !t.is_empty()).map_or_else(|| name.to_owned(), str::to_owned),
        name: name.to_owned(),
        description: description.to_owned(),
        owner: owner.to_string(),
        query: serde_json::to_value(query).map_err(|e| ApiError::Internal(e.to_string()))?,
        created_at: now,
        updated_at: now,
    };
    let created = state.catalog.store().put_saved_query(&saved).await?;
    Ok((load(state, name).await?, created))
}

/// Deletes a saved query.
#[utoipa::path(delete, path = "/api/v1/queries/{name}", tag = "portico", params(("name" = String, Path)),
    responses((status = 204, description = "Deleted"), (status = 404, description = "No such query", body = ErrorResponse)))]
pub(crate) async fn delete(State(state): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    check_name(&name)?;
    if state.catalog.store().delete_saved_query(&name).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("No saved query named {name:?}")))
    }
}

/// Paging and time for a run of a saved query.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RunRequest {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    as_of: Option<String>,
}

/// Runs a saved query (optionally as of a time, a page at a time). The body may be empty.
#[utoipa::path(post, path = "/api/v1/queries/{name}/run", tag = "portico",
    params(("name" = String, Path), ("format" = Option<String>, Query, description = "`json`, `csv` or `table`")),
    request_body(content = serde_json::Value, description = "`{limit?, cursor?, asOf?}`; may be empty"),
    responses((status = 200, description = "As `POST /api/v1/query`", body = serde_json::Value),
              (status = 404, description = "No such query", body = ErrorResponse)))]
pub(crate) async fn run(
    State(state): State<AppState>,
    seen: crate::auth::Seen,
    Path(name): Path<String>,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let run: RunRequest = if body.iter().all(u8::is_ascii_whitespace) {
        RunRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Input(format!("body: {e}")))?
    };
    let format = Format::of(&QueryParams::parse(raw.as_deref()), &headers)?;
    let saved = load(&state, &name).await?;
    let stored: ExprQuery = serde_json::from_value(saved.query)
        .map_err(|e| ApiError::Internal(format!("saved query {name} no longer reads: {e}")))?;
    let request = QueryRequest {
        expression: stored.expression,
        fields: stored.fields,
        order_by: stored.order_by,
        group_by: stored.group_by,
        limit: run.limit.or(Some(stored.limit)),
        offset: None,
        cursor: run.cursor,
        as_of: run.as_of,
    };
    answer(&state, &seen, request, format).await
}
