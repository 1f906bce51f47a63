//! Portico's own read endpoints under `/api/v1`: an entity's history (every stored version),
//! the errors sources recorded, and the catalog's health (sizes and unresolved relations).

use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_graph::Unresolved;
use portico_model::EntityRef;
use portico_store::{ErrorRecord, VersionRecord};
use serde::Serialize;

use super::entities::{key_of, no_entity_named};
use crate::AppState;
use crate::error::{ApiError, ErrorResponse};
use crate::params::QueryParams;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/entities/{kind}/{namespace}/{name}/history", get(history))
        .route("/errors", get(errors))
        .route("/health/catalog", get(catalog_health))
}

#[derive(Serialize)]
pub(crate) struct Items<T> {
    items: Vec<T>,
}

/// Every stored version of an entity, oldest first (removed entities keep their history).
#[utoipa::path(get, path = "/api/v1/entities/{kind}/{namespace}/{name}/history", tag = "portico",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`items`: versions, oldest first", body = serde_json::Value),
              (status = 404, description = "The entity never existed", body = ErrorResponse)))]
pub(crate) async fn history(
    State(state): State<AppState>,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Json<Items<VersionRecord>>, ApiError> {
    let items = state.catalog.store().history(&key_of(&kind, &namespace, &name)).await?;
    if items.is_empty() {
        return Err(no_entity_named(&kind, &namespace, &name));
    }
    Ok(Json(Items { items }))
}

/// Errors recorded by sources (unreadable files, invalid descriptors, conflicts), optionally
/// only those concerning one entity (`entityRef`).
#[utoipa::path(get, path = "/api/v1/errors", tag = "portico",
    params(("entityRef" = Option<String>, Query, description = "Only errors concerning this entity")),
    responses((status = 200, description = "`items`: recorded errors", body = serde_json::Value),
              (status = 400, description = "Bad reference", body = ErrorResponse)))]
pub(crate) async fn errors(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<Items<ErrorRecord>>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let key = match params.one("entityRef")? {
        Some(r) => Some(EntityRef::parse_full(r).map_err(|e| ApiError::Input(format!("entityRef: {e}")))?.key()),
        None => None,
    };
    let items = state.catalog.store().errors(key.as_deref()).await?;
    Ok(Json(Items { items }))
}

#[derive(Serialize)]
pub(crate) struct CatalogHealth {
    entities: usize,
    errors: usize,
    #[serde(rename = "unresolvedRelations")]
    unresolved_relations: Vec<Unresolved>,
}

/// How many entities and recorded errors the catalog has, and which relations point at
/// entities that do not exist.
#[utoipa::path(get, path = "/api/v1/health/catalog", tag = "portico",
    responses((status = 200, description = "`{\"entities\", \"errors\", \"unresolvedRelations\": [{\"source\", \"type\", \"target\"}]}`", body = serde_json::Value)))]
pub(crate) async fn catalog_health(State(state): State<AppState>) -> Result<Json<CatalogHealth>, ApiError> {
    let (entities, unresolved_relations) = {
        let graph = state.catalog.read();
        (graph.len(), graph.unresolved())
    };
    let errors = state.catalog.store().errors(None).await?.len();
    Ok(Json(CatalogHealth { entities, errors, unresolved_relations }))
}
