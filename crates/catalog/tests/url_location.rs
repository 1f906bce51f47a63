//! Locations read over HTTP from a server on the loopback interface, allowed by `reading.allow`;
//! relative targets and placeholders resolve against the URL. Nothing leaves the machine.

use std::collections::HashMap;
use std::sync::Arc;

use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_store::testing::TestDb;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A minimal HTTP/1.1 file server on 127.0.0.1 for the test's own files.
async fn serve(files: HashMap<&'static str, &'static str>) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let files = Arc::new(files);
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let files = files.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]);
                let path = req.split_whitespace().nth(1).unwrap_or("/");
                let resp = match files.get(path) {
                    Some(body) => format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len()),
                    None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                };
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    port
}

const ROOT: &str = "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: remote\nspec:\n  targets: [./team/catalog-info.yaml, ./missing.yaml]\n";
const TEAM: &str = "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: orders\nspec:\n  type: openapi\n  lifecycle: production\n  owner: team-a\n  definition:\n    $text: ./orders.oas.yaml\n";

#[tokio::test]
async fn url_locations_follow_relative_targets_and_placeholders() {
    let port = serve(HashMap::from([
        ("/catalog/all.yaml", ROOT),
        ("/catalog/team/catalog-info.yaml", TEAM),
        ("/catalog/team/orders.oas.yaml", "openapi: 3.1.0\n"),
    ]))
    .await;
    let db = TestDb::sqlite().await;
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let reader = Reader::new(ReaderConfig { allow: vec![format!("127.0.0.1:{port}")], ..Default::default() });
    let locations = LocationService::new(catalog.clone(), reader);
    let spec = LocationSpec { kind: "url".into(), target: format!("http://127.0.0.1:{port}/catalog/all.yaml") };
    let (_, outcome, _, report) = locations.register(&spec, false).await.unwrap();
    assert_eq!(report.unwrap().added, 2 + 1, "and the registration's own Location");
    let api = catalog.read().get("api:default/orders").cloned().unwrap();
    assert_eq!(api.entity.spec.as_ref().unwrap()["definition"], "openapi: 3.1.0\n");
    assert_eq!(
        api.entity.annotation(portico_model::ANNOTATION_LOCATION),
        Some(format!("url:http://127.0.0.1:{port}/catalog/team/catalog-info.yaml").as_str())
    );
    // The missing target is an error that names the URL; the read is incomplete.
    assert!(!outcome.complete);
    assert!(outcome.errors.iter().any(|e| e.location.ends_with("/catalog/missing.yaml") && e.message.contains("not found")), "{:?}", outcome.errors);
}

#[tokio::test]
async fn hosts_off_the_allow_list_are_refused_without_a_request() {
    let port = serve(HashMap::from([("/catalog/all.yaml", ROOT)])).await;
    let db = TestDb::sqlite().await;
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig::default()));
    let spec = LocationSpec { kind: "url".into(), target: format!("http://127.0.0.1:{port}/catalog/all.yaml") };
    let err = locations.register(&spec, false).await.unwrap_err().to_string();
    assert!(err.contains("reading.allow"), "{err}");
    assert!(catalog.read().is_empty());
}

/// A server that sends an endless body without a length (chunked): the read must stop at the
/// size limit, not buffer what the server sends.
#[tokio::test]
async fn a_body_without_a_length_stops_at_the_size_limit() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let sent = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = sent.clone();
    tokio::spawn(async move {
        let Ok((mut sock, _)) = listener.accept().await else { return };
        let mut buf = vec![0u8; 8192];
        let _ = sock.read(&mut buf).await;
        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").await;
        let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, "#".repeat(64 * 1024));
        // Up to 1 GiB, unless the reader hangs up first.
        for _ in 0..16 * 1024 {
            if sock.write_all(chunk.as_bytes()).await.is_err() {
                return;
            }
            counter.fetch_add(64 * 1024, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let reader = Reader::new(ReaderConfig { allow: vec![format!("127.0.0.1:{port}")], ..Default::default() });
    let url: url::Url = format!("http://127.0.0.1:{port}/huge.yaml").parse().unwrap();
    let err = reader.read_url(&url).await.unwrap_err();
    assert!(matches!(err, portico_catalog::ReadError::TooLarge { .. }), "{err}");
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let sent = sent.load(std::sync::atomic::Ordering::Relaxed);
    assert!(sent < 64 << 20, "the server got to send {sent} bytes");
}
