//! `portico bench discovery`: times the discovery engine on generated but realistic inputs —
//! a repository of thousands of files (first scan, then unchanged), a hundred repositories with
//! nothing changed, a Terraform state of ten thousand resources, and how long a pushed commit
//! takes to show after its webhook. Real git repositories (built with the `git` CLI), a real
//! store (SQLite, and PostgreSQL when reachable). Prints plain numbers.

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use portico_discovery::engine::{Engine, Provider, ScanContext, SourceDecl, Trigger};
use portico_catalog::{Catalog, CatalogOptions, LocationService, Reader, ReaderConfig};
use portico_server::{AppState, Application};
use portico_testkit::{TestDb, repos, tfstate};

use serde_json::{Value, json};

use super::bench::percentiles;

#[derive(Args)]
pub struct DiscoveryBench {
    /// Files in the large repository.
    #[arg(long, default_value_t = 5000)]
    files: usize,
    /// Repositories in the many-repositories case.
    #[arg(long, default_value_t = 100)]
    repos: usize,
    /// Resources in the Terraform state.
    #[arg(long, default_value_t = 10_000)]
    resources: usize,
    /// Repetitions of each timed step.
    #[arg(long, default_value_t = 20)]
    repeat: usize,
    /// Backends to measure.
    #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
    backends: Vec<String>,
}

fn decl(name: &str, kind: &str, settings: Value) -> SourceDecl {
    SourceDecl { name: name.into(), kind: kind.into(), interval: None, priority: 0, webhook_secret: None, enabled: true, settings }
}

fn provider(kind: &str, settings: &Value) -> anyhow::Result<Arc<dyn Provider>> {
    portico_discovery::providers::build(kind, settings).map_err(anyhow::Error::msg)
}

async fn engine(db: &TestDb, sources: Vec<(SourceDecl, Arc<dyn Provider>)>, cache: &Path) -> anyhow::Result<Arc<Engine>> {
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await?;
    Ok(Engine::with_providers(catalog, Reader::new(ReaderConfig::default()), cache.to_path_buf(), sources))
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

/// Times `n` runs of `f`, after one warm-up.
async fn times<F, Fut>(n: usize, mut f: F) -> anyhow::Result<Vec<Duration>>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    f().await?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f().await?;
        out.push(t.elapsed());
    }
    Ok(out)
}

pub async fn run(opts: DiscoveryBench) -> anyhow::Result<ExitCode> {
    let work = tempfile::tempdir()?;
    let t = Instant::now();
    let big = work.path().join("big");
    repos::synthetic_repo(&big, opts.files);
    println!("generated a repository of {} files in {:.2} s", opts.files, t.elapsed().as_secs_f64());
    let t = Instant::now();
    let many: Vec<String> = (0..opts.repos)
        .map(|i| {
            let dir = work.path().join(format!("repo-{i:03}"));
            repos::synthetic_repo_named(&dir, 40, &format!("r{i:03}"));
            dir.display().to_string()
        })
        .collect();
    println!("generated {} repositories of 40 files in {:.2} s", opts.repos, t.elapsed().as_secs_f64());
    let state_path = work.path().join("big.tfstate");
    std::fs::write(&state_path, tfstate::synthetic_state(opts.resources))?;

    let mut rows: Vec<(String, String)> = Vec::new();
    let row = |rows: &mut Vec<(String, String)>, what: &str, value: String| {
        println!("  {what:<62} {value}");
        rows.push((what.to_owned(), value));
    };

    // The providers alone: what a scan costs before any store work.
    let git = provider("git", &json!({"repositories": [big.display().to_string()]}))?;
    let ctx = ScanContext::new(Reader::new(ReaderConfig::default()), work.path().join("cache-scan"));
    let scans = times(opts.repeat, || async { git.scan(&ctx).await.map(|_| ()).map_err(|e| anyhow::anyhow!(e.message)) }).await?;
    let first = git.scan(&ctx).await.map_err(|e| anyhow::anyhow!(e.message))?;
    let contributions: usize = first
        .scopes
        .iter()
        .map(|s| match &s.outcome {
            portico_discovery::engine::ScopeOutcome::Full { contributions, .. } => contributions.len(),
            _ => 0,
        })
        .sum();
    row(&mut rows, &format!("git: scan a {}-file repository (provider)", opts.files), format!("{} ({contributions} contributions)", percentiles(scans)));
    let unchanged_ctx = ScanContext { previous: first.state.clone(), ..ctx.clone() };
    let scans = times(opts.repeat, || async { git.scan(&unchanged_ctx).await.map(|_| ()).map_err(|e| anyhow::anyhow!(e.message)) }).await?;
    row(&mut rows, "git: scan the same repository, unchanged (provider)", percentiles(scans));

    let tf = provider("terraform", &json!({"states": [state_path.display().to_string()]}))?;
    let tf_ctx = ScanContext::new(Reader::new(ReaderConfig::default()), work.path().join("cache-tf"));
    let scans = times(opts.repeat.min(10), || async { tf.scan(&tf_ctx).await.map(|_| ()).map_err(|e| anyhow::anyhow!(e.message)) }).await?;
    row(&mut rows, &format!("terraform: parse a state of {} resources (provider)", opts.resources), percentiles(scans));

    for backend in &opts.backends {
        let Some(db) = super::bench::database(backend).await? else { continue };
        println!("{backend}:");
        let cache = work.path().join(format!("cache-{backend}"));
        let big_settings = json!({"repositories": [big.display().to_string()]});
        let many_settings = json!({"repositories": many});
        let tf_settings = json!({"states": [state_path.display().to_string()]});
        let e = engine(
            &db,
            vec![
                (decl("big", "git", big_settings.clone()), provider("git", &big_settings)?),
                (decl("many", "git", many_settings.clone()), provider("git", &many_settings)?),
                (decl("infra", "terraform", tf_settings.clone()), provider("terraform", &tf_settings)?),
            ],
            &cache,
        )
        .await?;

        let t = Instant::now();
        let run = e.run("big", Trigger::Manual, None, None).await?;
        row(&mut rows, &format!("{backend}: first run, {}-file repository, end to end", opts.files), format!("{} ({} added, status {})", ms(t.elapsed()), run.added, run.status));
        let unchanged = times(opts.repeat, || async { e.run("big", Trigger::Schedule, None, None).await.map(|_| ()).map_err(anyhow::Error::from) }).await?;
        row(&mut rows, &format!("{backend}: run again, repository unchanged, end to end"), percentiles(unchanged));

        let t = Instant::now();
        let run = e.run("many", Trigger::Manual, None, None).await?;
        row(&mut rows, &format!("{backend}: first run, {} repositories", opts.repos), format!("{} ({} added, status {})", ms(t.elapsed()), run.added, run.status));
        let versions_before = db.store.version_summaries().await?.len();
        let mut written = 0;
        let unchanged = times(opts.repeat.min(10), || async {
            let run = e.run("many", Trigger::Schedule, None, None).await?;
            anyhow::ensure!(run.added + run.updated + run.removed == 0, "an unchanged run changed entities: {run:?}");
            Ok(())
        })
        .await?;
        written += db.store.version_summaries().await?.len() - versions_before;
        row(&mut rows, &format!("{backend}: run again, {} repositories unchanged, end to end", opts.repos), format!("{}, {written} entity versions written", percentiles(unchanged)));

        let t = Instant::now();
        let run = e.run("infra", Trigger::Manual, None, None).await?;
        row(&mut rows, &format!("{backend}: first run, state of {} resources, end to end", opts.resources), format!("{} ({} added, status {})", ms(t.elapsed()), run.added, run.status));

        // A pushed commit, told by webhook: how long until the portal shows it.
        let catalog = e.catalog().clone();
        let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig::default()));
        let app = Application::build(AppState::new(catalog.clone(), locations).with_discovery(e.clone()), "127.0.0.1:0".parse()?).await?;
        let url = format!("{}/api/v1/discovery/big/webhook", app.url());
        let server = tokio::spawn(app.run_until_stopped());
        let client = reqwest::Client::new();
        let mut latencies = Vec::new();
        for i in 0..opts.repeat.min(10) {
            let name = format!("pushed-{backend}-{i}");
            repos::commit_files(&big, &format!("add {name}"), &[(&format!("services/{name}/go.mod"), &format!("module example.com/{name}\n\ngo 1.22\n")), (&format!("services/{name}/main.go"), "package main\n\nfunc main() {}\n")]);
            let key = format!("component:default/{name}");
            let t = Instant::now();
            let resp = client.post(&url).json(&json!({"repository": big.display().to_string()})).send().await?;
            anyhow::ensure!(resp.status().as_u16() == 202, "webhook answered {}", resp.status());
            while catalog.read().get(&key).is_none() {
                anyhow::ensure!(t.elapsed() < Duration::from_secs(30), "{key} never appeared after its webhook");
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            latencies.push(t.elapsed());
        }
        server.abort();
        row(&mut rows, &format!("{backend}: commit pushed → webhook → entity visible"), percentiles(latencies));
    }
    println!("\n| measure | result |\n| --- | --- |");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
    Ok(ExitCode::SUCCESS)
}
