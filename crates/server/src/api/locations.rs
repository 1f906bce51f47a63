//! Backstage's location routes: list, get, register (or only read, with `dryRun`), delete,
//! and the location behind an entity. Registering goes through the discovery crate's
//! [`portico_catalog::LocationService`], so the entities it yields are validated and written
//! by the one write path before the response is sent.
//!
//! A `file` location registered through the API must lie under the reader's configured
//! allowed roots: otherwise any client could make the server read any file it can open.

use std::path::Path;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use portico_catalog::{LocationService, LocationSpec};
use portico_store::LocationRecord;
use serde::{Deserialize, Serialize};

use super::entities::{key_of, no_entity_named};
use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorResponse};
use crate::params::QueryParams;
use crate::render::EntityView;

pub(crate) mod by_query;

/// Problems listed in a failed dry run's message before the rest are counted.
const MAX_LISTED_PROBLEMS: usize = 10;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/locations", get(list).post(create))
        .route("/locations/{id}", get(get_one).delete(delete))
        .route("/locations/by-entity/{kind}/{namespace}/{name}", get(by_entity))
        .route("/locations/by-query", axum::routing::post(by_query::by_query))
}

fn not_found(id: &str) -> ApiError {
    ApiError::NotFound(format!("Found no location with ID {id}"))
}

#[derive(Serialize)]
struct Wrapped {
    data: LocationRecord,
}

/// Every registered location, each wrapped in `data` as Backstage does.
#[utoipa::path(get, path = "/api/catalog/locations", tag = "locations",
    responses((status = 200, description = "`[{\"data\": {\"id\", \"type\", \"target\"}}]`", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>) -> Result<Response, ApiError> {
    let all = state.catalog.store().list_locations().await?;
    Ok(Json(all.into_iter().map(|data| Wrapped { data }).collect::<Vec<_>>()).into_response())
}

/// One registered location.
#[utoipa::path(get, path = "/api/catalog/locations/{id}", tag = "locations",
    params(("id" = String, Path)),
    responses((status = 200, description = "`{\"id\", \"type\", \"target\"}`", body = serde_json::Value),
              (status = 404, description = "No such location", body = ErrorResponse)))]
pub(crate) async fn get_one(State(state): State<AppState>, UrlPath(id): UrlPath<String>) -> Result<Response, ApiError> {
    let location = state.catalog.store().get_location(&id).await?.ok_or_else(|| not_found(&id))?;
    Ok(Json(location).into_response())
}

/// Body of `POST /locations`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct LocationInput {
    /// `url` or `file`.
    #[serde(rename = "type")]
    kind: String,
    target: String,
}

#[derive(Serialize)]
struct CreateResponse {
    location: LocationRecord,
    entities: Vec<EntityView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exists: Option<bool>,
    /// What could not be read (files, placeholders): recorded, but not fatal. Portico's addition
    /// to Backstage's shape, present only when there is something to say.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    errors: Vec<SourceProblem>,
}

/// A part of a location that could not be read.
#[derive(Debug, Clone, Serialize)]
pub struct SourceProblem {
    pub location: String,
    pub message: String,
}

/// What registering a location did, or with a dry run would do.
#[derive(Debug, Clone)]
pub struct Registration {
    pub location: LocationRecord,
    /// The entities it provides (a dry run: would provide), in key order for a registration.
    pub entities: Vec<EntityView>,
    /// A dry run only: whether the location is registered already.
    pub exists: Option<bool>,
    pub errors: Vec<SourceProblem>,
}

/// Refuses file targets outside the reader's configured roots (globs: their fixed prefix).
pub(crate) fn check_file_target(locations: &LocationService, target: &str) -> Result<(), ApiError> {
    let base = match target.find(['*', '?', '[']) {
        Some(i) => match target[..i].rfind('/') {
            Some(0) | None => "/",
            Some(j) => &target[..j],
        },
        None => target,
    };
    let reader = locations.reader();
    if reader.config().allowed_roots.is_empty() {
        return Err(ApiError::Input(
            "file locations cannot be registered through the API: the reader has no allowed roots configured".into(),
        ));
    }
    reader.check_path(Path::new(base), &[]).map(|_| ()).map_err(|e| ApiError::Input(e.to_string()))
}

/// Registers a location and ingests what it holds (201), or with `dryRun=true` only reads and
/// validates it (201 as in Backstage, nothing written; an invalid descriptor is a 400). Registering one twice
/// is a conflict. Parts that could not be read (a placeholder's URL, a missing file) are listed
/// in `errors` and do not fail the request, as ingest records them and goes on.
#[utoipa::path(post, path = "/api/catalog/locations", tag = "locations",
    params(("dryRun" = Option<bool>, Query, description = "Only read and validate; write nothing")),
    request_body = LocationInput,
    responses((status = 201, description = "`{\"location\", \"entities\"}`", body = serde_json::Value),
              (status = 200, description = "Dry run: `{\"location\", \"entities\", \"exists\"}`", body = serde_json::Value),
              (status = 400, description = "Bad location, or it cannot be read or holds invalid entities", body = ErrorResponse),
              (status = 409, description = "Already registered", body = ErrorResponse)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    seen: crate::auth::Seen,
    RawQuery(raw): RawQuery,
    ApiJson(input): ApiJson<LocationInput>,
) -> Result<Response, ApiError> {
    let dry_run = QueryParams::parse(raw.as_deref()).flag("dryRun")?;
    let Registration { location, entities, exists, errors } = register_location(&state, &seen, input.kind, input.target, dry_run).await?;
    // Backstage answers a dry run with 201 too.
    Ok((StatusCode::CREATED, Json(CreateResponse { location, entities, exists, errors })).into_response())
}

/// Registers a location (`file` or `url`) and ingests it, or with `dry_run` only reads and
/// validates it (an invalid descriptor then fails the whole preview, as in Backstage). The one
/// implementation behind the API and the web pages' register form. The entities answered are
/// those the reader (`seen`) may see once the location is in.
pub async fn register_location(state: &AppState, seen: &crate::auth::Seen, kind: String, target: String, dry_run: bool) -> Result<Registration, ApiError> {
    let spec = LocationService::normalize(&LocationSpec { kind, target }).map_err(ApiError::Input)?;
    if spec.kind == "file" {
        check_file_target(&state.locations, &spec.target)?;
    }
    if !dry_run {
        let registered = state.catalog.store().list_locations().await?;
        if let Some(l) = registered.iter().find(|l| l.kind == spec.kind && l.target == spec.target) {
            return Err(ApiError::Conflict(format!("Location {}:{} already exists", l.kind, l.target)));
        }
    }
    let (location, outcome, exists, report) = state.locations.register(&spec, dry_run).await?;
    if !dry_run {
        let source = LocationService::source_name(&location.id);
        let vis = state.auth.visibility(&seen.1, state.catalog.graph()).await;
        let mut entities: Vec<(String, EntityView)> = {
            let graph = state.catalog.read();
            let graph = portico_graph::Visible::new(&graph, &vis);
            graph.entries().filter(|e| e.source == source).map(|e| (e.key.clone(), EntityView::of(&graph, e))).collect()
        };
        entities.sort_by(|a, b| a.0.cmp(&b.0));
        let entities = entities.into_iter().map(|(_, v)| v).collect();
        let errors = report
            .map(|r| r.errors.into_iter().map(|e| SourceProblem { location: e.location, message: e.message }).collect())
            .unwrap_or_default();
        return Ok(Registration { location, entities, exists: None, errors });
    }
    // A dry run: what ingest would accept; invalid descriptors fail it, as in Backstage.
    let mut problems: Vec<String> = Vec::new();
    let mut entities = Vec::new();
    for (raw, result) in outcome.entities.iter().zip(state.catalog.preview(&outcome.entities)) {
        match result {
            Ok((entity, relations)) => {
                entities.push(EntityView { entity: Arc::new(entity), relations });
            }
            Err(errors) => problems.extend(errors.iter().map(|fe| format!("{}: {fe}", raw.origin.at(&fe.path)))),
        }
    }
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(MAX_LISTED_PROBLEMS);
        let mut message = format!("location {}:{} has errors: {}", spec.kind, spec.target, problems[..problems.len().min(MAX_LISTED_PROBLEMS)].join("; "));
        if more > 0 {
            message.push_str(&format!("; and {more} more"));
        }
        return Err(ApiError::Input(message));
    }
    let errors = outcome.errors.into_iter().map(|e| SourceProblem { location: e.location, message: e.message }).collect();
    Ok(Registration { location, entities, exists: Some(exists), errors })
}

/// Unregisters a location and removes the entities it provided.
#[utoipa::path(delete, path = "/api/catalog/locations/{id}", tag = "locations",
    params(("id" = String, Path)),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such location", body = ErrorResponse)))]
pub(crate) async fn delete(State(state): State<AppState>, UrlPath(id): UrlPath<String>) -> Result<StatusCode, ApiError> {
    state.locations.delete(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The registered location that provides an entity.
#[utoipa::path(get, path = "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}", tag = "locations",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`{\"id\", \"type\", \"target\"}`", body = serde_json::Value),
              (status = 404, description = "No such entity, or it comes from no registered location", body = ErrorResponse)))]
pub(crate) async fn by_entity(
    State(state): State<AppState>,
    seen: crate::auth::Seen,
    UrlPath((kind, namespace, name)): UrlPath<(String, String, String)>,
) -> Result<Response, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    let entity_ref = portico_graph::Visible::new(&state.catalog.read(), &seen.0).get(&key).map(|e| e.entity_ref());
    let entity_ref = entity_ref.ok_or_else(|| no_entity_named(&kind, &namespace, &name))?;
    let location = state.locations.location_of(&key).await?;
    let location = location.ok_or_else(|| ApiError::NotFound(format!("found no location for {entity_ref}")))?;
    Ok(Json(location).into_response())
}
