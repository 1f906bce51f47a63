//! Time travel over HTTP: an entity as it was, and what changed between two times.

use std::time::Duration;

use serde_json::json;

use crate::helpers::{TestApp, error, json};
use portico_store::testing::TestDb;

const V1: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: legacy\nspec:\n  type: service\n  lifecycle: deprecated\n  owner: team-a\n";
const V2: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\nspec:\n  type: service\n  lifecycle: production\n  owner: team-b\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: pay\nspec:\n  type: service\n  lifecycle: production\n  owner: team-b\n";

fn rfc3339_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

async fn tick() {
    tokio::time::sleep(Duration::from_millis(30)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_as_of_a_time_and_changes_between_times() {
    for db in TestDb::all().await {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("catalog-info.yaml");
        std::fs::write(&file, V1).unwrap();
        let app = TestApp::spawn_with_roots(db, vec![dir.path().to_path_buf()], false).await;
        json(app.post("/api/catalog/locations", &json!({"type": "file", "target": file})).await, 201).await;
        tick().await;
        let t1 = rfc3339_now();
        tick().await;
        std::fs::write(&file, V2).unwrap();
        let refreshed = app.post("/api/catalog/refresh", &json!({"entityRef": "component:default/cart"})).await;
        assert!(refreshed.status().is_success(), "{}", refreshed.status());
        tick().await;
        let t2 = rfc3339_now();

        let then = json(app.get(&format!("/api/v1/entities/component/default/cart?asOf={t1}")).await, 200).await;
        assert_eq!(then["body"]["spec"]["owner"], "team-a");
        assert_eq!(then["version"], 1);
        let now = json(app.get("/api/v1/entities/component/default/cart").await, 200).await;
        assert_eq!(now["body"]["spec"]["owner"], "team-b");
        error(app.get(&format!("/api/v1/entities/component/default/pay?asOf={t1}")).await, 404, "NotFoundError", "GET").await;

        let report = json(app.get(&format!("/api/v1/changes?from={t1}&to={t2}")).await, 200).await;
        let refs = |k: &str| report[k].as_array().unwrap().iter().map(|c| c["entityRef"].as_str().unwrap().to_owned()).collect::<Vec<_>>();
        assert_eq!(refs("added"), ["component:default/pay"]);
        assert_eq!(refs("removed"), ["component:default/legacy"]);
        assert_eq!(refs("changed"), ["component:default/cart"]);
        let fields = &report["changed"][0]["fields"];
        assert!(fields.as_array().unwrap().iter().any(|f| f["path"] == "spec.owner" && f["before"] == "team-a" && f["after"] == "team-b"), "{fields}");
        assert!(report["changed"][0]["source"].as_str().unwrap().starts_with("location:"));
        // Nothing changed after t2.
        let later = json(app.get(&format!("/api/v1/changes?from={t2}")).await, 200).await;
        assert_eq!((later["added"].as_array().unwrap().len(), later["changed"].as_array().unwrap().len()), (0, 0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_times_are_refused_with_a_message_naming_the_parameter() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let msg = error(app.get("/api/v1/changes").await, 400, "InputError", "GET").await;
    assert!(msg.contains("from: required"), "{msg}");
    let msg = error(app.get("/api/v1/changes?from=yesterday").await, 400, "InputError", "GET").await;
    assert!(msg.contains("from: \"yesterday\" is not an RFC 3339 time"), "{msg}");
    let msg = error(app.get("/api/v1/changes?from=2999-01-01T00:00:00Z").await, 400, "InputError", "GET").await;
    assert!(msg.contains("in the future"), "{msg}");
    let msg = error(app.get("/api/v1/changes?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z").await, 400, "InputError", "GET").await;
    assert!(msg.contains("from must not be after to"), "{msg}");
    let msg = error(app.get("/api/v1/entities/group/default/team-a?asOf=2999-01-01T00:00:00Z").await, 400, "InputError", "GET").await;
    assert!(msg.contains("asOf"), "{msg}");
}

/// Each version says who made it: the request's principal (here the guest, then a token's
/// owner). The system's own reads (timed refreshes, discovery runs) name nobody.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_version_records_who_made_it() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir, file) = TestApp::with_registered_file(db, V1).await;
        let token = json(app.post("/api/v1/tokens", &json!({"name": "deployer", "scopes": ["write"], "service": "deployer"})).await, 201).await;
        let secret = token["secret"].as_str().unwrap();
        std::fs::write(&file, V2).unwrap();
        let refreshed = app.client.post(format!("{}/api/catalog/refresh", app.url)).bearer_auth(secret).json(&json!({"entityRef": "component:default/cart"})).send().await.unwrap();
        assert!(refreshed.status().is_success(), "{b}");
        let history = json(app.get("/api/v1/entities/component/default/cart/history").await, 200).await;
        let actors: Vec<&serde_json::Value> = history["items"].as_array().unwrap().iter().map(|v| &v["actor"]).collect();
        assert_eq!(actors, [&json!("guest"), &json!("service:deployer")], "{b}: {history}");
        // A removal too: legacy left the file, and the deployer's refresh removed it.
        let gone = json(app.get("/api/v1/entities/component/default/legacy/history").await, 200).await;
        let changes: Vec<(&str, &str)> = gone["items"].as_array().unwrap().iter().map(|v| (v["change"].as_str().unwrap(), v["actor"].as_str().unwrap_or("-"))).collect();
        assert_eq!(changes, [("added", "guest"), ("removed", "service:deployer")], "{b}: {gone}");
    }
}
