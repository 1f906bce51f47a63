//! Which permission each page needs: the pages' table for the one gate the API also passes
//! (`portico_server::auth::gate`). A page missing from it is refused.

use axum::http::Method;
use axum::response::{IntoResponse, Response};
use portico_auth::Permission::*;
use portico_server::auth::routes::{Need, Need::Permission as P, Target};

use crate::PageError;

const ENTITY: Target = Target::EntityByName;
const NONE: Target = Target::None;

/// The pages' table. `route` is the matched route, as written in the router.
pub(crate) fn pages(method: &Method, route: &str) -> Option<Need> {
    let read = matches!(*method, Method::GET | Method::HEAD);
    Some(match (read, method.as_str(), route) {
        (true, _, "/static/{file}" | "/login" | "/auth/sign-in" | "/auth/callback") => Need::Public,
        (_, "POST", "/logout") => Need::Identity,
        (true, _, "/" | "/catalog" | "/search" | "/graph" | "/graph.svg" | "/dashboards" | "/me" | "/scorecards" | "/scorecards/{namespace}/{name}" | "/dora" | "/initiatives" | "/initiatives/{namespace}/{name}") => P(EntityRead, NONE),
        (_, "POST", "/catalog/{namespace}/{kind}/{name}/star") => P(EntityRead, ENTITY),
        (
            true,
            _,
            "/catalog/{namespace}/{kind}/{name}"
            | "/catalog/{namespace}/{kind}/{name}/history"
            | "/catalog/{namespace}/{kind}/{name}/docs"
            | "/catalog/{namespace}/{kind}/{name}/graph.svg"
            | "/catalog/{namespace}/{kind}/{name}/unregister",
        ) => P(EntityRead, ENTITY),
        (_, "POST", "/catalog/{namespace}/{kind}/{name}/refresh") => P(EntityRefresh, ENTITY),
        (_, "POST", "/catalog/{namespace}/{kind}/{name}/unregister") => P(LocationDelete, ENTITY),
        (true, _, "/discovery" | "/drift") => P(DiscoveryRead, NONE),
        (_, "POST", "/discovery/{source}/run") => P(DiscoveryRun, Target::Param("source")),
        (true, _, "/register") => P(LocationRead, NONE),
        (_, "POST", "/register") => P(LocationCreate, NONE),
        (true, _, "/query" | "/query.csv" | "/query/graph.svg") => P(QueryRun, NONE),
        (_, "POST", "/query/save") => P(SavedQueryCreate, NONE),
        (true, _, "/audit" | "/audit.csv") => P(AuditRead, NONE),
        (true, _, "/create" | "/create/{namespace}/{name}") => P(EntityRead, NONE),
        (_, "POST", "/create/{namespace}/{name}") => P(ActionRun, Target::Param("name")),
        (true, _, "/create/runs/{id}") => P(ActionRunRead, NONE),
        (true, _, "/create/approvals") => P(ActionRunRead, NONE),
        (_, "POST", "/create/approvals/{id}") => P(ActionApprove, NONE),
        (_, "POST", "/create/runs/{id}/cancel" | "/create/runs/{id}/rollback") => P(ActionRun, Target::Param("id")),
        _ => return None,
    })
}

/// A method the table does not list: as the router answers one it does not route.
pub(crate) fn unlisted(_: &Method, _: &str) -> Response {
    PageError::MethodNotAllowed.into_response()
}

/// A refusal as a page.
pub(crate) fn refuse(e: portico_server::ApiError) -> Response {
    PageError::from(e).into_response()
}
