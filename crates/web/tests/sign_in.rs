//! Sign-in with OpenID Connect against a real provider (`oidc-provider`, started by the tests on
//! 127.0.0.1, see `portico_testkit::oidc`): the whole authorization code flow as a browser goes
//! through it, the session cookie and its flags, who the session is in the catalog, sign-out at
//! the provider, the ways a sign-in must fail, and sessions that rotate, expire, refresh and end
//! on every replica within a second.

mod common;

use std::time::Duration;

use common::{WebApp, plain};
use portico_server::auth::oidc::OidcConfig;
use portico_server::auth::session::SessionConfig;
use portico_server::auth::{AuthConfig, AuthMode};
use portico_store::testing::TestDb;
use portico_testkit::oidc::{self, CLIENT_ID, CLIENT_SECRET, OidcProvider, ProviderOptions};
use serde_json::{Value, json};

const PEOPLE: &str = "\
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ada
spec:
  profile: {email: ada@example.com, displayName: Ada Lovelace}
  memberOf: [team-a]
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: twin-1
spec:
  profile: {email: twins@example.com}
  memberOf: []
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: twin-2
spec:
  profile: {email: twins@example.com}
  memberOf: []
";

/// A free port of 127.0.0.1 for the portal, held until the portal is about to bind it: the
/// provider must know its callback before it runs, and the provider's own port (any free one)
/// must not be this one. Released at once, the provider was given it now and then.
fn free_port() -> (u16, std::net::TcpListener) {
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    (held.local_addr().unwrap().port(), held)
}

struct Setup {
    app: WebApp,
    provider: OidcProvider,
}

fn accounts() -> Value {
    json!({
        "ada": {"email": "ada@example.com", "name": "Ada Lovelace"},
        "mallory": {"email": "ada@example.com", "email_verified": false},
        "twin": {"email": "twins@example.com"},
    })
}

/// A provider and a portal with `auth.mode: oidc` over `db`; `None` when the provider cannot
/// run here (the test is then skipped, said by the harness).
async fn setup_with(db: TestDb, access_ttl: u64, sessions: SessionConfig, client_secret: &str) -> Option<Setup> {
    setup_tuned(db, access_ttl, |auth| {
        auth.sessions = sessions;
        auth.oidc.as_mut().unwrap().client_secret = Some(client_secret.into());
    })
    .await
}

/// As [`setup_with`], with `tune` changing the portal's `auth:` before it starts.
async fn setup_tuned(db: TestDb, access_ttl: u64, tune: impl FnOnce(&mut AuthConfig)) -> Option<Setup> {
    let (port, held) = free_port();
    let portal = format!("http://127.0.0.1:{port}");
    let provider = OidcProvider::start(ProviderOptions {
        redirect_uris: vec![format!("{portal}/auth/callback")],
        post_logout_uris: vec![format!("{portal}/login?signedOut=1")],
        accounts: accounts(),
        access_token_ttl_seconds: access_ttl,
        client_secret: CLIENT_SECRET,
    })?;
    let mut auth = auth_for(&provider, &portal);
    tune(&mut auth);
    drop(held);
    let app = WebApp::spawn_with_auth(db, port, auth).await;
    app.import("people", PEOPLE).await;
    Some(Setup { app, provider })
}

/// `auth:` of a portal at `portal` signing in with `provider`.
fn auth_for(provider: &OidcProvider, portal: &str) -> AuthConfig {
    AuthConfig {
        mode: AuthMode::Oidc,
        oidc: Some(OidcConfig {
            issuer: provider.issuer.clone(),
            client_id: CLIENT_ID.into(),
            client_secret: Some(CLIENT_SECRET.into()),
            redirect_url: Some(format!("{portal}/auth/callback")),
            display_name: "Test ID".into(),
            ..OidcConfig::default()
        }),
        ..AuthConfig::default()
    }
}

async fn setup() -> Option<Setup> {
    setup_with(TestDb::sqlite().await, 3600, SessionConfig::default(), CLIENT_SECRET).await
}

async fn me(client: &reqwest::Client, url: &str) -> (u16, Value) {
    let res = client.get(format!("{url}/api/v1/me")).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// A request with only this session cookie (no jar): what another browser holding it would get.
async fn me_with_cookie(url: &str, cookie: &str) -> (u16, Value) {
    let res = reqwest::Client::new().get(format!("{url}/api/v1/me")).header("cookie", cookie).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

/// `portico_session=…` of a `Set-Cookie` header, as a `Cookie` header sends it.
fn pair(set_cookie: &str) -> String {
    set_cookie.split(';').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_person_signs_in_with_the_provider_as_their_catalog_user_and_signs_out() {
    let Some(Setup { app, provider }) = setup().await else { return };
    let url = &app.url;

    // Not signed in: pages go to sign in (and back), the API answers 401.
    let res = oidc::browser().get(format!("{url}/catalog?kind=component")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert_eq!(res.headers()["location"], "/auth/sign-in?returnTo=%2Fcatalog%3Fkind%3Dcomponent");
    let (status, body) = me(&reqwest::Client::new(), url).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("sign in first"), "{body}");
    let (status, html) = app.get("/login").await;
    assert_eq!(status, 200);
    assert!(plain(&html).contains("Sign in with Test ID"), "{html}");

    let browser = oidc::browser();
    let landing = oidc::sign_in(&browser, url, &format!("{url}/catalog?kind=component"), "ada").await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    assert_eq!(landing.location(), Some("/catalog?kind=component"), "back to the page asked for");
    let cookie = landing.set_cookie("portico_session").expect("a session cookie");
    assert!(cookie.contains("; HttpOnly") && cookie.contains("; SameSite=Lax") && cookie.contains("; Path=/"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain http on loopback: no Secure flag ({cookie})");
    assert!(cookie.contains("Max-Age=86400"), "the absolute lifetime: {cookie}");
    assert!(landing.set_cookie("portico_sign_in").is_some_and(|c| c.contains("Max-Age=0")), "the sign-in's own cookie is removed");

    // The session is Ada's catalog user, with her groups and the provider's claims.
    let (status, me_body) = me(&browser, url).await;
    assert_eq!(status, 200, "{me_body}");
    assert_eq!(me_body["subject"], "user:default/ada");
    assert_eq!(me_body["via"], "session");
    assert_eq!(me_body["user"]["inCatalog"], true);
    assert!(me_body["user"]["groups"].as_array().unwrap().contains(&json!("group:default/team-a")), "{me_body}");
    assert_eq!(me_body["admin"], false, "no admin group configured");
    let page = browser.get(format!("{url}/catalog?kind=component")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = plain(&page.text().await.unwrap());
    assert!(html.contains("Ada Lovelace") && html.contains("Sign out"), "the layout says who is signed in");

    // My team: what she and team-a own, without picking a team.
    let owned: Value = browser.get(format!("{url}/api/catalog/entities?filter=relations.ownedBy=group:default/team-a&fields=kind")).send().await.unwrap().json().await.unwrap();
    let html = plain(&browser.get(format!("{url}/me")).send().await.unwrap().text().await.unwrap());
    assert!(html.contains("Signed in as <strong>user:default/ada</strong>"), "{html}");
    // Hers and her groups' (team-a and the groups above it): at least team-a's.
    let count = owned.as_array().unwrap().len();
    let shown: usize = html.split(" entities").next().and_then(|t| t.rsplit('>').next()).and_then(|n| n.trim().parse().ok()).unwrap_or(0);
    assert!(shown >= count && html.contains(r#"href="/catalog/default/component/artist-lookup""#), "{shown} < {count}: {html}");

    // Her sessions: this one, current.
    let sessions: Value = browser.get(format!("{url}/api/v1/sessions")).send().await.unwrap().json().await.unwrap();
    let items = sessions["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{sessions}");
    assert_eq!((items[0]["subject"].as_str(), items[0]["current"].as_bool()), (Some("user:default/ada"), Some(true)));
    assert!(items[0].get("refreshToken").is_none() && items[0].get("claims").is_none(), "secrets stay in the store: {sessions}");

    // The audit log has the sign-in.
    let audit = app.state.catalog.store().list_audit(&portico_store::AuditFilter { action: Some("sign-in".into()), limit: 10, ..Default::default() }).await.unwrap();
    assert_eq!(audit.iter().map(|e| (e.actor.as_str(), e.outcome.as_str())).collect::<Vec<_>>(), [("user:default/ada", "allowed")]);
    assert!(audit[0].detail.as_deref().unwrap_or_default().contains("from 127.0.0.1"), "where from: {:?}", audit[0].detail);

    // Sign-out: the session ends here, and the browser goes to the provider's end-session page
    // with the ID token as a hint, to come back to the sign-in page.
    let res = browser.post(format!("{url}/logout")).send().await.unwrap();
    assert_eq!(res.status(), 303);
    let next = res.headers()["location"].to_str().unwrap().to_owned();
    assert!(next.starts_with(&format!("{}/session/end", provider.issuer)), "{next}");
    assert!(next.contains("id_token_hint=") && next.contains("post_logout_redirect_uri=") && next.contains("client_id=portico"), "{next}");
    let cleared = res.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).find(|c| c.starts_with("portico_session=")).unwrap();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    let (status, _) = me_with_cookie(url, &pair(&cookie)).await;
    assert_eq!(status, 401, "the old cookie signs nobody in once signed out");
    let (status, html) = app.get("/login?signedOut=1").await;
    assert_eq!(status, 200);
    assert!(html.contains("You are signed out"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_that_prove_nothing_or_match_no_single_user_are_refused() {
    let Some(Setup { app, provider: _provider }) = setup().await else { return };
    let url = &app.url;
    let start = format!("{url}/auth/sign-in?returnTo=/");

    // Someone the provider knows, but no User of the catalog has their email.
    let landing = oidc::sign_in(&oidc::browser(), url, &start, "eve").await;
    assert_eq!(landing.status, 403, "{}", landing.body);
    assert!(plain(&landing.body).contains("no User in the catalog has spec.profile.email eve@example.com"), "{}", landing.body);
    assert!(landing.set_cookie("portico_session").is_none());
    // An email the provider has not verified does not make anyone Ada.
    let landing = oidc::sign_in(&oidc::browser(), url, &start, "mallory").await;
    assert_eq!(landing.status, 403);
    assert!(plain(&landing.body).contains("is not verified"), "{}", landing.body);
    // Two Users with one email: which one is not guessed.
    let landing = oidc::sign_in(&oidc::browser(), url, &start, "twin").await;
    assert_eq!(landing.status, 403);
    assert!(plain(&landing.body).contains("2 Users have spec.profile.email twins@example.com"), "{}", landing.body);

    // A callback this browser did not start (no sign-in cookie): login CSRF, refused.
    let browser = oidc::browser();
    let first = browser.get(&start).send().await.unwrap();
    let provider_url = first.headers()["location"].to_str().unwrap().to_owned();
    let state = reqwest::Url::parse(&provider_url).unwrap().query_pairs().find(|(k, _)| k == "state").unwrap().1.into_owned();
    let stranger = reqwest::Client::new().get(format!("{url}/auth/callback?code=x&state={state}")).send().await.unwrap();
    assert_eq!(stranger.status(), 400);
    assert!(plain(&stranger.text().await.unwrap()).contains("not started by this browser"));

    // The same callback twice: a code and state are used once.
    let browser = oidc::browser();
    let landing = oidc::sign_in(&browser, url, &start, "ada").await;
    assert_eq!(landing.status, 303);
    let callback = landing_url(&browser, url, &start).await;
    let again = browser.get(&callback).send().await.unwrap();
    assert_eq!(again.status(), 303, "the second sign-in goes through");
    let replay = browser.get(&callback).send().await.unwrap();
    assert_eq!(replay.status(), 400, "a replayed callback is refused");

    // The provider says no (the person cancelled).
    let denied = reqwest::Client::new().get(format!("{url}/auth/callback?error=access_denied&error_description=End-User+aborted+interaction")).send().await.unwrap();
    assert_eq!(denied.status(), 401);
    assert!(plain(&denied.text().await.unwrap()).contains("did not sign you in (access_denied: End-User aborted interaction)"));

    // Every failure is in the audit log, under the address it came from.
    let audit = app.state.catalog.store().list_audit(&portico_store::AuditFilter { action: Some("sign-in".into()), outcome: Some("denied".into()), limit: 50, ..Default::default() }).await.unwrap();
    assert!(audit.len() >= 6, "{audit:?}");
    assert!(audit.iter().any(|e| e.actor == "address:127.0.0.1"), "{audit:?}");

    // Made-up callbacks (no sign-in started) do not count towards the address's limit, or
    // anyone could lock everyone behind one proxy out; sign-ins that then fail do.
    for _ in 0..20 {
        reqwest::Client::new().get(format!("{url}/auth/callback?code=x&state=y")).send().await.unwrap();
    }
    assert_eq!(oidc::browser().get(&start).send().await.unwrap().status(), 303, "not limited by made-up callbacks");
    // Three failed sign-ins above, seven more: the tenth within a minute closes the door.
    for _ in 0..7 {
        oidc::sign_in(&oidc::browser(), url, &start, "eve").await;
    }
    let limited = reqwest::Client::new().get(&start).send().await.unwrap();
    assert_eq!(limited.status(), 429);
    assert!(limited.headers().contains_key("retry-after"));
}

/// Starts a sign-in in `browser` and walks it to the callback without calling it: its address.
async fn landing_url(browser: &reqwest::Client, url: &str, start: &str) -> String {
    let mut next = start.to_owned();
    for _ in 0..20 {
        let res = browser.get(&next).send().await.unwrap();
        let location = res.headers()["location"].to_str().unwrap().to_owned();
        let resolved = reqwest::Url::parse(&next).unwrap().join(&location).unwrap().to_string();
        if resolved.starts_with(&format!("{url}/auth/callback")) {
            return resolved;
        }
        next = resolved;
    }
    panic!("no callback: the provider asked again instead of remembering the sign-in");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_the_provider_does_not_know_fails_the_sign_in_with_its_reason() {
    let Some(Setup { app, provider: _provider }) = setup_with(TestDb::sqlite().await, 3600, SessionConfig::default(), "a-wrong-secret").await else { return };
    let landing = oidc::sign_in(&oidc::browser(), &app.url, &format!("{}/auth/sign-in", app.url), "ada").await;
    assert_eq!(landing.status, 401, "{}", landing.body);
    assert!(plain(&landing.body).contains("the identity provider refused: invalid_client"), "{}", landing.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_sign_in_starts_a_new_session_and_an_ended_one_ends_on_every_replica_within_a_second() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let store = db.store.clone();
        let Some(Setup { app, provider }) = setup_with(db, 3600, SessionConfig::default(), CLIENT_SECRET).await else { return };
        let url = &app.url;
        let browser = oidc::browser();
        let start = format!("{url}/auth/sign-in");
        let first = pair(&oidc::sign_in(&browser, url, &start, "ada").await.set_cookie("portico_session").unwrap());
        // Signing in again in the same browser: a new session; the old cookie is worth nothing.
        let second = pair(&oidc::sign_in(&browser, url, &start, "ada").await.set_cookie("portico_session").unwrap());
        assert_ne!(first, second, "{backend}");
        assert_eq!(me_with_cookie(url, &first).await.0, 401, "{backend}: the session before a sign-in ends with it");
        assert_eq!(me_with_cookie(url, &second).await.0, 200, "{backend}");

        // Another replica over the same database knows the session.
        let replica = replica(store.clone(), &provider, url).await;
        assert_eq!(me_with_cookie(&replica, &second).await.0, 200, "{backend}: sessions are in the store, shared");

        // Ended through the API on the first: refused on the other within a second.
        let sessions: Value = browser.get(format!("{url}/api/v1/sessions")).send().await.unwrap().json().await.unwrap();
        let id = sessions["items"][0]["id"].as_str().unwrap().to_owned();
        let ended = browser.delete(format!("{url}/api/v1/sessions/{id}")).send().await.unwrap();
        assert_eq!(ended.status(), 204, "{backend}");
        assert_eq!(me_with_cookie(url, &second).await.0, 401, "{backend}: at once where it was ended");
        tokio::time::sleep(portico_server::auth::recent::TTL + Duration::from_millis(100)).await;
        let (status, body) = me_with_cookie(&replica, &second).await;
        assert_eq!(status, 401, "{backend}: within a second on the other replica: {body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("was ended at"), "{body}");
    }
}

/// A second portal over `store` (a replica), with the same `auth:`; its URL.
async fn replica(store: std::sync::Arc<dyn portico_store::Store>, provider: &OidcProvider, portal: &str) -> String {
    let catalog = portico_catalog::Catalog::open(store, portico_catalog::CatalogOptions::default()).await.unwrap();
    let locations = portico_catalog::LocationService::new(catalog.clone(), portico_catalog::Reader::new(portico_catalog::ReaderConfig::default()));
    let auth = auth_for(provider, portal);
    let state = portico_server::AppState::new(catalog, locations).with_auth(auth.authorizer().unwrap());
    let app = portico_server::Application::build_with(state.clone(), "127.0.0.1:0".parse().unwrap(), portico_web::router(state)).await.unwrap();
    let url = app.url();
    tokio::spawn(app.run_until(std::future::pending()));
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_ends_when_idle_and_at_its_absolute_end() {
    let idle = SessionConfig { idle_timeout_seconds: 1, max_age_seconds: 60 };
    let Some(Setup { app, provider: _p }) = setup_with(TestDb::sqlite().await, 3600, idle, CLIENT_SECRET).await else { return };
    let cookie = pair(&oidc::sign_in(&oidc::browser(), &app.url, &format!("{}/auth/sign-in", app.url), "ada").await.set_cookie("portico_session").unwrap());
    assert_eq!(me_with_cookie(&app.url, &cookie).await.0, 200);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = me_with_cookie(&app.url, &cookie).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("without use"), "{body}");
    // A page with the dead cookie goes to sign in, and the cookie is removed.
    let res = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap().get(format!("{}/catalog", app.url)).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(res.status(), 303);
    assert!(res.headers().get_all("set-cookie").iter().any(|c| c.to_str().unwrap().starts_with("portico_session=;")), "{:?}", res.headers());

    // A busy session with a short idle time goes on: its activity is written often enough.
    let busy = SessionConfig { idle_timeout_seconds: 2, max_age_seconds: 60 };
    let Some(Setup { app, provider: _p }) = setup_with(TestDb::sqlite().await, 3600, busy, CLIENT_SECRET).await else { return };
    let cookie = pair(&oidc::sign_in(&oidc::browser(), &app.url, &format!("{}/auth/sign-in", app.url), "ada").await.set_cookie("portico_session").unwrap());
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(me_with_cookie(&app.url, &cookie).await.0, 200, "used every 0.7 s, idle after 2 s: still open");
    }

    let short = SessionConfig { idle_timeout_seconds: 1, max_age_seconds: 1 };
    let Some(Setup { app, provider: _p }) = setup_with(TestDb::sqlite().await, 3600, short, CLIENT_SECRET).await else { return };
    let cookie = pair(&oidc::sign_in(&oidc::browser(), &app.url, &format!("{}/auth/sign-in", app.url), "ada").await.set_cookie("portico_session").unwrap());
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let (status, body) = me_with_cookie(&app.url, &cookie).await;
    assert_eq!(status, 401);
    assert!(body["error"]["message"].as_str().unwrap().contains("reached its end"), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_due_refresh_asks_the_provider_and_its_refusal_ends_the_session() {
    // Access tokens of one second: a refresh is due at the first request after it.
    let Some(Setup { app, provider }) = setup_with(TestDb::sqlite().await, 1, SessionConfig::default(), CLIENT_SECRET).await else { return };
    let browser = oidc::browser();
    let cookie = pair(&oidc::sign_in(&browser, &app.url, &format!("{}/auth/sign-in", app.url), "ada").await.set_cookie("portico_session").unwrap());
    let store = app.state.catalog.store();
    let session = store.list_sessions(None, portico_catalog::now_ms(), 0).await.unwrap().remove(0);
    let (first_refresh_token, first_due) = (session.refresh_token.clone().expect("a refresh token"), session.refresh_at.expect("a refresh is planned"));

    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(me_with_cookie(&app.url, &cookie).await.0, 200, "refreshed, still signed in");
    let refreshed = store.get_session(&session.id).await.unwrap().unwrap();
    assert!(refreshed.refresh_at.unwrap() > first_due, "the next refresh is planned later");
    assert_ne!(refreshed.id_token, session.id_token, "a new ID token came with the refresh");
    assert!(refreshed.refresh_token.is_some(), "a refresh token kept (this provider does not rotate them for confidential clients): {first_refresh_token}");
    assert!(refreshed.claims.contains("ada@example.com"), "claims current: {}", refreshed.claims);

    // The provider forgets the grant (an admin signs Ada out there): the next refresh is refused.
    let revoke = reqwest::Client::new()
        .post(format!("{}/token/revocation", provider.issuer))
        .basic_auth(CLIENT_ID, Some(CLIENT_SECRET))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("token={}&token_type_hint=refresh_token", refreshed.refresh_token.unwrap()))
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), 200);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let (status, body) = me_with_cookie(&app.url, &cookie).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("no longer keeps you signed in"), "{body}");
    assert!(store.get_session(&session.id).await.unwrap().unwrap().revoked_at.is_some(), "the session is ended in the store");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_read_the_claims_of_the_person_signed_in() {
    // Reading the audit log is for people whose provider calls them Ada; the rest as by default.
    let policy: portico_auth::PolicyConfig = serde_json::from_value(json!({
        "combine": "firstMatch",
        "rules": [
            {"name": "ada-audits", "effect": "allow", "permissions": ["audit.read"], "when": "user.claims.name == 'Ada Lovelace' && user.claims.email_verified"},
            {"name": "readers", "effect": "allow", "permissions": ["catalog.entity.read"], "when": "user.signedIn"},
        ]
    }))
    .unwrap();
    let Some(Setup { app, provider: _p }) = setup_tuned(TestDb::sqlite().await, 3600, |auth| auth.policy = policy).await else { return };
    let ada = oidc::browser();
    oidc::sign_in(&ada, &app.url, &format!("{}/auth/sign-in", app.url), "ada").await;
    // Bob has a User entity too (from the example catalog's people), but not Ada's name.
    app.import("bob", "apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: bob}\nspec: {profile: {email: bob@example.com}, memberOf: []}\n").await;
    let bob = oidc::browser();
    oidc::sign_in(&bob, &app.url, &format!("{}/auth/sign-in", app.url), "bob").await;
    assert_eq!(me(&bob, &app.url).await.1["subject"], "user:default/bob");

    assert_eq!(ada.get(format!("{}/api/v1/audit", app.url)).send().await.unwrap().status(), 200, "the rule read Ada's claims");
    let refused = bob.get(format!("{}/api/v1/audit", app.url)).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("user:default/bob may not audit.read"), "{body}");
    assert_eq!(bob.get(format!("{}/api/catalog/entities", app.url)).send().await.unwrap().status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_id_tokens_are_refused_each_with_its_reason() {
    // A provider that forges what it is told (a real one would not sign these).
    let forger = portico_testkit::oidc_forger::Forger::start().await;
    let (port, held) = free_port();
    let portal = format!("http://127.0.0.1:{port}");
    let mut auth = AuthConfig {
        mode: AuthMode::Oidc,
        oidc: Some(OidcConfig { issuer: forger.issuer.clone(), client_id: "portico".into(), client_secret: Some("s".into()), redirect_url: Some(format!("{portal}/auth/callback")), ..OidcConfig::default() }),
        ..AuthConfig::default()
    };
    auth.sessions = SessionConfig::default();
    let db = TestDb::sqlite().await;
    drop(held);
    let app = WebApp::spawn_with_auth(db, port, auth).await;
    app.import("people", PEOPLE).await;
    use portico_testkit::oidc_forger::Forgery::*;
    for (forgery, reason) in [
        (Expired, "expired"),
        (IssuedInTheFuture, "issued in the future"),
        (WrongAudience, "audience"),
        (WrongIssuer, "issuer"),
        (Unsigned, "signature"),
        (OtherKey, "signature"),
        (WrongNonce, "nonce"),
    ] {
        forger.forge(forgery);
        let landing = oidc::sign_in(&oidc::browser(), &portal, &format!("{portal}/auth/sign-in"), "ada").await;
        let body = plain(&landing.body);
        assert_eq!(landing.status, 401, "{forgery:?}: {body}");
        let message = body.split("class=\"message\">").nth(1).and_then(|m| m.split('<').next()).unwrap_or_default().to_owned();
        assert!(message.starts_with("the sign-in could not be verified") && message.to_lowercase().contains(reason), "{forgery:?}: {message}");
        assert!(landing.set_cookie("portico_session").is_none(), "{forgery:?}: no session");
    }
    // The control: the same provider's honest token signs Ada in.
    forger.forge(Honest);
    let landing = oidc::sign_in(&oidc::browser(), &portal, &format!("{portal}/auth/sign-in"), "ada").await;
    assert_eq!(landing.status, 303, "{}", landing.body);
    assert!(landing.set_cookie("portico_session").is_some());

    // A session cookie made up, or tampered with by one character, signs nobody in.
    let good = pair(&landing.set_cookie("portico_session").unwrap());
    let mut tampered = good.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'a' { 'b' } else { 'a' });
    for cookie in [tampered.as_str(), "portico_session=ps_made-up", "portico_session="] {
        let (status, body) = me_with_cookie(&portal, cookie).await;
        assert_eq!(status, 401, "{cookie}: {body}");
    }
    assert_eq!(me_with_cookie(&portal, &good).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_mode_token_a_session_cookie_counts_for_nothing_and_a_read_token_ends_no_session() {
    let auth = AuthConfig { mode: AuthMode::Token, bootstrap_token: Some("bootstrap-token-for-tests-0123456789abcdef".into()), ..AuthConfig::default() };
    let app = WebApp::spawn_with_auth(TestDb::sqlite().await, 0, auth).await;
    let (session, secret) = portico_testkit::oidc::session_for(&app.state, "user:default/breanna.davison", "Breanna").await;
    let (status, _) = me_with_cookie(&app.url, &format!("portico_session={secret}")).await;
    assert_eq!(status, 401, "a cookie from an earlier oidc configuration signs nobody in");

    // A read-only token of Breanna's lists her sessions but may not end one.
    let client = reqwest::Client::new();
    let made: Value = client
        .post(format!("{}/api/v1/tokens", app.url))
        .bearer_auth("bootstrap-token-for-tests-0123456789abcdef")
        .json(&json!({"name": "reader", "scopes": ["read"], "user": "user:default/breanna.davison"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reader = made["secret"].as_str().unwrap();
    let ended = client.delete(format!("{}/api/v1/sessions/{}", app.url, session.id)).bearer_auth(reader).send().await.unwrap();
    assert_eq!(ended.status(), 403);
    assert!(app.state.catalog.store().get_session(&session.id).await.unwrap().unwrap().revoked_at.is_none());
}

/// Each sign-in started keeps a row until its callback or expiry: an address that starts more
/// than a person would is refused for a while (429 with when to try again), others are not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starting_sign_ins_over_and_over_is_refused_for_a_while() {
    let Some(Setup { app, provider: _provider }) = setup().await else { return };
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let limit = portico_server::auth::limit::MAX_SIGN_INS as usize;
    for i in 0..limit {
        let res = client.get(format!("{}/auth/sign-in", app.url)).send().await.unwrap();
        assert_eq!(res.status(), 303, "sign-in {i} goes to the provider");
    }
    let res = client.get(format!("{}/auth/sign-in", app.url)).send().await.unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    assert!(plain(&res.text().await.unwrap()).contains("too many sign-ins started from 127.0.0.1"));
    // Pages that need no sign-in still answer.
    assert_eq!(client.get(format!("{}/login", app.url)).send().await.unwrap().status(), 200);
}
