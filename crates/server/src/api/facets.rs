//! `GET /entity-facets`: how many entities have each value of some fields, among those a
//! filter selects, in Backstage's shape `{"facets": {"kind": [{"value", "count"}]}}`.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use portico_graph::FacetValue;
use portico_graph::filter::parse_filter_params;
use serde::Serialize;

use crate::AppState;
use crate::error::{ApiError, ErrorResponse};
use crate::params::QueryParams;

/// Most facets one request may ask for.
const MAX_FACETS: usize = 100;

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/entity-facets", get(facets))
}

#[derive(Serialize)]
pub(crate) struct FacetsResponse {
    facets: BTreeMap<String, Vec<FacetValue>>,
}

/// Value counts per facet (values sorted by count, then value).
#[utoipa::path(get, path = "/api/catalog/entity-facets", tag = "catalog",
    params(
        ("facet" = Vec<String>, Query, description = "Field to count values of, e.g. `kind`, `spec.type`, `relations.ownedBy`; repeat for more"),
        ("filter" = Option<Vec<String>>, Query, description = "Backstage filter selecting the entities counted"),
    ),
    responses((status = 200, description = "`facets`: values and counts per facet", body = serde_json::Value),
              (status = 400, description = "Bad parameters", body = ErrorResponse)))]
pub(crate) async fn facets(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Json<FacetsResponse>, ApiError> {
    let params = QueryParams::parse(raw.as_deref());
    let keys: Vec<String> = params.all("facet").into_iter().map(str::trim).filter(|f| !f.is_empty()).map(str::to_owned).collect();
    if keys.is_empty() {
        return Err(ApiError::Input("Missing facet parameter".into()));
    }
    if keys.len() > MAX_FACETS {
        return Err(ApiError::Input(format!("too many facets: {} given, at most {MAX_FACETS}", keys.len())));
    }
    let filter = parse_filter_params(&params.all("filter"))?;
    let facets = state.catalog.read().facets(&keys, filter.as_ref());
    Ok(Json(FacetsResponse { facets: facets.into_iter().map(|f| (f.key, f.values)).collect() }))
}
