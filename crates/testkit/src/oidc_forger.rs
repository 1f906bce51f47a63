//! A provider that lies, for the sign-in's attack tests: it answers discovery, its JWKS, the
//! authorization redirect and the token endpoint as the OpenID Connect specifications describe,
//! on 127.0.0.1, but hands out the ID token a test asks it to forge (expired, issued in the
//! future, for another audience or issuer, unsigned, signed with a key it does not publish, with
//! another nonce). A real provider will not sign such tokens, hence this one. Its RSA keys are
//! made per run with `openssl genrsa`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::response::{IntoResponse, Redirect};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine as _;
use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{Audience, EmptyAdditionalClaims, EndUserEmail, IssuerUrl, JsonWebKeyId, Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier};
use serde_json::json;

/// What the next ID token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forgery {
    /// A good token: the control.
    Honest,
    /// `exp` an hour ago.
    Expired,
    /// `iat` an hour from now.
    IssuedInTheFuture,
    /// `aud` another client.
    WrongAudience,
    /// `iss` another provider.
    WrongIssuer,
    /// `alg: none`, no signature.
    Unsigned,
    /// Signed with a key the JWKS does not have.
    OtherKey,
    /// The nonce of another sign-in.
    WrongNonce,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    forgery: Arc<Mutex<Forgery>>,
    /// Nonces by code.
    nonces: Arc<Mutex<HashMap<String, String>>>,
    key: Arc<CoreRsaPrivateSigningKey>,
    other: Arc<CoreRsaPrivateSigningKey>,
}

/// The forging provider, running until dropped.
pub struct Forger {
    pub issuer: String,
    forgery: Arc<Mutex<Forgery>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Forger {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn rsa_key(kid: &str) -> CoreRsaPrivateSigningKey {
    let out = std::process::Command::new("openssl").args(["genrsa", "-traditional", "2048"]).output().expect("openssl genrsa");
    assert!(out.status.success(), "openssl genrsa: {}", String::from_utf8_lossy(&out.stderr));
    CoreRsaPrivateSigningKey::from_pem(&String::from_utf8(out.stdout).unwrap(), Some(JsonWebKeyId::new(kid.to_owned()))).unwrap()
}

impl Forger {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let forgery = Arc::new(Mutex::new(Forgery::Honest));
        let shared = Shared { issuer: issuer.clone(), forgery: forgery.clone(), nonces: Arc::default(), key: Arc::new(rsa_key("published")), other: Arc::new(rsa_key("unpublished")) };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/auth", get(authorize))
            .route("/token", post(token))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { issuer, forgery, task }
    }

    /// The next tokens are forged this way.
    pub fn forge(&self, forgery: Forgery) {
        *self.forgery.lock().unwrap() = forgery;
    }
}

async fn discovery(State(s): State<Shared>) -> impl IntoResponse {
    let i = &s.issuer;
    Json(json!({
        "issuer": i,
        "authorization_endpoint": format!("{i}/auth"),
        "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks(State(s): State<Shared>) -> impl IntoResponse {
    Json(CoreJsonWebKeySet::new(vec![s.key.as_verification_key()]))
}

/// Signs in whoever asks, at once: back to the client with a code, remembering the nonce.
async fn authorize(State(s): State<Shared>, Query(q): Query<HashMap<String, String>>) -> impl IntoResponse {
    let code = format!("code-{}", s.nonces.lock().unwrap().len());
    s.nonces.lock().unwrap().insert(code.clone(), q.get("nonce").cloned().unwrap_or_default());
    let mut back = reqwest::Url::parse(q.get("redirect_uri").map_or("", String::as_str)).unwrap();
    back.query_pairs_mut().append_pair("code", &code).append_pair("state", q.get("state").map_or("", String::as_str));
    Redirect::to(back.as_str())
}

async fn token(State(s): State<Shared>, body: String) -> impl IntoResponse {
    let form: HashMap<String, String> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let nonce = s.nonces.lock().unwrap().get(form.get("code").map_or("", String::as_str)).cloned().unwrap_or_default();
    let forgery = *s.forgery.lock().unwrap();
    let now = chrono::Utc::now();
    let hour = chrono::Duration::hours(1);
    let (mut exp, mut iat, mut aud, mut iss, mut nonce) = (now + hour, now, "portico".to_owned(), s.issuer.clone(), nonce);
    match forgery {
        Forgery::Expired => (exp, iat) = (now - hour, now - hour - hour),
        Forgery::IssuedInTheFuture => iat = now + hour,
        Forgery::WrongAudience => aud = "another-client".into(),
        Forgery::WrongIssuer => iss = "http://127.0.0.1:9/another-provider".into(),
        Forgery::WrongNonce => nonce = "the-nonce-of-another-sign-in".into(),
        Forgery::Honest | Forgery::Unsigned | Forgery::OtherKey => {}
    }
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(iss).unwrap(),
        vec![Audience::new(aud)],
        exp,
        iat,
        StandardClaims::new(SubjectIdentifier::new("ada".into())).set_email(Some(EndUserEmail::new("ada@example.com".into()))).set_email_verified(Some(true)),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let id_token = match forgery {
        Forgery::Unsigned => {
            let b64 = |v: serde_json::Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.", b64(json!({"alg": "none", "typ": "JWT"})), b64(serde_json::to_value(&claims).unwrap()))
        }
        Forgery::OtherKey => CoreIdToken::new(claims, s.other.as_ref(), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap().to_string(),
        _ => CoreIdToken::new(claims, s.key.as_ref(), CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, None, None).unwrap().to_string(),
    };
    Json(json!({"access_token": "at", "token_type": "Bearer", "expires_in": 3600, "id_token": id_token}))
}
