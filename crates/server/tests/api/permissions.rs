//! Permissions and the audit log, over Backstage's example organisation: Breanna is in team-a
//! (a child of backstage, a child of infrastructure), which owns artist-lookup; team-b owns
//! podcast-api; team-b's members are the admins.

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, error, json};

const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";
const BREANNA: &str = "user:default/breanna.davison";
const AMELIA: &str = "user:default/amelia.park";

async fn spawn(db: TestDb, policy: Option<Value>) -> TestApp {
    let mut auth = AuthConfig { bootstrap_token: Some(BOOTSTRAP.into()), admin_groups: vec!["group:default/team-b".into()], ..Default::default() };
    if let Some(p) = policy {
        auth.policy = serde_json::from_value(p).unwrap();
    }
    TestApp::spawn_setup(db, Setup { examples: true, auth, ..Setup::default() }).await
}

fn with(app: &TestApp, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.client.request(method, format!("{}{path}", app.url)).bearer_auth(token)
}

/// A write token of `user`, made by the bootstrap admin.
async fn token_of(app: &TestApp, user: &str) -> String {
    let body = json!({"name": "t", "scopes": ["write"], "user": user});
    let out = json(with(app, reqwest::Method::POST, "/api/v1/tokens", BOOTSTRAP).json(&body).send().await.unwrap(), 201).await;
    assert_eq!(out["token"]["owner"], user);
    out["secret"].as_str().unwrap().to_owned()
}

async fn refresh(app: &TestApp, token: &str, entity: &str) -> reqwest::Response {
    with(app, reqwest::Method::POST, "/api/catalog/refresh", token).json(&json!({"entityRef": entity})).send().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn owners_edit_what_their_groups_own_admins_do_the_rest_and_the_audit_log_says_who() {
    for db in TestDb::all().await {
        let b = db.backend();
        let app = spawn(db, None).await;
        let breanna = token_of(&app, BREANNA).await;
        let amelia = token_of(&app, AMELIA).await;

        // Who she is, from the catalog: her groups, inherited ones included.
        let me = json(with(&app, reqwest::Method::GET, "/api/v1/me", &breanna).send().await.unwrap(), 200).await;
        assert_eq!(me["user"]["ref"], BREANNA, "{b}");
        assert_eq!(me["user"]["groups"], json!(["group:default/acme-corp", "group:default/backstage", "group:default/infrastructure", "group:default/team-a"]), "{b}");
        assert_eq!(me["admin"], false, "{b}");
        assert!(me["permissions"].as_array().unwrap().contains(&json!("query.saved.create")), "{b}: {me}");
        assert!(!me["permissions"].as_array().unwrap().contains(&json!("catalog.location.create")), "{b}: registering locations is the admins' by default: {me}");
        assert!(!me["permissions"].as_array().unwrap().contains(&json!("audit.read")), "{b}: {me}");
        let me = json(with(&app, reqwest::Method::GET, "/api/v1/me", &amelia).send().await.unwrap(), 200).await;
        assert_eq!(me["admin"], true, "{b}: team-b is the admin group");

        // She refreshes her team's component, not another team's.
        assert_eq!(refresh(&app, &breanna, "component:default/artist-lookup").await.status(), 200, "{b}");
        let message = error(refresh(&app, &breanna, "component:default/podcast-api").await, 403, "NotAllowedError", "POST").await;
        assert_eq!(message, format!("{BREANNA} may not catalog.entity.refresh: no rule of the policy allows it"), "{b}");
        assert_eq!(refresh(&app, &amelia, "component:default/artist-lookup").await.status(), 200, "{b}: an admin may");

        // Unregistering a location, reading the audit log: admins only.
        let locations = json(app.get("/api/catalog/locations").await, 200).await;
        let id = locations[0]["data"]["id"].as_str().unwrap().to_owned();
        let res = with(&app, reqwest::Method::DELETE, &format!("/api/catalog/locations/{id}"), &breanna).send().await.unwrap();
        error(res, 403, "NotAllowedError", "DELETE").await;
        let res = with(&app, reqwest::Method::GET, "/api/v1/audit", &breanna).send().await.unwrap();
        error(res, 403, "NotAllowedError", "GET").await;

        // Saving a query is for everyone signed in; changing one is the admins'.
        let query = json!({"title": "Mine", "owner": "team-a", "query": {"expression": "kind == 'Component'"}});
        let res = with(&app, reqwest::Method::PUT, "/api/v1/queries/mine", &breanna).json(&query).send().await.unwrap();
        assert!(res.status().is_success(), "{b}: {}", res.status());
        let res = with(&app, reqwest::Method::PUT, "/api/v1/queries/mine", &breanna).json(&query).send().await.unwrap();
        let message = error(res, 403, "NotAllowedError", "PUT").await;
        assert!(message.contains("query.saved.update"), "{b}: {message}");

        // The audit log: every change and every refusal, newest first, with who and why.
        let log = json(with(&app, reqwest::Method::GET, "/api/v1/audit?actor=user:default/breanna.davison", &amelia).send().await.unwrap(), 200).await;
        let rows: Vec<(String, String, String)> = log["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap().to_owned(), e["outcome"].as_str().unwrap().to_owned(), e["target"].as_str().unwrap_or("-").to_owned()))
            .collect();
        let row = |a: &str, o: &str, t: &str| (a.to_owned(), o.to_owned(), t.to_owned());
        assert_eq!(
            rows,
            [
                row("query.saved.update", "denied", "mine"),
                row("query.saved.create", "allowed", "mine"),
                row("audit.read", "denied", "-"),
                row("catalog.location.delete", "denied", &id),
                row("catalog.entity.refresh", "denied", "component:default/podcast-api"),
                row("catalog.entity.refresh", "allowed", "component:default/artist-lookup"),
            ],
            "{b}"
        );
        let first = &log["items"][5];
        assert_eq!(first["via"], "token", "{b}");
        assert_eq!(first["status"], 200, "{b}");
        assert!(first["requestId"].as_str().is_some_and(|r| !r.is_empty()), "{b}: {first}");
        assert_eq!(first["detail"], "POST /api/catalog/refresh: allowed by rule \"owners-edit\"", "{b}");

        // Filters, pages and CSV.
        let denied = json(with(&app, reqwest::Method::GET, "/api/v1/audit?outcome=denied&action=catalog.", &amelia).send().await.unwrap(), 200).await;
        assert_eq!(denied["items"].as_array().unwrap().len(), 2, "{b}: {denied}");
        let page = json(with(&app, reqwest::Method::GET, "/api/v1/audit?actor=user:default/breanna.davison&limit=4", &amelia).send().await.unwrap(), 200).await;
        let cursor = page["nextCursor"].as_str().unwrap().to_owned();
        let next = json(with(&app, reqwest::Method::GET, &format!("/api/v1/audit?actor=user:default/breanna.davison&limit=4&cursor={cursor}"), &amelia).send().await.unwrap(), 200).await;
        assert_eq!(next["items"].as_array().unwrap().len(), 2, "{b}");
        assert!(next["nextCursor"].is_null(), "{b}");
        let csv = with(&app, reqwest::Method::GET, "/api/v1/audit?format=csv&outcome=denied", &amelia).send().await.unwrap();
        assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
        let csv = csv.text().await.unwrap();
        assert!(csv.starts_with("id,at,actor,via,action,target,outcome,status,requestId,detail\n"), "{b}: {csv}");
        assert_eq!(csv.lines().count(), 5, "{b}: a header and four refusals\n{csv}");
        // The names: `entity` (a reference, any case) for an entity's target, `from`/`to`.
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let path = format!("/api/v1/audit?entity=Component:default/podcast-api&from=2000-01-01T00:00:00Z&to={now}");
        let about = json(with(&app, reqwest::Method::GET, &path, &amelia).send().await.unwrap(), 200).await;
        let targets: Vec<&str> = about["items"].as_array().unwrap().iter().map(|e| e["target"].as_str().unwrap()).collect();
        assert!(!targets.is_empty() && targets.iter().all(|t| *t == "component:default/podcast-api"), "{b}: {about}");
        let both = error(with(&app, reqwest::Method::GET, "/api/v1/audit?since=2000-01-01T00:00:00Z&from=2000-01-01T00:00:00Z", &amelia).send().await.unwrap(), 400, "InputError", "GET").await;
        assert_eq!(both, "since and from are the same filter; give one", "{b}");
        let bad = error(with(&app, reqwest::Method::GET, "/api/v1/audit?entity=not%20a%20ref", &amelia).send().await.unwrap(), 400, "InputError", "GET").await;
        assert!(bad.starts_with("entity: "), "{b}: {bad}");

        // An owner may delete what her team owns.
        let uid = json(app.get("/api/catalog/entities/by-name/component/default/artist-lookup").await, 200).await["metadata"]["uid"].as_str().unwrap().to_owned();
        let res = with(&app, reqwest::Method::DELETE, &format!("/api/catalog/entities/by-uid/{uid}"), &breanna).send().await.unwrap();
        assert_eq!(res.status(), 204, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configured_policy_decides_with_the_entity_and_its_rule_is_named() {
    let policy = json!({
        "combine": "denyOverrides",
        "rules": [
            {"name": "frozen-production", "effect": "deny", "permissions": ["catalog.entity.*"],
             "when": "permission.scope != 'read' && entity != null && entity.spec.lifecycle == 'production'"},
            {"name": "team-a-maintains", "effect": "allow", "permissions": ["catalog.*", "token.*"],
             "when": "'group:default/team-a' in user.groups"},
        ]
    });
    let app = spawn(TestDb::sqlite().await, Some(policy)).await;
    let breanna = token_of(&app, BREANNA).await;
    assert_eq!(refresh(&app, &breanna, "component:default/podcast-api").await.status(), 200, "any entity: team-a maintains");
    let message = error(refresh(&app, &breanna, "component:default/wayback-search").await, 403, "NotAllowedError", "POST").await;
    assert_eq!(message, format!("{BREANNA} may not catalog.entity.refresh: denied by rule \"frozen-production\""));
    let res = with(&app, reqwest::Method::POST, "/api/v1/query", &breanna).json(&json!({"expression": "true", "limit": 1})).send().await.unwrap();
    error(res, 403, "NotAllowedError", "POST").await;
    let amelia = token_of(&app, AMELIA).await;
    let res = with(&app, reqwest::Method::GET, "/api/catalog/entities?limit=1", &amelia).send().await.unwrap();
    let message = error(res, 403, "NotAllowedError", "GET").await;
    assert_eq!(message, format!("{AMELIA} may not catalog.entity.read: no rule of the policy allows it"), "admin groups are the policy's to use");
}

#[test]
fn a_bad_policy_is_refused_at_start_naming_the_rule() {
    let auth: AuthConfig = serde_json::from_value(json!({
        "policy": {"rules": [{"name": "x", "effect": "allow", "permissions": ["catalog.*"], "when": "user.groups.exists(g, g = 'x')"}]}
    }))
    .unwrap();
    let e = auth.validate().unwrap_err();
    assert!(e.starts_with("auth.policy.rules[0].when: 1:"), "{e}");
    let auth: AuthConfig = serde_json::from_value(json!({"adminGroups": ["group:"]})).unwrap();
    assert!(auth.validate().unwrap_err().starts_with("auth.adminGroups[0]: "));
    let auth: AuthConfig = serde_json::from_value(json!({"audit": {"retentionDays": 0}})).unwrap();
    assert_eq!(auth.validate().unwrap_err(), "auth.audit.retentionDays: must be at least 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_log_refuses_bad_parameters_naming_them() {
    let app = spawn(TestDb::sqlite().await, None).await;
    for (query, expected) in [
        ("outcome=maybe", "outcome: \"maybe\" is not one of allowed, denied, failed"),
        ("cursor=abc", "cursor: \"abc\" is not a cursor from a previous page"),
        ("format=xml", "format: \"xml\" is not one of json, csv"),
        ("limit=5000", "request/query/limit must be <= 1000"),
    ] {
        let res = app.get(&format!("/api/v1/audit?{query}")).await;
        assert_eq!(error(res, 400, "InputError", "GET").await, expected, "{query}");
    }
    let res = app.get("/api/v1/audit?since=yesterday").await;
    let message = error(res, 400, "InputError", "GET").await;
    assert!(message.starts_with("since: "), "{message}");
}

/// Ways around the gate that must not work: other spellings of a protected path, methods and
/// override headers, credentials in other places, and a refused request that still does its work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gate_cannot_be_walked_around() {
    let app = spawn(TestDb::sqlite().await, None).await;
    let breanna = token_of(&app, BREANNA).await;
    let send = |method: reqwest::Method, path: &str| with(&app, method, path, &breanna);

    // The audit log is the admins': no spelling of its path reaches it.
    for path in ["/api/v1/audit", "/api/v1/audit/", "//api/v1/audit", "/api/v1//audit", "/api/v1/./audit", "/api/v1/x/../audit", "/api/v1/%61udit", "/API/V1/AUDIT", "/api/v1/audit?format=csv"] {
        let status = send(reqwest::Method::GET, path).send().await.unwrap().status();
        assert!(status == 403 || status == 404, "{path}: {status}");
    }
    // Nor another method, or a header asking for one.
    let locations = json(app.get("/api/catalog/locations").await, 200).await;
    let id = locations[0]["data"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/catalog/locations/{id}");
    for (method, header) in [(reqwest::Method::POST, "DELETE"), (reqwest::Method::GET, "DELETE"), (reqwest::Method::PATCH, "DELETE")] {
        let res = send(method.clone(), &path).header("x-http-method-override", header).send().await.unwrap();
        assert_ne!(res.status(), 204, "{method} with an override header");
    }
    assert_eq!(send(reqwest::Method::DELETE, &path).send().await.unwrap().status(), 403);
    assert_eq!(json(app.get(&path).await, 200).await["id"], id.as_str(), "the location is still there");

    // A second Authorization header, a token in the query string or a cookie is not a credential
    // of someone else: the first header decides, the others are ignored.
    let res = app
        .client
        .get(format!("{}/api/v1/audit?token={BOOTSTRAP}", app.url))
        .bearer_auth(&breanna)
        .header("cookie", format!("token={BOOTSTRAP}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let res = app.client.get(format!("{}/api/v1/audit", app.url)).header("authorization", format!("Bearer {breanna}")).header("authorization", format!("Bearer {BOOTSTRAP}")).send().await.unwrap();
    assert_eq!(res.status(), 403, "the first Authorization header is the credential");

    // A refused delete deletes nothing; a refused refresh reads nothing (its entity keeps its etag).
    let before = json(app.get("/api/catalog/entities/by-name/component/default/podcast-api").await, 200).await;
    let uid = before["metadata"]["uid"].as_str().unwrap();
    assert_eq!(send(reqwest::Method::DELETE, &format!("/api/catalog/entities/by-uid/{uid}")).send().await.unwrap().status(), 403);
    let after = json(app.get("/api/catalog/entities/by-name/component/default/podcast-api").await, 200).await;
    assert_eq!(after["metadata"]["etag"], before["metadata"]["etag"]);

    // An entity named in the body is the one judged: a body the gate cannot read is not someone
    // else's entity, and a ref in another spelling is the same entity.
    let res = send(reqwest::Method::POST, "/api/catalog/refresh").json(&json!({"entityRef": "Component:Default/Podcast-API"})).send().await.unwrap();
    assert_eq!(res.status(), 403, "the same entity, spelled otherwise");
    let res = send(reqwest::Method::POST, "/api/catalog/refresh").header("content-type", "application/json").body("{\"entityRef\": \"component:default/artist-lookup\", \"entityRef\": \"component:default/podcast-api\"}").send().await.unwrap();
    assert_ne!(res.status(), 200, "a duplicate key is refused, not judged on one value and run on the other");
}

/// `auth.mode: token`: nothing but health, metrics and the API description without a credential;
/// the guest is no admin, and its old tokens are no admin's either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_token_mode_every_request_needs_a_credential() {
    let auth = AuthConfig { mode: portico_server::auth::AuthMode::Token, bootstrap_token: Some(BOOTSTRAP.into()), ..Default::default() };
    let app = TestApp::spawn_setup(TestDb::sqlite().await, Setup { examples: true, auth, ..Setup::default() }).await;
    for path in ["/api/catalog/entities?limit=1", "/api/v1/me", "/api/v1/audit"] {
        let message = error(app.get(path).await, 401, "AuthenticationError", "GET").await;
        assert_eq!(message, "this server needs a credential (auth.mode: token): send `Authorization: Bearer <token>`", "{path}");
    }
    for path in ["/healthz", "/readyz", "/api/openapi.json"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    let breanna = token_of(&app, BREANNA).await;
    assert_eq!(with(&app, reqwest::Method::GET, "/api/catalog/entities?limit=1", &breanna).send().await.unwrap().status(), 200);
    let res = with(&app, reqwest::Method::GET, "/api/v1/audit", &breanna).send().await.unwrap();
    error(res, 403, "NotAllowedError", "GET").await;
}

/// The default policy keeps location registration for admins: a location can declare Users.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_only_admins_register_locations() {
    let db = TestDb::sqlite().await;
    let app = spawn(db, None).await;
    let (breanna, amelia) = (token_of(&app, BREANNA).await, token_of(&app, AMELIA).await);
    let body = json!({"type": "file", "target": "/nowhere/catalog-info.yaml"});
    let message = error(with(&app, reqwest::Method::POST, "/api/catalog/locations", &breanna).json(&body).send().await.unwrap(), 403, "NotAllowedError", "POST").await;
    assert!(message.contains("may not catalog.location.create"), "{message}");
    let res = with(&app, reqwest::Method::POST, "/api/catalog/locations", &amelia).json(&body).send().await.unwrap();
    assert_ne!(res.status(), 403, "an admin passes the policy (and then the file is not found)");
}

/// Claiming what is someone else's through a new location: Breanna (team-a) registers a file
/// that redefines team-b's podcast-api as team-a's, and her own User as a member of team-b (the
/// admins). The catalog keeps the first claim of each entity: nothing changes owner or
/// membership, her location gets a conflict error for each, and she still may not touch
/// team-b's component nor act as an admin.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_that_claims_another_teams_entity_or_its_registrants_membership_changes_nothing() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let file = root.join("catalog-info.yaml");
        std::fs::write(
            &file,
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: podcast-api}\nspec: {type: service, lifecycle: production, owner: team-a}\n---\n\
             apiVersion: backstage.io/v1alpha1\nkind: User\nmetadata: {name: breanna.davison}\nspec: {memberOf: [team-b]}\n",
        )
        .unwrap();
        // By default only admins register locations; this server lets everyone signed in.
        let policy = json!({"rules": [
            {"name": "admins", "effect": "allow", "permissions": ["*"], "when": "user.admin"},
            {"name": "everyone-registers", "effect": "allow", "permissions": ["catalog.location.create", "catalog.entity.read", "catalog.location.read", "query.run"], "when": "user.signedIn"},
            {"name": "owners-edit", "effect": "allow", "permissions": ["catalog.entity.refresh"], "when": "entity != null && user.owners.exists(o, entity.has_relation('ownedBy', o))"},
        ]});
        let auth = AuthConfig { bootstrap_token: Some(BOOTSTRAP.into()), admin_groups: vec!["group:default/team-b".into()], policy: serde_json::from_value(policy).unwrap(), ..Default::default() };
        let app = TestApp::spawn_setup(db, Setup { examples: true, roots: vec![root], auth, ..Setup::default() }).await;
        let breanna = token_of(&app, BREANNA).await;
        let body = json!({"type": "file", "target": file.display().to_string()});
        let res = with(&app, reqwest::Method::POST, "/api/catalog/locations", &breanna).json(&body).send().await.unwrap();
        assert_eq!(res.status(), 201, "{b}: this policy lets anyone signed in register a location");

        let api = json(app.get("/api/catalog/entities/by-name/component/default/podcast-api").await, 200).await;
        assert_eq!(api["spec"]["owner"], "team-b", "{b}: the first claim stands");
        let errors = json(app.get("/api/v1/errors?entityRef=component:default/podcast-api").await, 200).await;
        assert!(errors["items"].to_string().contains("conflict"), "{b}: the conflict is recorded: {errors}");
        let me = json(with(&app, reqwest::Method::GET, "/api/v1/me", &breanna).send().await.unwrap(), 200).await;
        assert_eq!(me["admin"], false, "{b}: her own file does not make her a member of team-b: {me}");
        assert!(!me["user"]["groups"].as_array().unwrap().contains(&json!("group:default/team-b")), "{b}: {me}");
        let message = error(refresh(&app, &breanna, "component:default/podcast-api").await, 403, "NotAllowedError", "POST").await;
        assert!(message.contains("may not catalog.entity.refresh"), "{b}: {message}");
    }
}
