//! `portico serve` and `portico demo`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use portico_catalog::LocationService;
use portico_server::{AppState, Application};

use super::catalog::{engine, open};
use crate::config::Config;

pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    let (catalog, locations) = open(&config).await?;
    let discovery = engine(&config, &catalog)?;
    // With PostgreSQL, other replicas may write too: follow their changes.
    if catalog.follow().await.context("failed to listen for other replicas' changes")?.is_some() {
        tracing::info!(replica = catalog.replica(), "following changes made by other replicas");
    }
    for spec in &config.catalog.locations {
        match locations.register(spec, false).await {
            Ok((record, _, _, report)) => {
                let r = report.unwrap_or_default();
                tracing::info!(location = %record.target, added = r.added, updated = r.updated, removed = r.removed, errors = r.errors.len(), "location read");
            }
            Err(e) => tracing::error!(location = %spec.target, error = %e, "cannot register location"),
        }
    }
    // Every replica reads on a schedule; the one write path makes repeated reads cheap and safe.
    if config.catalog.refresh_interval_seconds > 0 {
        let every = Duration::from_secs(config.catalog.refresh_interval_seconds);
        let locations: LocationService = locations.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = locations.refresh_all().await {
                    tracing::error!(error = %e, "scheduled refresh failed");
                }
            }
        });
    }
    let addr: SocketAddr = format!("{}:{}", config.server.host, config.server.port)
        .parse()
        .with_context(|| format!("invalid server address {}:{}", config.server.host, config.server.port))?;
    let entities = catalog.read().len();
    let state = AppState::new(catalog, locations).with_discovery(discovery.clone());
    // Scheduled discovery: leases in the store let one replica run each source per interval.
    discovery.start_schedule();
    let app = Application::build_with(state.clone(), addr, portico_web::router(state))
        .await
        .with_context(|| format!("failed to listen on {addr}"))?
        .with_config(config.server.clone());
    let bound = app.local_addr();
    if bound.ip().is_loopback() {
        println!("Portico is running at {} ({entities} entities). Press Ctrl-C to stop.", app.url());
    } else {
        println!("Portico is listening on {bound} ({entities} entities); on this machine: {}. Press Ctrl-C to stop.", app.url());
        let warning = format!(
            "Portico is listening on {bound}, reachable from other machines, and has no sign-in: anyone who can reach it can read the catalog, register and delete locations and run discovery. Bind to 127.0.0.1 (server.host) unless this network is trusted."
        );
        eprintln!("warning: {warning}");
        tracing::warn!("{warning}");
    }
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the bundled demo catalog into `<data_dir>/demo` and serves it.
pub async fn demo(mut config: Config, data_dir: Option<PathBuf>, port: Option<u16>) -> anyhow::Result<ExitCode> {
    let dir = data_dir.unwrap_or_else(|| std::env::temp_dir().join(format!("portico-demo-{}", std::process::id())));
    let demo = dir.join("demo");
    for (path, text) in crate::demo_files::FILES {
        let target = demo.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("failed to create {}", parent.display()))?;
        }
        std::fs::write(&target, text).with_context(|| format!("failed to write {}", target.display()))?;
    }
    config.data_dir = dir.clone();
    if config.database.url.is_none() {
        config.database.url = Some(format!("sqlite://{}", dir.join("portico.db").display()));
    }
    if let Some(p) = port {
        config.server.port = p;
    }
    // The Register page may read files of the demo directory (try `to-import/`).
    config.reading.allowed_roots.push(demo.clone());
    config.catalog.locations.push(portico_catalog::LocationSpec {
        kind: "file".into(),
        target: demo.join("catalog-info.yaml").display().to_string(),
    });
    if config.discovery.sources.is_empty() {
        config.discovery.sources = demo_sources(&demo);
    }
    println!("Demo data directory: {}", dir.display());
    println!("To try the Register page, preview then import {}", demo.join("to-import/catalog-info.yaml").display());
    serve(config).await
}

/// What the demo discovers: the git repository it runs in (Portico's own, in a checkout),
/// inferring components from its manifests, and the bundled Terraform state of the demo's
/// infrastructure. Descriptors in the repository are left to the demo catalog
/// (`catalogFiles: []`), so nothing is declared twice.
fn demo_sources(demo: &std::path::Path) -> Vec<serde_json::Value> {
    let mut sources = vec![serde_json::json!({
        "name": "demo-infrastructure",
        "type": "terraform",
        "interval": "5m",
        "states": [demo.join("infra/production.tfstate").display().to_string()],
    })];
    let here = std::env::current_dir().ok();
    if let Some(repo) = here.as_deref().and_then(|d| d.ancestors().find(|a| a.join(".git").exists())) {
        println!("Discovering the git repository {} (and the demo's Terraform state)", repo.display());
        sources.insert(0, serde_json::json!({
            "name": "this-repository",
            "type": "git",
            "interval": "5m",
            "repositories": [repo.display().to_string()],
            "catalogFiles": [],
            "defaultOwner": "group:default/platform",
        }));
    }
    sources
}
