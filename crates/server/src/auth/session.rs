//! Server-side sessions of people signed in with OpenID Connect. The cookie holds a random
//! secret (`HttpOnly`, `SameSite=Lax`, `Secure` and `__Host-` when served over https); the store
//! keeps its hash, so every replica reads the same sessions and a revocation reaches them all
//! within a second ([`super::recent::TTL`]). A session ends when revoked (sign-out, the API),
//! after `auth.sessions.idleTimeoutSeconds` without a request, after
//! `auth.sessions.maxAgeSeconds` in all, or when the provider refuses to refresh it. Each
//! sign-in makes a new session (and ends the one the browser had): no session id is ever
//! carried over a sign-in.

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, header};
use portico_auth::Scope;
use portico_store::{RefreshedSession, Session};

use super::Principal;
use super::oidc::{SignInError, SignedIn};
use crate::AppState;
use crate::error::ApiError;

/// `auth.sessions` in `portico.yaml`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SessionConfig {
    /// A session unused this long ends (default 8 hours).
    pub idle_timeout_seconds: u64,
    /// A session ends this long after its sign-in, however busy (default 24 hours).
    pub max_age_seconds: u64,
}

impl Default for SessionConfig {
    fn default() -> Self {
        Self { idle_timeout_seconds: 8 * 3600, max_age_seconds: 24 * 3600 }
    }
}

impl SessionConfig {
    pub fn validate(&self) -> Result<(), String> {
        if self.idle_timeout_seconds == 0 {
            return Err("auth.sessions.idleTimeoutSeconds: must be at least 1".into());
        }
        if self.max_age_seconds < self.idle_timeout_seconds {
            return Err(format!("auth.sessions.maxAgeSeconds: {} is shorter than idleTimeoutSeconds ({})", self.max_age_seconds, self.idle_timeout_seconds));
        }
        Ok(())
    }
}

impl SessionConfig {
    /// The idle time in ms.
    pub fn idle_ms(&self) -> i64 {
        i64::try_from(self.idle_timeout_seconds.saturating_mul(1000)).unwrap_or(i64::MAX)
    }
}

/// The session cookie's name: `__Host-` prefixed over https (the browser then insists on
/// `Secure`, `Path=/` and no `Domain`).
pub fn cookie_name(secure: bool) -> &'static str {
    if secure { "__Host-portico_session" } else { "portico_session" }
}

/// The cookie binding a sign-in under way to the browser that started it.
pub const SIGN_IN_COOKIE: &str = "portico_sign_in";

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
        .filter(|v| !v.is_empty())
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax`, `Path` as given, `Secure` when `secure`;
/// `max_age` 0 removes it.
pub fn set_cookie(name: &str, value: &str, path: &str, max_age: u64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!("{name}={value}; Path={path}; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")).expect("cookie values are ASCII")
}

/// Why a session cookie does not sign anyone in.
#[derive(Debug)]
pub struct Ended(pub String);

/// The person a session cookie's `secret` signs in, or why it does not.
pub async fn principal_of(state: &AppState, secret: &str) -> Result<Result<Principal, Ended>, ApiError> {
    let auth = &state.auth;
    let store = state.catalog.store();
    let hash = portico_auth::hash_secret(secret);
    let session = match auth.sessions.get(&hash) {
        Some(s) => s,
        None => {
            let Some(s) = store.session_by_hash(&hash).await? else { return Ok(Err(Ended("the session is not known (signed out, or from another server)".into()))) };
            auth.sessions.put(&hash, s.clone());
            s
        }
    };
    let now = portico_catalog::now_ms();
    let config = &auth.config.sessions;
    let idle_ms = config.idle_ms();
    if let Some(at) = session.revoked_at {
        return Ok(Err(Ended(format!("the session was ended at {}", portico_catalog::format_time(at)))));
    }
    if session.expires_at <= now {
        return Ok(Err(Ended(format!("the session reached its end at {}; sign in again", portico_catalog::format_time(session.expires_at)))));
    }
    if session.last_seen_at.saturating_add(idle_ms) <= now {
        return Ok(Err(Ended("the session ended after a time without use; sign in again".into())));
    }
    let session = match session.refresh_at.filter(|at| *at <= now) {
        Some(due) if session.refresh_token.is_some() => match refresh(state, &session, due, &hash).await? {
            Some(s) => s,
            None => return Ok(Err(Ended("the identity provider no longer keeps you signed in; sign in again".into()))),
        },
        _ => session,
    };
    // Activity is written at most once a minute, or twice per idle time when that is shorter
    // (else a busy session would look idle).
    let stale_before = now - portico_store::auth::TOUCH_EVERY_MS.min(idle_ms / 2);
    if session.last_seen_at < stale_before {
        store.touch_session(&session.id, now, stale_before).await?;
        auth.sessions.put(&hash, Session { last_seen_at: now, ..session.clone() });
    }
    let claims = serde_json::from_str(&session.claims).unwrap_or_else(|_| serde_json::json!({}));
    Ok(Ok(Principal {
        subject: session.subject.clone(),
        via: "session",
        scopes: vec![Scope::Admin],
        capabilities: Vec::new(),
        token_id: None,
        session_id: Some(session.id.clone()),
        claims: Some(Arc::new(claims)),
        resolved: Default::default(),
    }))
}

/// A refresh that came due: one replica claims it, asks the provider, and stores what came
/// back. `None`: the provider refused, so the session is ended. A provider out of reach keeps
/// the session as it is, to be tried again in a minute.
async fn refresh(state: &AppState, session: &Session, due: i64, hash: &str) -> Result<Option<Session>, ApiError> {
    let store = state.catalog.store();
    let Some(oidc) = state.auth.oidc.as_ref() else { return Ok(Some(session.clone())) };
    let now = portico_catalog::now_ms();
    if !store.claim_refresh(&session.id, due, now + 60_000).await? {
        // Another request (or replica) is at it; this one goes on with the session as it is.
        return Ok(Some(session.clone()));
    }
    let outcome = oidc.refresh(session.refresh_token.as_deref().unwrap_or_default()).await;
    state.auth.sessions.clear();
    match outcome {
        Ok(fresh) => {
            let claims = if fresh.claims.is_object() { fresh.claims.to_string() } else { session.claims.clone() };
            let refreshed = RefreshedSession { claims, refresh_token: fresh.refresh_token.clone(), id_token: fresh.id_token.clone().or_else(|| session.id_token.clone()), refresh_at: refresh_due(&fresh) };
            store.refresh_session(&session.id, &refreshed).await?;
            let updated = Session { claims: refreshed.claims, refresh_token: refreshed.refresh_token, id_token: refreshed.id_token, refresh_at: refreshed.refresh_at, ..session.clone() };
            state.auth.sessions.put(hash, updated.clone());
            Ok(Some(updated))
        }
        // The provider no longer accepts the grant, or its answer does not verify: ended.
        Err(SignInError::Revoked(why) | SignInError::Invalid(why)) => {
            tracing::info!(session = %session.id, subject = %session.subject, reason = %why, "the identity provider refused a refresh: session ended");
            store.revoke_session(&session.id, now).await?;
            Ok(None)
        }
        // Out of reach, or refusing this client (a rotated secret): nobody's fault but the
        // configuration's, so sessions go on and the refresh is tried again in a minute.
        Err(e @ SignInError::Refused(_)) => {
            tracing::error!(session = %session.id, error = %e, "the identity provider refused this client's refresh; check auth.oidc (sessions go on, tried again in a minute)");
            Ok(Some(session.clone()))
        }
        Err(e) => {
            tracing::warn!(session = %session.id, error = %e, "could not refresh a session; trying again in a minute");
            Ok(Some(session.clone()))
        }
    }
}

/// When a sign-in's tokens are next refreshed: when its access token expires, if it can be.
fn refresh_due(signed_in: &SignedIn) -> Option<i64> {
    signed_in.refresh_token.as_ref().map(|_| signed_in.expires_at.unwrap_or_else(|| portico_catalog::now_ms() + 3_600_000))
}

/// Where a new session was started from, for the list of sessions.
pub struct Origin {
    pub address: Option<String>,
    pub user_agent: Option<String>,
}

/// Starts a session for `subject` after a verified sign-in; returns its secret (the cookie's
/// value), shown nowhere else.
pub async fn start(state: &AppState, subject: &str, signed_in: &SignedIn, origin: Origin) -> Result<(Session, String), ApiError> {
    let now = portico_catalog::now_ms();
    let max_age = i64::try_from(state.auth.config.sessions.max_age_seconds.saturating_mul(1000)).unwrap_or(i64::MAX / 2);
    let secret = format!("ps_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let session = Session {
        id: uuid::Uuid::new_v4().simple().to_string()[..16].to_owned(),
        subject: subject.to_owned(),
        claims: signed_in.claims.to_string(),
        created_at: now,
        last_seen_at: now,
        expires_at: now.saturating_add(max_age),
        refresh_token: signed_in.refresh_token.clone(),
        id_token: signed_in.id_token.clone(),
        refresh_at: refresh_due(signed_in),
        address: origin.address,
        user_agent: origin.user_agent.map(|u| u.chars().take(200).collect()),
        revoked_at: None,
    };
    state.catalog.store().create_session(&session, &portico_auth::hash_secret(&secret)).await?;
    Ok((session, secret))
}

/// Ends the session of cookie `secret`, if there is one; returns it (its ID token is the hint a
/// provider's sign-out wants).
pub async fn end(state: &AppState, secret: &str) -> Result<Option<Session>, ApiError> {
    let store = state.catalog.store();
    let Some(session) = store.session_by_hash(&portico_auth::hash_secret(secret)).await? else { return Ok(None) };
    store.revoke_session(&session.id, portico_catalog::now_ms()).await?;
    state.auth.sessions.clear();
    Ok(Some(session))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_read_among_others_and_written_with_their_flags() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("theme=dark; portico_session=ps_abc; other=1"));
        headers.append(header::COOKIE, HeaderValue::from_static("portico_sign_in=st"));
        assert_eq!(cookie(&headers, "portico_session"), Some("ps_abc"));
        assert_eq!(cookie(&headers, "portico_sign_in"), Some("st"));
        assert_eq!(cookie(&headers, "portico"), None);
        assert_eq!(set_cookie("n", "v", "/", 60, true), "n=v; Path=/; Max-Age=60; HttpOnly; SameSite=Lax; Secure");
        assert_eq!(set_cookie("n", "", "/auth", 0, false), "n=; Path=/auth; Max-Age=0; HttpOnly; SameSite=Lax");
        assert_eq!(cookie_name(true), "__Host-portico_session");
    }

    #[test]
    fn session_times_are_checked() {
        assert_eq!(SessionConfig::default().validate(), Ok(()));
        assert!(SessionConfig { idle_timeout_seconds: 0, ..SessionConfig::default() }.validate().unwrap_err().starts_with("auth.sessions.idleTimeoutSeconds"));
        assert!(SessionConfig { idle_timeout_seconds: 100, max_age_seconds: 10 }.validate().unwrap_err().starts_with("auth.sessions.maxAgeSeconds"));
    }
}
