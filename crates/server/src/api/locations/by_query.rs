//! `POST /locations/by-query` (`catalogClient.queryLocations`): registered locations matching a
//! predicate query on `id`, `type`, `target` and `entityRef`, a page at a time, ordered by id.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::AppState;
use crate::error::{ApiError, ErrorResponse};
use crate::params::{decode_cursor, encode_cursor};

/// The keys a location predicate may name.
const KEYS: [&str; 4] = ["id", "type", "target", "entityref"];

/// Body of `POST /locations/by-query`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
pub(crate) struct LocationQuery {
    /// A predicate on `id`, `type`, `target`, `entityRef`.
    #[serde(default)]
    query: Option<serde_json::Value>,
    /// Page size, at least 1 (default: all).
    #[serde(default)]
    limit: Option<i64>,
    /// `nextCursor` of a previous page.
    #[serde(default)]
    cursor: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Cursor {
    #[serde(rename = "q", default)]
    query: Option<serde_json::Value>,
    #[serde(rename = "l")]
    limit: usize,
    #[serde(rename = "s")]
    offset: usize,
}

/// Registered locations matching a predicate query.
#[utoipa::path(post, path = "/api/catalog/locations/by-query", tag = "locations",
    request_body = LocationQuery,
    responses((status = 200, description = "`items` (`{id, type, target}`), `totalItems`, `pageInfo`", body = serde_json::Value),
              (status = 400, description = "Bad body or predicate", body = ErrorResponse)))]
pub(crate) async fn by_query(State(state): State<AppState>, body: axum::body::Bytes) -> Result<Response, ApiError> {
    // No body is an empty query, as the client sends `queryLocations()` without arguments.
    let body: LocationQuery = if body.iter().all(u8::is_ascii_whitespace) {
        LocationQuery::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::Input(format!("Malformed request body: {e}")))?
    };
    let cursor = match body.cursor.as_deref() {
        Some(raw) => decode_cursor::<Cursor>(raw)?,
        None => {
            let limit = match body.limit {
                None => usize::MAX,
                Some(n) if n >= 1 => n as usize,
                Some(_) => return Err(ApiError::Input("Limit must be a positive integer >= 1".into())),
            };
            Cursor { query: body.query, limit, offset: 0 }
        }
    };
    let predicate = crate::params::predicate(cursor.query.as_ref())?;
    if let Some(key) = predicate.as_ref().and_then(|p| p.keys().into_iter().find(|k| !KEYS.contains(k))) {
        return Err(ApiError::Input(format!("Invalid filter predicate, expected key to be 'id', 'type', 'target', or 'entityRef', got '{key}'")));
    }
    let mut all = state.catalog.store().list_locations().await?;
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let matching: Vec<_> = all
        .into_iter()
        .filter(|l| {
            predicate.as_ref().is_none_or(|p| {
                p.matches(&|key| match key {
                    "id" => Some(l.id.clone()),
                    "type" => Some(l.kind.clone()),
                    "target" => Some(l.target.clone()),
                    _ => None,
                })
            })
        })
        .collect();
    let total = matching.len();
    let items: Vec<_> = matching.into_iter().skip(cursor.offset).take(cursor.limit).collect();
    let next = cursor.offset.saturating_add(items.len());
    let mut page_info = serde_json::Map::new();
    if next < total {
        page_info.insert("nextCursor".into(), json!(encode_cursor(&Cursor { query: cursor.query.clone(), limit: cursor.limit, offset: next })));
    }
    Ok(Json(json!({"items": items, "totalItems": total, "pageInfo": page_info})).into_response())
}
