//! Backstage's entity read routes: `GET /entities` (legacy list), `GET /entities/by-query`
//! (paged, in [`query`]), `GET /entities/by-name/{kind}/{namespace}/{name}` and its
//! `/ancestry`, `GET|DELETE /entities/by-uid/{uid}`, and `POST /entities/by-refs`.
//! Responses have Backstage's shapes; every entity carries its computed `relations`.

pub(crate) mod query;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use portico_catalog::Mutation;
use portico_graph::filter::{parse_filter_json, parse_filter_params};
use portico_graph::{EntityQuery, OrderField, Visible};
use portico_model::EntityRef;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Seen;
use crate::error::{ApiError, ApiJson, ErrorResponse};
use crate::params::{QueryParams, decode_cursor, encode_cursor};
use crate::render::{EntityView, Fields, Rendered};

/// Most references one `by-refs` request may name.
const MAX_REFS: usize = 1000;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/entities", get(list))
        .route("/entities/by-query", get(query::by_query).post(query::by_predicate))
        .route("/entities/by-refs", post(by_refs))
        .route("/entities/by-name/{kind}/{namespace}/{name}", get(by_name))
        .route("/entities/by-name/{kind}/{namespace}/{name}/ancestry", get(ancestry))
        .route("/entities/by-uid/{uid}", get(by_uid).delete(delete_by_uid))
}

/// The lookup key of `kind:namespace/name` as given in a path.
pub(crate) fn key_of(kind: &str, namespace: &str, name: &str) -> String {
    EntityRef::new(kind, namespace, name).key()
}

pub(crate) fn no_entity_named(kind: &str, namespace: &str, name: &str) -> ApiError {
    ApiError::NotFound(format!("No entity named '{name}' found, with kind '{kind}' in namespace '{namespace}'"))
}

/// `after` in the legacy list: where the next page starts.
#[derive(Serialize, Deserialize)]
struct After {
    offset: usize,
}

/// Backstage's legacy `order=asc:field` / `order=desc:field`.
fn legacy_order(values: &[&str]) -> Result<Vec<OrderField>, ApiError> {
    values
        .iter()
        .map(|item| {
            let parsed = item.split_once(':').and_then(|(dir, field)| match (dir, field.trim()) {
                (_, "") => None,
                ("asc", f) => Some(OrderField { field: f.to_owned(), desc: false }),
                ("desc", f) => Some(OrderField { field: f.to_owned(), desc: true }),
                _ => None,
            });
            parsed.ok_or_else(|| {
                ApiError::Input(format!("Invalid order parameter \"{item}\", expected \"<asc or desc>:<field name>\""))
            })
        })
        .collect()
}

/// List entities (Backstage's legacy endpoint): a bare JSON array. With `limit`, a `Link`
/// header points at the next page (`after`).
#[utoipa::path(get, path = "/api/catalog/entities", tag = "catalog",
    params(
        ("filter" = Option<Vec<String>>, Query, description = "Backstage filter, e.g. `kind=component,spec.type=service`; repeat for OR"),
        ("fields" = Option<Vec<String>>, Query, description = "Dotted paths to return, comma-separated or repeated"),
        ("order" = Option<Vec<String>>, Query, description = "`asc:<field>` or `desc:<field>`"),
        ("offset" = Option<usize>, Query, description = "Entities to skip"),
        ("limit" = Option<usize>, Query, description = "Page size, 0 to 10000; all entities when absent"),
        ("after" = Option<String>, Query, description = "Cursor from a previous page's `Link` header"),
    ),
    responses((status = 200, description = "Entities", body = Vec<serde_json::Value>),
              (status = 400, description = "Bad parameters", body = ErrorResponse)))]
pub(crate) async fn list(State(state): State<AppState>, seen: Seen, RawQuery(raw): RawQuery) -> Result<Response, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let fields = Fields::parse(&params.list("fields"));
    let limit = params.limit()?;
    let offset = match (params.one("after")?, params.offset()?) {
        (Some(_), Some(_)) => return Err(ApiError::Input("after cannot be combined with offset".into())),
        (Some(after), None) => decode_cursor::<After>(after)?.offset,
        (None, offset) => offset.unwrap_or(0),
    };
    let filter = parse_filter_params(&params.filters()?)?;
    let order = legacy_order(&params.all("order"))?;
    let query = EntityQuery { filter, within: None, text: None, order, offset, limit };
    let graph = state.catalog.graph().clone();
    let page = Visible::new(&graph.read(), &seen.0).query(&query);
    let (shown, total) = (page.ids.len(), page.total);
    let mut res = if shown > crate::stream::STREAM_OVER {
        crate::stream::entities(graph, seen.0, page.ids, fields, b"[".to_vec(), b"]".to_vec())
    } else {
        let views: Vec<EntityView> = {
            let g = graph.read();
            let g = Visible::new(&g, &seen.0);
            page.ids.iter().filter_map(|id| g.entry(*id)).map(|e| EntityView::of(&g, e)).collect()
        };
        let items: Vec<Rendered<'_>> = views.iter().map(|v| Rendered::of(v, fields.as_ref())).collect();
        Json(items).into_response()
    };
    if limit.is_some_and(|l| l > 0) && offset + shown < total {
        let mut next = form_urlencoded::Serializer::new(String::new());
        for (k, v) in form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes()) {
            if k != "offset" && k != "after" {
                next.append_pair(&k, &v);
            }
        }
        next.append_pair("after", &encode_cursor(&After { offset: offset + shown }));
        let link = format!("</api/catalog/entities?{}>; rel=\"next\"", next.finish());
        if let Ok(v) = HeaderValue::from_str(&link) {
            res.headers_mut().insert(header::LINK, v);
        }
    }
    Ok(res)
}

/// One entity by kind, namespace and name.
#[utoipa::path(get, path = "/api/catalog/entities/by-name/{kind}/{namespace}/{name}", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "The entity", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn by_name(
    State(state): State<AppState>,
    seen: Seen,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    let view = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        graph.get(&key).map(|e| EntityView::of(&graph, e))
    };
    let view = view.ok_or_else(|| no_entity_named(&kind, &namespace, &name))?;
    Ok(Json(view).into_response())
}

/// One entity by `metadata.uid`.
#[utoipa::path(get, path = "/api/catalog/entities/by-uid/{uid}", tag = "catalog",
    params(("uid" = String, Path)),
    responses((status = 200, description = "The entity", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn by_uid(State(state): State<AppState>, seen: Seen, Path(uid): Path<String>) -> Result<Response, ApiError> {
    let view = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        graph.get_by_uid(&uid).map(|e| EntityView::of(&graph, e))
    };
    let view = view.ok_or_else(|| ApiError::NotFound(format!("No entity with uid {uid}")))?;
    Ok(Json(view).into_response())
}

/// Removes an entity through the write path. Its source brings it back on its next run if it
/// still emits it, as in Backstage.
#[utoipa::path(delete, path = "/api/catalog/entities/by-uid/{uid}", tag = "catalog",
    params(("uid" = String, Path)),
    responses((status = 204, description = "Removed"),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn delete_by_uid(State(state): State<AppState>, seen: Seen, Path(uid): Path<String>) -> Result<StatusCode, ApiError> {
    let found = Visible::new(&state.catalog.read(), &seen.0).get_by_uid(&uid).map(|e| (e.key.clone(), e.source.clone()));
    let (key, source) = found.ok_or_else(|| ApiError::NotFound(format!("No entity with uid {uid}")))?;
    state.catalog.apply(Mutation::Delta { source, upserts: Vec::new(), removals: vec![key] }).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct AncestryItem<'a> {
    entity: &'a EntityView,
    #[serde(rename = "parentEntityRefs")]
    parent_entity_refs: Vec<String>,
}

#[derive(Serialize)]
struct AncestryResponse<'a> {
    #[serde(rename = "rootEntityRef")]
    root_entity_ref: String,
    items: Vec<AncestryItem<'a>>,
}

/// The entity and the chain of locations that led to it, each with its parent's reference.
#[utoipa::path(get, path = "/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry", tag = "catalog",
    params(("kind" = String, Path), ("namespace" = String, Path), ("name" = String, Path)),
    responses((status = 200, description = "`rootEntityRef` (the entity asked for) and `items`", body = serde_json::Value),
              (status = 404, description = "No such entity", body = ErrorResponse)))]
pub(crate) async fn ancestry(
    State(state): State<AppState>,
    seen: Seen,
    Path((kind, namespace, name)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    let key = key_of(&kind, &namespace, &name);
    let chain: Vec<(String, EntityView)> = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        graph.ancestry(&key).into_iter().map(|e| (e.entity_ref().to_string(), EntityView::of(&graph, e))).collect()
    };
    let Some((root, _)) = chain.first() else {
        return Err(ApiError::NotFound(format!("No such entity {}", EntityRef::new(&kind, &namespace, &name))));
    };
    let items = chain
        .iter()
        .enumerate()
        .map(|(i, (_, view))| AncestryItem {
            entity: view,
            parent_entity_refs: chain.get(i + 1).map(|(r, _)| vec![r.clone()]).unwrap_or_default(),
        })
        .collect();
    Ok(Json(AncestryResponse { root_entity_ref: root.clone(), items }).into_response())
}

/// Body of `POST /entities/by-refs`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct ByRefsRequest {
    /// Full references (`kind:namespace/name`), at most 1000.
    #[serde(rename = "entityRefs")]
    entity_refs: Vec<String>,
    /// Dotted paths to return.
    #[serde(default)]
    fields: Option<Vec<String>>,
    /// A Backstage filter (string or list of strings); entities not matching it are `null`.
    #[serde(default)]
    filter: Option<serde_json::Value>,
    /// A predicate query (as `POST /entities/by-query` takes); entities not matching it are `null`.
    #[serde(default)]
    query: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct ByRefsResponse<'a> {
    items: Vec<Option<Rendered<'a>>>,
}

/// Entities by reference, in the order asked, `null` for those that do not exist.
#[utoipa::path(post, path = "/api/catalog/entities/by-refs", tag = "catalog",
    params(("fields" = Option<Vec<String>>, Query, description = "Dotted paths to return")),
    request_body = ByRefsRequest,
    responses((status = 200, description = "`items`: an entity or null per reference", body = serde_json::Value),
              (status = 400, description = "Bad body or reference", body = ErrorResponse)))]
pub(crate) async fn by_refs(
    State(state): State<AppState>,
    seen: Seen,
    RawQuery(raw): RawQuery,
    ApiJson(body): ApiJson<ByRefsRequest>,
) -> Result<Response, ApiError> {
    if body.entity_refs.len() > MAX_REFS {
        return Err(ApiError::Input(format!(
            "too many entityRefs: {} given, at most {MAX_REFS} per request",
            body.entity_refs.len()
        )));
    }
    // Filters can be large and a thousand entities take a while to render: off the async workers.
    let json = tokio::task::spawn_blocking(move || by_refs_json(&state, &seen, raw.as_deref(), body))
        .await
        .map_err(|e| ApiError::Internal(format!("by-refs stopped: {e}")))??;
    Ok(([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], json).into_response())
}

fn by_refs_json(state: &AppState, seen: &Seen, raw: Option<&str>, body: ByRefsRequest) -> Result<Vec<u8>, ApiError> {
    // As Backstage: a reference is looked up as written (lowercased), in full
    // `kind:namespace/name` form only; anything else (no namespace, malformed) is `null` in its
    // slot, never defaulted and never an error.
    let keys: Vec<String> = body.entity_refs.iter().map(|r| r.to_lowercase()).collect();
    let params = QueryParams::parse(raw);
    let mut paths = params.list("fields");
    paths.extend(body.fields.unwrap_or_default());
    let fields = Fields::parse(&paths);
    let from_params = parse_filter_params(&params.filters()?)?;
    let filter = match &body.filter {
        Some(v) => parse_filter_json(v)?,
        None => None,
    };
    let predicate = body.query.as_ref().map(portico_graph::predicate::parse_predicate).transpose()?;
    let views: Vec<Option<EntityView>> = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        let mut allowed: Option<roaring::RoaringBitmap> = None;
        let mut narrow = |set: roaring::RoaringBitmap| allowed = Some(match allowed.take() { Some(a) => a & set, None => set });
        if let Some(f) = &from_params {
            narrow(graph.matching(Some(f)));
        }
        if let Some(f) = &filter {
            narrow(graph.matching(Some(f)));
        }
        if let Some(p) = &predicate {
            narrow(graph.predicate(p));
        }
        keys.iter()
            .map(|k| {
                let id = graph.id_of(k)?;
                if allowed.as_ref().is_some_and(|set| !set.contains(id)) {
                    return None;
                }
                graph.entry(id).map(|e| EntityView::of(&graph, e))
            })
            .collect()
    };
    let items = views.iter().map(|v| v.as_ref().map(|v| Rendered::of(v, fields.as_ref()))).collect();
    serde_json::to_vec(&ByRefsResponse { items }).map_err(|e| ApiError::Internal(e.to_string()))
}
