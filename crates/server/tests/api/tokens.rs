//! API tokens: created with a secret shown once, used as `Authorization: Bearer`, held to their
//! scopes, refused once revoked or expired, and the bootstrap token of the configuration.

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, error, json};

const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";

async fn spawn(db: TestDb) -> TestApp {
    let auth = AuthConfig { bootstrap_token: Some(BOOTSTRAP.into()), ..Default::default() };
    TestApp::spawn_setup(db, Setup { examples: true, auth, ..Setup::default() }).await
}

fn with(app: &TestApp, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.client.request(method, format!("{}{path}", app.url)).bearer_auth(token)
}

async fn create(app: &TestApp, token: &str, body: Value) -> reqwest::Response {
    with(app, reqwest::Method::POST, "/api/v1/tokens", token).json(&body).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_shown_once_used_within_its_scopes_and_refused_once_revoked() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let app = spawn(db).await;

        // The bootstrap admin makes a read-only service token for CI.
        let out = json(create(&app, BOOTSTRAP, json!({"name": "ci", "scopes": ["read"], "service": "ci", "expiresInDays": 30})).await, 201).await;
        let secret = out["secret"].as_str().unwrap().to_owned();
        let id = out["token"]["id"].as_str().unwrap().to_owned();
        assert!(secret.starts_with("pt_"), "{backend}: {out}");
        assert_eq!(out["token"]["owner"], "service:ci");
        assert_eq!(out["token"]["createdBy"], "bootstrap");
        assert!(out["token"]["expiresAt"].as_i64().unwrap() > portico_catalog::now_ms());

        // It reads, and says who it is.
        let me = json(with(&app, reqwest::Method::GET, "/api/v1/me", &secret).send().await.unwrap(), 200).await;
        assert_eq!((&me["subject"], &me["via"], &me["scopes"], &me["tokenId"]), (&json!("service:ci"), &json!("token"), &json!(["read"]), &json!(id)), "{backend}");
        assert_eq!(me["admin"], false, "{backend}");
        assert!(me["permissions"].as_array().unwrap().contains(&json!("catalog.entity.read")), "{backend}: {me}");
        assert!(!me["permissions"].as_array().unwrap().contains(&json!("catalog.location.create")), "{backend}: {me}");
        json(with(&app, reqwest::Method::GET, "/api/catalog/entities/by-name/component/default/artist-lookup", &secret).send().await.unwrap(), 200).await;
        let by_query = with(&app, reqwest::Method::POST, "/api/catalog/entities/by-query", &secret).json(&json!({"limit": 1})).send().await.unwrap();
        json(by_query, 200).await;

        // It may not write.
        let res = with(&app, reqwest::Method::POST, "/api/catalog/locations", &secret).json(&json!({"type": "url", "target": "https://example.com/x.yaml"})).send().await.unwrap();
        let message = error(res, 403, "NotAllowedError", "POST").await;
        assert_eq!(message, "catalog.location.create needs the write scope (or the catalog.location.create capability); this token's scopes are read", "{backend}");

        // Listing never shows a secret; its last use is recorded.
        let list = json(with(&app, reqwest::Method::GET, "/api/v1/tokens", BOOTSTRAP).send().await.unwrap(), 200).await;
        let listed = &list["items"][0];
        assert_eq!(listed["id"], id.as_str());
        assert!(listed["lastUsedAt"].is_i64(), "{listed}");
        assert!(!list.to_string().contains(&secret[3..]), "{backend}: no secret in the list");

        // Revoked: refused from the next request on, saying why.
        assert_eq!(with(&app, reqwest::Method::DELETE, &format!("/api/v1/tokens/{id}"), BOOTSTRAP).send().await.unwrap().status(), 204);
        let res = with(&app, reqwest::Method::GET, "/api/v1/me", &secret).send().await.unwrap();
        let message = error(res, 401, "AuthenticationError", "GET").await;
        assert!(message.starts_with("the token \"ci\" was revoked at "), "{backend}: {message}");
        let again = with(&app, reqwest::Method::DELETE, &format!("/api/v1/tokens/{id}"), BOOTSTRAP).send().await.unwrap();
        error(again, 409, "ConflictError", "DELETE").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_malformed_and_expired_tokens_are_refused() {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let app = spawn(db).await;

    let res = with(&app, reqwest::Method::GET, "/api/v1/me", "pt_not-a-token").send().await.unwrap();
    assert_eq!(error(res, 401, "AuthenticationError", "GET").await, "the token is not valid");
    // A bootstrap token off by one character is just another unknown token.
    let near = format!("{}X", &BOOTSTRAP[..BOOTSTRAP.len() - 1]);
    let res = with(&app, reqwest::Method::GET, "/api/v1/me", &near).send().await.unwrap();
    error(res, 401, "AuthenticationError", "GET").await;
    let res = app.client.get(format!("{}/api/v1/me", app.url)).header("authorization", "Basic dXNlcjpwdw==").send().await.unwrap();
    assert_eq!(error(res, 401, "AuthenticationError", "GET").await, "Authorization: expected `Bearer <token>`");

    // A token past its expiry (written straight to the store, as time passing would leave it).
    let secret = portico_server::auth::mint_secret();
    let expired = portico_store::ApiToken {
        id: "old".into(),
        name: "old-ci".into(),
        owner: "service:ci".into(),
        kind: "service".into(),
        scopes: vec!["read".into()],
        created_at: 1,
        created_by: "bootstrap".into(),
        expires_at: Some(2),
        last_used_at: None,
        revoked_at: None,
    };
    store.create_token(&expired, &portico_server::auth::hash_secret(&secret)).await.unwrap();
    let res = with(&app, reqwest::Method::GET, "/api/v1/me", &secret).send().await.unwrap();
    assert_eq!(error(res, 401, "AuthenticationError", "GET").await, "the token \"old-ci\" expired at 1970-01-01T00:00:00.002Z");

    // Without a token, the guest of `auth: none` (every scope).
    let me = json(app.get("/api/v1/me").await, 200).await;
    assert_eq!((&me["subject"], &me["via"], &me["scopes"], &me["admin"]), (&json!("guest"), &json!("guest"), &json!(["admin"]), &json!(true)));
    assert_eq!(me["permissions"].as_array().unwrap().len(), portico_auth::Permission::ALL.iter().filter(|p| p.resource().is_none()).count());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_tokens_checks_names_scopes_expiry_and_who_may_make_service_tokens() {
    let app = spawn(TestDb::sqlite().await).await;
    let cases = [
        (json!({"name": "", "scopes": ["read"]}), 400, "name: must be 1 to 100 characters"),
        (json!({"name": "x", "scopes": []}), 400, "scopes: at least one of read, write, admin"),
        (json!({"name": "x", "scopes": ["read", "root"]}), 400, "scopes[1]: \"root\" is neither a scope (read, write, admin) nor a permission (such as catalog.entity.refresh; see `portico policy check`)"),
        (json!({"name": "x", "scopes": ["read"], "expiresInDays": 0}), 400, "expiresInDays: must be at least 1"),
        (json!({"name": "x", "scopes": ["read"], "expiresInDays": 10000}), 400, "expiresInDays: at most 730"),
        (json!({"name": "x", "scopes": ["read"], "service": "not a name"}), 400, "service: \"not a name\" is not a valid name (letters, digits, `-`, `_`, `.`, up to 63)"),
    ];
    for (body, status, expected) in cases {
        let res = create(&app, BOOTSTRAP, body.clone()).await;
        let name = if status == 400 { "InputError" } else { "NotAllowedError" };
        assert_eq!(error(res, status, name, "POST").await, expected, "{body}");
    }
    let res = create(&app, BOOTSTRAP, json!({"name": "x", "scopes": ["read"], "owner": "user:ada"})).await;
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("unknown field `owner`"), "{message}");

    // A write token makes personal tokens up to its own scopes, and no service tokens.
    let writer = json(create(&app, BOOTSTRAP, json!({"name": "w", "scopes": ["write"], "service": "deployer"})).await, 201).await;
    let writer = writer["secret"].as_str().unwrap();
    let res = create(&app, writer, json!({"name": "mine", "scopes": ["admin"]})).await;
    assert_eq!(error(res, 403, "NotAllowedError", "POST").await, "scopes[0]: you cannot give a token admin, which you do not have");
    let res = create(&app, writer, json!({"name": "svc", "scopes": ["read"], "service": "other"})).await;
    assert_eq!(error(res, 403, "NotAllowedError", "POST").await, "service: token.admin needs the admin scope (or the token.admin capability); this token's scopes are write");
    let mine = json(create(&app, writer, json!({"name": "mine", "scopes": ["read"]})).await, 201).await;
    assert_eq!(mine["token"]["owner"], "service:deployer", "a token's own tokens belong to its owner");

    // It sees only its owner's tokens, and may not revoke others'.
    let list = json(with(&app, reqwest::Method::GET, "/api/v1/tokens", writer).send().await.unwrap(), 200).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 2, "{list}");
    let guest_token = json(app.post("/api/v1/tokens", &json!({"name": "g", "scopes": ["read"]})).await, 201).await;
    let theirs = guest_token["token"]["id"].as_str().unwrap();
    let res = with(&app, reqwest::Method::DELETE, &format!("/api/v1/tokens/{theirs}"), writer).send().await.unwrap();
    error(res, 404, "NotFoundError", "DELETE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_token_uses_are_limited_per_address_and_audited() {
    let app = spawn(TestDb::sqlite().await).await;
    for i in 0..portico_server::auth::limit::MAX_FAILURES {
        let res = with(&app, reqwest::Method::GET, "/api/v1/me", &format!("pt_guess-{i}")).send().await.unwrap();
        assert_eq!(res.status(), 401, "guess {i}");
    }
    // Past the limit, even the right token is refused from this address for a while.
    let res = with(&app, reqwest::Method::GET, "/api/v1/me", BOOTSTRAP).send().await.unwrap();
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let message = error(res, 429, "TooManyRequestsError", "GET").await;
    assert!(message.starts_with("too many failed attempts to authenticate from 127.0.0.1"), "{message}");
    // Without a credential, nothing is being guessed.
    assert_eq!(app.get("/api/v1/me").await.status(), 200);
    // Every failure is in the audit log, with the address it came from.
    let log = json(app.get("/api/v1/audit?action=token.use").await, 200).await;
    let items = log["items"].as_array().unwrap();
    assert_eq!(items.len(), portico_server::auth::limit::MAX_FAILURES as usize);
    assert_eq!(items[0]["actor"], "address:127.0.0.1");
    assert_eq!(items[0]["outcome"], "denied");
    assert_eq!(items[0]["detail"], "GET /api/v1/me: the token is not valid");
}

/// A token revoked elsewhere (another replica, `portico token revoke` on the database) is
/// refused within a second: tokens are read again from the database once a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_revoked_in_the_database_is_refused_within_a_second() {
    let db = TestDb::sqlite().await;
    let store = db.store.clone();
    let app = spawn(db).await;
    let out = json(create(&app, BOOTSTRAP, json!({"name": "ci", "scopes": ["read"]})).await, 201).await;
    let secret = out["secret"].as_str().unwrap().to_owned();
    let me = || with(&app, reqwest::Method::GET, "/api/v1/me", &secret).send();
    assert_eq!(me().await.unwrap().status(), 200);
    store.revoke_token(out["token"]["id"].as_str().unwrap(), portico_catalog::now_ms()).await.unwrap();
    tokio::time::sleep(portico_server::auth::recent::TTL + std::time::Duration::from_millis(50)).await;
    assert_eq!(me().await.unwrap().status(), 401);
}

/// A token for one job: a capability (one permission) besides its scopes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_capability_lets_a_token_do_one_thing_more_and_nothing_else() {
    let app = spawn(TestDb::sqlite().await).await;
    let out = json(create(&app, BOOTSTRAP, json!({"name": "refresher", "scopes": ["read", "catalog.entity.refresh"], "service": "refresher"})).await, 201).await;
    assert_eq!(out["token"]["scopes"], json!(["read", "catalog.entity.refresh"]));
    let secret = out["secret"].as_str().unwrap().to_owned();
    let me = json(with(&app, reqwest::Method::GET, "/api/v1/me", &secret).send().await.unwrap(), 200).await;
    assert_eq!(me["capabilities"], json!(["catalog.entity.refresh"]));

    let refresh = with(&app, reqwest::Method::POST, "/api/catalog/refresh", &secret).json(&json!({"entityRef": "component:default/artist-lookup"})).send().await.unwrap();
    assert_eq!(refresh.status(), 200);
    let locations = json(app.get("/api/catalog/locations").await, 200).await;
    let id = locations[0]["data"]["id"].as_str().unwrap();
    let res = with(&app, reqwest::Method::DELETE, &format!("/api/catalog/locations/{id}"), &secret).send().await.unwrap();
    let message = error(res, 403, "NotAllowedError", "DELETE").await;
    assert_eq!(message, "catalog.location.delete needs the write scope (or the catalog.location.delete capability); this token's scopes are read");

    // It cannot hand on what it does not have.
    let res = create(&app, &secret, json!({"name": "more", "scopes": ["catalog.location.delete"]})).await;
    let message = error(res, 403, "NotAllowedError", "POST").await;
    assert!(message.starts_with("token.create needs the write scope"), "{message}");
}
