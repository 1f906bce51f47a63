//! Untrusted input: every bad request gets a 400 (or 404) in the one error shape, naming the
//! problem.

use portico_store::testing::TestDb;
use serde_json::json;

use crate::helpers::{TestApp, error, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_malformed_filter_gets_backstages_message() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    for path in ["/api/catalog/entities/by-query?filter==a", "/api/catalog/entities?filter==a", "/api/catalog/entity-facets?facet=kind&filter==a"] {
        let message = error(app.get(path).await, 400, "InputError", "GET").await;
        assert_eq!(message, "Invalid filter, '=a' is not a valid statement (expected a string on the form a=b or a= or a)");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_offsets_and_orders_are_checked() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    // Worded as Backstage's OpenAPI validator words them.
    for (path, want) in [
        ("/api/catalog/entities?limit=10001", "request/query/limit must be <= 10000"),
        ("/api/catalog/entities?limit=-1", "request/query/limit must be >= 0"),
        ("/api/catalog/entities?limit=99999999999999999999999", "request/query/limit must be <= 10000"),
        ("/api/catalog/entities?offset=x", "request/query/offset must be integer"),
    ] {
        let message = error(app.get(path).await, 400, "InputError", "GET").await;
        assert_eq!(message, want, "{path}");
    }
    // by-query serves any page size, as Backstage does (pages over 1,000 are streamed).
    json(app.get("/api/catalog/entities/by-query?limit=1000000").await, 200).await;
    let message = error(app.get("/api/catalog/entities/by-query?limit=-1").await, 400, "InputError", "GET").await;
    assert_eq!(message, "request/query/limit must be >= 0");
    let message = error(app.get("/api/catalog/entities/by-query?limit=abc").await, 400, "InputError", "GET").await;
    assert_eq!(message, "request/query/limit must be integer");
    let message = error(app.get("/api/catalog/entities/by-query?offset=-3").await, 400, "InputError", "GET").await;
    assert_eq!(message, "request/query/offset must be >= 0");
    let message = error(app.get("/api/catalog/entities/by-query?orderField=metadata.name,up").await, 400, "InputError", "GET").await;
    assert_eq!(message, "Invalid order field order, must be asc or desc");
    let message = error(app.get("/api/catalog/entities?order=metadata.name").await, 400, "InputError", "GET").await;
    assert!(message.starts_with("Invalid order parameter"), "{message}");
    let zero = json(app.get("/api/catalog/entities/by-query?limit=0").await, 200).await;
    assert_eq!((zero["items"].as_array().unwrap().len(), zero["totalItems"].as_u64()), (0, Some(crate::EXAMPLE_ENTITIES)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cursors_that_do_not_decode_or_come_with_filters_are_refused() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    for cursor in ["garbage!", "bm90IGpzb24", "eyJzIjoiYSJ9"] {
        let message = error(app.get(&format!("/api/catalog/entities/by-query?cursor={cursor}")).await, 400, "InputError", "GET").await;
        assert_eq!(message, "invalid cursor");
    }
    let page = json(app.get("/api/catalog/entities/by-query?limit=1").await, 200).await;
    let cursor = page["pageInfo"]["nextCursor"].as_str().unwrap();
    let res = app.get(&format!("/api/catalog/entities/by-query?cursor={cursor}&filter=kind=api&orderField=kind")).await;
    let message = error(res, 400, "InputError", "GET").await;
    assert!(message.starts_with("cursor cannot be combined with filter, orderField"), "{message}");
    let message = error(app.get("/api/catalog/entities?after=garbage").await, 400, "InputError", "GET").await;
    assert_eq!(message, "invalid cursor");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_json_bodies_get_the_error_shape() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let message = error(app.post_raw("/api/catalog/entities/by-refs", "{not json").await, 400, "InputError", "POST").await;
    assert!(message.starts_with("invalid request body:"), "{message}");
    let message = error(app.post_raw("/api/catalog/locations", r#"{"type": "url"}"#).await, 400, "InputError", "POST").await;
    assert!(message.contains("missing field `target`"), "{message}");
    let message = error(app.post_raw("/api/catalog/validate-entity", "[1, 2").await, 400, "InputError", "POST").await;
    assert!(message.starts_with("invalid request body:"), "{message}");
    let res = app.client.post(format!("{}/api/catalog/refresh", app.url)).body("{}").send().await.unwrap();
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("Content-Type"), "{message}");
    let res = app.post("/api/catalog/locations?dryRun=maybe", &json!({"type": "url", "target": "https://example.com/x"})).await;
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("dryRun"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_methods_are_json_404s() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let message = error(app.get("/api/catalog/nope?x=1").await, 404, "NotFoundError", "GET").await;
    assert_eq!(message, "no route for GET /api/catalog/nope");
    error(app.get("/api/nothing/here").await, 404, "NotFoundError", "GET").await;
    error(app.delete("/api/catalog/entities/by-query").await, 404, "NotFoundError", "DELETE").await;
    let body = json(app.get("/api/catalog/nope?x=1").await, 404).await;
    assert_eq!(body["request"]["url"], "/nope?x=1", "relative to the catalog router, as Backstage writes it");
}
