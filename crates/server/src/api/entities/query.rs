//! `GET /entities/by-query`: Backstage's paged entity query, with filters, ordering, a
//! full-text filter, projections and opaque cursors.
//!
//! A cursor is URL-safe base64 of a small JSON document holding the filter strings, the
//! order, the text filter and the offset of the page it leads to; it is decoded and its filters
//! parsed again on every use, so a forged cursor is no more powerful than query parameters.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use portico_graph::filter::parse_filter_params;
use portico_graph::{EntityQuery, OrderField, TextFilter};
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::error::{ApiError, ErrorResponse};
use crate::params::{QueryParams, decode_cursor, encode_cursor};
use crate::render::{EntityView, Fields, Rendered};

/// Page size when the client names none.
pub(crate) const DEFAULT_LIMIT: usize = 20;

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
        filter: params.all("filter").into_iter().map(str::to_owned).collect(),
        order: order_fields(&params.all("orderField"))?,
        text: text_filter(params)?,
        offset: params.offset()?.unwrap_or(0),
        as_of: params.one("asOf")?.map(|t| portico_catalog::parse_time("asOf", t)).transpose().map_err(ApiError::Input)?,
    })
}

/// Query entities, a page at a time.
#[utoipa::path(get, path = "/api/catalog/entities/by-query", tag = "catalog",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "Backstage filter, e.g. `kind=component,spec.type=service`; repeat for OR"),
        ("fields" = Option<Vec<String>>, Query, description = "Dotted paths to return, comma-separated or repeated"),
        ("orderField" = Option<Vec<String>>, Query, description = "`<field>,asc` or `<field>,desc`; repeat for ties"),
        ("fullTextFilterTerm" = Option<String>, Query, description = "Case-insensitive substring to look for, from the start of a word"),
        ("fullTextFilterFields" = Option<String>, Query, description = "Comma-separated fields the term is looked for in (all when absent)"),
        ("limit" = Option<usize>, Query, description = "Page size, 0 to 10000, default 20"),
        ("offset" = Option<usize>, Query, description = "Entities to skip"),
        ("asOf" = Option<String>, Query, description = "RFC 3339 time: answer from the catalog as it was then (Portico's extension)"),
        ("cursor" = Option<String>, Query, description = "`nextCursor` or `prevCursor` of a previous page; excludes filter, orderField, fullTextFilter*, offset and asOf"),
    ),
    responses((status = 200, description = "`items`, `totalItems` and `pageInfo`", body = serde_json::Value),
              (status = 400, description = "Bad parameters", body = ErrorResponse)))]
pub(crate) async fn by_query(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let fields = Fields::parse(&params.list("fields"));
    let limit = params.limit()?.unwrap_or(DEFAULT_LIMIT);
    let cursor = cursor_of(&params)?;
    let filter = parse_filter_params(&cursor.filter.iter().map(String::as_str).collect::<Vec<_>>())?;
    // The index names the candidates (entities with words starting as the term's do); the read
    // model checks each for the substring, so the result keeps Backstage's meaning.
    let within = cursor.text.as_ref().and_then(|t| state.search.candidates(t.term.trim()));
    let query = EntityQuery {
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
    let page = graph.read().query(&query);
    let (shown, total) = (page.ids.len(), page.total);
    let at = |offset: usize| encode_cursor(&Cursor { offset, ..cursor.clone() });
    let page_info = PageInfo {
        next_cursor: (limit > 0 && cursor.offset + shown < total).then(|| at(cursor.offset + shown)),
        prev_cursor: (limit > 0 && cursor.offset > 0).then(|| at(cursor.offset.saturating_sub(limit))),
    };
    if shown > crate::stream::STREAM_OVER {
        let mut suffix = format!("],\"totalItems\":{total},\"pageInfo\":").into_bytes();
        serde_json::to_writer(&mut suffix, &page_info).map_err(|e| ApiError::Internal(e.to_string()))?;
        suffix.push(b'}');
        return Ok(crate::stream::entities(graph, page.ids, fields, b"{\"items\":[".to_vec(), suffix));
    }
    let views: Vec<EntityView> = {
        let g = graph.read();
        page.ids.iter().filter_map(|id| g.entry(*id)).map(|e| EntityView::of(&g, e)).collect()
    };
    let items = views.iter().map(|v| Rendered::of(v, fields.as_ref())).collect();
    Ok(Json(QueryResponse { items, total_items: total, page_info }).into_response())
}
