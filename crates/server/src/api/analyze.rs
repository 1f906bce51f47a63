//! `POST /analyze-location` (`catalogClient.analyzeLocation`): what registering a repository URL
//! would give. When the target can be read (its host is in `reading.allow`) and holds entities,
//! they are listed as `existingEntityFiles`, each saying whether it is already in the catalog;
//! otherwise a Component is proposed from the URL (`generateEntities`), named after the
//! repository, as Backstage's backend does without an analyzer for the host.

use axum::extract::State;
use axum::{Json, Router};
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::AppState;
use crate::error::{ApiError, ApiJson, ErrorResponse};

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/analyze-location", post(analyze))
}

/// Body of `POST /analyze-location`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AnalyzeRequest {
    location: Target,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct Target {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    target: String,
}

/// Analyze a location before registering it.
#[utoipa::path(post, path = "/api/catalog/analyze-location", tag = "locations",
    request_body = AnalyzeRequest,
    responses((status = 200, description = "`existingEntityFiles` and `generateEntities`", body = serde_json::Value),
              (status = 400, description = "Not a URL", body = ErrorResponse)))]
pub(crate) async fn analyze(State(state): State<AppState>, ApiJson(body): ApiJson<AnalyzeRequest>) -> Result<Json<Value>, ApiError> {
    let not_url = || ApiError::Input("The given location.target is not a URL".into());
    if body.location.kind.as_deref().is_some_and(|k| k != "url") {
        return Err(not_url());
    }
    let url = url::Url::parse(&body.location.target).map_err(|_| not_url())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(not_url());
    }
    let mut existing = Vec::new();
    if state.locations.reader().check_url(&url).is_ok()
        && let Ok(text) = state.locations.reader().read_url(&url).await
        && let Ok(docs) = portico_model::yaml::parse_documents(&text)
    {
        let graph = state.catalog.read();
        for entity in docs.into_iter().filter(|d| d.get("kind").is_some_and(Value::is_string)) {
            let kind = entity["kind"].as_str().unwrap_or_default().to_lowercase();
            let namespace = entity["metadata"]["namespace"].as_str().unwrap_or("default").to_lowercase();
            let name = entity["metadata"]["name"].as_str().unwrap_or_default().to_lowercase();
            let registered = graph.get(&format!("{kind}:{namespace}/{name}")).is_some();
            existing.push(json!({"location": {"type": "url", "target": url.as_str()}, "isRegistered": registered, "entity": entity}));
        }
    }
    let generate = if existing.is_empty() { vec![proposal(&url)] } else { Vec::new() };
    Ok(Json(json!({"existingEntityFiles": existing, "generateEntities": generate})))
}

/// A Component named after the repository the URL points into (`https://host/owner/repo/...`).
fn proposal(url: &url::Url) -> Value {
    let parts: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    let (owner, repo) = match parts.as_slice() {
        [owner, repo, ..] => (Some(*owner), repo.trim_end_matches(".git")),
        [repo] => (None, repo.trim_end_matches(".git")),
        [] => (None, url.host_str().unwrap_or("component")),
    };
    let name: String = repo.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).take(63).collect();
    let mut metadata = json!({"name": name});
    if url.host_str() == Some("github.com")
        && let Some(owner) = owner
    {
        metadata["annotations"] = json!({"github.com/project-slug": format!("{owner}/{repo}")});
    }
    json!({
        "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata, "spec": {"type": "other", "lifecycle": "unknown"}},
        "fields": []
    })
}
