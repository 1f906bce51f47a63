//! The one place every request of the API and the pages passes before its handler: who asks
//! (a bearer token, the bootstrap token, a session cookie, or the guest), what the route needs (the route tables
//! of [`super::routes`] and the web crate), and whether the scopes and the policy allow it. It
//! records every change, and every refusal, in the audit log.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::http::{Method, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use portico_auth::{Permission, RequestInfo, Scope};
use portico_model::EntityRef;
use portico_store::AuditEvent;

use super::Principal;
use super::routes::{Need, Target};
use crate::AppState;
use crate::error::ApiError;

/// A route table: the need of a (method, matched route), or `None` for a route it does not
/// know (refused).
pub type RouteTable = fn(&Method, &str) -> Option<Need>;

/// The gate's state: the application, the route table of the router it guards, and how that
/// router answers a refusal (JSON for the API, a page for the pages).
#[derive(Clone)]
pub struct Gate {
    pub state: AppState,
    pub table: RouteTable,
    pub refuse: fn(ApiError) -> Response,
    /// The answer to a method the table does not list for a route (the router's own answer
    /// to a method it does not route).
    pub unlisted: fn(&Method, &str) -> Response,
    /// Whether a browser that is not signed in is sent to sign in (the pages), rather than
    /// answered 401 (the API).
    pub sign_in: bool,
}

impl Gate {
    /// The API's gate.
    pub fn api(state: AppState) -> Self {
        let unlisted = |method: &Method, path: &str| ApiError::NotFound(format!("no route for {method} {path}")).into_response();
        Self { state, table: super::routes::api, refuse: IntoResponse::into_response, unlisted, sign_in: false }
    }
}

/// Bodies read to find the entity a request acts on (`POST /refresh`) are small.
const BODY_PEEK: usize = 64 * 1024;

/// The middleware.
pub async fn gate(State(gate): State<Gate>, req: Request, next: Next) -> Response {
    match check(&gate, req, next).await {
        Ok(response) => response,
        Err(e) => (gate.refuse)(e),
    }
}

async fn check(gate: &Gate, req: Request, next: Next) -> Result<Response, ApiError> {
    let state = &gate.state;
    // No route matched: the fallback answers (404), with nothing to protect.
    let Some(route) = req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()) else {
        return Ok(next.run(req).await);
    };
    let method = req.method().clone();
    // A method the table does not list for this route is answered as one the router does not
    // route: a handler added without its permission is refused, never run unchecked.
    let Some(need) = (gate.table)(&method, &route) else { return Ok((gate.unlisted)(&method, req.uri().path())) };
    if need == Need::OwnSecret {
        let caller = Principal { subject: "webhook".into(), via: "webhook", scopes: Vec::new(), capabilities: Vec::new(), token_id: None, session_id: None, claims: None, resolved: Default::default() };
        return Ok(with_principal(req, caller, next).await);
    }
    let mode = state.auth.config.mode;
    let who = match bearer(&req)? {
        None => match session_cookie(state, &req) {
            Some(secret) => match super::session::principal_of(state, &secret).await? {
                Ok(who) => who,
                Err(_) if need == Need::Public || !mode.needs_credential() => Principal::guest(),
                Err(super::session::Ended(why)) => return Ok(unauthenticated(gate, &req, why, true)),
            },
            None if need != Need::Public && mode.needs_credential() => {
                let why = match mode {
                    super::AuthMode::Oidc => "sign in first (auth.mode: oidc), or send `Authorization: Bearer <token>`",
                    _ => "this server needs a credential (auth.mode: token): send `Authorization: Bearer <token>`",
                };
                return Ok(unauthenticated(gate, &req, why.to_owned(), false));
            }
            None => Principal::guest(),
        },
        Some(secret) => {
            let peer = req.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip());
            if let Some(ip) = peer {
                state.auth.failures.check(ip)?;
            }
            match principal_of(state, &secret).await {
                Ok(who) => who,
                Err(e) => {
                    if let (Some(ip), ApiError::Unauthorized(_)) = (peer, &e) {
                        state.auth.failures.fail(ip);
                        let line = format!("{} {}", req.method(), req.uri().path());
                        let event = AuditEvent::of(format!("address:{ip}"), "token", "token.use", None, "denied").with(Some(401), request_id(&req), format!("{line}: {e}"));
                        record(state, event).await;
                    }
                    return Err(e);
                }
            }
        }
    };
    let (permission, target) = match need {
        Need::Public | Need::Identity | Need::OwnSecret => return Ok(with_principal(req, who, next).await),
        Need::Permission(p, t) => (p, t),
        Need::SavedQueryWrite => {
            let name = path_param(req, "name").await;
            let (req, name) = name?;
            let exists = match &name {
                Some(n) => state.catalog.store().get_saved_query(n).await?.is_some(),
                None => false,
            };
            let p = if exists { Permission::SavedQueryUpdate } else { Permission::SavedQueryCreate };
            return decide(gate, req, next, who, p, Resolved { entity: None, label: name }).await;
        }
    };
    let (req, resolved) = resolve(state, req, target).await?;
    decide(gate, req, next, who, permission, resolved).await
}

/// The target of a request: the entity's key, if it is one, and how the audit log names it.
struct Resolved {
    entity: Option<String>,
    label: Option<String>,
}

async fn decide(gate: &Gate, mut req: Request, next: Next, who: Principal, permission: Permission, target: Resolved) -> Result<Response, ApiError> {
    let state = &gate.state;
    // An entity the principal may not read is, to it, one that does not exist: the policy is
    // asked as it would be about a missing entity, so no answer tells the two apart.
    let entity = match target.entity.as_deref() {
        Some(key) => {
            let seen = state.auth.visibility(&who, state.catalog.graph()).await;
            let visible = state.catalog.read().id_of(key).is_none_or(|id| seen.sees(id));
            req.extensions_mut().insert(super::Seen(seen, Arc::new(who.clone())));
            visible.then_some(key)
        }
        None => None,
    };
    let info = RequestInfo { method: req.method().to_string(), path: req.uri().path().to_owned() };
    let request_id = request_id(&req);
    let audit = |outcome: &str, status: u16, detail: String| {
        AuditEvent::of(who.subject.clone(), who.via, permission.name(), target.label.clone(), outcome).with(Some(status), request_id.clone(), detail)
    };
    let line = format!("{} {}", info.method, info.path);
    match state.auth.check(&who, permission, entity, Some(&info), state.catalog.graph()) {
        Err(refusal) => {
            record(state, audit("denied", refusal.status().as_u16(), format!("{line}: {refusal}"))).await;
            Err(refusal)
        }
        Ok(decision) => {
            let audited = permission.scope() != Scope::Read;
            let response = with_principal(req, who.clone(), next).await;
            if audited {
                let status = response.status();
                let outcome = if status.is_client_error() || status.is_server_error() { "failed" } else { "allowed" };
                record(state, audit(outcome, status.as_u16(), format!("{line}: {}", decision.reason()))).await;
            }
            Ok(response)
        }
    }
}

/// The request's id (`x-request-id`), for the audit log.
pub fn request_id(req: &Request) -> Option<String> {
    req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// Appends to the audit log; a failure to record is logged, not answered (the change is made).
pub async fn record(state: &AppState, event: AuditEvent) {
    if let Err(e) = state.catalog.store().append_audit(&event).await {
        tracing::error!(error = %e, action = %event.action, actor = %event.actor, "could not write the audit log");
    }
}

/// Runs the handler with the principal in the request's extensions, and its catalog changes
/// recorded as the principal's (an entity's history says who made each change).
async fn with_principal(mut req: Request, who: Principal, next: Next) -> Response {
    let actor = who.subject.clone();
    req.extensions_mut().insert(Arc::new(who));
    portico_catalog::actor::acting_as(actor, next.run(req)).await
}

/// The secret of the request's session cookie, if it has one. With `auth.mode: token` there
/// is no sign-in, so cookies from an earlier `oidc` configuration count for nothing.
fn session_cookie(state: &AppState, req: &Request) -> Option<String> {
    if state.auth.config.mode == super::AuthMode::Token {
        return None;
    }
    let secure = state.auth.secure_cookies();
    super::session::cookie(req.headers(), super::session::cookie_name(secure)).map(str::to_owned)
}

/// The answer to a request that needs someone signed in: the pages send a browser's `GET` to
/// sign in (and back); everything else gets a 401. A session cookie that no longer signs anyone
/// in is removed.
fn unauthenticated(gate: &Gate, req: &Request, why: String, clear_cookie: bool) -> Response {
    let state = &gate.state;
    let sign_in = gate.sign_in && state.auth.oidc.is_some() && matches!(*req.method(), Method::GET | Method::HEAD);
    let mut response = if sign_in {
        let back = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let to: String = form_urlencoded::Serializer::new(String::new()).append_pair("returnTo", back).finish();
        axum::response::Redirect::to(&format!("/auth/sign-in?{to}")).into_response()
    } else {
        (gate.refuse)(ApiError::Unauthorized(why))
    };
    if clear_cookie {
        let secure = state.auth.secure_cookies();
        response.headers_mut().append(header::SET_COOKIE, super::session::set_cookie(super::session::cookie_name(secure), "", "/", 0, secure));
    }
    response
}

/// Finds the target of the request, reading (and putting back) the body if it holds it.
async fn resolve(state: &AppState, req: Request, target: Target) -> Result<(Request, Resolved), ApiError> {
    let none = Resolved { entity: None, label: None };
    match target {
        Target::None => Ok((req, none)),
        Target::Param(name) => {
            let (req, value) = path_param(req, name).await?;
            Ok((req, Resolved { entity: None, label: value }))
        }
        Target::EntityByName => {
            let (mut parts, body) = req.into_parts();
            let params = params(&mut parts).await;
            let get = |n: &str| params.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
            let key = match (get("kind"), get("namespace"), get("name")) {
                (Some(k), Some(ns), Some(n)) => Some(EntityRef::new(k, ns, n).key()),
                _ => None,
            };
            Ok((Request::from_parts(parts, body), Resolved { label: key.clone(), entity: key }))
        }
        Target::EntityByUid => {
            let (req, uid) = path_param(req, "uid").await?;
            let key = uid.as_deref().and_then(|u| state.catalog.read().get_by_uid(u).map(|e| e.key.clone()));
            Ok((req, Resolved { label: key.clone().or(uid), entity: key }))
        }
        Target::EntityInBody => {
            let (parts, body) = req.into_parts();
            let bytes = axum::body::to_bytes(body, BODY_PEEK).await.map_err(|_| ApiError::Input(format!("the body is larger than {BODY_PEEK} bytes")))?;
            let named = serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| v.get("entityRef")?.as_str().map(str::to_owned));
            let key = named.as_deref().and_then(|r| EntityRef::parse_full(r).ok()).map(|r| r.key());
            Ok((Request::from_parts(parts, Body::from(bytes)), Resolved { label: key.clone().or(named), entity: key }))
        }
    }
}

async fn params(parts: &mut Parts) -> Vec<(String, String)> {
    match RawPathParams::from_request_parts(parts, &()).await {
        Ok(p) => p.iter().map(|(k, v)| (k.to_owned(), v.to_owned())).collect(),
        Err(_) => Vec::new(),
    }
}

async fn path_param(req: Request, name: &str) -> Result<(Request, Option<String>), ApiError> {
    let (mut parts, body) = req.into_parts();
    let value = params(&mut parts).await.into_iter().find(|(k, _)| k == name).map(|(_, v)| v);
    Ok((Request::from_parts(parts, body), value))
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
    if let Some(bootstrap) = &state.auth.config.bootstrap_token
        && portico_auth::equal_in_constant_time(secret, bootstrap)
    {
        return Ok(Principal::bootstrap());
    }
    let hash = portico_auth::hash_secret(secret);
    let token = match state.auth.tokens.get(&hash) {
        Some(t) => t,
        None => {
            let Some(t) = state.catalog.store().token_by_hash(&hash).await? else { return Err(ApiError::Unauthorized("the token is not valid".into())) };
            state.auth.tokens.put(&hash, t.clone());
            t
        }
    };
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
        state.auth.tokens.put(&hash, portico_store::ApiToken { last_used_at: Some(now), ..token.clone() });
    }
    Ok(Principal::of_token(&token))
}
