//! Approvals over the API, on both backends, with Backstage's example organisation: Breanna asks
//! for a run that team-a must approve; Janelle (team-a) sees it in her inbox and approves it with
//! a comment; Breanna herself and Calum (team-c) may not; bad decisions are refused by name.

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, error, json};

const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";

const TEMPLATES: &str = r#"
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: deploy }
spec:
  type: deploy
  steps:
    - id: approve
      action: approval:wait
      input: { approvers: team-a, message: 'Deploy ${{ parameters.version }}', timeoutSeconds: 600 }
    - id: log
      action: debug:log
      input: { message: 'approved by ${{ steps.approve.output.approvedBy | join(", ") }}' }
  parameters:
    properties:
      version: { type: string, default: '1.2.3' }
---
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: guarded }
spec:
  type: deploy
  policies:
    - name: production-needs-team-a
      allow: "false"
      message: Production is team-a's call.
      approval: { approvers: group:default/team-a }
  steps:
    - id: log
      action: debug:log
      input: { message: 'went ahead' }
"#;

fn with(app: &TestApp, method: reqwest::Method, path: &str, token: &str) -> reqwest::RequestBuilder {
    app.client.request(method, format!("{}{path}", app.url)).bearer_auth(token)
}

async fn token_of(app: &TestApp, user: &str) -> String {
    let body = json!({"name": "t", "scopes": ["write"], "user": user});
    let out = json(with(app, reqwest::Method::POST, "/api/v1/tokens", BOOTSTRAP).json(&body).send().await.unwrap(), 201).await;
    out["secret"].as_str().unwrap().to_owned()
}

async fn until(app: &TestApp, path: &str, token: &str, status: &str) -> Value {
    for _ in 0..200 {
        let run = json(with(app, reqwest::Method::GET, path, token).send().await.unwrap(), 200).await;
        if run["status"] == status {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{path} did not become {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_of_the_group_approves_a_run_someone_else_asked_for() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("templates.yaml");
        std::fs::write(&file, TEMPLATES).unwrap();
        let auth = AuthConfig { bootstrap_token: Some(BOOTSTRAP.into()), ..Default::default() };
        let app = TestApp::spawn_setup(db, Setup { examples: true, roots: vec![dir.path().to_path_buf()], auth, ..Setup::default() }).await;
        json(with(&app, reqwest::Method::POST, "/api/catalog/locations", BOOTSTRAP).json(&json!({"type": "file", "target": file})).send().await.unwrap(), 201).await;
        app.runs.start();
        let breanna = token_of(&app, "user:default/breanna.davison").await;
        let janelle = token_of(&app, "user:default/janelle.dawe").await;
        let calum = token_of(&app, "user:default/calum.leavy").await;

        let run = json(with(&app, reqwest::Method::POST, "/api/v1/actions/default/deploy/runs", &breanna).json(&json!({"parameters": {}})).send().await.unwrap(), 202).await;
        let path = format!("/api/v1/actions/default/deploy/runs/{}", run["id"].as_str().unwrap());
        let waiting = until(&app, &path, &breanna, "waiting").await;
        assert_eq!(waiting["steps"][0]["status"], "waiting", "{b}");
        assert_eq!(waiting["approvals"][0]["approvers"], "group:default/team-a", "{b}");
        let id = waiting["approvals"][0]["id"].as_str().unwrap().to_owned();

        // Her inbox has it; the requester's and an outsider's do not.
        let inbox = json(with(&app, reqwest::Method::GET, "/api/v1/approvals", &janelle).send().await.unwrap(), 200).await;
        assert_eq!(inbox["items"].as_array().unwrap().len(), 1, "{b}: {inbox}");
        assert_eq!(inbox["items"][0]["message"], "Deploy 1.2.3", "{b}");
        for token in [&breanna, &calum] {
            let other = json(with(&app, reqwest::Method::GET, "/api/v1/approvals", token).send().await.unwrap(), 200).await;
            assert_eq!(other["items"], json!([]), "{b}");
        }
        let all = json(with(&app, reqwest::Method::GET, "/api/v1/approvals?all=true&status=pending", &calum).send().await.unwrap(), 200).await;
        assert_eq!(all["items"].as_array().unwrap().len(), 1, "{b}");

        // Bad decisions, each refused by name.
        let decide = |token: &str, body: Value| with(&app, reqwest::Method::POST, &format!("/api/v1/approvals/{id}/decision"), token).json(&body).send();
        let e = error(decide(&breanna, json!({"decision": "approve"})).await.unwrap(), 403, "NotAllowedError", "POST").await;
        assert!(e.contains("asked for this run"), "{b}: {e}");
        let e = error(decide(&calum, json!({"decision": "approve"})).await.unwrap(), 403, "NotAllowedError", "POST").await;
        assert!(e.contains("not a member of group:default/team-a"), "{b}: {e}");
        let e = error(decide(&janelle, json!({"decision": "maybe"})).await.unwrap(), 400, "InputError", "POST").await;
        assert!(e.contains("decision: \"maybe\""), "{b}: {e}");
        let e = error(decide(&janelle, json!({"verdict": "approve"})).await.unwrap(), 400, "InputError", "POST").await;
        assert!(e.contains("unknown field `verdict`"), "{b}: {e}");
        let e = error(decide(&janelle, json!({"decision": "approve", "comment": "x".repeat(2001)})).await.unwrap(), 400, "InputError", "POST").await;
        assert!(e.contains("comment"), "{b}: {e}");
        error(with(&app, reqwest::Method::POST, "/api/v1/approvals/nope/decision", &janelle).json(&json!({"decision": "approve"})).send().await.unwrap(), 404, "NotFoundError", "POST").await;

        let decided = json(decide(&janelle, json!({"decision": "approve", "comment": "ship it"})).await.unwrap(), 200).await;
        assert_eq!(decided["status"], "approved", "{b}");
        assert_eq!(decided["decisions"][0]["comment"], "ship it", "{b}");
        let e = error(decide(&janelle, json!({"decision": "reject"})).await.unwrap(), 409, "ConflictError", "POST").await;
        assert!(e.contains("approved already"), "{b}: {e}");

        let done = until(&app, &path, &breanna, "completed").await;
        assert_eq!(done["steps"][0]["output"]["approvedBy"], json!(["user:default/janelle.dawe"]), "{b}");
        assert_eq!(done["steps"][1]["input"]["message"], "approved by user:default/janelle.dawe", "{b}");
        let one = json(with(&app, reqwest::Method::GET, &format!("/api/v1/approvals/{id}"), &calum).send().await.unwrap(), 200).await;
        assert_eq!(one["decisions"][0]["approver"], "user:default/janelle.dawe", "{b}");

        // A policy's approval: the run is accepted as waiting; a rejection fails it before any step.
        let run = json(with(&app, reqwest::Method::POST, "/api/v1/actions/default/guarded/runs", &breanna).json(&json!({})).send().await.unwrap(), 202).await;
        assert_eq!((run["status"].as_str(), run["approvals"][0]["step"].as_str()), (Some("waiting"), Some("policy:production-needs-team-a")), "{b}");
        let dry = json(with(&app, reqwest::Method::POST, "/api/v1/actions/default/guarded/runs", &breanna).json(&json!({"dryRun": true})).send().await.unwrap(), 200).await;
        assert_eq!(dry["policies"][0]["approval"], json!({"approvers": "group:default/team-a", "count": 1}), "{b}");
        let pid = run["approvals"][0]["id"].as_str().unwrap();
        json(with(&app, reqwest::Method::POST, &format!("/api/v1/approvals/{pid}/decision"), &janelle).json(&json!({"decision": "reject", "comment": "not today"})).send().await.unwrap(), 200).await;
        let failed = until(&app, &format!("/api/v1/actions/default/guarded/runs/{}", run["id"].as_str().unwrap()), &breanna, "failed").await;
        assert_eq!(failed["error"], "policy:production-needs-team-a was rejected by user:default/janelle.dawe (not today)", "{b}");
    }
}
