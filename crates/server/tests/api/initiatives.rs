//! Initiatives over the API, on both backends: progress per owner, the to-do list with each
//! rule's remediation, an entity's initiatives, the burn-down from stored progress, an
//! initiative that does not resolve, and bad input.

use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};

const INITIATIVE: &str = r#"
---
apiVersion: portico.dev/v1
kind: Initiative
metadata: { name: silver-by-spring, title: Everything at Silver by spring }
spec:
  scorecard: readiness
  level: Silver
  start: "2026-01-01"
  deadline: "2999-03-31"
  owner: shop
"#;

fn owners(v: &Value) -> Vec<(String, u64, u64)> {
    v["owners"].as_array().unwrap().iter().map(|o| (o["owner"].as_str().unwrap().to_owned(), o["done"].as_u64().unwrap(), o["total"].as_u64().unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initiatives_show_progress_per_owner_to_do_lists_and_a_burndown() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let catalog = format!("{}{INITIATIVE}", super::scorecards::CATALOG);
        let (app, _dir, file) = TestApp::with_registered_file(db, &catalog).await;

        let list = json(app.get("/api/v1/initiatives").await, 200).await;
        let i = &list["items"][0];
        assert_eq!(i["ref"], "initiative:default/silver-by-spring", "{backend}: {list}");
        // cart and vault have a description (Silver); pay does not.
        assert_eq!((i["total"].as_u64(), i["done"].as_u64(), i["overdue"].as_u64()), (Some(3), Some(2), Some(0)), "{backend}: {i}");
        assert_eq!(i["level"], "Silver", "{backend}");
        assert_eq!(owners(i), [("group:default/shop".into(), 1, 2), ("group:default/secret-team".into(), 1, 1)], "{backend}: least done first");

        let one = json(app.get("/api/v1/initiatives/default/silver-by-spring").await, 200).await;
        assert_eq!(one["totalItems"], 1, "{backend}: {one}");
        assert_eq!(one["items"][0]["ref"], "component:default/pay", "{backend}");
        assert_eq!(one["items"][0]["fix"][0]["id"], "description", "{backend}");
        assert_eq!(one["items"][0]["fix"][0]["remediation"]["url"], "https://docs.example.com/descriptions", "{backend}");
        let theirs = json(app.get("/api/v1/initiatives/default/silver-by-spring?owner=secret-team").await, 200).await;
        assert_eq!(theirs["totalItems"], 0, "{backend}: vault is done");

        let pay = json(app.get("/api/v1/entities/component/default/pay/initiatives").await, 200).await;
        assert_eq!((pay["items"][0]["done"].as_bool(), pay["items"][0]["fix"][0]["id"].as_str()), (Some(false), Some("description")), "{backend}: {pay}");
        let cart = json(app.get("/api/v1/entities/component/default/cart/initiatives").await, 200).await;
        assert_eq!(cart["items"][0]["done"], true, "{backend}");
        let shop = json(app.get("/api/v1/entities/group/default/shop/initiatives").await, 200).await;
        assert_eq!(shop["items"], json!([]), "{backend}: a group is not scored by readiness");

        // Progress as stored by the history writer (the server's runs every 30 seconds).
        let scorecards = portico_scorecards::Scorecards::new(app.catalog.graph().clone());
        let history = portico_scorecards::History::new(app.catalog.clone(), scorecards.clone());
        scorecards.update();
        history.record_once(portico_catalog::now_ms()).await.unwrap();
        std::fs::write(&file, catalog.replace("metadata: { name: pay }", "metadata: { name: pay, description: Payments }")).unwrap();
        assert_eq!(app.post("/api/catalog/refresh", &json!({"entityRef": "component:default/pay"})).await.status(), 200, "{backend}");
        scorecards.update();
        history.record_once(portico_catalog::now_ms() + 1).await.unwrap();
        let h = json(app.get("/api/v1/initiatives/default/silver-by-spring/history").await, 200).await;
        let remaining: Vec<i64> = h["burndown"]["points"].as_array().unwrap().iter().map(|p| p[1].as_i64().unwrap()).collect();
        assert_eq!(remaining.first(), Some(&1), "{backend}: {h}");
        assert_eq!(remaining.last(), Some(&0), "{backend}: {h}");
        assert_eq!(h["burndown"]["start"], 1_767_225_600_000i64, "{backend}: the initiative's start");
        let done = json(app.get("/api/v1/initiatives").await, 200).await;
        assert_eq!(done["items"][0]["percent"], 100.0, "{backend}");

        for (path, says) in [
            ("/api/v1/initiatives/default/silver-by-spring?owner=group:", "owner:"),
            ("/api/v1/initiatives/default/silver-by-spring?colour=red", "unknown field"),
            ("/api/v1/initiatives/default/silver-by-spring?limit=many", "limit"),
            ("/api/v1/initiatives/default/silver-by-spring/history?since=soon", "since:"),
        ] {
            let message = error(app.get(path).await, 400, "InputError", "GET").await;
            assert!(message.contains(says), "{backend}: {path}: {message}");
        }
        error(app.get("/api/v1/initiatives/default/nope").await, 404, "NotFoundError", "GET").await;
        error(app.get("/api/v1/entities/component/default/nope/initiatives").await, 404, "NotFoundError", "GET").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initiative_that_does_not_resolve_is_listed_as_broken_and_one_with_a_mistake_is_refused_at_its_line() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let catalog = format!("{}{}", super::scorecards::CATALOG, INITIATIVE.replace("level: Silver", "level: Platinum"));
        let (app, _dir, file) = TestApp::with_registered_file(db, &catalog).await;
        let list = json(app.get("/api/v1/initiatives").await, 200).await;
        assert_eq!(list["items"], json!([]), "{backend}: {list}");
        let why = list["broken"][0]["error"].as_str().unwrap();
        assert!(why.starts_with("spec.level:") && why.contains("Bronze, Silver, Gold"), "{backend}: {why}");
        let message = error(app.get("/api/v1/initiatives/default/silver-by-spring").await, 400, "InputError", "GET").await;
        assert!(message.contains("Platinum"), "{backend}: {message}");

        // A deadline that is not a date: refused when read, at its line.
        std::fs::write(&file, format!("{}{}", super::scorecards::CATALOG, INITIATIVE.replace("\"2999-03-31\"", "next spring"))).unwrap();
        app.post("/api/catalog/refresh", &json!({"entityRef": "initiative:default/silver-by-spring"})).await;
        let errors = json(app.get("/api/v1/errors").await, 200).await.to_string();
        let line = catalog.lines().position(|l| l.contains("deadline:")).unwrap() + 1;
        assert!(errors.contains("spec.deadline") && errors.contains(&format!("catalog-info.yaml:{line}:")), "{backend}: {errors}");
    }
}
