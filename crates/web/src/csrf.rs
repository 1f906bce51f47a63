//! Cross-site request forgery on the pages' forms: refused with a 403 page by the same check
//! as the API ([`portico_server::origin`]).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portico_server::origin::{cross_site, is_safe};

use crate::error::PageError;

/// Refuses cross-site requests of unsafe methods; the others go on.
pub(crate) async fn same_origin_only(req: Request, next: Next) -> Response {
    if !is_safe(req.method()) && let Some(from) = cross_site(req.headers(), req.uri()) {
        return refused(&from).into_response();
    }
    next.run(req).await
}

fn refused(from: &str) -> PageError {
    PageError::Forbidden(format!(
        "this form was sent from {from}, not from Portico's own pages, so nothing was done; open the form here and send it again"
    ))
}
