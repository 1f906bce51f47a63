//! `GET /entity-facets` and `POST /entity-facets`: how many entities have each value of some
//! fields, among those a filter (GET) or a predicate query (POST) selects, in Backstage's shape
//! `{"facets": {"kind": [{"value", "count"}]}}`, values in Backstage's order (ascending by value).

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use roaring::RoaringBitmap;
use axum::{Json, Router};
use portico_graph::{FacetValue, Visible};
use portico_graph::filter::parse_filter_params;
use serde::{Deserialize, Serialize};

use crate::AppState;
use crate::auth::Seen;
use crate::error::{ApiError, ApiJson, ErrorResponse};
use crate::params::QueryParams;

/// Most facets one request may ask for.
const MAX_FACETS: usize = 100;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/entity-facets", get(facets).post(facets_by_query))
}

#[derive(Serialize)]
pub(crate) struct FacetsResponse {
    facets: BTreeMap<String, Vec<FacetValue>>,
}

/// Value counts per facet (values sorted by value, as Backstage sorts them).
#[utoipa::path(get, path = "/api/catalog/entity-facets", tag = "catalog",
    params(
        ("facet" = Vec<String>, Query, description = "Field to count values of, e.g. `kind`, `spec.type`, `relations.ownedBy`; repeat for more"),
        ("filter" = Option<Vec<String>>, Query, description = "Backstage filter selecting the entities counted"),
    ),
    responses((status = 200, description = "`facets`: values and counts per facet", body = serde_json::Value),
              (status = 400, description = "Bad parameters", body = ErrorResponse)))]
pub(crate) async fn facets(State(state): State<AppState>, seen: Seen, RawQuery(raw): RawQuery) -> Result<Json<FacetsResponse>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let asked = params.all("facet");
    if asked.iter().any(|f| f.trim().is_empty()) {
        return Err(ApiError::Input("Empty value found for query parameter 'facet'".into()));
    }
    let keys: Vec<String> = asked.into_iter().map(|f| f.trim().to_owned()).collect();
    let filter = parse_filter_params(&params.filters()?)?;
    count(&state, &seen, keys, |g| g.matching(filter.as_ref()))
}

/// Body of `POST /entity-facets` (what `catalogClient.getEntityFacets({facets, query})` sends).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub(crate) struct FacetsRequest {
    facets: Vec<String>,
    /// A predicate query (as `POST /entities/by-query` takes) selecting the entities counted.
    #[serde(default)]
    query: Option<serde_json::Value>,
}

/// Value counts per facet among the entities a predicate query selects.
#[utoipa::path(post, path = "/api/catalog/entity-facets", tag = "catalog",
    request_body = FacetsRequest,
    responses((status = 200, description = "`facets`: values and counts per facet", body = serde_json::Value),
              (status = 400, description = "Bad body or predicate", body = ErrorResponse)))]
pub(crate) async fn facets_by_query(State(state): State<AppState>, seen: Seen, ApiJson(body): ApiJson<FacetsRequest>) -> Result<Json<FacetsResponse>, ApiError> {
    let predicate = crate::params::predicate(body.query.as_ref())?;
    count(&state, &seen, body.facets, |g| match &predicate {
        Some(p) => g.predicate(p),
        None => g.matching(None),
    })
}

/// The counts of `keys` among the entities `select` names; keys are answered as asked.
fn count(state: &AppState, seen: &Seen, keys: Vec<String>, select: impl Fn(&Visible<'_>) -> RoaringBitmap) -> Result<Json<FacetsResponse>, ApiError> {
    if keys.is_empty() || keys.iter().any(|k| k.trim().is_empty()) {
        return Err(ApiError::Input("Missing or empty facets parameter".into()));
    }
    if keys.len() > MAX_FACETS {
        return Err(ApiError::Input(format!("too many facets: {} given, at most {MAX_FACETS}", keys.len())));
    }
    let g = state.catalog.read();
    let g = Visible::new(&g, &seen.0);
    let within = select(&g);
    let facets = g.facets_within(&keys, None, Some(&within));
    Ok(Json(FacetsResponse {
        facets: keys
            .into_iter()
            .zip(facets)
            .map(|(key, mut f)| {
                f.values.sort_by(|a, b| a.value.cmp(&b.value));
                (key, f.values)
            })
            .collect(),
    }))
}
