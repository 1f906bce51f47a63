//! Scorecards over the API, on both backends: levels and scores from a Scorecard entity read
//! from a file, results that follow a change of the file, the deploy gate (pass, fail, fail
//! closed, bad input, audit), a Scorecard with a mistake refused at its line, and counts that
//! leave out what a reader may not read.

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, error, json};

pub(crate) const CATALOG: &str = r#"
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: shop }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: { name: ada }
spec: { memberOf: [shop] }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: secret-team }
spec: { type: team, children: [] }
---
apiVersion: backstage.io/v1alpha1
kind: System
metadata: { name: store }
spec: { owner: shop }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: cart, description: The cart }
spec: { type: service, lifecycle: production, owner: shop, system: store }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: pay }
spec: { type: service, lifecycle: production, owner: shop }
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: { name: vault, description: Secrets }
spec: { type: service, lifecycle: production, owner: secret-team, system: store }
---
apiVersion: portico.dev/v1
kind: Scorecard
metadata: { name: readiness, title: Production readiness }
spec:
  filter: kind == 'Component'
  rules:
    - id: owner
      level: Bronze
      expression: owner_exists()
    - id: description
      title: Says what it does
      level: Silver
      expression: has_description()
      remediation: { text: Add metadata.description, url: "https://docs.example.com/descriptions" }
    - id: system
      level: Gold
      expression: system_exists()
"#;

fn levels(summary: &Value) -> Vec<(String, u64)> {
    summary["distribution"].as_array().unwrap().iter().map(|d| (d["level"].as_str().unwrap_or("none").to_owned(), d["count"].as_u64().unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entities_get_levels_that_follow_changes_and_the_gate_answers_ci() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let (app, _dir, file) = TestApp::with_registered_file(db, CATALOG).await;

        let list = json(app.get("/api/v1/scorecards").await, 200).await;
        let readiness = &list["items"][0];
        assert_eq!(readiness["ref"], "scorecard:default/readiness", "{backend}: {list}");
        assert_eq!(readiness["entities"], 3, "{backend}: the filter keeps the components");
        // cart: Gold; pay: Bronze (no description); vault: Gold.
        assert_eq!(levels(readiness), [("none".into(), 0), ("Bronze".into(), 1), ("Silver".into(), 0), ("Gold".into(), 2)], "{backend}");
        assert_eq!(readiness["rules"][1]["passed"], 2);
        assert_eq!(readiness["rules"][1]["failed"], 1);

        let pay = json(app.get("/api/v1/entities/component/default/pay/scorecards").await, 200).await;
        let result = &pay["items"][0];
        assert_eq!((result["level"].as_str(), result["nextLevel"].as_str()), (Some("Bronze"), Some("Silver")), "{backend}: {pay}");
        assert_eq!(result["rules"][1]["passed"], false);
        assert_eq!(result["rules"][1]["remediation"]["url"], "https://docs.example.com/descriptions");
        error(app.get("/api/v1/entities/component/default/nope/scorecards").await, 404, "NotFoundError", "GET").await;

        // The gate.
        let gate = |q: &str| format!("/api/v1/gates/component/default/{q}");
        let fail = json(app.get(&gate("pay?scorecard=readiness&level=Silver")).await, 200).await;
        assert_eq!(fail["pass"], false, "{backend}: {fail}");
        assert_eq!(fail["level"], "Bronze");
        assert_eq!(fail["failing"].as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect::<Vec<_>>(), ["description"]);
        let pass = json(app.get(&gate("pay?scorecard=default/readiness&level=bronze")).await, 200).await;
        assert_eq!(pass["pass"], true, "{backend}: level names are not case-sensitive: {pass}");
        let unknown = json(app.get(&gate("nope?scorecard=readiness&level=Bronze")).await, 200).await;
        assert_eq!(unknown["pass"], false, "{backend}: fails closed");
        assert!(unknown["reason"].as_str().unwrap().contains("no entity"), "{unknown}");
        let no_result = json(app.get("/api/v1/gates/group/default/shop?scorecard=readiness&level=Bronze").await, 200).await;
        assert!(no_result["reason"].as_str().unwrap().contains("filter"), "{no_result}");
        for (q, says) in [
            ("pay", "scorecard and level are required"),
            ("pay?scorecard=readiness", "scorecard and level are required"),
            ("pay?scorecard=nope&level=Gold", "no scorecard \"nope\"; the scorecards: readiness"),
            ("pay?scorecard=readiness&level=Platinum", "Bronze, Silver, Gold"),
            ("pay?scorecard=readiness&level=Gold&extra=1", "unknown field"),
        ] {
            let message = error(app.get(&gate(q)).await, 400, "InputError", "GET").await;
            assert!(message.contains(says), "{backend}: {q}: {message}");
        }
        let audit = json(app.get("/api/v1/audit?action=scorecard.gate").await, 200).await;
        let outcomes: Vec<&str> = audit["items"].as_array().unwrap().iter().map(|e| e["outcome"].as_str().unwrap()).collect();
        assert_eq!(outcomes.len(), 4, "{backend}: every answer, none of the refusals: {audit}");
        assert!(outcomes.contains(&"passed") && outcomes.contains(&"failed"), "{audit}");
        assert!(audit["items"].as_array().unwrap().iter().any(|e| e["detail"].as_str().unwrap().contains("failing: description")), "{audit}");

        // A change to the file: pay gets a description, and the next answer knows it.
        let changed = CATALOG.replace("metadata: { name: pay }", "metadata: { name: pay, description: Payments }");
        std::fs::write(&file, changed).unwrap();
        assert_eq!(app.post("/api/catalog/refresh", &json!({"entityRef": "component:default/pay"})).await.status(), 200, "{backend}");
        let now = json(app.get(&gate("pay?scorecard=readiness&level=Silver")).await, 200).await;
        assert_eq!(now["pass"], true, "{backend}: {now}");
        let one = json(app.get("/api/v1/scorecards/default/readiness?level=silver").await, 200).await;
        assert_eq!(one["totalItems"], 1, "{backend}: {one}");
        assert_eq!(one["items"][0]["ref"], "component:default/pay");
        assert_eq!(one["items"][0]["failing"], json!(["system"]));
        let message = error(app.get("/api/v1/scorecards/default/readiness?level=Platinum").await, 400, "InputError", "GET").await;
        assert!(message.contains("Bronze, Silver, Gold (or none)"), "{message}");
        error(app.get("/api/v1/scorecards/default/nope").await, 404, "NotFoundError", "GET").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scorecard_with_a_mistake_is_refused_at_its_line_and_the_rest_is_read() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let bad = CATALOG.replace("expression: has_description()", "expression: has_descripton()");
        let (app, _dir, _file) = TestApp::with_registered_file(db, &bad).await;
        let errors = json(app.get("/api/v1/errors").await, 200).await;
        let text = errors.to_string();
        assert!(text.contains("spec.rules[1].expression") && text.contains("did you mean 'has_description'"), "{backend}: {errors}");
        let line = CATALOG.lines().position(|l| l.contains("expression: has_description()")).unwrap() + 1;
        assert!(text.contains(&format!("catalog-info.yaml:{line}:")), "{backend}: the error is at the expression's line {line}: {errors}");
        let list = json(app.get("/api/v1/scorecards").await, 200).await;
        assert_eq!(list["items"], json!([]), "{backend}: not stored, so not in force");
        json(app.get("/api/catalog/entities/by-name/component/default/cart").await, 200).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_counts_and_gates_only_what_it_may_read() {
    const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";
    for db in TestDb::all().await {
        let backend = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("catalog-info.yaml");
        std::fs::write(&file, CATALOG).unwrap();
        let policy = json!({"combine": "firstMatch", "rules": [
            {"name": "secret", "effect": "deny", "permissions": ["catalog.entity.read"],
             "when": "entity != null && entity.has_relation('ownedBy', 'group:default/secret-team')"},
            {"name": "read", "effect": "allow", "permissions": ["catalog.entity.read", "token.read"], "when": "user.signedIn"}
        ]});
        let auth = AuthConfig { bootstrap_token: Some(BOOTSTRAP.into()), policy: serde_json::from_value(policy).unwrap(), ..Default::default() };
        let app = TestApp::spawn_setup(db, Setup { examples: false, roots: vec![dir.path().to_path_buf()], auth, ..Setup::default() }).await;
        let res = app.client.post(format!("{}/api/catalog/locations", app.url)).bearer_auth(BOOTSTRAP).json(&json!({"type": "file", "target": file})).send().await.unwrap();
        json(res, 201).await;
        let res = app.client.post(format!("{}/api/v1/tokens", app.url)).bearer_auth(BOOTSTRAP).json(&json!({"name": "t", "scopes": ["read"], "user": "user:default/ada"})).send().await.unwrap();
        let ada = json(res, 201).await["secret"].as_str().unwrap().to_owned();
        let get = |p: &str| app.client.get(format!("{}{p}", app.url)).bearer_auth(&ada).send();

        let all = json(app.client.get(format!("{}/api/v1/scorecards", app.url)).bearer_auth(BOOTSTRAP).send().await.unwrap(), 200).await;
        assert_eq!(all["items"][0]["entities"], 3, "{backend}: the bootstrap token sees every entity");
        let hers = json(get("/api/v1/scorecards").await.unwrap(), 200).await;
        assert_eq!(hers["items"][0]["entities"], 2, "{backend}: vault is hidden from her: {hers}");
        assert_eq!(levels(&hers["items"][0]), [("none".into(), 0), ("Bronze".into(), 1), ("Silver".into(), 0), ("Gold".into(), 1)], "{backend}");
        let page = json(get("/api/v1/scorecards/default/readiness").await.unwrap(), 200).await;
        assert!(!page.to_string().contains("vault"), "{backend}: {page}");
        // The gate on a hidden entity answers as on one that does not exist.
        let hidden = json(get("/api/v1/gates/component/default/vault?scorecard=readiness&level=Bronze").await.unwrap(), 200).await;
        let missing = json(get("/api/v1/gates/component/default/vaulx?scorecard=readiness&level=Bronze").await.unwrap(), 200).await;
        assert_eq!(hidden["pass"], false, "{backend}");
        assert_eq!(hidden["reason"].as_str().unwrap().replace("vault", "NAME"), missing["reason"].as_str().unwrap().replace("vaulx", "NAME"), "{backend}");
        assert_eq!(get("/api/v1/entities/component/default/vault/scorecards").await.unwrap().status(), 404, "{backend}");
    }
}

/// Level history: the levels stored as they change, read back as changes and as of a time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn levels_are_stored_as_they_change_and_read_as_of_a_time() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let (app, _dir, file) = TestApp::with_registered_file(db, CATALOG).await;
        // The server stores changes every 30 seconds; the test stores them when it needs to, from
        // results of its own (the same as the server's: the same catalog).
        let scorecards = portico_scorecards::Scorecards::new(app.catalog.graph().clone());
        let history = portico_scorecards::History::new(app.catalog.clone(), scorecards.clone());
        scorecards.update();
        history.record_once(portico_catalog::now_ms()).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let before = chrono::Utc::now().to_rfc3339();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;

        let changed = CATALOG.replace("metadata: { name: pay }", "metadata: { name: pay, description: Payments }");
        std::fs::write(&file, changed).unwrap();
        assert_eq!(app.post("/api/catalog/refresh", &json!({"entityRef": "component:default/pay"})).await.status(), 200, "{backend}");
        scorecards.update();
        history.record_once(portico_catalog::now_ms()).await.unwrap();

        let counts = |v: &Value| v["distribution"].as_array().unwrap().iter().map(|d| d["count"].as_u64().unwrap()).collect::<Vec<_>>();
        let then = json(app.get(&format!("/api/v1/scorecards/default/readiness/levels?asOf={}", form_urlencoded::byte_serialize(before.as_bytes()).collect::<String>())).await, 200).await;
        assert_eq!(counts(&then), [0, 1, 0, 2], "{backend}: pay at Bronze then: {then}");
        let now = json(app.get("/api/v1/scorecards/default/readiness/levels").await, 200).await;
        assert_eq!(counts(&now), [0, 0, 1, 2], "{backend}: pay at Silver now: {now}");
        assert_eq!(now["items"][0]["entityKey"], "component:default/pay", "{backend}: lowest level first");
        let changes = json(app.get("/api/v1/scorecards/default/readiness/history?entity=pay").await, 200).await;
        let mut levels: Vec<&str> = changes["items"].as_array().unwrap().iter().map(|r| r["levelName"].as_str().unwrap()).collect();
        // The server's own writer may have stored the same change too (it runs at start).
        levels.dedup();
        assert_eq!(levels, ["Silver", "Bronze"], "{backend}: newest first: {changes}");
        for (path, says) in [
            ("/api/v1/scorecards/default/readiness/levels?asOf=yesterday", "asOf:"),
            ("/api/v1/scorecards/default/readiness/levels?asOf=2999-01-01T00:00:00Z", "in the future"),
            ("/api/v1/scorecards/default/readiness/history?since=soon", "since:"),
            ("/api/v1/scorecards/default/readiness/history?colour=red", "unknown field"),
        ] {
            let message = error(app.get(path).await, 400, "InputError", "GET").await;
            assert!(message.contains(says), "{backend}: {path}: {message}");
        }
        error(app.get("/api/v1/scorecards/default/nope/history").await, 404, "NotFoundError", "GET").await;
    }
}
