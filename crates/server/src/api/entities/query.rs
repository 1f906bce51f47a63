//! `GET` and `POST /entities/by-query`: Backstage's paged entity query, with filters (GET) or a
//! predicate query (POST), ordering, a full-text filter, projections and opaque cursors.
//!
//! A cursor is URL-safe base64 of a small JSON document holding the filter strings, the
//! order, the text filter and the offset of the page it leads to; it is decoded and its filters
//! parsed again on every use, so a forged cursor is no more powerful than query parameters.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portico_graph::filter::parse_filter_params;
use portico_graph::{EntityQuery, OrderField, TextFilter, Visible};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, ErrorResponse};
use crate::params::{QueryParams, decode_cursor, encode_cursor};
use crate::render::{EntityView, Fields, Rendered};

/// Page size when the client names none: Backstage's.
pub(crate) const DEFAULT_LIMIT: usize = 200;

/// Parameters a cursor already carries; giving them beside one is an error.
const CURSOR_CARRIES: &[&str] = &["filter", "orderField", "fullTextFilterTerm", "fullTextFilterFields", "offset", "asOf"];

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cursor {
    #[serde(rename = "f", default)]
    filter: Vec<String>,
    #[serde(rename = "o", default)]
    order: Vec<OrderField>,
    #[serde(rename = "t", default)]
    text: Option<TextFilter>,
    #[serde(rename = "s")]
    offset: usize,
    /// `asOf`, ms since the epoch: the pages of a past catalog stay in that past.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    as_of: Option<i64>,
    /// The predicate query of a `POST`, as given.
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    query: Option<serde_json::Value>,
    /// `totalItems=exclude`: the total is not counted (answered as 0, as Backstage does).
    #[serde(rename = "x", default, skip_serializing_if = "std::ops::Not::not")]
    exclude_total: bool,
    /// The page size of the page that made the cursor: a cursor used without `limit` keeps it,
    /// so a previous-page cursor leads to exactly the previous page.
    #[serde(rename = "l", default, skip_serializing_if = "Option::is_none")]
    limit: Option<usize>,
}

#[derive(Serialize)]
struct PageInfo {
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
    #[serde(rename = "prevCursor", skip_serializing_if = "Option::is_none")]
    prev_cursor: Option<String>,
}

#[derive(Serialize)]
struct QueryResponse<'a> {
    items: Vec<Rendered<'a>>,
    #[serde(rename = "totalItems")]
    total_items: usize,
    #[serde(rename = "pageInfo")]
    page_info: PageInfo,
}

/// Backstage's `orderField=<field>[,asc|desc]`.
fn order_fields(values: &[&str]) -> Result<Vec<OrderField>, ApiError> {
    values
        .iter()
        .map(|v| {
            let mut parts = v.split(',');
            let field = parts.next().unwrap_or_default().trim();
            if field.is_empty() {
                return Err(ApiError::Input(format!("Invalid order field {v:?}, expected <field>[,asc|desc]")));
            }
            match parts.next().map(str::trim) {
                None | Some("asc") => Ok(OrderField { field: field.to_owned(), desc: false }),
                Some("desc") => Ok(OrderField { field: field.to_owned(), desc: true }),
                Some(_) => Err(ApiError::Input("Invalid order field order, must be asc or desc".into())),
            }
        })
        .collect()
}

fn text_filter(params: &QueryParams) -> Result<Option<TextFilter>, ApiError> {
    let term = params.one("fullTextFilterTerm")?.map(str::trim).unwrap_or_default();
    Ok((!term.is_empty()).then(|| TextFilter { term: term.to_owned(), fields: params.list("fullTextFilterFields") }))
}

/// The query a request asks for: from its cursor, or from its parameters.
fn cursor_of(params: &QueryParams) -> Result<Cursor, ApiError> {
    if let Some(raw) = params.one("cursor")? {
        let given: Vec<&str> = CURSOR_CARRIES.iter().copied().filter(|p| params.has(p)).collect();
        if !given.is_empty() {
            return Err(ApiError::Input(format!(
                "cursor cannot be combined with {}; the cursor already carries them",
                given.join(", ")
            )));
        }
        return decode_cursor(raw);
    }
    Ok(Cursor {
        filter: params.filters()?.into_iter().map(str::to_owned).collect(),
        order: order_fields(&params.all("orderField"))?,
        text: text_filter(params)?,
        offset: params.offset()?.unwrap_or(0),
        as_of: params.one("asOf")?.map(|t| portico_catalog::parse_time("asOf", t)).transpose().map_err(ApiError::Input)?,
        query: None,
        exclude_total: total_items(params.one("totalItems")?, "request/query")?,
        limit: None,
    })
}

/// `totalItems`: `include` (the default) or `exclude`; `at` names where it was given.
fn total_items(value: Option<&str>, at: &str) -> Result<bool, ApiError> {
    match value {
        None | Some("include") => Ok(false),
        Some("exclude") => Ok(true),
        Some(_) => Err(ApiError::Input(format!("{at}/totalItems must be equal to one of the allowed values: include, exclude"))),
    }
}

/// Query entities, a page at a time.
#[utoipa::path(get, path = "/api/catalog/entities/by-query", tag = "catalog",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "Backstage filter, e.g. `kind=component,spec.type=service`; repeat for OR"),
        ("fields" = Option<Vec<String>>, Query, description = "Dotted paths to return, comma-separated or repeated"),
        ("orderField" = Option<Vec<String>>, Query, description = "`<field>,asc` or `<field>,desc`; repeat for ties"),
        ("fullTextFilterTerm" = Option<String>, Query, description = "Case-insensitive substring to look for, from the start of a word"),
        ("fullTextFilterFields" = Option<String>, Query, description = "Comma-separated fields the term is looked for in (all when absent)"),
        ("limit" = Option<usize>, Query, description = "Page size, default 200; pages of more than 1,000 are streamed"),
        ("totalItems" = Option<String>, Query, description = "`include` (default) or `exclude` (answered as 0)"),
        ("offset" = Option<usize>, Query, description = "Entities to skip"),
        ("asOf" = Option<String>, Query, description = "RFC 3339 time: answer from the catalog as it was then (Portico's extension)"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` or `prevCursor` of a previous page; excludes filter, orderField, fullTextFilter*, offset and asOf"),
    ),
    responses((status = 200, description = "`items`, `totalItems` and `pageInfo`", body = serde_json::Value),
              (status = 400, description = "Bad parameters", body = ErrorResponse)))]
pub(crate) async fn by_query(State(state): State<AppState>, seen: crate::auth::Seen, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let fields = Fields::parse(&params.list("fields"));
    let cursor = cursor_of(&params)?;
    let limit = params.limit_up_to(usize::MAX)?.or(cursor.limit).unwrap_or(DEFAULT_LIMIT);
    answer(&state, &seen, cursor, limit, fields).await
}

/// Body of `POST /entities/by-query` (what `catalogClient.queryEntities({query})` sends).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct QueryRequest {
    /// A predicate: `{$all|$any: [..]}`, `{$not: ..}` or `{<search key>: value | {$exists|$in|$hasPrefix|$contains}}`.
    #[serde(default)]
    query: Option<serde_json::Value>,
    /// `nextCursor` or `prevCursor` of a previous page (of a GET or a POST).
    #[serde(default)]
    cursor: Option<String>,
    #[serde(default)]
    limit: Option<i64>,
    #[serde(default)]
    offset: Option<i64>,
    /// `[{field, order: asc|desc}]`.
    #[serde(default)]
    order_by: Option<Vec<OrderBy>>,
    /// `{term, fields?}`.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    full_text_filter: Option<TextFilter>,
    #[serde(default)]
    fields: Option<Vec<String>>,
    /// `include` (default) or `exclude`.
    #[serde(default)]
    total_items: Option<String>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct OrderBy {
    field: String,
    #[serde(default)]
    order: Option<String>,
}

/// Query entities with a predicate, a page at a time.
#[utoipa::path(post, path = "/api/catalog/entities/by-query", tag = "catalog",
    request_body = QueryRequest,
    responses((status = 200, description = "`items`, `totalItems` and `pageInfo`", body = serde_json::Value),
              (status = 400, description = "Bad body or predicate", body = ErrorResponse)))]
pub(crate) async fn by_predicate(State(state): State<AppState>, seen: crate::auth::Seen, crate::error::ApiJson(body): crate::error::ApiJson<QueryRequest>) -> Result<Response, ApiError> {
    let fields = Fields::parse(&body.fields.clone().unwrap_or_default());
    let limit = match body.limit {
        None => None,
        Some(n) if n >= 0 => Some(n as usize),
        Some(_) => return Err(ApiError::Input("request/body/limit must be >= 0".into())),
    };
    let cursor = match body.cursor.as_deref() {
        Some("") => return Err(ApiError::Input("Cursor cannot be empty".into())),
        Some(raw) => decode_cursor(raw)?,
        None => {
            let order = body
                .order_by
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, o)| match o.order.as_deref() {
                    None | Some("asc") => Ok(OrderField { field: o.field, desc: false }),
                    Some("desc") => Ok(OrderField { field: o.field, desc: true }),
                    Some(_) => Err(ApiError::Input(format!("request/body/orderBy/{i}/order must be equal to one of the allowed values: asc, desc"))),
                })
                .collect::<Result<Vec<_>, _>>()?;
            let offset = match body.offset {
                None => 0,
                Some(n) if n >= 0 => n as usize,
                Some(_) => return Err(ApiError::Input("request/body/offset must be >= 0".into())),
            };
            Cursor {
                filter: Vec::new(),
                order,
                text: body.full_text_filter.filter(|t| !t.term.trim().is_empty()),
                offset,
                as_of: None,
                query: body.query,
                exclude_total: total_items(body.total_items.as_deref(), "request/body")?,
                limit: None,
            }
        }
    };
    let limit = limit.or(cursor.limit).unwrap_or(DEFAULT_LIMIT);
    answer(&state, &seen, cursor, limit, fields).await
}

/// The page a cursor describes, `limit` entities long, projected to `fields`.
async fn answer(state: &AppState, seen: &crate::auth::Seen, cursor: Cursor, limit: usize, fields: Option<Fields>) -> Result<Response, ApiError> {
    let filter = parse_filter_params(&cursor.filter.iter().map(String::as_str).collect::<Vec<_>>())?;
    let predicate = crate::params::predicate(cursor.query.as_ref())?;
    // Over all fields, the index names the candidates (entities with words starting as the
    // term's do) and the read model checks each for the substring. With named fields, every
    // entity's fields are checked for the substring anywhere, also inside words (`ayback` finds
    // `wayback`), as Backstage matches.
    let within = cursor.text.as_ref().filter(|t| t.fields.is_empty()).and_then(|t| state.search.candidates(t.term.trim()));
    let mut query = EntityQuery {
        filter,
        within,
        text: cursor.text.clone(),
        order: cursor.order.clone(),
        offset: cursor.offset,
        limit: Some(limit),
    };
    let graph = match cursor.as_of {
        Some(at) => state.catalog.graph_at(at).await?,
        None => state.catalog.graph().clone(),
    };
    let vis = seen.at(state, cursor.as_of).await?;
    let page = {
        let g = graph.read();
        let g = Visible::new(&g, &vis);
        if let Some(p) = &predicate {
            let matched = g.predicate(p);
            query.within = Some(match query.within.take() {
                Some(w) => w & matched,
                None => matched,
            });
        }
        g.query(&query)
    };
    let shown = page.ids.len();
    let total = if cursor.exclude_total { 0 } else { page.total };
    let all = page.total;
    let at = |offset: usize| encode_cursor(&Cursor { offset, limit: Some(limit), ..cursor.clone() });
    let page_info = PageInfo {
        next_cursor: (limit > 0 && cursor.offset + shown < all).then(|| at(cursor.offset + shown)),
        prev_cursor: (limit > 0 && cursor.offset > 0).then(|| at(cursor.offset.saturating_sub(limit))),
    };
    if shown > crate::stream::STREAM_OVER {
        let mut suffix = format!("],\"totalItems\":{total},\"pageInfo\":").into_bytes();
        serde_json::to_writer(&mut suffix, &page_info).map_err(|e| ApiError::Internal(e.to_string()))?;
        suffix.push(b'}');
        return Ok(crate::stream::entities(graph, vis, page.ids, fields, b"{\"items\":[".to_vec(), suffix));
    }
    let views: Vec<EntityView> = {
        let g = graph.read();
        let g = Visible::new(&g, &vis);
        page.ids.iter().filter_map(|id| g.entry(*id)).map(|e| EntityView::of(&g, e)).collect()
    };
    let items = views.iter().map(|v| Rendered::of(v, fields.as_ref())).collect();
    Ok(Json(QueryResponse { items, total_items: total, page_info }).into_response())
}
