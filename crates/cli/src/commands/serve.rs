//! `portico serve` and `portico demo`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use portico_server::{AppState, Application};

use super::catalog::{engine, open};
use crate::config::Config;

pub async fn serve(config: Config) -> anyhow::Result<ExitCode> {
    serve_with_hint(config, "set server.port in portico.yaml or PORTICO__SERVER__PORT", false).await
}

/// Serves; `port_hint` says how to choose another port if this one is taken.
/// Serves `config`; `demo`: records the demo's delivery history once the catalog is read.
async fn serve_with_hint(config: Config, port_hint: &str, demo: bool) -> anyhow::Result<ExitCode> {
    let (catalog, locations) = open(&config).await?;
    let discovery = engine(&config, &catalog)?;
    // With PostgreSQL, other replicas may write too: follow their changes.
    if catalog.follow().await.context("failed to listen for other replicas' changes")?.is_some() {
        tracing::info!(replica = catalog.replica(), "following changes made by other replicas");
    }
    let addr: SocketAddr = format!("{}:{}", config.server.host, config.server.port)
        .parse()
        .with_context(|| format!("invalid server address {}:{}", config.server.host, config.server.port))?;
    let loading = !config.catalog.locations.is_empty();
    let auth = config.authorizer()?;
    config.server.proxies().map_err(anyhow::Error::msg)?;
    if let Some(oidc) = auth.oidc.clone() {
        // A wrong issuer shows at start, not at the first sign-in (which tries again).
        tokio::spawn(async move {
            match oidc.check().await {
                Ok(()) => tracing::info!(issuer = %oidc.config.issuer, "sign-in with OpenID Connect ready"),
                Err(e) => tracing::error!(issuer = %oidc.config.issuer, error = %e, "the OpenID Connect provider does not answer; sign-in will fail until it does"),
            }
        });
    }
    let mut state = AppState::new(catalog.clone(), locations.clone()).with_discovery(discovery.clone()).with_auth(auth).with_gate_unknown(config.scorecards.gate.unknown).with_dora(config.scorecards.dora.config()?)
        .with_runs(config.data_dir.join("runs"), config.actions.runs()?);
    if loading {
        state = state.loading();
    }
    // The port opens before the configured locations are read: readiness says `loading` and
    // pages say the catalog is still being read, instead of connections refused for as long as
    // a large first read takes.
    let app = match Application::build_with(state.clone(), addr, portico_web::router(state.clone())).await {
        Ok(app) => app.with_config(config.server.clone()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            anyhow::bail!("port {} of {} is already in use (another Portico?); choose another port: {port_hint}", addr.port(), addr.ip())
        }
        Err(e) => return Err(e).with_context(|| format!("failed to listen on {addr}")),
    };
    // Nothing writes in the background before the port is ours: a demo that cannot start
    // removes its data directory, which a write racing the removal would leave behind.
    prune_audit_daily(catalog.store().clone(), config.auth.audit.retention_days);
    let bound = app.local_addr();
    let entities = catalog.read().len();
    let reading = if loading { format!("{entities} entities; reading {} location(s)", config.catalog.locations.len()) } else { format!("{entities} entities") };
    let open_to_all = config.auth.mode == portico_server::auth::AuthMode::None;
    if bound.ip().is_loopback() {
        println!("Portico is running at {} ({reading}). Press Ctrl-C to stop.", app.url());
        if open_to_all {
            tracing::info!("auth.mode is none: no sign-in, every request without a token is an admin (fine on this machine only)");
        }
    } else {
        println!("Portico is listening on {bound} ({reading}); on this machine: {}. Press Ctrl-C to stop.", app.url());
    }
    if !bound.ip().is_loopback() && open_to_all {
        let warning = format!(
            "Portico is listening on {bound}, reachable from other machines, with auth.mode none: anyone who can reach it is an admin (reads everything, registers and deletes locations, runs discovery, reads the audit log). Bind to 127.0.0.1 (server.host), or set auth.mode: token so that every request needs a token."
        );
        eprintln!("warning: {warning}");
        tracing::warn!("{warning}");
    }
    let startup = state.startup.clone();
    let specs = config.catalog.locations.clone();
    let refresh_every = config.catalog.refresh_interval_seconds;
    let read = catalog.clone();
    let recorder = state.recorder.clone();
    let scorecards = state.scorecards.clone();
    let runs = state.runs.clone();
    tokio::spawn(async move {
        for spec in &specs {
            match locations.register(spec, false).await {
                Ok((record, _, _, report)) => {
                    let r = report.unwrap_or_default();
                    tracing::info!(location = %record.target, added = r.added, updated = r.updated, removed = r.removed, errors = r.errors.len(), "location read");
                }
                Err(e) => tracing::error!(location = %spec.target, error = %e, "cannot register location"),
            }
        }
        if demo {
            crate::demo_events::seed(&recorder, &read).await;
        }
        startup.finish();
        tracing::info!(entities = read.read().len(), "catalog read; ready");
        // Scheduled discovery: leases in the store let one replica run each source per interval.
        discovery.start_schedule();
        // Self-service runs: this replica's workers take queued runs, and runs whose worker
        // stopped, from the store.
        runs.start();
        if demo {
            // After discovery's first runs, which add components to the initiatives' scope.
            let (read, scorecards) = (read.clone(), scorecards.clone());
            tokio::spawn(async move {
                crate::demo_events::settle(&read).await;
                crate::demo_events::seed_progress(&scorecards, &read).await;
            });
        }
        // Every replica reads on a schedule; the one write path makes repeated reads cheap and safe.
        if refresh_every > 0 {
            let mut tick = tokio::time::interval(Duration::from_secs(refresh_every));
            tick.tick().await;
            loop {
                tick.tick().await;
                if let Err(e) = locations.refresh_all().await {
                    tracing::error!(error = %e, "scheduled refresh failed");
                }
            }
        }
    });
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

/// Writes the bundled demo catalog into `<data_dir>/demo` and serves it.
pub async fn demo(mut config: Config, data_dir: Option<PathBuf>, port: Option<u16>) -> anyhow::Result<ExitCode> {
    // A data directory of our own making is removed when the demo ends (Ctrl-C included, and
    // on an error such as a port in use); one given with --data-dir is kept.
    let (dir, cleanup) = match data_dir {
        Some(dir) => (dir, None),
        None => {
            let temp = tempfile::Builder::new().prefix("portico-demo-").tempdir().context("failed to create the demo's data directory")?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    let demo = dir.join("demo");
    // The demo's golden path publishes to local repositories under <data dir>/git.
    let git = dir.join("git");
    std::fs::create_dir_all(&git).with_context(|| format!("failed to create {}", git.display()))?;
    let git = git.canonicalize()?;
    if let Some(p) = port {
        config.server.port = p;
    }
    // The demo's deploy action calls this server's own events API as its webhook: its address
    // goes into the template, so a port chosen at random (0) is chosen now.
    if config.server.port == 0 {
        config.server.port = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).context("failed to find a free port")?;
    }
    let own = format!("127.0.0.1:{}", config.server.port);
    for (path, text) in crate::demo_files::FILES {
        let target = demo.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).with_context(|| format!("failed to create {}", parent.display()))?;
        }
        let text = if path.ends_with("template.yaml") { text.replace("@DEMO_GIT@", &format!("file://{}", git.display())).replace("@DEMO_URL@", &format!("http://{own}")) } else { (*text).to_owned() };
        std::fs::write(&target, text).with_context(|| format!("failed to write {}", target.display()))?;
    }
    config.actions.remotes.roots.push(git);
    config.actions.remotes.hosts.push(own);
    config.actions.remotes.private_addresses = true;
    config.data_dir = dir.clone();
    if config.database.url.is_none() {
        config.database.url = Some(format!("sqlite://{}", dir.join("portico.db").display()));
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
    println!("Demo data directory: {}{}", dir.display(), if cleanup.is_some() { " (removed when the demo stops)" } else { "" });
    println!("To try the Register page, preview then import {}", demo.join("to-import/catalog-info.yaml").display());
    serve_with_hint(config, "portico demo --port N (0: any free port)", true).await
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
            // The demo's own catalog (its OpenAPI files too) is declared, not discovered.
            "exclude": ["crates/cli/demo/**"],
        }));
    }
    sources
}

/// Removes audit events older than the retention, and ended sessions, now and then once a day.
fn prune_audit_daily(store: std::sync::Arc<dyn portico_store::Store>, days: u32) {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(86_400));
        loop {
            every.tick().await;
            let before = portico_catalog::now_ms() - i64::from(days) * 86_400_000;
            match store.prune_audit(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, days, "audit events past their retention removed"),
                Err(e) => tracing::warn!(error = %e, "could not remove old audit events"),
            }
            // Sessions that ended more than a day ago are of no more use.
            match store.prune_sessions(portico_catalog::now_ms() - 86_400_000).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(removed = n, "ended sessions removed"),
                Err(e) => tracing::warn!(error = %e, "could not remove ended sessions"),
            }
        }
    });
}
