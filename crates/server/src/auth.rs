//! Who is asking, decided in one place for every API request: [`authenticate`] reads
//! `Authorization: Bearer <token>`, finds the API token (or the bootstrap token of the
//! configuration), refuses a token that is unknown, revoked or expired (401), and checks the
//! token's scopes against what the request does (403). A request without a token is the guest:
//! with `auth.mode: none` (the only mode so far; sign-in comes with OpenID Connect) the guest may
//! do everything, as before identity existed.

pub mod tokens;

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use portico_store::{ApiToken, Store};

use crate::AppState;
use crate::error::ApiError;
pub use tokens::{Scope, hash_secret, mint_secret};

/// `auth:` in `portico.yaml`.
#[derive(Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuthConfig {
    /// A static admin token for first set-up (`PORTICO__AUTH__BOOTSTRAP_TOKEN`): it may do
    /// everything, including creating the first service tokens. At least 32 characters.
    pub bootstrap_token: Option<String>,
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig").field("bootstrap_token", &self.bootstrap_token.as_ref().map(|_| "[redacted]")).finish()
    }
}

impl AuthConfig {
    /// Checks the configuration; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        match &self.bootstrap_token {
            Some(t) if t.len() < 32 => Err(format!("auth.bootstrapToken: must be at least 32 characters long (it has {})", t.len())),
            _ => Ok(()),
        }
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// An entity reference (`user:default/ada`), `service:<name>`, `bootstrap` or `guest`.
    pub subject: String,
    /// `guest`, `token`, `bootstrap`, `webhook` or `cli`.
    pub via: &'static str,
    pub scopes: Vec<Scope>,
    /// The API token used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

impl Principal {
    /// The guest of `auth.mode: none`: every scope.
    pub fn guest() -> Self {
        Self { subject: "guest".into(), via: "guest", scopes: vec![Scope::Admin], token_id: None }
    }

    /// Whoever runs `portico token …` on the server's own data directory: an admin, as anyone
    /// who can read the database is.
    pub fn local_admin() -> Self {
        Self { subject: "cli".into(), via: "cli", scopes: vec![Scope::Admin], token_id: None }
    }

    fn bootstrap() -> Self {
        Self { subject: "bootstrap".into(), via: "bootstrap", scopes: vec![Scope::Admin], token_id: None }
    }

    fn of_token(t: &ApiToken) -> Self {
        let scopes = t.scopes.iter().filter_map(|s| s.parse().ok()).collect();
        Self { subject: t.owner.clone(), via: "token", scopes, token_id: Some(t.id.clone()) }
    }

    /// Whether the principal holds `needed` (admin holds write, write holds read).
    pub fn may(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| s.covers(needed))
    }

    pub fn is_admin(&self) -> bool {
        self.may(Scope::Admin)
    }
}

/// The scope a request needs: reading needs `read`, anything else `write`; the routes that
/// manage tokens check further themselves (an admin for service tokens and others' tokens).
fn scope_for(method: &Method) -> Scope {
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) { Scope::Read } else { Scope::Write }
}

/// Some endpoints read with `POST` (a query, by-refs, by-query): they need only `read`.
fn reads_with_post(path: &str) -> bool {
    const READS: &[&str] = &[
        "/api/catalog/entities/by-refs",
        "/api/catalog/entities/by-query",
        "/api/catalog/entity-facets",
        "/api/catalog/locations/by-query",
        "/api/catalog/analyze-location",
        "/api/catalog/validate-entity",
        "/api/v1/query",
    ];
    READS.contains(&path) || (path.starts_with("/api/v1/queries/") && path.ends_with("/run"))
}

/// Discovery's webhook and run-on-request endpoints prove who calls them with the source's own
/// `webhookSecret` (`Authorization: Bearer <secret>`, as GitHub and GitLab send it), checked by
/// their handlers.
fn checks_its_own_secret(path: &str) -> bool {
    path.strip_prefix("/api/v1/discovery/").is_some_and(|rest| rest.ends_with("/webhook") || rest.ends_with("/refresh"))
}

/// The middleware: resolves the [`Principal`] and checks the scope the request needs.
pub(crate) async fn authenticate(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    if checks_its_own_secret(req.uri().path()) {
        let caller = Principal { subject: "webhook".into(), via: "webhook", scopes: Vec::new(), token_id: None };
        req.extensions_mut().insert(Arc::new(caller));
        return Ok(next.run(req).await);
    }
    let principal = match bearer(&req)? {
        None => Principal::guest(),
        Some(secret) => principal_of(&state, &secret).await?,
    };
    let needed = if reads_with_post(req.uri().path()) { Scope::Read } else { scope_for(req.method()) };
    if !principal.may(needed) {
        return Err(ApiError::Forbidden(format!("this token's scopes ({}) do not include {needed}", tokens::list(&principal.scopes))));
    }
    req.extensions_mut().insert(Arc::new(principal));
    Ok(next.run(req).await)
}

/// The token of `Authorization: Bearer …`, if the header is there.
fn bearer(req: &Request) -> Result<Option<String>, ApiError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else { return Ok(None) };
    let value = value.to_str().map_err(|_| ApiError::Unauthorized("Authorization: the header is not text".into()))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(Some(token.trim().to_owned())),
        _ => Err(ApiError::Unauthorized("Authorization: expected `Bearer <token>`".into())),
    }
}

async fn principal_of(state: &AppState, secret: &str) -> Result<Principal, ApiError> {
    if let Some(bootstrap) = &state.auth.bootstrap_token
        && tokens::equal_in_constant_time(secret, bootstrap)
    {
        return Ok(Principal::bootstrap());
    }
    let token = state.catalog.store().token_by_hash(&hash_secret(secret)).await?;
    let Some(token) = token else { return Err(ApiError::Unauthorized("the token is not valid".into())) };
    let now = portico_catalog::now_ms();
    if let Some(at) = token.revoked_at {
        return Err(ApiError::Unauthorized(format!("the token {:?} was revoked at {}", token.name, portico_catalog::format_time(at))));
    }
    if let Some(at) = token.expires_at.filter(|at| *at <= now) {
        return Err(ApiError::Unauthorized(format!("the token {:?} expired at {}", token.name, portico_catalog::format_time(at))));
    }
    // The row read above says whether its last use is stale: no write on most requests.
    if token.last_used_at.is_none_or(|at| at < now - portico_store::auth::TOUCH_EVERY_MS) {
        state.catalog.store().touch_token(&token.id, now).await?;
    }
    Ok(Principal::of_token(&token))
}

/// The longest a token may live: two years.
const MAX_DAYS: u32 = 730;

/// A token to create (`POST /api/v1/tokens`, `portico token create`).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    /// Days until it expires; none: it does not expire.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// A service name: the token belongs to `service:<name>` rather than to its creator.
    #[serde(default)]
    pub service: Option<String>,
}

/// Checks and stores a new token for `who`; returns it and its secret.
pub async fn create_token(store: &dyn Store, who: &Principal, body: NewToken) -> Result<(ApiToken, String), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::Input("name: must be 1 to 100 characters".into()));
    }
    if body.scopes.is_empty() {
        return Err(ApiError::Input("scopes: at least one of read, write, admin".into()));
    }
    let mut scopes = Vec::new();
    for (i, s) in body.scopes.iter().enumerate() {
        let scope: Scope = s.parse().map_err(|e| ApiError::Input(format!("scopes[{i}]: {e}")))?;
        if !who.may(scope) {
            return Err(ApiError::Forbidden(format!("scopes[{i}]: you cannot give a token {scope}, which you do not have")));
        }
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    let now = portico_catalog::now_ms();
    let expires_at = match body.expires_in_days {
        Some(0) => return Err(ApiError::Input("expiresInDays: must be at least 1".into())),
        Some(d) if d > MAX_DAYS => return Err(ApiError::Input(format!("expiresInDays: at most {MAX_DAYS}"))),
        Some(d) => Some(now + i64::from(d) * 86_400_000),
        None => None,
    };
    let (owner, kind) = match body.service.as_deref().map(str::trim) {
        Some(service) => {
            if !who.is_admin() {
                return Err(ApiError::Forbidden("service: only an admin may create a service token".into()));
            }
            if !portico_model::naming::is_valid_object_name(service) {
                return Err(ApiError::Input(format!("service: {service:?} is not a valid name (letters, digits, `-`, `_`, `.`, up to 63)")));
            }
            (format!("service:{service}"), "service")
        }
        None => (who.subject.clone(), "personal"),
    };
    let token = ApiToken {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        owner,
        kind: kind.into(),
        scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
        created_at: now,
        created_by: who.subject.clone(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let secret = mint_secret();
    store.create_token(&token, &hash_secret(&secret)).await?;
    tracing::info!(token = %token.id, owner = %token.owner, by = %who.subject, "API token created");
    Ok((token, secret))
}

