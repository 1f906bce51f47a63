//! The discovery endpoints against a real provider: a Terraform state on disk (the fixture of
//! driftctl's tests, and states the test writes), on SQLite and PostgreSQL.

use std::path::Path;

use portico_store::testing::TestDb;
use serde_json::{Value, json};

use super::helpers::TestApp;

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let res = app.get(path).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn post_json(app: &TestApp, path: &str, body: &Value) -> (u16, Value) {
    let res = app.post(path, body).await;
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

const STATE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/terraform/driftctl/aws_s3_full.tfstate");

/// A minimal v4 state with one tagged bucket, lineage `l`, serial `serial`.
fn state(serial: u64, buckets: &[&str]) -> String {
    let resources: Vec<Value> = buckets
        .iter()
        .map(|b| {
            json!({"mode": "managed", "type": "aws_s3_bucket", "name": b, "provider": "provider[\"registry.terraform.io/hashicorp/aws\"]",
                "instances": [{"schema_version": 0, "attributes": {"id": b, "bucket": b, "tags": {"owner": "team-a", "component": "shop"}}}]})
        })
        .collect();
    json!({"version": 4, "terraform_version": "1.6.0", "serial": serial, "lineage": "l", "outputs": {}, "resources": resources}).to_string()
}

async fn app(db: TestDb, dir: &Path, extra: &[Value]) -> TestApp {
    let mut sources = vec![json!({"name": "infra", "type": "terraform", "states": [dir.join("prod.tfstate").display().to_string()]})];
    sources.extend_from_slice(extra);
    TestApp::spawn_with_sources(db, vec![dir.to_path_buf()], false, &sources).await
}

#[tokio::test]
async fn refresh_runs_a_source_and_runs_are_listed_with_their_counts() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("prod.tfstate"), state(1, &["logs", "assets"])).unwrap();
        let app = app(db, dir.path(), &[]).await;

        let (status, run) = post_json(&app, "/api/v1/discovery/infra/refresh", &json!({})).await;
        assert_eq!(status, 200, "{b}: {run}");
        assert_eq!((run["status"].as_str(), run["added"].as_i64()), (Some("ok"), Some(2)), "{b}: {run}");

        let (_, again) = post_json(&app, "/api/v1/discovery/infra/refresh", &json!({})).await;
        assert_eq!((again["added"].as_i64(), again["updated"].as_i64(), again["unchanged"].as_i64()), (Some(0), Some(0), Some(1)), "{b}: same serial, nothing read: {again}");

        let (status, list) = get_json(&app, "/api/v1/discovery").await;
        assert_eq!(status, 200);
        assert_eq!(list["items"][0]["name"], "infra");
        assert_eq!(list["items"][0]["type"], "terraform");
        assert_eq!(list["items"][0]["lastRun"]["id"], again["id"], "{b}: {list}");

        let (_, runs) = get_json(&app, "/api/v1/discovery/infra/runs?limit=1").await;
        assert_eq!(runs["items"].as_array().unwrap().len(), 1, "{b}");

        let (_, entities) = get_json(&app, "/api/catalog/entities/by-query?filter=kind=resource").await;
        assert_eq!(entities["totalItems"], 2, "{b}: {entities}");
    }
}

#[tokio::test]
async fn a_broken_state_keeps_what_was_found_and_says_why() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("prod.tfstate");
        std::fs::write(&path, state(1, &["logs"])).unwrap();
        let app = app(db, dir.path(), &[]).await;
        post_json(&app, "/api/v1/discovery/infra/refresh", &json!({})).await;

        std::fs::write(&path, "{\"version\": 4, \"resources\": [").unwrap();
        let (status, run) = post_json(&app, "/api/v1/discovery/infra/refresh", &json!({})).await;
        assert_eq!(status, 200, "{b}");
        assert_eq!(run["status"], "partial", "{b}: {run}");
        assert!(run["errors"][0]["message"].as_str().unwrap().contains("prod.tfstate"), "{b}: the error names the file: {run}");
        assert_eq!(run["removed"], 0);
        let (_, entities) = get_json(&app, "/api/catalog/entities/by-query?filter=kind=resource").await;
        assert_eq!(entities["totalItems"], 1, "{b}: nothing deleted");
    }
}

#[tokio::test]
async fn provenance_names_the_source_and_location_of_each_field() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(STATE, dir.path().join("prod.tfstate")).unwrap();
        let app = app(db, dir.path(), &[]).await;
        let (_, run) = post_json(&app, "/api/v1/discovery/infra/refresh", &json!({})).await;
        assert!(run["added"].as_i64().unwrap() > 0, "{b}: {run}");
        let (_, list) = get_json(&app, "/api/catalog/entities/by-query?filter=kind=resource&limit=1").await;
        let name = list["items"][0]["metadata"]["name"].as_str().unwrap().to_owned();

        let (status, p) = get_json(&app, &format!("/api/v1/entities/resource/default/{name}/provenance")).await;
        assert_eq!(status, 200, "{b}: {p}");
        assert_eq!(p["method"], "merge");
        assert_eq!(p["sources"][0]["source"], "infra");
        assert_eq!(p["sources"][0]["evidence"], "observed");
        let ty = p["fields"].as_array().unwrap().iter().find(|f| f["path"] == "spec.type").unwrap_or_else(|| panic!("{b}: {p}"));
        assert_eq!(ty["source"], "infra");
        assert!(ty["location"].as_str().unwrap().contains("prod.tfstate"), "{b}: {ty}");
        assert!(ty["setAt"].as_i64().unwrap() > 0);

        let (status, _) = get_json(&app, "/api/v1/entities/resource/default/nope/provenance").await;
        assert_eq!(status, 404, "{b}");
    }
}

/// An app with the source `infra` and the source `hooked`, whose webhook secret is `s3cret`.
async fn hooked_app() -> (TestApp, tempfile::TempDir) {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.tfstate"), state(1, &["logs"])).unwrap();
    let hooked = json!({"name": "hooked", "type": "terraform", "webhookSecret": "s3cret", "states": [dir.path().join("prod.tfstate").display().to_string()]});
    (app(db, dir.path(), &[hooked]).await, dir)
}

#[tokio::test]
async fn webhooks_check_their_secret_and_start_a_run() {
    let (app, _dir) = hooked_app().await;
    let client = reqwest::Client::new();
    let hook = |source: &str| format!("{}/api/v1/discovery/{source}/webhook", app.url);

    let res = client.post(hook("hooked")).body("{}").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().contains("webhookSecret"), "{body}");
    let res = client.post(hook("hooked")).header("x-gitlab-token", "wrong").body("{}").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = client.post(hook("hooked")).header("authorization", "Bearer s3cret").body("{not json").send().await.unwrap();
    assert_eq!(res.status(), 400, "a body that is not JSON is named");

    let res = client.post(hook("hooked")).header("authorization", "Bearer s3cret").body("").send().await.unwrap();
    assert_eq!(res.status(), 202);
    let accepted: Value = res.json().await.unwrap();
    assert_eq!(accepted["accepted"], true);
    // The run happens in the background: it shows in the runs within moments.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (_, runs) = get_json(&app, "/api/v1/discovery/hooked/runs").await;
        if let Some(run) = runs["items"].as_array().and_then(|a| a.first()) {
            assert_eq!(run["trigger"], "webhook", "{runs}");
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the webhook's run never showed");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let res = client.post(hook("infra")).body("{}").send().await.unwrap();
    assert_eq!(res.status(), 202, "no secret, no check");
}

/// The webhook's secret was bypassed by running the source through `/refresh`.
#[tokio::test]
async fn running_a_source_on_request_needs_its_webhook_secret_too() {
    let (app, _dir) = hooked_app().await;
    let client = reqwest::Client::new();
    let refresh = format!("{}/api/v1/discovery/hooked/refresh", app.url);
    let res = client.post(&refresh).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = client.post(format!("{refresh}?wait=false")).header("authorization", "Bearer wrong").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let (_, runs) = get_json(&app, "/api/v1/discovery/hooked/runs").await;
    assert_eq!(runs["items"].as_array().unwrap().len(), 0, "nothing ran: {runs}");
    let res = client.post(&refresh).header("authorization", "Bearer s3cret").send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// 200 refresh calls queued 200 full runs.
#[tokio::test]
async fn concurrent_requests_to_run_a_source_share_runs() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.tfstate"), state(1, &["logs"])).unwrap();
    let app = app(db, dir.path(), &[]).await;
    let client = reqwest::Client::new();
    let requests = (0..100).map(|_| client.post(format!("{}/api/v1/discovery/infra/refresh", app.url)).send());
    for res in futures::future::join_all(requests).await {
        assert_eq!(res.unwrap().status(), 200);
    }
    let (_, runs) = get_json(&app, "/api/v1/discovery/infra/runs?limit=500").await;
    let n = runs["items"].as_array().unwrap().len();
    assert!((1..=10).contains(&n), "100 requests made {n} runs");
}

#[tokio::test]
async fn bad_requests_name_what_is_wrong() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.tfstate"), state(1, &["logs"])).unwrap();
    let app = app(db, dir.path(), &[]).await;
    for (method, path, status, needle) in [
        ("POST", "/api/v1/discovery/nope/refresh", 404, "no discovery source named `nope`"),
        ("GET", "/api/v1/discovery/nope/runs", 404, "nope"),
        ("POST", "/api/v1/discovery/nope/webhook", 404, "nope"),
        ("GET", "/api/v1/discovery/infra/runs?limit=x", 400, "limit"),
        ("POST", "/api/v1/discovery/infra/refresh?wait=maybe", 400, "wait"),
        ("GET", "/api/v1/entities/resource/default/nope/provenance", 404, "nope"),
    ] {
        let req = if method == "GET" { reqwest::Client::new().get(format!("{}{path}", app.url)) } else { reqwest::Client::new().post(format!("{}{path}", app.url)) };
        let res = req.send().await.unwrap();
        assert_eq!(res.status().as_u16(), status, "{method} {path}");
        let body: Value = res.json().await.unwrap();
        assert!(body["error"]["message"].as_str().unwrap().contains(needle), "{method} {path}: {body}");
    }
}

/// A page on another site can make a browser post to the API; such requests are refused
/// before anything runs. Clients and webhooks (no `Origin`) and the portal's own pages pass.
#[tokio::test]
async fn cross_site_requests_from_browsers_are_refused() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.tfstate"), state(1, &["logs"])).unwrap();
    let app = app(db, dir.path(), &[]).await;
    let host = app.url.trim_start_matches("http://").to_owned();
    let post = |headers: &[(&'static str, String)]| {
        let mut req = reqwest::Client::new().post(format!("{}/api/v1/discovery/infra/refresh", app.url));
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        req.send()
    };
    for forged in [vec![("origin", "https://evil.example".to_owned())], vec![("sec-fetch-site", "cross-site".to_owned())]] {
        let res = post(&forged).await.unwrap();
        assert_eq!(res.status().as_u16(), 403, "{forged:?}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["name"], "NotAllowedError", "{body}");
        assert!(body["error"]["message"].as_str().unwrap().contains("another site") || body["error"]["message"].as_str().unwrap().contains("evil.example"), "{body}");
    }
    let (_, runs) = get_json(&app, "/api/v1/discovery/infra/runs").await;
    assert_eq!(runs["items"].as_array().map(Vec::len), Some(0), "nothing ran: {runs}");
    let res = post(&[("origin", format!("http://{host}")), ("sec-fetch-site", "same-origin".to_owned())]).await.unwrap();
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(post(&[]).await.unwrap().status().as_u16(), 200, "no Origin: a client, not a browser");
}

#[tokio::test]
async fn drift_lists_resources_nobody_declared() {
    let db = TestDb::sqlite().await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("prod.tfstate"), state(1, &["logs"])).unwrap();
    let app = app(db, dir.path(), &[]).await;
    post_json(&app, "/api/v1/discovery/infra/refresh", &json!({})).await;
    let (status, report) = get_json(&app, "/api/v1/drift").await;
    assert_eq!(status, 200);
    assert_eq!(report["runtimeSources"], true);
    assert!(report["counts"]["runningNotDeclared"].as_u64().unwrap() >= 1, "{report}");
    assert!(report["items"].as_array().unwrap().iter().any(|i| i["kind"] == "missingOwner" && i["target"] == "group:default/team-a"), "{report}");
}
