//! Which permission each API route needs: the one table the gate reads. A route missing from
//! it is refused, and a test checks that every documented route is in it.

use axum::http::Method;
use portico_auth::Permission;

/// What a route needs before its handler runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone (health, metrics, the OpenAPI document).
    Public,
    /// Anyone recognised: who am I (`/api/v1/me`). The guest too, unless `auth.mode` is `token`.
    Identity,
    /// The route proves its caller with a secret of its own (discovery's webhooks).
    OwnSecret,
    /// A permission, on a target.
    Permission(Permission, Target),
    /// `query.saved.update` when the saved query exists, else `query.saved.create`.
    SavedQueryWrite,
}

/// What the request acts on: the policy sees an entity as `entity`; the audit log records the
/// target either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    None,
    /// The path's `kind`, `namespace` and `name`.
    EntityByName,
    /// The path's `uid`.
    EntityByUid,
    /// The JSON body's `entityRef`.
    EntityInBody,
    /// A path parameter, for the audit log (a location id, a query name, a token id).
    Param(&'static str),
}

use Need::Permission as P;
use Permission::*;
use Target::{EntityByName, EntityByUid, EntityInBody, Param};

const NONE: Target = Target::None;

/// The API's table. `route` is the matched route, as written in the router.
pub fn api(method: &Method, route: &str) -> Option<Need> {
    let read = matches!(*method, Method::GET | Method::HEAD);
    Some(match (read, method.as_str(), route) {
        (true, _, "/healthz" | "/readyz" | "/metrics" | "/api/openapi.json") => Need::Public,
        (true, _, "/api/v1/me") => Need::Identity,
        (_, "POST", "/api/v1/discovery/{source}/webhook" | "/api/v1/discovery/{source}/refresh") => Need::OwnSecret,

        (true, _, "/api/catalog/entities" | "/api/catalog/entities/by-query" | "/api/catalog/entity-facets") => P(EntityRead, NONE),
        (_, "POST", "/api/catalog/entities/by-query" | "/api/catalog/entities/by-refs" | "/api/catalog/entity-facets") => P(EntityRead, NONE),
        (true, _, "/api/catalog/entities/by-name/{kind}/{namespace}/{name}" | "/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry") => {
            P(EntityRead, EntityByName)
        }
        (true, _, "/api/catalog/entities/by-uid/{uid}") => P(EntityRead, EntityByUid),
        (_, "DELETE", "/api/catalog/entities/by-uid/{uid}") => P(EntityDelete, EntityByUid),
        (_, "POST", "/api/catalog/refresh") => P(EntityRefresh, EntityInBody),
        (_, "POST", "/api/catalog/analyze-location" | "/api/catalog/validate-entity") => P(LocationAnalyze, NONE),
        (true, _, "/api/catalog/locations" | "/api/catalog/locations/{id}") => P(LocationRead, NONE),
        (true, _, "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}") => P(LocationRead, EntityByName),
        (_, "POST", "/api/catalog/locations/by-query") => P(LocationRead, NONE),
        (_, "POST", "/api/catalog/locations") => P(LocationCreate, NONE),
        (_, "DELETE", "/api/catalog/locations/{id}") => P(LocationDelete, Param("id")),

        (true, _, "/api/v1/entities/{kind}/{namespace}/{name}" | "/api/v1/entities/{kind}/{namespace}/{name}/history") => P(EntityRead, EntityByName),
        (true, _, "/api/v1/changes" | "/api/v1/errors" | "/api/v1/health/catalog") => P(EntityRead, NONE),
        (true, _, "/api/v1/discovery" | "/api/v1/discovery/{source}/runs" | "/api/v1/drift") => P(DiscoveryRead, NONE),
        (true, _, "/api/v1/entities/{kind}/{namespace}/{name}/provenance") => P(DiscoveryRead, EntityByName),
        (true, _, "/api/v1/query/vocabulary") => P(QueryRun, NONE),
        (_, "POST", "/api/v1/query") => P(QueryRun, NONE),
        (_, "POST", "/api/v1/queries/{name}/run") => P(QueryRun, Param("name")),
        (true, _, "/api/v1/queries" | "/api/v1/queries/{name}") => P(SavedQueryRead, NONE),
        (_, "PUT", "/api/v1/queries/{name}") => Need::SavedQueryWrite,
        (_, "DELETE", "/api/v1/queries/{name}") => P(SavedQueryDelete, Param("name")),
        (true, _, "/api/v1/analytics/series") => P(AnalyticsRead, NONE),
        (true, _, "/api/v1/tokens") => P(TokenRead, NONE),
        (_, "POST", "/api/v1/tokens") => P(TokenCreate, NONE),
        (_, "DELETE", "/api/v1/tokens/{id}") => P(TokenRevoke, Param("id")),
        // One's own sessions; a token admin's are everyone's (the handler asks).
        (true, _, "/api/v1/sessions") => Need::Identity,
        (_, "DELETE", "/api/v1/sessions/{id}") => Need::Identity,
        // The rules in force: for those who may read the audit log.
        (true, _, "/api/v1/policy") => P(AuditRead, NONE),
        // One's own stars, of entities one may read.
        (true, _, "/api/v1/me/stars") => Need::Identity,
        (_, "PUT" | "DELETE", "/api/v1/me/stars/{kind}/{namespace}/{name}") => P(EntityRead, EntityByName),
        (true, _, "/api/v1/audit") => P(AuditRead, NONE),
        // Scorecards are entities, and their results are about entities: reading them is
        // reading the catalog (each answer counts only the entities the reader may read).
        (true, _, "/api/v1/scorecards" | "/api/v1/scorecards/{namespace}/{name}" | "/api/v1/scorecards/{namespace}/{name}/history" | "/api/v1/scorecards/{namespace}/{name}/levels") => P(EntityRead, NONE),
        (true, _, "/api/v1/entities/{kind}/{namespace}/{name}/scorecards" | "/api/v1/gates/{kind}/{namespace}/{name}") => P(EntityRead, EntityByName),
        (true, _, "/api/v1/initiatives" | "/api/v1/initiatives/{namespace}/{name}" | "/api/v1/initiatives/{namespace}/{name}/history") => P(EntityRead, NONE),
        (true, _, "/api/v1/entities/{kind}/{namespace}/{name}/initiatives") => P(EntityRead, EntityByName),
        // Events are about entities: listing them and their DORA metrics is reading the catalog.
        (_, "POST", "/api/v1/events" | "/api/v1/facts/import") => P(EventRecord, NONE),
        (true, _, "/api/v1/actions" | "/api/v1/actions/{namespace}/{name}") => P(EntityRead, NONE),
        (true, _, "/api/v1/entities/{kind}/{namespace}/{name}/actions") => P(EntityRead, EntityByName),
        (_, "POST", "/api/v1/actions/{namespace}/{name}/runs" | "/api/v1/actions/{namespace}/{name}/runs/{id}/cancel" | "/api/v1/actions/{namespace}/{name}/runs/{id}/rollback") => P(ActionRun, Param("name")),
        (true, _, "/api/v1/runs" | "/api/v1/actions/{namespace}/{name}/runs" | "/api/v1/actions/{namespace}/{name}/runs/{id}" | "/api/v1/actions/{namespace}/{name}/runs/{id}/events") => P(ActionRunRead, NONE),
        (true, _, "/api/v1/approvals" | "/api/v1/approvals/{id}") => P(ActionRunRead, NONE),
        (_, "POST", "/api/v1/approvals/{id}/decision") => P(ActionApprove, NONE),
        (true, _, "/api/v1/events" | "/api/v1/dora" | "/api/v1/costs") => P(EntityRead, NONE),
        (true, _, "/api/v1/entities/{kind}/{namespace}/{name}/facts") => P(EntityRead, EntityByName),
        (true, _, "/api/v1/dora/{kind}/{namespace}/{name}") => P(EntityRead, EntityByName),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use utoipa::OpenApi;

    use super::*;

    /// Every documented route has a permission (or is public on purpose): none is left for its
    /// handler to decide, or refused by accident.
    #[test]
    fn every_documented_route_has_a_need() {
        let doc = crate::ApiDoc::openapi();
        let mut checked = 0;
        for (path, item) in &doc.paths.paths {
            let methods = [
                (Method::GET, item.get.is_some()),
                (Method::POST, item.post.is_some()),
                (Method::PUT, item.put.is_some()),
                (Method::DELETE, item.delete.is_some()),
            ];
            for (method, present) in methods {
                if present {
                    assert!(api(&method, path).is_some(), "{method} {path} has no permission in auth/routes.rs");
                    checked += 1;
                }
            }
        }
        assert!(checked > 40, "only {checked} routes documented?");
        assert_eq!(api(&Method::GET, "/api/v1/not-a-route"), None);
        assert_eq!(api(&Method::DELETE, "/api/catalog/entities/by-uid/{uid}"), Some(Need::Permission(EntityDelete, EntityByUid)));
        assert_eq!(api(&Method::HEAD, "/api/catalog/entities"), Some(Need::Permission(EntityRead, NONE)));
    }
}
