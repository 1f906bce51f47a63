//! `portico bench web`: generates the synthetic catalog, ingests it (SQLite), builds the search
//! index, then times the web pages through the whole router (middleware included) in this
//! process: server time, with no network or client in the measure. Prints plain numbers.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::Request;
use clap::Args;
use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_server::AppState;
use portico_testkit::TestDb;
use tower::ServiceExt as _;

use super::bench::{generate, percentiles};

#[derive(Args)]
pub struct WebBench {
    /// Entities to generate.
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    /// Requests per measured page.
    #[arg(long, default_value_t = 1000)]
    requests: usize,
}

/// The synthetic catalog of `entities`, generated and ingested into a fresh SQLite database:
/// what the in-process benchmarks measure. Keep the directory and the database alive.
pub(super) async fn ingested(entities: usize) -> anyhow::Result<(tempfile::TempDir, portico_testkit::synth::SynthSummary, TestDb, std::sync::Arc<Catalog>, LocationService)> {
    let (dir, summary) = generate(entities)?;
    let db = TestDb::sqlite().await;
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await?;
    let reader = Reader::new(ReaderConfig { allowed_roots: vec![dir.path().to_path_buf()], ..Default::default() });
    let locations = LocationService::new(catalog.clone(), reader);
    let t = Instant::now();
    locations.register(&LocationSpec { kind: "file".into(), target: summary.root.display().to_string() }, false).await?;
    println!("ingested {} entities in {:.2} s", catalog.read().len(), t.elapsed().as_secs_f64());
    Ok((dir, summary, db, catalog, locations))
}

pub async fn run(opts: WebBench) -> anyhow::Result<ExitCode> {
    let (dir, summary, _db, catalog, locations) = ingested(opts.entities).await?;

    let t = Instant::now();
    let state = AppState::new(catalog.clone(), locations);
    while !state.search.is_ready() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rows: Vec<(String, String)> = vec![(
        "search index build (in RAM)".to_owned(),
        format!("{:.2} s, {} documents, RSS {} MiB", t.elapsed().as_secs_f64(), state.search.len(), portico_catalog::rss_mib()),
    )];
    let router = portico_web::router(state);

    let names: Vec<String> = {
        let g = catalog.read();
        let mut n: Vec<String> =
            g.entries().filter(|e| e.entity.kind == "Component").map(|e| e.entity.metadata.name.clone()).collect();
        n.sort();
        let step = (n.len() / opts.requests.max(1)).max(1);
        n.into_iter().step_by(step).take(opts.requests).collect()
    };
    let owner = summary.sample_owner.rsplit('/').next().unwrap_or_default().to_owned();
    let tables = [
        "/catalog?kind=component".to_owned(),
        format!("/catalog?kind=component&owner={owner}"),
        format!("/catalog?kind=component&owner={owner}&lifecycle=production&sort=name&dir=desc&page=3"),
        "/catalog?kind=api&type=openapi&sort=owner".to_owned(),
        "/catalog?kind=component&q=svc-000".to_owned(),
        "/catalog?kind=group&page=3".to_owned(),
    ];
    let table_urls: Vec<String> = tables.iter().cycle().take(opts.requests).cloned().collect();
    rows.push(("catalog table page (facets, sort, pages, text filter)".to_owned(), time(&router, &table_urls).await?));
    for t in &tables {
        let each = vec![t.clone(); (opts.requests / tables.len()).max(10)];
        rows.push((format!("  `{t}`"), time(&router, &each).await?));
    }

    let entity_urls: Vec<String> = names.iter().map(|n| format!("/catalog/default/component/{n}")).collect();
    rows.push(("entity page (depth-1 graph, history, YAML)".to_owned(), time(&router, &entity_urls).await?));

    // Every prefix of a few names and words, as someone typing them.
    let words = ["svc-00042", "api-01234", "team-0003", "res-00000", "artist lookup", "sys-0012"];
    let typed: Vec<String> = words
        .iter()
        .flat_map(|w| (1..=w.len()).map(move |i| w[..i].to_owned()))
        .chain(names.iter().take(40).map(|n| n[..n.len() - 1].to_owned()))
        .map(|q| format!("/search?q={}&partial=1", q.replace(' ', "+")))
        .collect();
    let typed: Vec<String> = typed.iter().cycle().take(opts.requests).cloned().collect();
    rows.push(("search as you type (prefixes, partial results)".to_owned(), time(&router, &typed).await?));

    let graph_urls: Vec<String> = names.iter().map(|n| format!("/catalog/default/component/{n}/graph.svg?depth=2")).collect();
    rows.push(("graph neighbourhood depth 2 (SVG)".to_owned(), time(&router, &graph_urls).await?));
    let hub = format!("/graph.svg?ref={}&depth=2", summary.hub_resource);
    rows.push(("graph depth 2 around the hub resource".to_owned(), time(&router, &vec![hub; opts.requests.min(200)]).await?));

    println!("\n| measure | value |\n| --- | --- |");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
    drop(dir);
    Ok(ExitCode::SUCCESS)
}

/// Runs each request through the router, one after another, and times it to the last byte.
pub(super) async fn time(router: &axum::Router, paths: &[String]) -> anyhow::Result<String> {
    for p in paths.iter().take(10) {
        call(router, p).await?;
    }
    let mut times = Vec::with_capacity(paths.len());
    for p in paths {
        let t = Instant::now();
        call(router, p).await?;
        times.push(t.elapsed());
    }
    Ok(percentiles(times))
}

/// POSTs a JSON body through the router; fails on an error status.
pub(super) async fn post(router: &axum::Router, path: &str, body: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
    let request = Request::post(path).header("content-type", "application/json").body(Body::from(serde_json::to_vec(body)?))?;
    let res = router.clone().oneshot(request).await?;
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
    anyhow::ensure!(status.is_success(), "{path}: HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
    Ok(serde_json::from_slice(&body)?)
}

/// GETs a JSON answer through the router; fails on an error status.
pub(super) async fn get(router: &axum::Router, path: &str) -> anyhow::Result<serde_json::Value> {
    Ok(serde_json::from_slice(&call(router, path).await?)?)
}

async fn call(router: &axum::Router, path: &str) -> anyhow::Result<axum::body::Bytes> {
    let res = router.clone().oneshot(Request::get(path).body(Body::empty())?).await?;
    let status = res.status();
    let body = axum::body::to_bytes(res.into_body(), usize::MAX).await?;
    anyhow::ensure!(status.is_success(), "{path}: HTTP {status}: {}", String::from_utf8_lossy(&body[..body.len().min(300)]));
    Ok(body)
}
