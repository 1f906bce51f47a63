//! Sign-in sessions (`/api/v1/sessions`): a person lists and ends their own (a browser left
//! signed in elsewhere); a token admin sees and ends anyone's. Ending one takes effect on this
//! server at once and on every other within a second.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Extension, Json, Router};
use portico_store::Session;

use crate::AppState;
use crate::auth::Principal;
use crate::error::{ApiError, ErrorResponse};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/sessions", get(list)).route("/sessions/{id}", delete(revoke))
}

fn session_admin(state: &AppState, who: &Principal) -> bool {
    state.auth.check(who, portico_auth::Permission::TokenAdmin, None, None, state.catalog.graph()).is_ok()
}

#[utoipa::path(get, path = "/api/v1/sessions", tag = "portico",
    responses((status = 200, description = "`items`: sessions still open, newest first (yours; everyone's for a token admin), with `current` on the one asking", body = serde_json::Value)))]
pub(crate) async fn list(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>) -> Result<Json<serde_json::Value>, ApiError> {
    let subject = (!session_admin(&state, &who)).then_some(who.subject.as_str());
    let now = portico_catalog::now_ms();
    let sessions = state.catalog.store().list_sessions(subject, now, now.saturating_sub(state.auth.config.sessions.idle_ms())).await?;
    let items: Vec<serde_json::Value> = sessions
        .iter()
        .map(|s: &Session| {
            let mut v = serde_json::to_value(s).unwrap_or_default();
            v["current"] = (who.session_id.as_deref() == Some(s.id.as_str())).into();
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "items": items })))
}

#[utoipa::path(delete, path = "/api/v1/sessions/{id}", tag = "portico", params(("id" = String, Path)),
    responses((status = 204, description = "Ended"), (status = 404, description = "No such session (or not yours)", body = ErrorResponse),
              (status = 409, description = "Already ended", body = ErrorResponse)))]
pub(crate) async fn revoke(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    // Ending a session changes something: a read-only token may not.
    if !who.may(portico_auth::Scope::Write) {
        return Err(ApiError::Forbidden(format!("ending a session needs the write scope; this token's scopes are {}", portico_auth::tokens::list(&who.scopes))));
    }
    let store = state.catalog.store();
    let session = store.get_session(&id).await?.filter(|s| s.subject == who.subject || session_admin(&state, &who));
    // Someone else's session is answered as a missing one: its existence is not theirs to know.
    let Some(session) = session else { return Err(ApiError::NotFound(format!("No session with ID {id}"))) };
    if !store.revoke_session(&session.id, portico_catalog::now_ms()).await? {
        return Err(ApiError::Conflict(format!("The session {id} has already ended")));
    }
    state.auth.sessions.clear();
    let event = portico_store::AuditEvent::of(who.subject.clone(), who.via, "session.revoke", Some(session.subject.clone()), "allowed").with(Some(204), None, format!("session {}", session.id));
    crate::auth::gate::record(&state, event).await;
    tracing::info!(session = %session.id, subject = %session.subject, by = %who.subject, "session ended");
    Ok(StatusCode::NO_CONTENT)
}
