//! The permission policy in force (`/api/v1/policy`): how rules combine, their names in the
//! order they are asked (those of Policy entities first), and the last load of the Policy
//! entities: which count, which were left out and why, and a refused load's error.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};

use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/policy", get(policy))
}

#[utoipa::path(get, path = "/api/v1/policy", tag = "portico",
    responses((status = 200, description = "`{combine, rules, entities, ignored: [{ref, reason}], error?}`", body = serde_json::Value)))]
pub(crate) async fn policy(State(state): State<AppState>) -> Json<serde_json::Value> {
    let load = state.auth.policy_load();
    let mut body = serde_json::to_value(&load).unwrap_or_default();
    body["combine"] = serde_json::to_value(state.auth.config.policy.combine).unwrap_or_default();
    body["rules"] = state.auth.rule_names().into();
    Json(body)
}
