//! `POST /refresh` (re-read the location that provides an entity, now) and
//! `POST /validate-entity` (would this descriptor be accepted?), as in Backstage.
//!
//! `validate-entity` answers problems with the entity in Backstage's own shape for that route,
//! `{"errors": [{"name", "message"}]}`, which its clients read; a body that is not JSON at all
//! is an ordinary [`ApiError`].

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use portico_catalog::{Origin, RawEntity};
use portico_model::{ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION, EntityRef};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorResponse};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/refresh", post(refresh)).route("/validate-entity", post(validate_entity))
}

/// Body of `POST /refresh`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct RefreshRequest {
    /// `kind:namespace/name`.
    #[serde(rename = "entityRef")]
    entity_ref: String,
}

/// Re-reads the location that provides an entity and applies what it finds; answers when done.
/// An entity that no registered location provides has nothing to re-read: 200 all the same.
#[utoipa::path(post, path = "/api/catalog/refresh", tag = "catalog",
    request_body = RefreshRequest,
    responses((status = 200, description = "Refreshed"),
              (status = 400, description = "Bad reference", body = ErrorResponse),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn refresh(State(state): State<AppState>, seen: crate::auth::Seen, ApiJson(body): ApiJson<RefreshRequest>) -> Result<StatusCode, ApiError> {
    let entity_ref = EntityRef::parse_full(&body.entity_ref).map_err(|e| ApiError::Input(format!("entityRef: {e}")))?;
    let key = entity_ref.key();
    if !seen.sees_now(&state, &key) {
        return Err(ApiError::NotFound(format!("No entity {entity_ref} found")));
    }
    match state.locations.location_of(&key).await? {
        Some(location) => {
            let report = state.locations.refresh(&location.id, &|_, _| {}).await?;
            tracing::info!(entity = %entity_ref, location = %location.id, added = report.added, updated = report.updated,
                removed = report.removed, errors = report.errors.len(), "refreshed");
        }
        None => tracing::info!(entity = %entity_ref, "refresh: the entity comes from no registered location"),
    }
    Ok(StatusCode::OK)
}

/// Body of `POST /validate-entity`. Both fields are checked by the handler, so that their
/// problems are answered in this route's own error shape.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ValidateRequest {
    /// The descriptor to check.
    #[serde(default)]
    entity: Value,
    /// Where it would come from, `url:<target>` (or `file:<path>`).
    #[serde(default)]
    #[schema(value_type = String)]
    location: Value,
}

#[derive(Serialize)]
struct Problem {
    name: &'static str,
    message: String,
}

fn problems(list: Vec<Problem>) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "errors": list }))).into_response()
}

fn input_problem(message: String) -> Response {
    problems(vec![Problem { name: "InputError", message }])
}

/// `type:target` with a known type.
fn check_location(location: &str) -> Result<(), String> {
    match location.split_once(':') {
        Some(("url" | "file", target)) if !target.trim().is_empty() => Ok(()),
        _ => Err(format!(
            "Invalid location ref {location:?}, expected 'url:<target>' (or 'file:<path>'), e.g. url:https://host/path"
        )),
    }
}

/// Validates one descriptor the way ingest would, writing nothing: 200 `{}` when valid,
/// 400 `{"errors": [...]}` naming each problem's field otherwise.
#[utoipa::path(post, path = "/api/catalog/validate-entity", tag = "catalog",
    request_body = ValidateRequest,
    responses((status = 200, description = "Valid: `{}`", body = serde_json::Value),
              (status = 400, description = "`{\"errors\": [{\"name\", \"message\"}]}`", body = serde_json::Value)))]
pub(crate) async fn validate_entity(State(state): State<AppState>, ApiJson(body): ApiJson<ValidateRequest>) -> Response {
    let Some(location) = body.location.as_str() else {
        return input_problem("location: expected a string such as \"url:https://host/path\"".into());
    };
    if let Err(message) = check_location(location) {
        return input_problem(message);
    }
    let mut entity = body.entity;
    if !entity.is_object() {
        return input_problem("entity: expected an entity (a JSON object)".into());
    }
    if let Some(meta) = entity.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            for key in [ANNOTATION_LOCATION, ANNOTATION_ORIGIN_LOCATION] {
                a.entry(key).or_insert_with(|| Value::String(location.to_owned()));
            }
        }
    }
    let raw = RawEntity { value: entity, origin: Origin { location: location.to_owned(), text: None, document: 0 }, parent: None, degraded: false };
    match state.catalog.validate(std::slice::from_ref(&raw)).pop() {
        Some(Ok(_)) => Json(json!({})).into_response(),
        Some(Err(errors)) => {
            problems(errors.into_iter().map(|fe| Problem { name: "ValidationError", message: fe.to_string() }).collect())
        }
        None => ApiError::Internal("validation returned no result".into()).into_response(),
    }
}
