//! Stars (`/api/v1/me/stars`): the entities a person marked to find again, listed on their "My
//! team" page. Starring needs to be allowed to read the entity; the guest of `auth.mode: none`
//! has one set of stars, shared by everyone on the demo.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use portico_model::EntityRef;

use crate::AppState;
use crate::auth::{Principal, Seen};
use portico_graph::Visible;
use crate::error::{ApiError, ErrorResponse};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/me/stars", get(list)).route("/me/stars/{kind}/{namespace}/{name}", put(star).delete(unstar))
}

#[utoipa::path(get, path = "/api/v1/me/stars", tag = "portico",
    responses((status = 200, description = "`items`: `{entityRef, starredAt, inCatalog}`, newest first", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>, seen: Seen, Extension(who): Extension<Arc<Principal>>) -> Result<Json<serde_json::Value>, ApiError> {
    let stars = state.catalog.store().stars(&who.subject).await?;
    let graph = state.catalog.read();
    // A starred entity since hidden from its reader is, to it, one since removed.
    let graph = Visible::new(&graph, &seen.0);
    let items: Vec<serde_json::Value> = stars
        .iter()
        .map(|s| {
            let entry = graph.get(&s.entity_key);
            let entity_ref = entry.map_or_else(|| s.entity_key.clone(), |e| e.entity_ref().to_string());
            serde_json::json!({"entityRef": entity_ref, "starredAt": portico_catalog::format_time(s.created_at), "inCatalog": entry.is_some()})
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

fn key_of(state: &AppState, seen: &Seen, kind: &str, namespace: &str, name: &str) -> Result<String, ApiError> {
    let key = EntityRef::new(kind, namespace, name).key();
    if !seen.sees_now(state, &key) {
        return Err(ApiError::NotFound(format!("No entity named '{kind}:{namespace}/{name}' found")));
    }
    Ok(key)
}

#[utoipa::path(put, path = "/api/v1/me/stars/{kind}/{namespace}/{name}", tag = "portico",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 201, description = "Starred"), (status = 200, description = "Already starred"),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn star(State(state): State<AppState>, seen: Seen, Extension(who): Extension<Arc<Principal>>, Path((kind, namespace, name)): Path<(String, String, String)>) -> Result<StatusCode, ApiError> {
    let key = key_of(&state, &seen, &kind, &namespace, &name)?;
    let created = state.catalog.store().star(&who.subject, &key, portico_catalog::now_ms()).await?;
    Ok(if created { StatusCode::CREATED } else { StatusCode::OK })
}

#[utoipa::path(delete, path = "/api/v1/me/stars/{kind}/{namespace}/{name}", tag = "portico",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 204, description = "No longer starred"), (status = 404, description = "Not starred", body = ErrorResponse)))]
pub(crate) async fn unstar(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>, Path((kind, namespace, name)): Path<(String, String, String)>) -> Result<StatusCode, ApiError> {
    // A star of an entity since removed can still be taken off.
    let key = EntityRef::new(&kind, &namespace, &name).key();
    if state.catalog.store().unstar(&who.subject, &key).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("'{kind}:{namespace}/{name}' is not starred")))
    }
}
