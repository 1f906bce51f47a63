//! The one HTTP error type, [`ApiError`], and the one JSON shape every error response has,
//! Backstage's:
//!
//! ```json
//! {"error": {"name": "NotFoundError", "message": "…"},
//!  "request": {"method": "GET", "url": "/api/catalog/…"},
//!  "response": {"statusCode": 404}}
//! ```
//!
//! A handler's [`ApiError`] only knows its name and message; the request half is filled in by
//! the [`shape_errors`] middleware, which sees both. The same middleware turns the plain-text
//! error responses that axum and tower produce on their own (path rejections, body limits)
//! into the same shape, so no error leaves the server in another form. Internal errors are
//! logged with their cause and answered with `internal error` only.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portico_catalog::IngestError;
use portico_graph::filter::FilterError;
use portico_store::StoreError;
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An error answered to an API client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// 400: the request is wrong; the message says how.
    #[error("{0}")]
    Input(String),
    /// 404.
    #[error("{0}")]
    NotFound(String),
    /// 409.
    #[error("{0}")]
    Conflict(String),
    /// 401: the request did not prove who sent it (a webhook without its secret).
    #[error("{0}")]
    Unauthorized(String),
    /// 403: the request may not be made (a cross-site request from a browser).
    #[error("{0}")]
    Forbidden(String),
    /// 503 with `Retry-After`: too busy right now (too many queries), or stopping.
    #[error("{message}")]
    Unavailable { message: String, retry_after_secs: u64 },
    /// 429 with `Retry-After`: too many failed attempts to authenticate from one address.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: u64 },
    /// 500: the cause is logged, never sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Input(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Backstage's error name for the variant.
    pub fn name(&self) -> &'static str {
        match self {
            ApiError::Input(_) => "InputError",
            ApiError::NotFound(_) => "NotFoundError",
            ApiError::Conflict(_) => "ConflictError",
            ApiError::Unauthorized(_) => "AuthenticationError",
            ApiError::Forbidden(_) => "NotAllowedError",
            ApiError::Unavailable { .. } => "ServiceUnavailableError",
            ApiError::TooManyRequests { .. } => "TooManyRequestsError",
            ApiError::Internal(_) => "InternalError",
        }
    }

    /// What the client is told.
    fn public_message(&self) -> String {
        match self {
            ApiError::Input(m) | ApiError::NotFound(m) | ApiError::Conflict(m) | ApiError::Unauthorized(m) | ApiError::Forbidden(m) => m.clone(),
            ApiError::Unavailable { message, .. } | ApiError::TooManyRequests { message, .. } => message.clone(),
            ApiError::Internal(_) => "internal error".to_owned(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::LocationNotFound(id) => ApiError::NotFound(format!("Found no location with ID {id}")),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Store(s) => s.into(),
            IngestError::Invalid(m) => ApiError::Input(m),
            IngestError::LocationNotFound(id) => ApiError::NotFound(format!("Found no location with ID {id}")),
        }
    }
}

impl From<FilterError> for ApiError {
    /// The parser's messages are Backstage's; they are passed on verbatim.
    fn from(e: FilterError) -> Self {
        ApiError::Input(e.0)
    }
}

/// The name and message of an error, carried from [`ApiError::into_response`] to
/// [`shape_errors`] as a response extension.
#[derive(Debug, Clone)]
struct ErrorReport {
    name: &'static str,
    message: String,
    retry_after_secs: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %cause, "internal error");
        }
        let mut res = self.status().into_response();
        let retry_after_secs = match &self {
            ApiError::Unavailable { retry_after_secs, .. } | ApiError::TooManyRequests { retry_after_secs, .. } => Some(*retry_after_secs),
            _ => None,
        };
        res.extensions_mut().insert(ErrorReport { name: self.name(), message: self.public_message(), retry_after_secs });
        res
    }
}

/// The error response body (documented in the OpenAPI description too).
#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
    pub request: RequestDetail,
    pub response: ResponseDetail,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// `InputError`, `NotFoundError`, `ConflictError` or `InternalError`.
    pub name: String,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RequestDetail {
    pub method: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ResponseDetail {
    #[serde(rename = "statusCode")]
    pub status_code: u16,
}

/// How much of a foreign error body is kept as the message.
const MAX_FOREIGN_BODY: usize = 4096;

/// Middleware: gives every error response the one JSON shape.
pub(crate) async fn shape_errors(req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let url = request_url(&req);
    let res = next.run(req).await;
    let status = res.status();
    if let Some(report) = res.extensions().get::<ErrorReport>().cloned() {
        return render(status, report, method, url);
    }
    if !(status.is_client_error() || status.is_server_error()) || is_json(&res) {
        return res;
    }
    // A rejection or error produced outside our handlers: plain text from axum or tower.
    let body = axum::body::to_bytes(res.into_body(), MAX_FOREIGN_BODY).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).trim().to_owned();
    let report = match status {
        StatusCode::NOT_FOUND => ErrorReport { name: "NotFoundError", message: if text.is_empty() { "not found".into() } else { text }, retry_after_secs: None },
        StatusCode::CONFLICT => ErrorReport { name: "ConflictError", message: text, retry_after_secs: None },
        s if s.is_server_error() => {
            tracing::error!(status = s.as_u16(), body = %text, "internal error");
            ErrorReport { name: "InternalError", message: "internal error".into(), retry_after_secs: None }
        }
        _ => ErrorReport { name: "InputError", message: if text.is_empty() { status.to_string() } else { text }, retry_after_secs: None },
    };
    render(status, report, method, url)
}

fn is_json(res: &Response) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// `request.url` as Backstage writes it: relative to the router that answered, so the catalog
/// API's errors say `/entities/by-name/…` (its router is mounted at `/api/catalog`); Portico's
/// own routes keep their full path.
fn request_url(req: &Request) -> String {
    let url = req.uri().path_and_query().map_or_else(|| req.uri().path(), |p| p.as_str());
    match url.strip_prefix("/api/catalog") {
        Some(rest) if rest.starts_with('/') || rest.starts_with('?') => rest.to_owned(),
        _ => url.to_owned(),
    }
}

fn render(status: StatusCode, report: ErrorReport, method: String, url: String) -> Response {
    let body = ErrorResponse {
        error: ErrorDetail { name: report.name.to_owned(), message: report.message },
        request: RequestDetail { method, url },
        response: ResponseDetail { status_code: status.as_u16() },
    };
    let mut res = (status, axum::Json(body)).into_response();
    // As Backstage (Express) labels JSON.
    res.headers_mut().insert(header::CONTENT_TYPE, header::HeaderValue::from_static("application/json; charset=utf-8"));
    if let Some(secs) = report.retry_after_secs {
        res.headers_mut().insert(header::RETRY_AFTER, header::HeaderValue::from(secs));
    }
    res
}

/// An error answered outside the routers (their middleware gives the others their shape).
pub(crate) fn shaped(e: ApiError, req: &Request) -> Response {
    let method = req.method().to_string();
    let url = request_url(req);
    let report = ErrorReport { name: e.name(), message: e.public_message(), retry_after_secs: None };
    render(e.status(), report, method, url)
}

/// Answers requests no route matches (unknown paths and methods), as Backstage does: a 404.
pub(crate) async fn no_route(req: Request) -> ApiError {
    ApiError::NotFound(format!("no route for {} {}", req.method(), req.uri().path()))
}

/// `axum::Json` whose rejections (malformed JSON, wrong types, missing content type) are
/// [`ApiError::Input`] naming the problem. A large body (over 64 KiB) is parsed on a blocking
/// thread, so a few big requests cannot stall the async workers that answer everyone else.
pub(crate) struct ApiJson<T>(pub T);

/// Bodies larger than this are parsed off the async workers.
const PARSE_INLINE: usize = 64 * 1024;

impl<S: Send + Sync, T: DeserializeOwned + Send + 'static> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(ApiError::Input("invalid request body: Expected request with `Content-Type: application/json`".into()));
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|r| ApiError::Input(format!("invalid request body: {}", r.body_text())))?;
        let parsed = if bytes.len() > PARSE_INLINE {
            tokio::task::spawn_blocking(move || axum::Json::<T>::from_bytes(&bytes))
                .await
                .map_err(|e| ApiError::Internal(format!("parsing a request body stopped: {e}")))?
        } else {
            axum::Json::<T>::from_bytes(&bytes)
        };
        parsed.map(|axum::Json(v)| Self(v)).map_err(json_rejection)
    }
}

/// `application/json` or any `+json` type, as `axum::Json` accepts.
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else { return false };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    ApiError::Input(format!("invalid request body: {}", rejection.body_text()))
}
