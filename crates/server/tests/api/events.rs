//! Events over the API, on both backends: a CI pipeline records deployments, an incident tool
//! incidents, a script facts; DORA answers per entity and rolled up; rules and the deploy gate
//! see them at once; retries record nothing twice; bad input is refused by position with
//! nothing recorded; and recording needs its own permission.

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, error, json};

const CATALOG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: shop }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: { name: store }
spec: { owner: shop }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: cart }
spec: { type: service, lifecycle: production, owner: shop, system: store }
---
apiVersion: portico.dev/v1
kind: Scorecard
metadata: { name: delivery }
spec:
  filter: kind == 'Component'
  rules:
    - id: tested
      level: Bronze
      expression: fact('coverage') >= 80
    - id: fast
      level: Silver
      expression: dora.lead_time_hours < 24
"#;

fn time(hours_ago: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339()
}

fn deployment(id: &str, hours_ago: i64, lead_hours: i64) -> Value {
    json!({"type": "deployment", "id": id, "entity": "component:default/cart", "environment": "production",
           "commitTime": time(hours_ago + lead_hours), "finishedAt": time(hours_ago), "status": "succeeded"})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipelines_record_events_that_rules_dora_and_the_gate_see_at_once() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir, _file) = TestApp::with_registered_file(db, CATALOG).await;
        let gate = "/api/v1/gates/component/default/cart?scorecard=delivery&level=Silver";
        assert_eq!(json(app.get(gate).await, 200).await["pass"], false, "{b}");

        let batch = json!({"events": [deployment("d1", 50, 5), deployment("d2", 30, 3), {"type": "fact", "entity": "cart", "name": "coverage", "value": 91}]});
        let done = json(app.post("/api/v1/events", &batch).await, 200).await;
        assert_eq!((done["added"].as_u64(), done["unchanged"].as_u64()), (Some(3), Some(0)), "{b}: {done}");
        assert_eq!(done["events"][0], json!({"id": "d1", "entity": "component:default/cart", "outcome": "added"}), "{b}");
        let pass = json(app.get(gate).await, 200).await;
        assert_eq!(pass["pass"], true, "{b}: the next answer sees the events: {pass}");

        let again = json(app.post("/api/v1/events", &batch).await, 200).await;
        assert_eq!(again["unchanged"], 3, "{b}: a retry records nothing twice");

        let dora = json(app.get("/api/v1/dora/component/default/cart?weeks=4").await, 200).await;
        assert_eq!(dora["dora"]["deployments"], 2, "{b}: {dora}");
        assert_eq!(dora["dora"]["lead_time_hours"], 4.0, "{b}");
        assert_eq!(dora["dora"]["lead_time_band"], "elite", "{b}");
        assert_eq!(dora["weeks"].as_array().unwrap().len(), 4, "{b}");
        let rollup = json(app.get("/api/v1/dora?groupBy=owner").await, 200).await;
        assert_eq!(rollup["items"][0]["group"], "group:default/shop", "{b}: {rollup}");
        assert_eq!(rollup["items"][0]["dora"]["deployments"], 2, "{b}");
        let events = json(app.get("/api/v1/events?entity=cart&type=deployment&limit=1").await, 200).await;
        assert_eq!(events["items"].as_array().unwrap().len(), 1, "{b}: {events}");
        assert_eq!(events["items"][0]["id"], "d2", "{b}: newest first");

        // An incident caused by d2, then resolved: change failure rate and time to restore.
        let opened = json!({"type": "incident", "id": "INC-7", "entity": "cart", "openedAt": time(20), "deployment": "d2", "severity": "sev1"});
        json(app.post("/api/v1/events", &opened).await, 200).await;
        let resolved = json!({"type": "incident", "id": "INC-7", "entity": "cart", "openedAt": time(20), "resolvedAt": time(18)});
        assert_eq!(json(app.post("/api/v1/events", &resolved).await, 200).await["updated"], 1, "{b}");
        let dora = json(app.get("/api/v1/dora/component/default/cart").await, 200).await;
        assert_eq!((dora["dora"]["change_failure_rate"].as_f64(), dora["dora"]["time_to_restore_hours"].as_f64()), (Some(0.5), Some(2.0)), "{b}: {dora}");
        let query = json(app.post("/api/v1/query", &json!({"expression": "dora.time_to_restore_hours == 2.0 && fact('incidents.open') == 0"})).await, 200).await;
        assert_eq!(query["items"].as_array().unwrap().len(), 1, "{b}: {query}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_events_are_refused_by_position_and_nothing_is_recorded() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir, _file) = TestApp::with_registered_file(db, CATALOG).await;
        let cases: Vec<(Value, &str)> = vec![
            (json!([deployment("ok", 2, 1), {"type": "deployment", "id": "x", "entity": "nope", "environment": "production", "status": "in_progress"}]), "events[1]: entity: no entity component:default/nope in the catalog"),
            (json!({"type": "deployment", "id": "x", "entity": "cart", "environment": "production", "status": "done", "finishedAt": time(1)}), "events[0]: status: unknown variant `done`"),
            (json!({"type": "incident", "id": "i", "entity": "cart", "openedAt": time(1), "resolvedAt": time(2)}), "events[0]: resolvedAt: before openedAt"),
            (json!({"type": "fact", "entity": "cart", "name": "coverage", "value": 1, "extra": true}), "events[0]: extra: unknown field `extra`"),
            (json!({"events": []}), "no events"),
            (json!(42), "expected an event, a list of events"),
        ];
        for (body, says) in cases {
            let message = error(app.post("/api/v1/events", &body).await, 400, "InputError", "POST").await;
            assert!(message.contains(says), "{b}: {body}: {message}");
        }
        let message = error(app.post_raw("/api/v1/events", "{not json").await, 400, "InputError", "POST").await;
        assert!(message.contains("the body is not JSON"), "{b}: {message}");
        let events = json(app.get("/api/v1/events").await, 200).await;
        assert_eq!(events["items"], json!([]), "{b}: nothing recorded, not even the good event of a refused batch");
        for (path, says) in [
            ("/api/v1/events?type=deploy", "type: \"deploy\""),
            ("/api/v1/events?since=yesterday", "since:"),
            ("/api/v1/events?entity=a:b:c", "entity:"),
            ("/api/v1/dora?groupBy=team", "groupBy: \"team\" is not system, owner or domain"),
            ("/api/v1/dora/component/default/cart?days=3", "unknown field"),
        ] {
            let message = error(app.get(path).await, 400, "InputError", "GET").await;
            assert!(message.contains(says), "{b}: {path}: {message}");
        }
        error(app.get("/api/v1/dora/component/default/nope").await, 404, "NotFoundError", "GET").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recording_events_needs_the_events_record_permission() {
    const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, CATALOG).unwrap();
    let auth = AuthConfig { bootstrap_token: Some(BOOTSTRAP.into()), ..Default::default() };
    let app = TestApp::spawn_setup(db, Setup { examples: false, roots: vec![dir.path().to_path_buf()], auth, ..Setup::default() }).await;
    let post = |path: &str, token: &str, body: Value| app.client.post(format!("{}{path}", app.url)).bearer_auth(token.to_owned()).json(&body).send();
    json(post("/api/catalog/locations", BOOTSTRAP, json!({"type": "file", "target": file})).await.unwrap(), 201).await;
    let token = |scope: &str| post("/api/v1/tokens", BOOTSTRAP, json!({"name": format!("ci-{scope}"), "scopes": [scope], "service": format!("ci-{scope}")}));
    let reader = json(token("read").await.unwrap(), 201).await["secret"].as_str().unwrap().to_owned();
    let writer = json(token("write").await.unwrap(), 201).await["secret"].as_str().unwrap().to_owned();
    let event = deployment("d1", 1, 1);
    let refused = post("/api/v1/events", &reader, event.clone()).await.unwrap();
    assert_eq!(refused.status(), 403);
    let done = json(post("/api/v1/events", &writer, event).await.unwrap(), 200).await;
    assert_eq!(done["added"], 1);
    let audit = json(app.client.get(format!("{}/api/v1/audit?action=events.record", app.url)).bearer_auth(BOOTSTRAP).send().await.unwrap(), 200).await;
    let outcomes: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["allowed", "denied"], "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_are_imported_as_facts_and_costs_roll_up() {
    const TRIVY: &[u8] = include_bytes!("../../../scorecards/fixtures/reports/trivy.json");
    const JUNIT: &[u8] = include_bytes!("../../../scorecards/fixtures/reports/junit.xml");
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir, _file) = TestApp::with_registered_file(db, CATALOG).await;
        let post = |path: &str, body: &'static [u8]| app.client.post(format!("{}{path}", app.url)).body(body).send();
        let done = json(post("/api/v1/facts/import?format=trivy&entity=cart", TRIVY).await.unwrap(), 200).await;
        assert_eq!(done["facts"]["component:default/cart"]["security.critical"], 2, "{b}: {done}");
        assert_eq!(done["added"], 7, "{b}: one fact event per fact");
        let again = json(post("/api/v1/facts/import?format=trivy&entity=cart", TRIVY).await.unwrap(), 200).await;
        assert_eq!(again["unchanged"], 7, "{b}: the same report twice records nothing twice");
        json(post("/api/v1/facts/import?format=junit&entity=component:default/cart", JUNIT).await.unwrap(), 200).await;
        let facts = json(app.get("/api/v1/entities/component/default/cart/facts").await, 200).await;
        assert_eq!((facts["facts"]["security.medium"].as_u64(), facts["facts"]["tests.failed"].as_u64()), (Some(4), Some(1)), "{b}: {facts}");
        let query = json(app.post("/api/v1/query", &json!({"expression": "!no_critical_vulnerabilities() && !tests_pass()"})).await, 200).await;
        assert_eq!(query["items"].as_array().unwrap().len(), 1, "{b}: rules see imported facts: {query}");

        let billing: &'static [u8] = b"resource,cost,month,entity\ni-1,120.5,2026-11,cart\ni-2,30,2026-11,component:default/cart\ni-3,7,2026-11,\n";
        let done = json(post("/api/v1/facts/import?format=billing", billing).await.unwrap(), 200).await;
        assert_eq!(done["skipped"], json!(["i-3 (7): matches no entity"]), "{b}: {done}");
        let costs = json(app.get("/api/v1/costs?groupBy=system").await, 200).await;
        assert_eq!(costs["items"], json!([{"group": "system:default/store", "entities": 1, "monthly": 150.5, "currencies": []}]), "{b}: {costs}");

        for (path, body, says) in [
            ("/api/v1/facts/import?format=sarif&entity=cart", &b"{}"[..], "format: \"sarif\" is not one of"),
            ("/api/v1/facts/import?entity=cart", &b"{}"[..], "format: required"),
            ("/api/v1/facts/import?format=trivy", &b"{}"[..], "trivy report: entity: a report of this format is about one entity"),
            ("/api/v1/facts/import?format=trivy&entity=nope", &b"{}"[..], "entity: no entity component:default/nope"),
            ("/api/v1/facts/import?format=trivy&entity=cart", &b"{\"Results\": 5}"[..], "trivy report: Results: expected a list"),
            ("/api/v1/facts/import?format=junit&entity=cart", &b"<testsuite>"[..], "junit report: not XML"),
        ] {
            let message = error(post(path, body).await.unwrap(), 400, "InputError", "POST").await;
            assert!(message.contains(says), "{b}: {path}: {message}");
        }
        error(app.get("/api/v1/costs?groupBy=team").await, 400, "InputError", "GET").await;
        error(app.get("/api/v1/entities/component/default/nope/facts").await, 404, "NotFoundError", "GET").await;
    }
}
