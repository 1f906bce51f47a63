//! Self-service actions over the API, on both backends: templates listed with what they lack,
//! one template's form, a dry run answered at once, a real run stored and followed live as
//! Server-Sent Events to its end, the run history, and bad input refused with the field named.

use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

const CATALOG: &str = r#"
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: service, title: A service }
spec:
  type: service
  owner: group:default/team-a
  parameters:
    - title: Basics
      required: [name]
      properties:
        name: { type: string, pattern: '^[a-z-]+$' }
        pause: { type: integer, default: 0 }
  steps:
    - id: fetch
      action: fetch:template
      input: { url: ./skeleton, values: { name: '${{ parameters.name }}' } }
    - id: wait
      action: debug:wait
      input: { milliseconds: '${{ parameters.pause }}' }
    - id: log
      action: debug:log
      input: { message: 'made ${{ parameters.name }}', listWorkspace: true }
  output:
    text: [{ title: Done, content: 'made ${{ parameters.name }}' }]
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: guarded }
spec:
  type: deploy
  parameters:
    properties:
      environment: { type: string, enum: [staging, production], default: staging }
  policies:
    - name: ops-in-production
      allow: parameters.environment != 'production' || 'group:default/ops' in user.owners
      message: Only ops deploy to production.
    - name: once
      deny: runs.completed >= 1
      message: This was done already.
  steps:
    - id: log
      action: debug:log
      input: { message: 'deploying to ${{ parameters.environment }}' }
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: restart }
spec:
  type: day-2
  target: { kind: Component, filter: "spec.lifecycle == 'production'" }
  steps:
    - id: log
      action: debug:log
      input: { message: 'restarting ${{ entity.metadata.name }} of ${{ entity.spec.owner }}' }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: cart }
spec: { type: service, lifecycle: production, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: sandbox }
spec: { type: service, lifecycle: experimental, owner: team-a }
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: breaks }
spec:
  type: service
  steps:
    - id: note
      action: debug:log
      input: { message: noted }
      undo: { action: debug:log, input: { message: 'forgetting ${{ step.input.message }}' } }
    - id: break
      action: fs:rename
      input: { files: [{ from: nope, to: x }] }
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: to-github }
spec:
  type: service
  steps:
    - id: pages
      action: github:pages:enable
      input: { repoUrl: 'github.com?owner=o&repo=r' }
"#;

async fn app(db: TestDb) -> (TestApp, tempfile::TempDir) {
    let (app, dir, _file) = TestApp::with_registered_file(db, CATALOG).await;
    std::fs::create_dir_all(dir.path().join("skeleton")).unwrap();
    std::fs::write(dir.path().join("skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
    app.runs.start();
    (app, dir)
}

/// The events of a run's stream, to its `end`.
async fn stream(app: &TestApp, path: &str) -> Vec<(String, Value)> {
    let text = tokio::time::timeout(std::time::Duration::from_secs(20), app.get(path).await.text()).await.expect("the stream ends").unwrap();
    text.split("\n\n")
        .filter_map(|block| {
            let event = block.lines().find_map(|l| l.strip_prefix("event: "))?;
            let data = block.lines().find_map(|l| l.strip_prefix("data: "))?;
            Some((event.to_owned(), serde_json::from_str(data).unwrap()))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn templates_are_listed_dry_run_and_run_live() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir) = app(db).await;
        let list = json(app.get("/api/v1/actions").await, 200).await;
        let items = list["items"].as_array().unwrap();
        assert_eq!(items.len(), 5, "{b}: {list}");
        let svc = items.iter().find(|i| i["ref"] == "template:default/service").unwrap();
        assert_eq!((svc["ready"].clone(), svc["steps"].clone()), (json!(true), json!(3)), "{b}");
        let gh = items.iter().find(|i| i["ref"] == "template:default/to-github").unwrap();
        assert_eq!(gh["ready"], false);
        assert!(gh["unknownActions"][0].as_str().unwrap().contains("github:pages:enable"));
        let one = json(app.get("/api/v1/actions/default/service").await, 200).await;
        assert_eq!(one["pages"][0]["title"], "Basics", "{b}");
        assert!(one.get("location").is_none(), "{b}: the server's paths are not shown");

        // A dry run: the report at once, nothing stored.
        let dry = json(app.post("/api/v1/actions/default/service/runs", &json!({"parameters": {"name": "cart"}, "dryRun": true})).await, 200).await;
        assert_eq!(dry["status"], "completed", "{b}: {dry}");
        assert_eq!(dry["files"][0]["path"], "README.md");
        assert_eq!(dry["files"][0]["text"], "# cart\n");
        assert_eq!(json(app.get("/api/v1/runs").await, 200).await["items"], json!([]), "{b}");

        // A real run: 202, then followed live to its end.
        let run = json(app.post("/api/v1/actions/default/service/runs", &json!({"parameters": {"name": "cart", "pause": 300}})).await, 202).await;
        let id = run["id"].as_str().unwrap().to_owned();
        assert_eq!((run["status"].as_str(), run["actor"].as_str()), (Some("queued"), Some("guest")), "{b}");
        let events = stream(&app, &format!("/api/v1/actions/default/service/runs/{id}/events")).await;
        let logs: Vec<&str> = events.iter().filter(|(e, _)| e == "log").map(|(_, d)| d["line"].as_str().unwrap()).collect();
        assert!(logs.contains(&"made cart") && logs.contains(&"README.md (7 bytes)"), "{b}: {logs:?}");
        assert!(events.iter().any(|(e, d)| e == "run" && d["status"] == "running"), "{b}: step states are sent as they change");
        let (last, end) = events.last().unwrap();
        assert_eq!((last.as_str(), end["status"].as_str()), ("end", Some("completed")), "{b}: {events:?}");
        assert_eq!(end["output"]["output"]["text"][0]["content"], "made cart");
        let stored = json(app.get(&format!("/api/v1/actions/default/service/runs/{id}")).await, 200).await;
        assert_eq!(stored["steps"].as_array().unwrap().iter().map(|s| s["status"].as_str().unwrap()).collect::<Vec<_>>(), ["completed"; 3], "{b}");
        // A late subscriber sees the whole run.
        let again = stream(&app, &format!("/api/v1/actions/default/service/runs/{id}/events")).await;
        assert_eq!(again.iter().filter(|(e, _)| e == "log").count(), logs.len(), "{b}");
        let mine = json(app.get("/api/v1/runs?actor=guest").await, 200).await;
        assert_eq!(mine["items"][0]["id"], id.as_str(), "{b}");
        assert_eq!(json(app.get("/api/v1/actions/default/service/runs").await, 200).await["items"].as_array().unwrap().len(), 1);
        let e = error(app.post(&format!("/api/v1/actions/default/service/runs/{id}/cancel"), &json!({})).await, 409, "ConflictError", "POST").await;
        assert!(e.contains("already finished"), "{e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_run_can_be_cancelled() {
    let (app, _dir) = app(TestDb::sqlite().await).await;
    let run = json(app.post("/api/v1/actions/default/service/runs", &json!({"parameters": {"name": "cart", "pause": 60000}})).await, 202).await;
    let id = run["id"].as_str().unwrap();
    for _ in 0..100 {
        let r = json(app.get(&format!("/api/v1/actions/default/service/runs/{id}")).await, 200).await;
        if r["steps"][1]["status"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    json(app.post(&format!("/api/v1/actions/default/service/runs/{id}/cancel"), &json!({})).await, 202).await;
    let events = stream(&app, &format!("/api/v1/actions/default/service/runs/{id}/events")).await;
    let end = &events.last().unwrap().1;
    assert_eq!(end["status"], "cancelled", "{end}");
    assert_eq!(end["steps"][1]["reason"], "cancelled");
    assert_eq!(end["steps"][2]["status"], "pending");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_with_the_field_named() {
    let (app, _dir) = app(TestDb::sqlite().await).await;
    let runs = "/api/v1/actions/default/service/runs";
    let e = error(app.post(runs, &json!({"parameters": {"name": "Not Valid"}})).await, 400, "InputError", "POST").await;
    assert!(e.starts_with("parameters.name:") && e.contains("does not match"), "{e}");
    let e = error(app.post(runs, &json!({"parameters": {}})).await, 400, "InputError", "POST").await;
    assert!(e.contains("\"name\" is a required property"), "{e}");
    let e = error(app.post_raw(runs, "{not json").await, 400, "InputError", "POST").await;
    assert!(e.starts_with("the body:"), "{e}");
    let e = error(app.post(runs, &json!({"parameters": {"name": "x"}, "dryrun": true})).await, 400, "InputError", "POST").await;
    assert!(e.contains("unknown field `dryrun`"), "{e}");
    let e = error(app.post(runs, &json!({"parameters": {"name": "x"}, "entity": "component:default/nope"})).await, 400, "InputError", "POST").await;
    assert!(e.contains("no entity component:default/nope"), "{e}");
    let e = error(app.post("/api/v1/actions/default/to-github/runs", &json!({})).await, 400, "InputError", "POST").await;
    assert!(e.contains("spec.steps[0].action") && e.contains("github:pages:enable"), "{e}");
    error(app.post("/api/v1/actions/default/nope/runs", &json!({})).await, 404, "NotFoundError", "POST").await;
    error(app.get("/api/v1/actions/default/service/runs/nope").await, 404, "NotFoundError", "GET").await;
    error(app.get("/api/v1/runs?status=finished").await, 400, "InputError", "GET").await;
    // Nothing of that was stored.
    assert_eq!(json(app.get("/api/v1/runs").await, 200).await["items"], json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn policies_refuse_runs_and_dry_runs_say_so() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir) = app(db).await;
        let runs = "/api/v1/actions/default/guarded/runs";
        let dry = json(app.post(runs, &json!({"parameters": {"environment": "production"}, "dryRun": true})).await, 200).await;
        assert_eq!(dry["policies"][0], json!({"name": "ops-in-production", "passed": false, "message": "Only ops deploy to production."}), "{b}");
        assert_eq!(dry["status"], "completed", "{b}: a dry run still runs");
        let e = error(app.post(runs, &json!({"parameters": {"environment": "production"}})).await, 403, "NotAllowedError", "POST").await;
        assert!(e.contains("ops-in-production: Only ops deploy to production."), "{b}: {e}");
        // Staging passes; once done, `runs.completed` refuses the next.
        let run = json(app.post(runs, &json!({"parameters": {}})).await, 202).await;
        let id = run["id"].as_str().unwrap();
        let events = stream(&app, &format!("{runs}/{id}/events")).await;
        assert_eq!(events.last().unwrap().1["status"], "completed", "{b}");
        let e = error(app.post(runs, &json!({"parameters": {}})).await, 403, "NotAllowedError", "POST").await;
        assert!(e.contains("once: This was done already."), "{b}: {e}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn day_2_templates_run_on_the_entities_their_target_selects() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir) = app(db).await;
        let on_cart = json(app.get("/api/v1/entities/component/default/cart/actions").await, 200).await;
        assert_eq!(on_cart["items"].as_array().unwrap().iter().map(|t| t["ref"].as_str().unwrap()).collect::<Vec<_>>(), ["template:default/restart"], "{b}");
        let on_sandbox = json(app.get("/api/v1/entities/component/default/sandbox/actions").await, 200).await;
        assert_eq!(on_sandbox["items"], json!([]), "{b}: the filter leaves it out");
        error(app.get("/api/v1/entities/component/default/nope/actions").await, 404, "NotFoundError", "GET").await;

        let runs = "/api/v1/actions/default/restart/runs";
        let e = error(app.post(runs, &json!({})).await, 400, "InputError", "POST").await;
        assert!(e.contains("runs on an entity"), "{b}: {e}");
        let e = error(app.post(runs, &json!({"entity": "component:default/sandbox"})).await, 400, "InputError", "POST").await;
        assert!(e.contains("does not select it"), "{b}: {e}");
        let e = error(app.post("/api/v1/actions/default/service/runs", &json!({"parameters": {"name": "x"}, "entity": "component:default/cart"})).await, 400, "InputError", "POST").await;
        assert!(e.contains("not a day-2 template"), "{b}: {e}");
        let run = json(app.post(runs, &json!({"entity": "cart"})).await, 202).await;
        assert_eq!(run["entity"], "component:default/cart", "{b}");
        let id = run["id"].as_str().unwrap();
        let events = stream(&app, &format!("{runs}/{id}/events")).await;
        assert!(events.iter().any(|(e, d)| e == "log" && d["line"] == "restarting cart of team-a"), "{b}: {events:?}");
        let history = json(app.get("/api/v1/entities/component/default/cart/actions").await, 200).await;
        assert_eq!(history["runs"][0]["id"], id, "{b}: the entity's run history");
        assert_eq!(json(app.get("/api/v1/runs?entity=component:default/cart").await, 200).await["items"].as_array().unwrap().len(), 1, "{b}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_run_is_rolled_back_on_request() {
    let (app, _dir) = app(TestDb::sqlite().await).await;
    let runs = "/api/v1/actions/default/breaks/runs";
    let run = json(app.post(runs, &json!({})).await, 202).await;
    let id = run["id"].as_str().unwrap();
    let end = stream(&app, &format!("{runs}/{id}/events")).await.last().unwrap().1.clone();
    assert_eq!(end["status"], "failed", "{end}");
    assert!(end["error"].as_str().unwrap().starts_with("break: spec.steps[1].input.files[0].from"), "{end}");
    let undone = json(app.post(&format!("{runs}/{id}/rollback"), &json!({})).await, 200).await;
    assert_eq!(undone["items"], json!([{"step": "note", "status": "undone", "message": "ran its undo (debug:log)"}]));
    let again = json(app.get(&format!("{runs}/{id}")).await, 200).await;
    assert_eq!(again["output"]["rollback"][0]["step"], "note");
    let e = error(app.post(&format!("{runs}/{id}/rollback"), &json!({})).await, 409, "ConflictError", "POST").await;
    assert!(e.contains("rolled back already"), "{e}");
    let ok = json(app.post("/api/v1/actions/default/service/runs", &json!({"parameters": {"name": "cart"}})).await, 202).await;
    let ok_id = ok["id"].as_str().unwrap();
    stream(&app, &format!("/api/v1/actions/default/service/runs/{ok_id}/events")).await;
    let e = error(app.post(&format!("/api/v1/actions/default/service/runs/{ok_id}/rollback"), &json!({})).await, 409, "ConflictError", "POST").await;
    assert!(e.contains("only a failed or cancelled run"), "{e}");
}
