//! `POST /api/v1/query`: a query in the expression language (a condition over entities, with
//! fields, order, groups and paging), answered now or `asOf` a past time, as JSON, CSV or a
//! text table; and `GET /api/v1/query/vocabulary`, what a query can name (for completion).

use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_catalog::{parse_time, QueryError, QueryOutput};
use portico_expr::{ErrorKind, Vocabulary, FUNCTIONS};
use portico_graph::eval::{ExprQuery, OrderBy};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ApiJson, ErrorResponse};
use crate::params::{decode_cursor, encode_cursor, QueryParams, MAX_LIMIT};
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/query", post(query)).route("/query/vocabulary", get(vocabulary))
}

/// The body of a query request.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct QueryRequest {
    /// The condition, e.g. `kind == 'Component' && related('dependsOn').size() > 3`.
    pub expression: String,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub order_by: Vec<OrderBy>,
    #[serde(default)]
    pub group_by: Option<String>,
    #[serde(default)]
    pub limit: Option<usize>,
    #[serde(default)]
    pub offset: Option<usize>,
    /// `nextCursor` of a previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// RFC 3339: answer as the catalog was then.
    #[serde(default)]
    pub as_of: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Cursor {
    #[serde(rename = "s")]
    offset: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PageInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct QueryResponse {
    #[serde(flatten)]
    output: QueryOutput,
    page_info: PageInfo,
}

/// The answer format: `?format=` first, then the `Accept` header; JSON by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Json,
    Csv,
    Table,
}

impl Format {
    pub(crate) fn of(params: &QueryParams, headers: &HeaderMap) -> Result<Self, ApiError> {
        match params.one("format")? {
            Some("json") => Ok(Format::Json),
            Some("csv") => Ok(Format::Csv),
            Some("table") => Ok(Format::Table),
            Some(other) => Err(ApiError::Input(format!("format: {other:?} is not one of json, csv, table"))),
            None => {
                let accept = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).unwrap_or("");
                Ok(if accept.contains("text/csv") { Format::Csv } else if accept.starts_with("text/plain") { Format::Table } else { Format::Json })
            }
        }
    }
}

/// Runs a request (the body of `POST /query`, or a saved query with overrides).
pub(crate) async fn answer(state: &AppState, seen: &crate::auth::Seen, request: QueryRequest, format: Format) -> Result<Response, ApiError> {
    let limit = request.limit.unwrap_or(100);
    if limit > MAX_LIMIT {
        return Err(ApiError::Input(format!("limit: {limit} is more than the maximum of {MAX_LIMIT}")));
    }
    let offset = match (&request.cursor, request.offset) {
        (Some(_), Some(_)) => return Err(ApiError::Input("cursor cannot be combined with offset; the cursor carries it".into())),
        (Some(c), None) => decode_cursor::<Cursor>(c)?.offset,
        (None, o) => o.unwrap_or(0),
    };
    let as_of = request.as_of.as_deref().map(|t| parse_time("asOf", t)).transpose().map_err(ApiError::Input)?;
    let query = ExprQuery {
        expression: request.expression,
        fields: request.fields,
        order_by: request.order_by,
        group_by: request.group_by,
        offset,
        limit,
    };
    let vis = seen.at(state, as_of).await?;
    let output = state.catalog.query(query, as_of, &state.catalog.query_config().limits(), &vis).await.map_err(query_error)?;
    let shown = output.items.len();
    Ok(match format {
        Format::Json => {
            let next_cursor = (limit > 0 && offset + shown < output.total_items).then(|| encode_cursor(&Cursor { offset: offset + shown }));
            Json(QueryResponse { output, page_info: PageInfo { next_cursor } }).into_response()
        }
        Format::Csv => ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], output.csv()).into_response(),
        Format::Table => ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], output.table() + "\n").into_response(),
    })
}

pub(crate) fn query_error(e: QueryError) -> ApiError {
    match e {
        QueryError::Expr(e) => {
            let what = match e.kind {
                ErrorKind::Limit => "query limit",
                ErrorKind::Syntax => "syntax",
                ErrorKind::Check => "check",
                ErrorKind::Evaluation => "evaluation",
            };
            ApiError::Input(format!("expression ({what}): {e}"))
        }
        QueryError::Catalog(e) => e.into(),
        QueryError::Refused(r) => refused(r),
    }
}

/// A query that was not admitted: 503, and when to try again.
pub fn refused(r: portico_catalog::Refused) -> ApiError {
    let retry_after_secs = match r {
        portico_catalog::Refused::Busy { retry_after_secs } => retry_after_secs,
        portico_catalog::Refused::Stopping => 5,
    };
    ApiError::Unavailable { message: QueryError::Refused(r).to_string(), retry_after_secs }
}

/// Query entities with a condition in the expression language.
#[utoipa::path(post, path = "/api/v1/query", tag = "portico",
    params(("format" = Option<String>, Query, description = "`json` (default), `csv` or `table`; or use the Accept header")),
    request_body(content = serde_json::Value, description = "`{expression, fields?, orderBy?: [{expression, desc?}], groupBy?, limit?, offset?, cursor?, asOf?}`"),
    responses((status = 200, description = "`items`, `totalItems`, `groups` (with groupBy), `warnings`, `plan`, `pageInfo`", body = serde_json::Value),
              (status = 400, description = "A bad expression (with its place), bad paging or asOf, or a cost limit reached", body = ErrorResponse)))]
pub(crate) async fn query(
    State(state): State<AppState>,
    seen: crate::auth::Seen,
    RawQuery(raw): RawQuery,
    headers: HeaderMap,
    ApiJson(request): ApiJson<QueryRequest>,
) -> Result<Response, ApiError> {
    let format = Format::of(&QueryParams::parse(raw.as_deref()), &headers)?;
    answer(&state, &seen, request, format).await
}

#[derive(Serialize)]
pub(crate) struct VocabularyResponse {
    variables: Vocabulary,
    functions: &'static [portico_expr::FunctionDoc],
    kinds: Vec<String>,
    /// Field paths present in the catalog (lowercased), for completion.
    fields: Vec<String>,
}

/// What a query can name: variables, functions, kinds and the fields entities have.
#[utoipa::path(get, path = "/api/v1/query/vocabulary", tag = "portico",
    responses((status = 200, description = "`{variables, functions, kinds, fields}`", body = serde_json::Value)))]
pub(crate) async fn vocabulary(State(state): State<AppState>) -> Json<VocabularyResponse> {
    let kinds = state.catalog.validator().kinds().kinds().map(|k| k.kind.clone()).collect();
    let fields = state.catalog.read().field_paths(2000);
    Json(VocabularyResponse { variables: Vocabulary::entity(), functions: FUNCTIONS, kinds, fields })
}
