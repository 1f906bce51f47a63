//! Location routes, refresh and validate-entity.

use portico_store::testing::TestDb;
use serde_json::json;

use crate::helpers::{ALL, TestApp, error, examples_dir, json};

const COMPONENT: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
  description: DESCRIPTION
spec:
  type: service
  lifecycle: production
  owner: team-a
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locations_are_listed_got_and_found_by_entity() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let list = json(app.get("/api/catalog/locations").await, 200).await;
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 2);
    let all = list.iter().map(|l| &l["data"]).find(|d| d["target"].as_str().unwrap().ends_with("/examples/all.yaml")).unwrap();
    assert_eq!(all["type"], "file");
    let id = all["id"].as_str().unwrap();

    let one = json(app.get(&format!("/api/catalog/locations/{id}")).await, 200).await;
    assert_eq!(&one, all);
    let by_entity = json(app.get("/api/catalog/locations/by-entity/component/default/artist-lookup").await, 200).await;
    assert_eq!(&by_entity, all);

    let message = error(app.get("/api/catalog/locations/nope").await, 404, "NotFoundError", "GET").await;
    assert_eq!(message, "Found no location with ID nope");
    error(app.get("/api/catalog/locations/by-entity/component/default/nope").await, 404, "NotFoundError", "GET").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dry_run_reads_and_validates_without_writing() {
    let db = TestDb::sqlite().await;
    let app = TestApp::spawn_with_roots(db, Vec::new(), false).await;
    let body = json!({"type": "file", "target": ALL});

    let out = json(app.post("/api/catalog/locations?dryRun=true", &body).await, 201).await;

    assert_eq!(out["exists"], false);
    assert_eq!(out["errors"].as_array().unwrap().len(), 3, "unreachable placeholders are reported: {out}");
    assert_eq!(out["location"]["type"], "file");
    let entities = out["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 1 + 13 + 10 + 3 + 3 + 2 + 1 + 7);
    // First, as in Backstage, the Location generated for the registration itself.
    assert!(entities[0]["metadata"]["name"].as_str().unwrap().starts_with("generated-"), "{}", entities[0]);
    let target = entities[0]["spec"]["target"].as_str().unwrap();
    assert!(entities[0]["spec"]["type"] == "file" && target.ends_with("/examples/all.yaml") && !target.contains(".."), "{}", entities[0]);
    let lookup = entities.iter().find(|e| e["metadata"]["name"] == "artist-lookup").unwrap();
    assert!(lookup["relations"].as_array().unwrap().iter().any(|r| r["type"] == "ownedBy"));
    assert_eq!(json(app.get("/api/catalog/locations").await, 200).await, json!([]));
    assert_eq!(json(app.get("/api/catalog/entities").await, 200).await, json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registering_writes_the_entities_and_a_second_time_is_a_conflict() {
    let app = TestApp::spawn_with_roots(TestDb::sqlite().await, Vec::new(), false).await;
    let body = json!({"type": "file", "target": ALL});

    let out = json(app.post("/api/catalog/locations", &body).await, 201).await;
    assert_eq!(out["entities"].as_array().unwrap().len(), 1 + 36, "the generated Location, and not the three APIs with remote definitions");
    assert!(out.get("exists").is_none());
    let id = out["location"]["id"].as_str().unwrap().to_owned();
    json(app.get("/api/catalog/entities/by-name/component/default/artist-lookup").await, 200).await;

    let message = error(app.post("/api/catalog/locations", &body).await, 409, "ConflictError", "POST").await;
    assert!(message.starts_with("Location file:") && message.ends_with("already exists"), "{message}");
    let again = json(app.post("/api/catalog/locations?dryRun=true", &body).await, 201).await;
    assert_eq!(again["exists"], true);

    assert_eq!(app.delete(&format!("/api/catalog/locations/{id}")).await.status(), 204);
    error(app.get("/api/catalog/entities/by-name/component/default/artist-lookup").await, 404, "NotFoundError", "GET").await;
    error(app.delete(&format!("/api/catalog/locations/{id}")).await, 404, "NotFoundError", "DELETE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_locations_outside_the_allowed_roots_are_refused() {
    let app = TestApp::spawn_with_roots(TestDb::sqlite().await, Vec::new(), false).await;

    let res = app.post("/api/catalog/locations?dryRun=true", &json!({"type": "file", "target": "/etc/hostname"})).await;
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("outside the allowed roots"), "{message}");

    let res = app.post("/api/catalog/locations", &json!({"type": "ftp", "target": "x"})).await;
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("unsupported location type"), "{message}");

    let missing = examples_dir().join("missing.yaml");
    let res = app.post("/api/catalog/locations", &json!({"type": "file", "target": missing})).await;
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("not found"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rereads_the_location_that_provides_the_entity() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, COMPONENT.replace("DESCRIPTION", "before")).unwrap();
    let root = dir.path().canonicalize().unwrap();
    let app = TestApp::spawn_with_roots(TestDb::sqlite().await, vec![root], true).await;
    json(app.post("/api/catalog/locations", &json!({"type": "file", "target": file})).await, 201).await;
    std::fs::write(&file, COMPONENT.replace("DESCRIPTION", "after")).unwrap();

    let res = app.post("/api/catalog/refresh", &json!({"entityRef": "component:default/cart"})).await;

    assert_eq!(res.status(), 200);
    let e = json(app.get("/api/catalog/entities/by-name/component/default/cart").await, 200).await;
    assert_eq!(e["metadata"]["description"], "after");
    let history = json(app.get("/api/v1/entities/component/default/cart/history").await, 200).await;
    assert_eq!(history["items"].as_array().unwrap().len(), 2);

    let res = app.post("/api/catalog/refresh", &json!({"entityRef": "component:default/nope"})).await;
    error(res, 404, "NotFoundError", "POST").await;
    let res = app.post("/api/catalog/refresh", &json!({"entityRef": "nokind"})).await;
    error(res, 400, "InputError", "POST").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validate_entity_accepts_a_good_entity_and_names_the_fields_of_a_bad_one() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let good = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "x"},
                      "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}});

    let ok = json(app.post("/api/catalog/validate-entity", &json!({"entity": good, "location": "url:https://example.com/x.yaml"})).await, 200).await;
    assert_eq!(ok, json!({}));

    let mut bad = good.clone();
    bad["spec"]["owner"] = json!(42);
    bad["metadata"]["name"] = json!("not valid!");
    let out = json(app.post("/api/catalog/validate-entity", &json!({"entity": bad, "location": "url:https://example.com/x.yaml"})).await, 400).await;
    let errors = out["errors"].as_array().unwrap();
    assert!(!errors.is_empty());
    assert!(errors.iter().all(|e| e["name"] == "ValidationError"));
    assert!(errors.iter().any(|e| e["message"].as_str().unwrap().starts_with("spec.owner")), "{out}");

    let out = json(app.post("/api/catalog/validate-entity", &json!({"entity": good, "location": "nowhere"})).await, 400).await;
    assert_eq!(out["errors"][0]["name"], "InputError");
    let out = json(app.post("/api/catalog/validate-entity", &json!({"location": "url:https://example.com/x.yaml"})).await, 400).await;
    assert!(out["errors"][0]["message"].as_str().unwrap().starts_with("entity"));
}
