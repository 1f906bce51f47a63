//! Signing in and out with OpenID Connect (`auth.mode: oidc`). A page that needs someone signed
//! in sends the browser to `/auth/sign-in`, which starts the authorization code flow (state,
//! nonce and PKCE kept in the store, the state also in a short cookie that ties the sign-in to
//! this browser) and goes to the provider; `/auth/callback` finishes it: the code is traded for
//! tokens, the ID token verified, the claims matched to one User of the catalog, and a new
//! session started. `/logout` ends the session here and at the provider. `/login` is the page
//! in between: after a sign-out, or when a sign-in failed. Every sign-in, failed or not, and
//! every sign-out is in the audit log; failed ones count towards the address's limit.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Extension;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use portico_server::AppState;
use portico_server::auth::Principal;
use portico_server::auth::gate::record;
use portico_server::auth::session::{self, SIGN_IN_COOKIE};
use portico_store::{AuditEvent, SignInAttempt};
use serde::{Deserialize, Serialize};

use crate::error::PageError;

/// How long a sign-in may take at the provider.
const SIGN_IN_SECONDS: u64 = 600;

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LoginQuery {
    #[serde(default)]
    return_to: Option<String>,
    #[serde(default)]
    signed_out: Option<String>,
}

#[derive(Serialize)]
struct LoginPage {
    nav: &'static str,
    provider: Option<String>,
    mode: &'static str,
    signed_out: bool,
    href: String,
}

/// `GET /login`: the sign-in page (a button to the provider).
pub(crate) async fn page(State(state): State<AppState>, Query(q): Query<LoginQuery>) -> Result<Html<String>, PageError> {
    let mode = match state.auth.config.mode {
        portico_server::auth::AuthMode::None => "none",
        portico_server::auth::AuthMode::Token => "token",
        portico_server::auth::AuthMode::Oidc => "oidc",
    };
    let back = return_to(q.return_to.as_deref());
    let href = format!("/auth/sign-in?{}", form_urlencoded::Serializer::new(String::new()).append_pair("returnTo", &back).finish());
    let provider = state.auth.oidc.as_ref().map(|o| o.config.display_name.clone());
    crate::templates::render("login.html", LoginPage { nav: "login", provider, mode, signed_out: q.signed_out.is_some(), href })
}

/// A path of this server to go back to; anything else (another site, `//host`) is home.
fn return_to(asked: Option<&str>) -> String {
    match asked {
        // Browsers drop tabs and newlines from URLs and read `\` as `/`, so `/\t/evil.example`
        // would go to another site: no control character and no backslash anywhere.
        Some(p) if p.starts_with('/') && !p.starts_with("//") && !p.contains('\\') && !p.chars().any(char::is_control) => p.to_owned(),
        _ => "/".to_owned(),
    }
}

/// The client's address, when the server knows it (the accept loop puts it on each request).
pub(crate) struct Peer(Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())))
    }
}

/// Refuses an address with too many failed sign-ins (and token uses).
fn limited(state: &AppState, ip: Option<IpAddr>) -> Result<(), PageError> {
    match ip {
        Some(ip) => state.auth.failures.check(ip).map_err(PageError::from),
        None => Ok(()),
    }
}

fn oidc(state: &AppState) -> Result<&portico_server::auth::oidc::Oidc, PageError> {
    state.auth.oidc.as_deref().ok_or_else(|| PageError::NotFound("this server has no sign-in: auth.mode is not oidc".into()))
}

/// `GET /auth/sign-in?returnTo=…`: starts a sign-in at the provider.
pub(crate) async fn start(State(state): State<AppState>, Peer(ip): Peer, Query(q): Query<LoginQuery>) -> Result<Response, PageError> {
    limited(&state, ip)?;
    let oidc = oidc(&state)?;
    // Each sign-in started keeps a row until its callback or its expiry: bounded per address
    // and in all, so nobody fills the table by asking for sign-ins.
    let all = IpAddr::from([0, 0, 0, 0]);
    state.auth.sign_ins_in_all.check(all)?;
    if let Some(ip) = ip {
        state.auth.sign_ins.check(ip)?;
        state.auth.sign_ins.fail(ip);
    }
    state.auth.sign_ins_in_all.fail(all);
    let started = oidc.start().await.map_err(|e| PageError::Unavailable(format!("{e}; try again in a moment"), 30))?;
    let now = portico_catalog::now_ms();
    let attempt = SignInAttempt { state: started.state.clone(), nonce: started.nonce, pkce_verifier: started.pkce_verifier, return_to: return_to(q.return_to.as_deref()), created_at: now };
    let stale = now - i64::try_from(SIGN_IN_SECONDS * 1000).unwrap_or(0);
    state.catalog.store().put_sign_in(&attempt, stale).await?;
    let mut response = Redirect::to(&started.url).into_response();
    let secure = state.auth.secure_cookies();
    response.headers_mut().append(header::SET_COOKIE, session::set_cookie(SIGN_IN_COOKIE, &started.state, "/auth", SIGN_IN_SECONDS, secure));
    Ok(response)
}

#[derive(Deserialize)]
pub(crate) struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

/// `GET /auth/callback`: finishes a sign-in and starts a session.
pub(crate) async fn callback(State(state): State<AppState>, Peer(ip): Peer, headers: HeaderMap, Query(q): Query<Callback>) -> Result<Response, PageError> {
    limited(&state, ip)?;
    let oidc = oidc(&state)?;
    let secure = state.auth.secure_cookies();
    let outcome = finish(&state, oidc, &headers, q).await;
    let from = from(ip, &headers);
    let actor = |subject: Option<&str>| subject.map_or_else(|| ip.map_or_else(|| "address:unknown".to_owned(), |ip| format!("address:{ip}")), str::to_owned);
    match outcome {
        Err((subject, e, counts)) => {
            // Only a sign-in this browser started and the provider's answer then failed counts
            // towards the address's limit: a made-up callback would otherwise lock everyone
            // behind one proxy out.
            if let (Some(ip), true) = (ip, counts) {
                state.auth.failures.fail(ip);
            }
            record(&state, AuditEvent::of(actor(subject.as_deref()), "session", "sign-in", subject.clone(), "denied").with(Some(e.status().as_u16()), None, format!("{e} ({from})"))).await;
            let mut response = e.into_response();
            response.headers_mut().append(header::SET_COOKIE, session::set_cookie(SIGN_IN_COOKIE, "", "/auth", 0, secure));
            Ok(response)
        }
        Ok((subject, attempt, signed_in)) => {
            // A new session on every sign-in; the browser's previous one, if any, ends.
            if let Some(old) = session::cookie(&headers, session::cookie_name(secure)) {
                session::end(&state, old).await?;
            }
            let origin = session::Origin { address: ip.map(|i| i.to_string()), user_agent: headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).map(str::to_owned) };
            let (started, secret) = session::start(&state, &subject, &signed_in, origin).await?;
            record(&state, AuditEvent::of(subject.clone(), "session", "sign-in", Some(subject.clone()), "allowed").with(Some(303), None, format!("session {} ({from})", started.id))).await;
            let mut response = Redirect::to(&attempt.return_to).into_response();
            let max_age = state.auth.config.sessions.max_age_seconds;
            let h = response.headers_mut();
            h.append(header::SET_COOKIE, session::set_cookie(session::cookie_name(secure), &secret, "/", max_age, secure));
            h.append(header::SET_COOKIE, session::set_cookie(SIGN_IN_COOKIE, "", "/auth", 0, secure));
            Ok(response)
        }
    }
}

/// Where a request came from, for the audit log: the address and the browser.
fn from(ip: Option<IpAddr>, headers: &HeaderMap) -> String {
    let agent = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or("no user agent");
    format!("from {}, {}", ip.map_or_else(|| "an unknown address".to_owned(), |i| i.to_string()), agent.chars().take(200).collect::<String>())
}

type Finished = (String, SignInAttempt, portico_server::auth::oidc::SignedIn);

/// The checks of a callback, in order; a failure says which, with the subject when known, and
/// whether it counts towards the address's limit (a started sign-in that then failed).
async fn finish(state: &AppState, oidc: &portico_server::auth::oidc::Oidc, headers: &HeaderMap, q: Callback) -> Result<Finished, (Option<String>, PageError, bool)> {
    let fail = |e: PageError| (None, e, false);
    let counted = |e: PageError| (None, e, true);
    if let Some(error) = q.error {
        let why = q.error_description.map_or_else(String::new, |d| format!(": {d}"));
        return Err(fail(PageError::Unauthorized(format!("the identity provider did not sign you in ({error}{why})"))));
    }
    let (Some(code), Some(got)) = (q.code, q.state) else {
        return Err(fail(PageError::BadRequest("the provider's answer has no code or no state; start the sign-in again".into())));
    };
    // The state must be the one this browser started with (a sign-in started elsewhere and
    // finished here would sign this browser in as someone else).
    let ours = session::cookie(headers, SIGN_IN_COOKIE).unwrap_or_default();
    if !portico_auth::equal_in_constant_time(ours, &got) {
        return Err(fail(PageError::BadRequest("this sign-in was not started by this browser (or took more than 10 minutes); start it again".into())));
    }
    let store = state.catalog.store();
    let attempt = store.take_sign_in(&got).await.map_err(|e| fail(e.into()))?;
    let Some(attempt) = attempt.filter(|a| a.created_at > portico_catalog::now_ms() - i64::try_from(SIGN_IN_SECONDS * 1000).unwrap_or(0)) else {
        return Err(fail(PageError::BadRequest("this sign-in has expired or was already used; start it again".into())));
    };
    let signed_in = oidc.finish(&code, &attempt.nonce, &attempt.pkce_verifier).await.map_err(|e| {
        counted(match e {
            portico_server::auth::oidc::SignInError::Provider(_) => PageError::Unavailable(e.to_string(), 30),
            _ => PageError::Unauthorized(e.to_string()),
        })
    })?;
    let subject = oidc.config.user_match.find(&state.catalog.read(), &signed_in.claims).map_err(|why| counted(PageError::Forbidden(format!("you signed in, but {why}; ask a Portico admin to add you to the catalog"))))?;
    Ok((subject, attempt, signed_in))
}

/// `POST /logout`: ends the session here, then at the provider (if it can), which sends the
/// browser back to the sign-in page.
pub(crate) async fn logout(State(state): State<AppState>, Peer(ip): Peer, Extension(who): Extension<Arc<Principal>>, headers: HeaderMap) -> Result<Response, PageError> {
    let secure = state.auth.secure_cookies();
    let ended = match session::cookie(&headers, session::cookie_name(secure)) {
        Some(secret) => session::end(&state, secret).await?,
        None => None,
    };
    let next = match (&ended, state.auth.oidc.as_deref()) {
        (Some(s), Some(oidc)) => oidc.sign_out_url(s.id_token.as_deref()).await,
        _ => None,
    };
    if let Some(s) = &ended {
        record(&state, AuditEvent::of(who.subject.clone(), who.via, "sign-out", Some(s.subject.clone()), "allowed").with(Some(303), None, format!("session {} ({})", s.id, from(ip, &headers)))).await;
    }
    let mut response = Redirect::to(next.as_deref().unwrap_or("/login?signedOut=1")).into_response();
    response.headers_mut().append(header::SET_COOKIE, session::set_cookie(session::cookie_name(secure), "", "/", 0, secure));
    Ok(response)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_paths_of_this_server_are_gone_back_to() {
        for (asked, expected) in [
            (Some("/catalog?kind=api"), "/catalog?kind=api"),
            (Some("//evil.example/x"), "/"),
            (Some("/\\evil.example"), "/"),
            (Some("https://evil.example"), "/"),
            (Some("/a\r\nSet-Cookie: x"), "/"),
            (Some("/\t/evil.example"), "/"),
            (Some("/\t\\evil.example"), "/"),
            (Some("/a\\b"), "/"),
            (Some("/catalog?q=a%09b"), "/catalog?q=a%09b"),
            (None, "/"),
        ] {
            assert_eq!(super::return_to(asked), expected, "{asked:?}");
        }
    }
}
