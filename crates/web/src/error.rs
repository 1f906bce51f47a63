//! The pages' error type: every failure becomes an HTML page with the right status and a
//! message that says what was wrong and where to go next. Internal causes are logged, never
//! shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_server::ApiError;
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// 400: the URL or form is wrong; the message says how.
    #[error("{0}")]
    BadRequest(String),
    /// 401: nobody is signed in, or the sign-in failed; the message says why.
    #[error("{0}")]
    Unauthorized(String),
    /// 403: refused on purpose (a form sent from another site).
    #[error("{0}")]
    Forbidden(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 405.
    #[error("this page does not accept that method")]
    MethodNotAllowed,
    /// 429 with `Retry-After`: too many failed attempts from this address.
    #[error("{0}")]
    TooManyRequests(String, u64),
    /// 503 with `Retry-After`: too busy right now, or stopping.
    #[error("{0}")]
    Unavailable(String, u64),
    /// 500: the cause is logged, never sent.
    #[error("something went wrong on our side; it has been logged")]
    Internal(String),
}

impl PageError {
    pub fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            PageError::Forbidden(_) => StatusCode::FORBIDDEN,
            PageError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Conflict(_) => StatusCode::CONFLICT,
            PageError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            PageError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn heading(&self) -> &'static str {
        match self {
            PageError::BadRequest(_) => "That request did not make sense",
            PageError::Unauthorized(_) => "Sign-in needed",
            PageError::Forbidden(_) => "Refused",
            PageError::TooManyRequests(..) => "Too many attempts",
            PageError::NotFound(_) => "Not found",
            PageError::Conflict(_) => "Already there",
            PageError::MethodNotAllowed => "Method not allowed",
            PageError::Unavailable(..) => "Busy, try again shortly",
            PageError::Internal(_) => "Something went wrong",
        }
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::Input(m) => PageError::BadRequest(m),
            ApiError::Unauthorized(m) => PageError::Unauthorized(m),
            ApiError::NotFound(m) => PageError::NotFound(m),
            ApiError::Conflict(m) => PageError::Conflict(m),
            ApiError::Forbidden(m) => PageError::Forbidden(m),
            ApiError::Unavailable { message, retry_after_secs } => PageError::Unavailable(message, retry_after_secs),
            ApiError::TooManyRequests { message, retry_after_secs } => PageError::TooManyRequests(message, retry_after_secs),
            ApiError::Internal(m) => PageError::Internal(m),
        }
    }
}

impl From<portico_store::StoreError> for PageError {
    fn from(e: portico_store::StoreError) -> Self {
        PageError::Internal(e.to_string())
    }
}

impl From<portico_catalog::IngestError> for PageError {
    fn from(e: portico_catalog::IngestError) -> Self {
        ApiError::from(e).into()
    }
}

#[derive(Serialize)]
struct ErrorPage {
    status: u16,
    heading: &'static str,
    message: String,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        if let PageError::Internal(cause) = &self {
            tracing::error!(error = %cause, "internal error rendering a page");
        }
        let status = self.status();
        let page = ErrorPage { status: status.as_u16(), heading: self.heading(), message: self.to_string() };
        let mut res = match crate::templates::render("error.html", page) {
            Ok(html) => (status, html).into_response(),
            // The error page itself failed: plain text, still the right status.
            Err(_) => (status, self.to_string()).into_response(),
        };
        if let PageError::Unavailable(_, secs) | PageError::TooManyRequests(_, secs) = &self {
            res.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*secs));
        }
        res
    }
}
