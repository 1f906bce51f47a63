//! Sign-in with OpenID Connect: the authorization code flow with PKCE against the provider of
//! `auth.oidc.issuer`, found by discovery. The `openidconnect` crate checks the ID token (its
//! signature with the provider's JWKS, issuer, audience, expiry and nonce); this module keeps
//! the provider's metadata (an hour, or until a token is signed with a key it does not know),
//! turns a callback into verified claims, refreshes, and builds the sign-out address.
//!
//! Its HTTP goes through reqwest with redirects off (a redirect could otherwise point discovery
//! or the token request anywhere) and bounded times and sizes.

use std::time::{Duration, Instant};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreTokenResponse, CoreUserInfoClaims};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier,
    PostLogoutRedirectUrl, ProviderMetadataWithLogout, RedirectUrl, RefreshToken, RequestTokenError, Scope, SubjectIdentifier, TokenResponse,
};
use portico_auth::UserMatch;
use serde_json::Value;
use tokio::sync::Mutex;

/// `auth.oidc` in `portico.yaml`.
#[derive(Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct OidcConfig {
    /// The provider's issuer URL (`https://accounts.example.com`); its discovery document is
    /// at `<issuer>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// The client's secret (`PORTICO__AUTH__OIDC__CLIENT_SECRET`); none for a public client,
    /// which PKCE alone protects.
    pub client_secret: Option<String>,
    /// Where the provider sends people back: `<server.publicUrl>/auth/callback` unless set.
    pub redirect_url: Option<String>,
    /// Scopes asked for: `openid` always; by default also `email` and `profile`.
    pub scopes: Vec<String>,
    /// How a sign-in finds its User entity.
    pub user_match: UserMatch,
    /// The provider's name on the sign-in button.
    pub display_name: String,
}

impl Default for OidcConfig {
    fn default() -> Self {
        Self {
            issuer: String::new(),
            client_id: String::new(),
            client_secret: None,
            redirect_url: None,
            scopes: vec!["openid".into(), "email".into(), "profile".into()],
            user_match: UserMatch::default(),
            display_name: "your identity provider".into(),
        }
    }
}

impl std::fmt::Debug for OidcConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "[redacted]"))
            .field("redirect_url", &self.redirect_url)
            .field("scopes", &self.scopes)
            .field("user_match", &self.user_match)
            .finish_non_exhaustive()
    }
}

impl OidcConfig {
    /// Checks the configuration; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let url = |field: &str, value: &str| -> Result<url::Url, String> {
            let parsed = url::Url::parse(value).map_err(|e| format!("auth.oidc.{field}: {value:?} is not a URL: {e}"))?;
            if !matches!(parsed.scheme(), "https" | "http") {
                return Err(format!("auth.oidc.{field}: {value:?} must be an http(s) URL"));
            }
            Ok(parsed)
        };
        if self.issuer.is_empty() {
            return Err("auth.oidc.issuer: required with `auth.mode: oidc` (the provider's issuer URL)".into());
        }
        let issuer = url("issuer", &self.issuer)?;
        if issuer.scheme() == "http" && !is_loopback(&issuer) {
            return Err(format!("auth.oidc.issuer: {:?} must be https (plain http is only for a provider on this machine)", self.issuer));
        }
        if self.client_id.is_empty() {
            return Err("auth.oidc.clientId: required (the client registered with the provider)".into());
        }
        match &self.redirect_url {
            Some(r) => {
                let parsed = url("redirectUrl", r)?;
                if parsed.path() != "/auth/callback" {
                    return Err(format!("auth.oidc.redirectUrl: {r:?} must end in /auth/callback, where Portico answers the provider"));
                }
            }
            None => return Err("auth.oidc.redirectUrl: set it, or server.publicUrl (the callback is <publicUrl>/auth/callback)".into()),
        }
        if !self.scopes.iter().any(|s| s == "openid") {
            return Err("auth.oidc.scopes: must include openid".into());
        }
        self.user_match.validate("auth.oidc.userMatch")
    }

    /// Whether Portico is served over https (its cookies are then `Secure`).
    pub fn secure(&self) -> bool {
        self.redirect_url.as_deref().is_some_and(|r| r.starts_with("https://"))
    }

    /// The address a sign-out comes back to: the sign-in page.
    fn signed_out_url(&self) -> Option<String> {
        self.redirect_url.as_deref().map(|r| r.trim_end_matches("/auth/callback").to_owned() + "/login?signedOut=1")
    }
}

/// Whether `url` names this machine (a loopback address or `localhost`): where plain http
/// carries no secret over a network.
pub fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d == "localhost",
        None => false,
    }
}

type Client = CoreClient<EndpointSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointMaybeSet, EndpointMaybeSet>;

/// How long the provider's metadata and keys are used before discovery is asked again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The longest answer read from the provider.
const MAX_BODY: usize = 1024 * 1024;

/// A sign-in that failed, and why, in words for the person signing in.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The provider could not be reached or answered nonsense: try again later.
    #[error("the identity provider could not be reached: {0}")]
    Provider(String),
    /// The provider refused this client (a wrong secret, a request it does not take): a
    /// configuration to mend, not a verdict on the person.
    #[error("the identity provider refused: {0}")]
    Refused(String),
    /// The provider no longer accepts the grant (`invalid_grant`: a code used twice, a refresh
    /// token revoked, the person signed out or disabled there).
    #[error("the identity provider no longer accepts this sign-in: {0}")]
    Revoked(String),
    /// What came back does not prove who signed in (bad signature, issuer, audience, nonce).
    #[error("the sign-in could not be verified: {0}")]
    Invalid(String),
}

/// The verified outcome of a sign-in or a refresh.
#[derive(Debug, Clone)]
pub struct SignedIn {
    /// Every claim of the verified ID token (policies read them as `user.claims`).
    pub claims: Value,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    /// When the access token expires, if the provider said (ms since the epoch).
    pub expires_at: Option<i64>,
}

/// A sign-in to send the browser to: the provider's address, and what the callback needs.
pub struct Start {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// The provider of `auth.oidc`, with its metadata cached.
pub struct Oidc {
    pub config: OidcConfig,
    http: Http,
    metadata: Mutex<Option<(ProviderMetadataWithLogout, Instant)>>,
}

impl std::fmt::Debug for Oidc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oidc").field("config", &self.config).finish_non_exhaustive()
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct HttpError(String);

/// The HTTP client the `openidconnect` crate calls: reqwest, redirects off, answers bounded.
struct Http(reqwest::Client);

impl<'c> openidconnect::AsyncHttpClient<'c> for Http {
    type Error = HttpError;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<openidconnect::HttpResponse, HttpError>> + Send + 'c>>;

    fn call(&'c self, request: openidconnect::HttpRequest) -> Self::Future {
        Box::pin(send(self.0.clone(), request))
    }
}

async fn send(http: reqwest::Client, request: openidconnect::HttpRequest) -> Result<openidconnect::HttpResponse, HttpError> {
    let (parts, body) = request.into_parts();
    let response = http.request(parts.method, parts.uri.to_string()).headers(parts.headers).body(body).send().await.map_err(|e| HttpError(portico_model::with_causes(&e)))?;
    let mut answer = axum::http::Response::builder().status(response.status());
    for (name, value) in response.headers() {
        answer = answer.header(name, value);
    }
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(HttpError(format!("an answer of more than {MAX_BODY} bytes")));
    }
    let body = response.bytes().await.map_err(|e| HttpError(e.to_string()))?;
    if body.len() > MAX_BODY {
        return Err(HttpError(format!("an answer of more than {MAX_BODY} bytes")));
    }
    answer.body(body.to_vec()).map_err(|e| HttpError(e.to_string()))
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Self {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .build()
            .expect("the HTTP client's settings are valid");
        Self { config, http: Http(http), metadata: Mutex::new(None) }
    }

    /// The provider's metadata: cached, or discovered again when older than an hour or when
    /// `again` (a token signed with a key the cached set does not have).
    async fn metadata(&self, again: bool) -> Result<ProviderMetadataWithLogout, SignInError> {
        let mut cached = self.metadata.lock().await;
        if let Some((m, at)) = cached.as_ref()
            && !again
            && at.elapsed() < METADATA_TTL
        {
            return Ok(m.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| SignInError::Provider(format!("auth.oidc.issuer: {e}")))?;
        let found = ProviderMetadataWithLogout::discover_async(issuer, &self.http)
            .await
            .map_err(|e| SignInError::Provider(format!("discovery at {}/.well-known/openid-configuration: {}", self.config.issuer.trim_end_matches('/'), portico_model::with_causes(&e))))?;
        *cached = Some((found.clone(), Instant::now()));
        Ok(found)
    }

    fn client(&self, metadata: ProviderMetadataWithLogout) -> Result<Client, SignInError> {
        let redirect = RedirectUrl::new(self.config.redirect_url.clone().unwrap_or_default()).map_err(|e| SignInError::Provider(format!("auth.oidc.redirectUrl: {e}")))?;
        Ok(CoreClient::from_provider_metadata(metadata, ClientId::new(self.config.client_id.clone()), self.config.client_secret.clone().map(ClientSecret::new)).set_redirect_uri(redirect))
    }

    /// Checks that the provider answers discovery (at start, so a wrong issuer shows in the log).
    pub async fn check(&self) -> Result<(), SignInError> {
        self.metadata(false).await.map(|_| ())
    }

    /// Starts a sign-in: the provider's authorization address, with a fresh state, nonce and
    /// PKCE challenge.
    pub async fn start(&self) -> Result<Start, SignInError> {
        let client = self.client(self.metadata(false).await?)?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let mut request = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random);
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, state, nonce) = request.set_pkce_challenge(challenge).url();
        Ok(Start { url: url.to_string(), state: state.secret().clone(), nonce: nonce.secret().clone(), pkce_verifier: verifier.secret().clone() })
    }

    /// Finishes a sign-in: trades the code for tokens and verifies the ID token against the
    /// nonce of its start.
    pub async fn finish(&self, code: &str, nonce: &str, pkce_verifier: &str) -> Result<SignedIn, SignInError> {
        let client = self.client(self.metadata(false).await?)?;
        let request = client.exchange_code(AuthorizationCode::new(code.to_owned())).map_err(|e| SignInError::Provider(e.to_string()))?;
        let tokens = request.set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned())).request_async(&self.http).await.map_err(token_error)?;
        let Some(id_token) = tokens.id_token() else { return Err(SignInError::Invalid("the provider sent no ID token".into())) };
        let nonce = Nonce::new(nonce.to_owned());
        let claims = self.verify_fresh(&client, id_token, Some(&nonce)).await?;
        let claims = self.with_user_info(&client, &tokens, claims).await?;
        Ok(signed_in(claims, &tokens))
    }

    /// Asks the provider for fresh tokens with a refresh token: the person is still signed in
    /// there, and their claims are current.
    pub async fn refresh(&self, refresh_token: &str) -> Result<SignedIn, SignInError> {
        let client = self.client(self.metadata(false).await?)?;
        let token = RefreshToken::new(refresh_token.to_owned());
        let tokens = client.exchange_refresh_token(&token).map_err(|e| SignInError::Provider(e.to_string()))?.request_async(&self.http).await.map_err(token_error)?;
        let claims = match tokens.id_token() {
            Some(id_token) => self.verify_fresh(&client, id_token, None).await?,
            None => Value::Null,
        };
        let claims = if claims.is_object() { self.with_user_info(&client, &tokens, claims).await? } else { claims };
        let mut refreshed = signed_in(claims, &tokens);
        // A provider that does not rotate refresh tokens keeps the one it had.
        refreshed.refresh_token = refreshed.refresh_token.or_else(|| Some(refresh_token.to_owned()));
        Ok(refreshed)
    }

    /// The ID token's claims with those of the provider's userinfo endpoint added: many
    /// providers put only `sub` in the ID token and `email`, `name` and the like there. The
    /// userinfo answer must be about the same `sub`; the ID token's claims win where both have
    /// one.
    async fn with_user_info(&self, client: &Client, tokens: &CoreTokenResponse, mut claims: Value) -> Result<Value, SignInError> {
        let subject = claims.get("sub").and_then(Value::as_str).map(|s| SubjectIdentifier::new(s.to_owned()));
        let Ok(request) = client.user_info(tokens.access_token().clone(), subject) else { return Ok(claims) };
        let info: CoreUserInfoClaims = request.request_async(&self.http).await.map_err(|e| match e {
            openidconnect::UserInfoError::ClaimsVerification(e) => SignInError::Invalid(format!("userinfo: {e}")),
            e => SignInError::Provider(format!("userinfo: {}", portico_model::with_causes(&e))),
        })?;
        if let (Value::Object(into), Ok(Value::Object(more))) = (&mut claims, serde_json::to_value(&info)) {
            for (k, v) in more {
                into.entry(k).or_insert(v);
            }
        }
        Ok(claims)
    }

    /// Verifies an ID token, reading the provider's keys again once when it is signed with one
    /// they lack (the provider rotated its keys since they were read).
    async fn verify_fresh(&self, client: &Client, id_token: &CoreIdToken, nonce: Option<&Nonce>) -> Result<Value, SignInError> {
        match self.verify(client, id_token, nonce) {
            Err(SignInError::Invalid(why)) if why.contains("key") || why.contains("ignature") => {
                let client = self.client(self.metadata(true).await?)?;
                self.verify(&client, id_token, nonce)
            }
            other => other,
        }
    }

    /// Verifies an ID token; with no nonce to compare (a refresh), none is required.
    fn verify(&self, client: &Client, id_token: &CoreIdToken, nonce: Option<&Nonce>) -> Result<Value, SignInError> {
        // A token issued more than five minutes ahead of this clock is not valid yet.
        let verifier = client.id_token_verifier().set_issue_time_verifier_fn(|iat| {
            let skew = chrono::Utc::now() + chrono::Duration::minutes(5);
            if iat > skew { Err(format!("issued in the future ({iat})")) } else { Ok(()) }
        });
        let checked = match nonce {
            Some(n) => id_token.claims(&verifier, n).map(|_| ()),
            None => id_token.claims(&verifier, |_: Option<&Nonce>| Ok(())).map(|_| ()),
        };
        checked.map_err(|e| SignInError::Invalid(e.to_string()))?;
        // Verified: every claim, the provider's own ones included, from the token's payload.
        payload(&id_token.to_string()).ok_or_else(|| SignInError::Invalid("the ID token's claims are not JSON".into()))
    }

    /// Where the browser goes after a local sign-out: the provider's end-session endpoint (it
    /// signs out there too, then comes back to the sign-in page), if it has one.
    pub async fn sign_out_url(&self, id_token: Option<&str>) -> Option<String> {
        let metadata = self.metadata(false).await.ok()?;
        let end = metadata.additional_metadata().end_session_endpoint.clone()?;
        let mut url = end.url().clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("client_id", &self.config.client_id);
            if let Some(t) = id_token {
                query.append_pair("id_token_hint", t);
            }
            if let Some(back) = self.config.signed_out_url().and_then(|u| PostLogoutRedirectUrl::new(u).ok()) {
                query.append_pair("post_logout_redirect_uri", back.as_str());
            }
        }
        Some(url.to_string())
    }
}

fn signed_in(claims: Value, tokens: &CoreTokenResponse) -> SignedIn {
    SignedIn {
        claims,
        id_token: tokens.id_token().map(ToString::to_string),
        refresh_token: tokens.refresh_token().map(|t| t.secret().clone()),
        expires_at: tokens.expires_in().map(|d| portico_catalog::now_ms() + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2)),
    }
}

/// The JSON payload of a compact JWT (already verified).
fn payload(jwt: &str) -> Option<Value> {
    use base64::Engine as _;
    let part = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok().filter(Value::is_object)
}

fn token_error<RE: std::error::Error + 'static, T: openidconnect::ErrorResponse + 'static>(e: RequestTokenError<RE, T>) -> SignInError {
    match e {
        // A standard error response shows as `code: description`.
        RequestTokenError::ServerResponse(r) if r.to_string().starts_with("invalid_grant") => SignInError::Revoked(r.to_string()),
        RequestTokenError::ServerResponse(r) => SignInError::Refused(r.to_string()),
        RequestTokenError::Request(e) => SignInError::Provider(portico_model::with_causes(&e)),
        RequestTokenError::Parse(e, _) => SignInError::Provider(format!("its answer could not be read: {e}")),
        RequestTokenError::Other(e) => SignInError::Provider(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> OidcConfig {
        OidcConfig { issuer: "https://id.example.com".into(), client_id: "portico".into(), redirect_url: Some("https://portico.example.com/auth/callback".into()), ..OidcConfig::default() }
    }

    #[test]
    fn the_configuration_is_checked_with_the_field_named() {
        assert_eq!(config().validate(), Ok(()));
        let bad = |c: OidcConfig| c.validate().unwrap_err();
        assert!(bad(OidcConfig { issuer: String::new(), ..config() }).starts_with("auth.oidc.issuer: required"));
        assert!(bad(OidcConfig { issuer: "not a url".into(), ..config() }).starts_with("auth.oidc.issuer: \"not a url\" is not a URL"));
        assert!(bad(OidcConfig { issuer: "http://id.example.com".into(), ..config() }).contains("must be https"));
        assert_eq!(OidcConfig { issuer: "http://127.0.0.1:9000".into(), ..config() }.validate(), Ok(()), "plain http on loopback");
        assert!(bad(OidcConfig { client_id: String::new(), ..config() }).starts_with("auth.oidc.clientId"));
        assert!(bad(OidcConfig { redirect_url: None, ..config() }).contains("server.publicUrl"));
        assert!(bad(OidcConfig { redirect_url: Some("https://p.example.com/cb".into()), ..config() }).contains("must end in /auth/callback"));
        assert!(bad(OidcConfig { scopes: vec!["email".into()], ..config() }).contains("must include openid"));
        let by_annotation = UserMatch { by: portico_auth::MatchBy::Annotation, ..UserMatch::default() };
        assert!(bad(OidcConfig { user_match: by_annotation, ..config() }).starts_with("auth.oidc.userMatch.annotation"));
    }

    #[test]
    fn cookies_are_secure_over_https_and_sign_out_comes_back_to_the_sign_in_page() {
        assert!(config().secure());
        assert!(!OidcConfig { redirect_url: Some("http://127.0.0.1:7007/auth/callback".into()), ..config() }.secure());
        assert_eq!(config().signed_out_url().as_deref(), Some("https://portico.example.com/login?signedOut=1"));
    }

    #[test]
    fn the_payload_of_a_token_is_read_as_json() {
        use base64::Engine as _;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"ada","groups":["a"]}"#);
        assert_eq!(payload(&format!("h.{body}.s")), Some(serde_json::json!({"sub": "ada", "groups": ["a"]})));
        assert_eq!(payload("h.!!.s"), None);
        assert_eq!(payload("nodots"), None);
    }
}
