//! API tokens for CI and scripts (`/api/v1/tokens`) and who is asking (`/api/v1/me`). A
//! personal token belongs to whoever creates it; a service token (`service: deployer`) belongs to
//! no person and only an admin may create one. The secret is in the creation's answer only.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use portico_store::ApiToken;

use crate::AppState;
use crate::auth::{NewToken, Principal, create_token};
use crate::error::{ApiError, ApiJson, ErrorResponse};

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/tokens", get(list).post(create))
        .route("/tokens/{id}", delete(revoke))
        .route("/me", get(me))
}

/// Creates a token. The answer holds `secret`, shown this once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "portico",
    request_body(content = serde_json::Value, description = "`{name, scopes: [read|write|admin], expiresInDays?, service?}`"),
    responses((status = 201, description = "`{token, secret}`", body = serde_json::Value),
              (status = 400, description = "Bad name, scope or expiry", body = ErrorResponse),
              (status = 403, description = "A service token, or a scope the creator lacks", body = ErrorResponse)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    Extension(who): Extension<Arc<Principal>>,
    ApiJson(body): ApiJson<NewToken>,
) -> Result<Response, ApiError> {
    let (token, secret) = create_token(state.catalog.store().as_ref(), &state.auth, state.catalog.graph(), &who, body).await?;
    Ok((StatusCode::CREATED, Json(serde_json::json!({"token": token, "secret": secret}))).into_response())
}

/// Tokens: every one for an admin, one's own otherwise. Never their secrets.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "portico",
    responses((status = 200, description = "`items`: tokens, newest first", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>) -> Result<Json<super::v1::Items<ApiToken>>, ApiError> {
    let owner = (!token_admin(&state, &who)).then_some(who.subject.as_str());
    Ok(Json(super::v1::Items::new(state.catalog.store().list_tokens(owner).await?)))
}

/// Revokes a token: one's own, or any for an admin. Takes effect on the next request.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "portico", params(("id" = String, Path)),
    responses((status = 204, description = "Revoked"), (status = 404, description = "No such token (or not yours)", body = ErrorResponse)))]
pub(crate) async fn revoke(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    let store = state.catalog.store();
    let token = store.get_token(&id).await?.filter(|t| t.owner == who.subject || token_admin(&state, &who));
    // Someone else's token is answered as a missing one: its existence is not theirs to know.
    let Some(token) = token else { return Err(ApiError::NotFound(format!("No token with ID {id}"))) };
    if !store.revoke_token(&token.id, portico_catalog::now_ms()).await? {
        return Err(ApiError::Conflict(format!("The token {id} is already revoked")));
    }
    state.auth.tokens.clear();
    tracing::info!(token = %token.id, by = %who.subject, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}

/// Whether `who` may manage every token (the policy's `token.admin`).
fn token_admin(state: &AppState, who: &Principal) -> bool {
    state.auth.check(who, portico_auth::Permission::TokenAdmin, None, None, state.catalog.graph()).is_ok()
}

/// Who is asking: the subject, how it was recognised, its scopes, what the catalog knows of it
/// (its User entity and groups, direct and inherited), and the permissions the policy grants it
/// (those not about one entity; those are decided per entity).
#[utoipa::path(get, path = "/api/v1/me", tag = "portico",
    responses((status = 200, description = "`{subject, via, scopes, tokenId?, user: {ref, inCatalog, groups}, admin, permissions}`", body = serde_json::Value),
              (status = 401, description = "A token that is not valid", body = ErrorResponse)))]
pub(crate) async fn me(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>) -> Json<serde_json::Value> {
    let graph = state.catalog.graph();
    let subject = state.auth.subject(&who, graph);
    let permissions: Vec<&str> = portico_auth::Permission::ALL
        .iter()
        .filter(|p| p.resource().is_none() && state.auth.check(&who, **p, None, None, graph).is_ok())
        .map(|p| p.name())
        .collect();
    let mut body = serde_json::to_value(&*who).unwrap_or_default();
    body["user"] = serde_json::to_value(&subject.identity).unwrap_or_default();
    body["admin"] = subject.admin.into();
    body["permissions"] = permissions.into();
    Json(body)
}
