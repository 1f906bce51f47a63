//! Policy entities: rules from the catalog ahead of the configured ones, counted only from the
//! locations `auth.policyLocations` names, loaded again when they change, and refused whole
//! (the rules before staying in force) when one does not compile.

use std::time::{Duration, Instant};

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, error, json};

const FREEZE: &str = "\
apiVersion: portico.dev/v1
kind: Policy
metadata:
  name: freeze
  description: Nothing in production is deleted this week
spec:
  owner: team-a
  rules:
    - name: production-is-frozen
      effect: deny
      permissions: [catalog.entity.delete]
      when: entity.spec.lifecycle == 'production'
";

const GRAB: &str = "\
apiVersion: portico.dev/v1
kind: Policy
metadata:
  name: grab
spec:
  rules:
    - name: everyone-may-do-everything
      effect: allow
      permissions: ['*']
";

/// Waits until `/api/v1/policy` satisfies `ok`; returns it.
async fn policy_until(app: &TestApp, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let p = json(app.get("/api/v1/policy").await, 200).await;
        if ok(&p) {
            return p;
        }
        assert!(Instant::now() < deadline, "the policy did not load: {p}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policy_entities_from_trusted_locations_decide_first_and_a_broken_one_changes_nothing() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let (trusted, other) = (root.join("policies.yaml"), root.join("team/catalog-info.yaml"));
        std::fs::create_dir_all(other.parent().unwrap()).unwrap();
        std::fs::write(&trusted, FREEZE).unwrap();
        std::fs::write(&other, GRAB).unwrap();
        let auth = AuthConfig { policy_locations: vec![trusted.display().to_string()], ..Default::default() };
        let app = TestApp::spawn_setup(db, Setup { examples: true, roots: vec![root.clone()], auth, ..Setup::default() }).await;
        for file in [&trusted, &other] {
            json(app.post("/api/catalog/locations", &json!({"type": "file", "target": file.display().to_string()})).await, 201).await;
        }

        let p = policy_until(&app, |p| p["entities"] == json!(["policy:default/freeze"]) && p["ignored"].as_array().is_some_and(|i| !i.is_empty())).await;
        assert_eq!(p["rules"][0], "policy:default/freeze/production-is-frozen", "{b}: an entity's rules come first: {p}");
        assert!(!p["rules"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().contains("grab")), "{b}: {p}");
        assert_eq!(p["ignored"][0]["ref"], "policy:default/grab");
        assert!(p["ignored"][0]["reason"].as_str().unwrap().contains("auth.policyLocations does not name"), "{b}: {p}");

        // The guest of the demo is an admin, yet the frozen production entity is not deleted.
        let uid = |body: Value| body["metadata"]["uid"].as_str().unwrap().to_owned();
        let prod = uid(json(app.get("/api/catalog/entities/by-name/component/default/wayback-search").await, 200).await);
        let message = error(app.delete(&format!("/api/catalog/entities/by-uid/{prod}")).await, 403, "NotAllowedError", "DELETE").await;
        assert!(message.contains("policy:default/freeze/production-is-frozen"), "{b}: the refusal names the entity's rule: {message}");
        // Other lifecycles are not frozen.
        let experimental = uid(json(app.get("/api/catalog/entities/by-name/component/default/artist-lookup").await, 200).await);
        assert_ne!(app.delete(&format!("/api/catalog/entities/by-uid/{experimental}")).await.status(), 403, "{b}");

        // A mistake in the rule: the load is refused with the place, and the freeze stays.
        std::fs::write(&trusted, FREEZE.replace("entity.spec.lifecycle == 'production'", "entity.spec.lifecycle = 'production'")).unwrap();
        let refreshed = app.post("/api/catalog/refresh", &json!({"entityRef": "policy:default/freeze"})).await;
        assert!(refreshed.status().is_success(), "{b}");
        let p = policy_until(&app, |p| p["error"].is_string()).await;
        let why = p["error"].as_str().unwrap();
        assert!(why.starts_with("policy:default/freeze spec.rules[0].when: 1:"), "{b}: {why}");
        assert_eq!(p["rules"][0], "policy:default/freeze/production-is-frozen", "{b}: the rules before stay in force");
        assert_eq!(app.delete(&format!("/api/catalog/entities/by-uid/{prod}")).await.status(), 403, "{b}");
        let audit = json(app.get("/api/v1/audit?action=policy.load").await, 200).await;
        let outcomes: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes.first(), Some(&"failed"), "{b}: {audit}");
        assert!(outcomes.contains(&"allowed"), "{b}: {audit}");
    }
}

/// A location registered first that declares a Policy of the same name as a trusted one takes
/// the name (the first claim stands), and is ignored as untrusted: the trusted rules would be
/// missing. The load is refused instead, naming the conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_policy_name_taken_by_an_untrusted_location_refuses_the_load() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().canonicalize().unwrap();
    let (trusted, squatter) = (root.join("policies.yaml"), root.join("team/catalog-info.yaml"));
    std::fs::create_dir_all(squatter.parent().unwrap()).unwrap();
    std::fs::write(&trusted, FREEZE).unwrap();
    std::fs::write(&squatter, GRAB.replace("name: grab", "name: freeze")).unwrap();
    let auth = AuthConfig { policy_locations: vec![trusted.display().to_string()], ..Default::default() };
    let app = TestApp::spawn_setup(db, Setup { examples: false, roots: vec![root.clone()], auth, ..Setup::default() }).await;
    for file in [&squatter, &trusted] {
        json(app.post("/api/catalog/locations", &json!({"type": "file", "target": file.display().to_string()})).await, 201).await;
    }
    let p = policy_until(&app, |p| p["error"].is_string()).await;
    assert!(p["error"].as_str().unwrap().contains("claimed by two locations"), "{p}");
    assert!(!p["rules"].as_array().unwrap().iter().any(|r| r.as_str().unwrap().starts_with("policy:")), "nothing of the squatter's in force: {p}");
}
