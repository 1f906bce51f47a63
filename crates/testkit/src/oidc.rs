//! A real OpenID Connect provider for sign-in tests: the npm package `oidc-provider` (installed in
//! `crates/testkit/oidc` by `npm ci`, which `.ci/run` does), started per test on a free port of
//! 127.0.0.1 by `node`. Its development login and consent pages are driven over HTTP as a
//! browser would: follow the redirects, fill the forms, keep the cookies. Skipped with a message
//! when node or the package is missing, unless `PORTICO_TEST_REQUIRE_OIDC=1` (CI).

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The client Portico is registered as, and its secret.
pub const CLIENT_ID: &str = "portico";
pub const CLIENT_SECRET: &str = "portico-test-secret-1234567890abcdef";

/// A running provider; stopped when dropped.
pub struct OidcProvider {
    pub issuer: String,
    child: Child,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the provider is set up with.
pub struct ProviderOptions<'a> {
    /// Where it may send people back (Portico's `/auth/callback`).
    pub redirect_uris: Vec<String>,
    /// Where it may send people after signing out.
    pub post_logout_uris: Vec<String>,
    /// Accounts' claims by login: `{"ada": {"email": "ada@example.com", "name": "Ada"}}`.
    pub accounts: serde_json::Value,
    /// Lifetime of access tokens (the sessions' refresh is due when they expire).
    pub access_token_ttl_seconds: u64,
    pub client_secret: &'a str,
}

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

impl OidcProvider {
    /// Starts the provider, or says why the test is skipped.
    pub fn start(options: ProviderOptions<'_>) -> Option<Self> {
        let installed = dir().join("node_modules/oidc-provider/package.json").is_file();
        let node = Command::new("node").arg("--version").output().is_ok_and(|o| o.status.success());
        if !installed || !node {
            let why = if node { "oidc-provider is not installed (npm ci --prefix crates/testkit/oidc)" } else { "node is not installed" };
            if std::env::var("PORTICO_TEST_REQUIRE_OIDC").as_deref() == Ok("1") {
                panic!("{why} and PORTICO_TEST_REQUIRE_OIDC=1");
            }
            eprintln!("skipping: {why}; set PORTICO_TEST_REQUIRE_OIDC=1 to fail instead");
            return None;
        }
        let mut child = Command::new("node")
            .arg(dir().join("provider.mjs"))
            .env("REDIRECT_URIS", options.redirect_uris.join(","))
            .env("POST_LOGOUT_URIS", options.post_logout_uris.join(","))
            .env("ACCOUNTS", options.accounts.to_string())
            .env("ACCESS_TOKEN_TTL", options.access_token_ttl_seconds.to_string())
            .env("CLIENT_SECRET", options.client_secret)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start node");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(issuer) = line.strip_prefix("listening ") {
                    let _ = tx.send(issuer.to_owned());
                }
            }
        });
        let issuer = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("the OpenID provider did not start within 30 s"));
        Some(Self { issuer, child })
    }
}

/// A browser: a client that keeps cookies and does not follow redirects by itself.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// How a sign-in through the provider ended at Portico's callback.
pub struct Landing {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

impl Landing {
    /// The `Set-Cookie` header that sets cookie `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).find(|c| c.starts_with(&format!("{name}="))).map(str::to_owned)
    }

    pub fn location(&self) -> Option<&str> {
        self.headers.get("location").and_then(|v| v.to_str().ok())
    }
}

fn absolute(base: &str, location: &str) -> String {
    reqwest::Url::parse(base).unwrap().join(location).unwrap().to_string()
}

/// Signs in as `login` in `browser`, from `start` (Portico's `/auth/sign-in?…` or any page that
/// sends there): follows the redirects, fills the provider's login and consent forms, and stops
/// at the answer of the first address under `portal` + `/auth/callback`.
pub async fn sign_in(browser: &reqwest::Client, portal: &str, start: &str, login: &str) -> Landing {
    let callback = format!("{portal}/auth/callback");
    let mut url = start.to_owned();
    let mut form: Option<Vec<(&str, String)>> = None;
    for _ in 0..20 {
        let request = match form.take() {
            Some(fields) => {
                let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(fields).finish();
                browser.post(&url).header("content-type", "application/x-www-form-urlencoded").body(body)
            }
            None => browser.get(&url),
        };
        let response = request.send().await.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        if url.starts_with(&callback) {
            return Landing { status, headers, body };
        }
        if (300..400).contains(&status) {
            let location = headers.get("location").and_then(|v| v.to_str().ok()).unwrap_or_else(|| panic!("{status} without Location from {url}"));
            url = absolute(&url, location);
            continue;
        }
        assert_eq!(status, 200, "{url} answered {status}: {body}");
        let action = form_action(&body).unwrap_or_else(|| panic!("no form on {url}: {body}"));
        let prompt = if body.contains(r#"name="prompt" value="login""#) { "login" } else { "consent" };
        form = Some(match prompt {
            "login" => vec![("prompt", "login".to_owned()), ("login", login.to_owned()), ("password", "any".to_owned())],
            _ => vec![("prompt", "consent".to_owned())],
        });
        url = absolute(&url, &action);
    }
    panic!("the sign-in did not reach {callback} within 20 steps");
}

/// The `action` of the page's form.
fn form_action(html: &str) -> Option<String> {
    let start = html.find("action=\"")? + "action=\"".len();
    let end = html[start..].find('"')?;
    Some(html[start..start + end].replace("&amp;", "&"))
}

/// A session for `subject` started directly in `state`'s store, as a sign-in would start it
/// (claims `{"name": name}`): the session and its cookie's secret. For tests about what a
/// signed-in person sees, without a provider.
pub async fn session_for(state: &portico_server::AppState, subject: &str, name: &str) -> (portico_store::Session, String) {
    let signed_in = portico_server::auth::oidc::SignedIn { claims: serde_json::json!({"name": name}), id_token: None, refresh_token: None, expires_at: None };
    let origin = portico_server::auth::session::Origin { address: None, user_agent: None };
    portico_server::auth::session::start(state, subject, &signed_in, origin).await.expect("a session is stored")
}
