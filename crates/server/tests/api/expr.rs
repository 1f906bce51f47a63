//! Queries in the expression language over HTTP: answers cross-checked against Backstage's
//! filters on the example catalog, formats, paging, time travel, saved queries, bad input.

use serde_json::{Value, json};

use crate::helpers::{TestApp, error, json};
use crate::EXPECTED_KINDS;
use portico_store::testing::TestDb;

async fn query(app: &TestApp, body: Value) -> Value {
    json(app.post("/api/v1/query", &body).await, 200).await
}

async fn bad(app: &TestApp, body: Value) -> String {
    error(app.post("/api/v1/query", &body).await, 400, "InputError", "POST").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_agree_with_backstage_filters_and_come_in_every_format() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let websites = json(app.get("/api/catalog/entities/by-query?filter=kind=component,spec.type=website&limit=100").await, 200).await;
    let r = query(&app, json!({"expression": "kind == 'Component' && spec.type == 'website'", "fields": ["metadata.name", "spec.owner"]})).await;
    assert_eq!(r["totalItems"], websites["totalItems"]);
    assert!(r["totalItems"].as_u64().unwrap() > 0);
    assert_eq!(r["plan"]["indexed"], json!(["kind = component", "spec.type = website"]));
    let first = &r["items"][0];
    assert!(first["ref"].as_str().unwrap().starts_with("component:default/"), "{first}");
    assert!(first["metadata.name"].is_string() && first["spec.owner"].is_string(), "{first}");

    // Groups count what the facets count.
    let r = query(&app, json!({"expression": "true", "groupBy": "kind", "limit": 0})).await;
    let groups: Vec<(String, u64)> = r["groups"].as_array().unwrap().iter().map(|g| (g["key"].as_str().unwrap().to_owned(), g["count"].as_u64().unwrap())).collect();
    let expected: Vec<(String, u64)> = EXPECTED_KINDS.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect();
    assert_eq!(groups, expected);
    assert!(r["items"].as_array().unwrap().is_empty());

    // Whole entities, with relations, when no fields are asked for.
    let r = query(&app, json!({"expression": "ref == 'component:default/artist-lookup'"})).await;
    assert_eq!(r["items"][0]["metadata"]["name"], "artist-lookup");
    assert!(!r["items"][0]["relations"].as_array().unwrap().is_empty());
    assert_eq!(r["plan"]["evaluated"], 1);

    // Graph functions: every component that provides an API, seen from both sides.
    let r = query(&app, json!({"expression": "kind == 'Component' && related('providesApi').size() > 0", "fields": ["related('providesApi').map(a, a.ref)"], "limit": 100})).await;
    let n = r["totalItems"].as_u64().unwrap();
    assert!(n > 0);
    let r2 = query(&app, json!({"expression": "kind == 'API' && inverse('providesApi').size() > 0", "limit": 0})).await;
    assert!(r2["totalItems"].as_u64().unwrap() > 0);

    // CSV and a text table, by parameter or by Accept.
    let res = app.client.post(format!("{}/api/v1/query?format=csv", app.url)).json(&json!({"expression": "kind == 'Domain'", "fields": ["metadata.name"]})).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = res.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "ref,metadata.name");
    assert_eq!(lines.len(), 4, "{csv}");
    let res = app.client.post(format!("{}/api/v1/query", app.url)).header("accept", "text/plain").json(&json!({"expression": "kind == 'Domain'"})).send().await.unwrap();
    let table = res.text().await.unwrap();
    assert!(table.starts_with("kind    namespace  name"), "{table}");
    assert_eq!(table.lines().count(), 4, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_follow_the_cursor() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let mut seen = Vec::new();
    let mut body = json!({"expression": "kind == 'User'", "fields": ["metadata.name"], "limit": 5});
    loop {
        let r = query(&app, body.clone()).await;
        assert_eq!(r["totalItems"], 17);
        seen.extend(r["items"].as_array().unwrap().iter().map(|i| i["ref"].as_str().unwrap().to_owned()));
        match r["pageInfo"]["nextCursor"].as_str() {
            Some(c) => body["cursor"] = json!(c),
            None => break,
        }
    }
    assert_eq!(seen.len(), 17);
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in reference order by default");
    let r = query(&app, json!({"expression": "kind == 'User'", "fields": ["metadata.name"], "orderBy": [{"expression": "metadata.name", "desc": true}], "limit": 1})).await;
    assert_eq!(r["items"][0]["ref"], "user:default/tara.macgovern");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_say_what_and_where() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let m = bad(&app, json!({"expression": "kind == 'Component' &&"})).await;
    assert!(m.starts_with("expression (syntax): 1:"), "{m}");
    assert!(m.contains("\n  | kind == 'Component' &&\n  |"), "{m}");
    let m = bad(&app, json!({"expression": "relatd('dependsOn').size() > 0"})).await;
    assert!(m.contains("unknown function 'relatd'; did you mean 'related'?"), "{m}");
    let m = bad(&app, json!({"expression": "kind == 'API'", "fields": ["spec.owner +"]})).await;
    assert!(m.contains("field \"spec.owner +\""), "{m}");
    let m = bad(&app, json!({"expression": "metadata.name + 1 > 0"})).await;
    assert!(m.contains("expression (evaluation)") && m.contains("for every entity evaluated"), "{m}");
    let m = bad(&app, json!({"expression": "spec"})).await;
    assert!(m.contains("must be true or false"), "{m}");
    let huge = format!("kind == '{}'", "x".repeat(10_000));
    let m = bad(&app, json!({"expression": huge})).await;
    assert!(m.contains("expression (query limit)"), "{m}");
    let m = bad(&app, json!({"expression": "true", "limit": 20000})).await;
    assert!(m.contains("limit"), "{m}");
    let m = bad(&app, json!({"expression": "true", "cursor": "abc", "offset": 3})).await;
    assert!(m.contains("cursor cannot be combined"), "{m}");
    bad(&app, json!({"expression": "true", "cursor": "!!not-a-cursor"})).await;
    let m = bad(&app, json!({"expression": "true", "asOf": "2999-01-01T00:00:00Z"})).await;
    assert!(m.contains("in the future"), "{m}");
    let m = bad(&app, json!({"expression": "true", "asOf": "1999-01-01T00:00:00Z"})).await;
    assert!(m.contains("before the catalog's history"), "{m}");
    let m = bad(&app, json!({"expression": "true", "asOf": "yesterday"})).await;
    assert!(m.contains("asOf: \"yesterday\" is not an RFC 3339 time"), "{m}");
    let m = bad(&app, json!({"expresion": "true"})).await;
    assert!(m.contains("expresion"), "{m}");
    let m = error(app.post("/api/v1/query?format=xml", &json!({"expression": "true"})).await, 400, "InputError", "POST").await;
    assert!(m.contains("format"), "{m}");
    error(app.post_raw("/api/v1/query", "{not json").await, 400, "InputError", "POST").await;
    // Typos in field names are warned about, not fatal.
    let r = query(&app, json!({"expression": "spec.lifecycel == 'production'"})).await;
    assert_eq!(r["warnings"], json!(["no entity has the field 'spec.lifecycel'"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn vocabulary_lists_what_a_query_can_name() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let v = json(app.get("/api/v1/query/vocabulary").await, 200).await;
    let names = |k: &str, f: &str| v[k].as_array().unwrap().iter().map(|x| x[f].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert!(names("functions", "name").contains(&"reachable".to_owned()));
    assert!(v["variables"]["variables"].as_array().unwrap().iter().any(|x| x["name"] == "spec"));
    assert!(v["kinds"].as_array().unwrap().contains(&json!("Component")));
    assert!(v["fields"].as_array().unwrap().contains(&json!("spec.owner")));
}

const V1: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: legacy\nspec:\n  type: service\n  lifecycle: deprecated\n  owner: team-a\n";
const V2: &str = "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\nspec:\n  type: service\n  lifecycle: production\n  owner: team-b\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_read_answers_as_of_a_past_time_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, _dir, file) = TestApp::with_registered_file(db, V1).await;
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        let t1 = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        std::fs::write(&file, V2).unwrap();
        let refreshed = app.post("/api/catalog/refresh", &json!({"entityRef": "component:default/cart"})).await;
        assert!(refreshed.status().is_success());

        let q = |as_of: Option<&str>| {
            let mut body = json!({"expression": "kind == 'Component' && spec.owner == 'team-a'", "fields": ["spec.lifecycle"]});
            if let Some(t) = as_of {
                body["asOf"] = json!(t);
            }
            body
        };
        let then = query(&app, q(Some(&t1))).await;
        assert_eq!(then["totalItems"], 2, "{b}: {then}");
        assert_eq!(then["asOf"].as_str().map(|s| s.len() > 10), Some(true), "{b}");
        let now = query(&app, q(None)).await;
        assert_eq!(now["totalItems"], 0, "{b}");

        // Backstage's by-query too, and its cursor stays in the past.
        let page = json(app.get(&format!("/api/catalog/entities/by-query?filter=kind=component&asOf={t1}&limit=1")).await, 200).await;
        assert_eq!(page["totalItems"], 2, "{b}");
        assert_eq!(page["items"][0]["spec"]["owner"], "team-a", "{b}");
        let next = page["pageInfo"]["nextCursor"].as_str().unwrap();
        let page2 = json(app.get(&format!("/api/catalog/entities/by-query?cursor={next}")).await, 200).await;
        assert_eq!(page2["items"][0]["metadata"]["name"], "legacy", "{b}");
        let now = json(app.get("/api/catalog/entities/by-query?filter=kind=component").await, 200).await;
        assert_eq!(now["totalItems"], 1, "{b}");
        let m = error(app.get(&format!("/api/catalog/entities/by-query?cursor={next}&asOf={t1}")).await, 400, "InputError", "GET").await;
        assert!(m.contains("asOf"), "{m}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn saved_queries_are_stored_shared_and_run_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let app = TestApp::spawn(db).await;
        let body = json!({"title": "Websites", "description": "Every website", "owner": "team-a",
            "query": {"expression": "kind == 'Component' && spec.type == 'website'", "fields": ["metadata.name"], "limit": 1}});
        let put = |name: &str, body: &Value| app.client.put(format!("{}/api/v1/queries/{name}", app.url)).json(body).send();
        let created = json(put("websites", &body).await.unwrap(), 201).await;
        assert_eq!(created["owner"], "group:default/team-a", "{b}");
        assert_eq!(created["consoleUrl"], "/query?saved=websites");
        let replaced = json(put("websites", &json!({"owner": "group:team-a", "query": body["query"]})).await.unwrap(), 200).await;
        assert_eq!(replaced["title"], "websites", "{b}: title defaults to the name");
        assert_eq!(replaced["createdAt"], created["createdAt"], "{b}");

        let list = json(app.get("/api/v1/queries").await, 200).await;
        assert_eq!(list["items"][0]["name"], "websites", "{b}");
        let one = json(app.get("/api/v1/queries/websites").await, 200).await;
        assert_eq!(one["query"]["expression"], "kind == 'Component' && spec.type == 'website'");

        let ran = json(app.client.post(format!("{}/api/v1/queries/websites/run", app.url)).send().await.unwrap(), 200).await;
        assert_eq!(ran["items"].as_array().unwrap().len(), 1, "{b}: the saved limit");
        assert!(ran["pageInfo"]["nextCursor"].is_string());
        let csv = app.client.post(format!("{}/api/v1/queries/websites/run?format=csv", app.url)).json(&json!({"limit": 100})).send().await.unwrap().text().await.unwrap();
        assert_eq!(csv.lines().next(), Some("ref,metadata.name"));

        // Bad input: a query that does not compile, a bad name, a bad owner, unknown fields.
        let m = error(put("broken", &json!({"owner": "team-a", "query": {"expression": "kind ==="}})).await.unwrap(), 400, "InputError", "PUT").await;
        assert!(m.contains("syntax"), "{m}");
        let m = error(put("Bad Name", &body).await.unwrap(), 400, "InputError", "PUT").await;
        assert!(m.contains("name"), "{m}");
        let m = error(put("x", &json!({"owner": "a:b:c", "query": body["query"]})).await.unwrap(), 400, "InputError", "PUT").await;
        assert!(m.contains("owner"), "{m}");
        error(put("x", &json!({"owner": "t", "query": body["query"], "colour": 1})).await.unwrap(), 400, "InputError", "PUT").await;
        error(app.client.post(format!("{}/api/v1/queries/websites/run", app.url)).body("{\"limit\": \"ten\"}").send().await.unwrap(), 400, "InputError", "POST").await;
        assert!(json(app.get("/api/v1/queries/broken").await, 404).await["error"]["message"].as_str().unwrap().contains("broken"));

        assert_eq!(app.delete("/api/v1/queries/websites").await.status(), 204);
        error(app.delete("/api/v1/queries/websites").await, 404, "NotFoundError", "DELETE").await;
        error(app.client.post(format!("{}/api/v1/queries/websites/run", app.url)).send().await.unwrap(), 404, "NotFoundError", "POST").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_over_time_come_from_the_history() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let s = json(app.get("/api/v1/analytics/series?by=kind&points=3&top=3").await, 200).await;
    assert_eq!(s["by"], "kind");
    assert_eq!(s["times"].as_array().unwrap().len(), 3);
    let lines = s["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 4, "three kinds and the rest: {s}");
    assert_eq!(lines[0]["name"], "User");
    assert_eq!(lines[0]["values"][2], 17);
    assert_eq!(lines[3]["name"], "other");
    let total: u64 = lines.iter().map(|l| l["values"][2].as_u64().unwrap()).sum();
    assert_eq!(total, crate::EXAMPLE_ENTITIES);
    let s = json(app.get("/api/v1/analytics/series?by=lifecycle&points=1").await, 200).await;
    assert!(s["lines"].as_array().unwrap().iter().any(|l| l["name"] == "production"));
    for (q, needle) in [
        ("", "by: required"),
        ("by=team", "not one of"),
        ("by=kind&points=0", "points"),
        ("by=kind&points=9999", "points"),
        ("by=kind&top=x", "top"),
        ("by=kind&from=2999-01-01T00:00:00Z", "future"),
        ("by=kind&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", "after"),
    ] {
        let m = error(app.get(&format!("/api/v1/analytics/series?{q}")).await, 400, "InputError", "GET").await;
        assert!(m.contains(needle), "{q}: {m}");
    }
}
