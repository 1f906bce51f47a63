//! Probes, metrics, request ids, the OpenAPI description and shutting down.

use std::time::Duration;

use portico_catalog::{Catalog, CatalogOptions, LocationService, Reader, ReaderConfig};
use portico_server::{AppState, Application};
use portico_store::testing::TestDb;

use crate::helpers::{TestApp, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_and_readiness_probes_answer() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let health = json(app.get("/healthz").await, 200).await;
    assert_eq!(health["status"], "ok");
    let ready = json(app.get("/readyz").await, 200).await;
    assert_eq!(ready["status"], "ready");
    assert_eq!(ready["entities"], crate::EXAMPLE_ENTITIES);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_by_route_template() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    json(app.get("/api/catalog/entities/by-name/component/default/artist-lookup").await, 200).await;

    let res = app.get("/metrics").await;

    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/plain"));
    let text = res.text().await.unwrap();
    // The recorder is the process's: other tests' requests are counted in it too.
    let counted = text.lines().any(|l| {
        l.starts_with("http_requests_total{")
            && l.contains(r#"method="GET""#)
            && l.contains(r#"route="/api/catalog/entities/by-name/{kind}/{namespace}/{name}""#)
            && l.contains(r#"status="200""#)
    });
    assert!(counted, "no request counter in:\n{text}");
    assert!(text.contains("http_request_duration_seconds_bucket{"), "{text}");
    assert!(text.contains("portico_catalog_entities"), "{text}");
    assert!(!text.contains("artist-lookup"), "raw paths never become labels");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_a_request_id() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let res = app.get("/healthz").await;
    assert!(!res.headers()["x-request-id"].is_empty());
    let res = app.client.get(format!("{}/api/nope", app.url)).header("x-request-id", "abc-123").send().await.unwrap();
    assert_eq!(res.headers()["x-request-id"], "abc-123");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_description_lists_every_route() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let doc = json(app.get("/api/openapi.json").await, 200).await;

    assert!(doc["openapi"].as_str().unwrap().starts_with('3'));
    let paths = doc["paths"].as_object().unwrap();
    for path in [
        "/api/catalog/entities",
        "/api/catalog/entities/by-query",
        "/api/catalog/entities/by-refs",
        "/api/catalog/entities/by-name/{kind}/{namespace}/{name}",
        "/api/catalog/entities/by-name/{kind}/{namespace}/{name}/ancestry",
        "/api/catalog/entities/by-uid/{uid}",
        "/api/catalog/entity-facets",
        "/api/catalog/locations",
        "/api/catalog/locations/{id}",
        "/api/catalog/locations/by-entity/{kind}/{namespace}/{name}",
        "/api/catalog/refresh",
        "/api/catalog/validate-entity",
        "/api/v1/entities/{kind}/{namespace}/{name}/history",
        "/api/v1/errors",
        "/api/v1/health/catalog",
        "/api/openapi.json",
        "/healthz",
        "/readyz",
        "/metrics",
    ] {
        assert!(paths.contains_key(path), "{path} missing from {:?}", paths.keys().collect::<Vec<_>>());
    }
    assert!(paths["/api/catalog/entities/by-uid/{uid}"].get("delete").is_some());
    assert!(doc["components"]["schemas"]["ErrorResponse"].is_object());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_stops_when_signalled() {
    let db = TestDb::sqlite().await;
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig::default()));
    let app = Application::build(AppState::new(catalog, locations), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = app.url();
    assert_eq!(url, format!("http://127.0.0.1:{}", app.port()));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until(async move {
        let _ = stopped.await;
    }));
    json(reqwest::get(format!("{url}/healthz")).await.unwrap(), 200).await;

    stop.send(()).unwrap();

    tokio::time::timeout(Duration::from_secs(10), server).await.unwrap().unwrap().unwrap();
    assert!(reqwest::get(format!("{url}/healthz")).await.is_err());
}

/// The port opens before the first read of the catalog's locations: until it ends, `/readyz`
/// answers 503 `loading` (with the entities read so far) while everything else answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_says_loading_until_the_first_read_ends() {
    let db = TestDb::sqlite().await;
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig::default()));
    let state = AppState::new(catalog, locations).loading();
    let app = Application::build(state.clone(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let url = app.url();
    let server = tokio::spawn(app.run_until_stopped());

    let res = reqwest::get(format!("{url}/readyz")).await.unwrap();
    let loading = json(res, 503).await;
    assert_eq!(loading["status"], "loading");
    assert_eq!(loading["entities"], 0);
    json(reqwest::get(format!("{url}/healthz")).await.unwrap(), 200).await;
    json(reqwest::get(format!("{url}/api/catalog/entities")).await.unwrap(), 200).await;

    state.startup.finish();
    assert_eq!(json(reqwest::get(format!("{url}/readyz")).await.unwrap(), 200).await["status"], "ready");
    server.abort();
}
