//! `portico bench catalog`: generates a synthetic catalog of realistic shape into descriptor
//! files, ingests it through the location source on each backend, re-ingests it unchanged, then
//! measures the API over HTTP. Prints plain numbers; nothing here is a pass/fail test.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Subcommand, ValueEnum};
use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_server::{AppState, Application};
use portico_testkit::synth::{self, SynthOptions};
use portico_testkit::TestDb;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Serve the web pages over a synthetic catalog and time them (server time, in process).
    Web(super::bench_web::WebBench),
    /// Time scorecards: a 10-rule scorecard's full evaluation, re-scoring after one change,
    /// the deploy gate.
    Scorecards(super::bench_scorecards::ScorecardsBench),
    /// Time the discovery engine: large and many git repositories, a large Terraform state,
    /// webhook to visible.
    Discovery(super::bench_discovery::DiscoveryBench),
    /// Score discovery on public repositories against hand-checked ground truth: recall and
    /// precision of services, datastores and dependencies.
    DiscoveryAccuracy(super::bench_accuracy::AccuracyBench),
    /// Time self-service runs: a 200-file skeleton, request to first log line, concurrent dry
    /// runs, a run surviving SIGKILL of its server.
    Actions(super::bench_actions::ActionsBench),
    /// Ingest and query a synthetic catalog.
    Catalog {
        /// Entities to generate.
        #[arg(long, default_value_t = 100_000)]
        entities: usize,
        /// Backends to measure.
        #[arg(long, value_delimiter = ',', default_value = "sqlite,postgres")]
        backends: Vec<String>,
        /// HTTP requests per measured endpoint.
        #[arg(long, default_value_t = 2000)]
        requests: usize,
        /// Measure in this process. By default each backend runs in a child process of its own,
        /// so that peak memory is that backend's alone.
        #[arg(long)]
        in_process: bool,
        /// Catalog shape: `synthetic` (the project's own mix: ten kinds, ~3 relations per
        /// entity) or `backstage` (the mix of Backstage's benchmark harness: ~6 relations per
        /// entity, inline API definitions, 1,000 documents per file).
        #[arg(long, default_value = "synthetic")]
        shape: Shape,
    },
}

/// The catalog shapes `bench catalog` can generate.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Shape {
    Synthetic,
    Backstage,
}

pub async fn run(command: BenchCommand) -> anyhow::Result<ExitCode> {
    let (entities, backends, requests, in_process, shape) = match command {
        BenchCommand::Catalog { entities, backends, requests, in_process, shape } => (entities, backends, requests, in_process, shape),
        BenchCommand::Web(web) => return super::bench_web::run(web).await,
        BenchCommand::Discovery(d) => return super::bench_discovery::run(d).await,
        BenchCommand::DiscoveryAccuracy(a) => return super::bench_accuracy::run(a).await,
        BenchCommand::Scorecards(s) => return super::bench_scorecards::run(s).await,
        BenchCommand::Actions(a) => return super::bench_actions::run(a).await,
    };
    if !in_process {
        for backend in &backends {
            let status = std::process::Command::new(std::env::current_exe()?)
                .args(["bench", "catalog", "--in-process", "--entities", &entities.to_string()])
                .args(["--backends", backend, "--requests", &requests.to_string()])
                .args(["--shape", shape.to_possible_value().map(|v| v.get_name().to_owned()).unwrap_or_default().as_str()])
                .status()?;
            anyhow::ensure!(status.success(), "benchmark of {backend} failed: {status}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (dir, summary) = match shape {
        Shape::Synthetic => generate(entities)?,
        Shape::Backstage => generate_backstage(entities)?,
    };
    let mut rows = Vec::new();
    for backend in &backends {
        let Some(db) = database(backend).await? else { continue };
        rows.extend(measure(&db, &summary, dir.path(), requests).await?);
    }
    println!("\n| backend | measure | value |\n| --- | --- | --- |");
    for (backend, what, value) in rows {
        println!("| {backend} | {what} | {value} |");
    }
    Ok(ExitCode::SUCCESS)
}

async fn measure(
    db: &TestDb,
    summary: &synth::SynthSummary,
    dir: &std::path::Path,
    requests: usize,
) -> anyhow::Result<Vec<(String, String, String)>> {
    let backend = db.backend().to_owned();
    let mut out = Vec::new();
    let mut row = |what: &str, value: String| {
        println!("{backend:>8}  {what:<44} {value}");
        out.push((backend.clone(), what.to_owned(), value));
    };
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await?;
    let reader = Reader::new(ReaderConfig { allowed_roots: vec![dir.to_path_buf()], ..Default::default() });
    let locations = LocationService::new(catalog.clone(), reader);
    let spec = LocationSpec { kind: "file".into(), target: summary.root.display().to_string() };

    let rss_before = portico_catalog::memory_kib("VmRSS:");
    let t = Instant::now();
    let (record, _, _, report) = locations.register(&spec, false).await?;
    let ingest = t.elapsed();
    let report = report.unwrap_or_default();
    row("ingest (read, validate, write, index)", format!("{:.2} s, {} entities, {} errors", ingest.as_secs_f64(), catalog.read().len(), report.errors.len()));
    row("ingest rows written", report.rows_written.to_string());
    row("peak RSS after ingest (VmHWM)", format!("{} MiB (RSS before ingest {} MiB)", portico_catalog::memory_kib("VmHWM:") / 1024, rss_before / 1024));

    let t = Instant::now();
    let again = locations.refresh(&record.id, &|_, _| {}).await?;
    row("re-ingest unchanged", format!("{:.2} s, {} rows written", t.elapsed().as_secs_f64(), again.rows_written));

    let app = Application::build(AppState::new(catalog.clone(), locations.clone()).with_auth(bench_policy()?), "127.0.0.1:0".parse()?).await?;
    let base = app.url();
    let server = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let components: Vec<String> = {
        let g = catalog.read();
        g.entries().filter(|e| e.entity.kind == "Component").take(requests).map(|e| e.entity.metadata.name.clone()).collect()
    };
    let urls: Vec<String> = components.iter().map(|n| format!("{base}/api/catalog/entities/by-name/component/default/{n}")).collect();
    row("GET by-name", latency(&client, &urls).await?);
    // The same as a user, whose every read asks a rule that looks at the entity and its relations.
    let (_, secret) = portico_server::auth::create_token(
        catalog.store().as_ref(),
        &portico_server::auth::Authorizer::default(),
        catalog.graph(),
        &portico_server::auth::Principal::local_admin(),
        portico_server::auth::NewToken { name: "bench".into(), scopes: vec!["read".into()], expires_in_days: None, service: None, user: Some("user:default/bench".into()) },
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(reqwest::header::AUTHORIZATION, format!("Bearer {secret}").parse()?);
    let as_user = reqwest::Client::builder().default_headers(headers).build()?;
    // The first read as the user decides every entity for it (the policy hides about half).
    let t = Instant::now();
    as_user.get(format!("{base}/api/catalog/entity-facets?facet=kind")).send().await?.error_for_status()?;
    let seen = catalog.read().len() - hidden_from_user(&catalog);
    row("policy decides every entity for a new reader (first read)", format!("{:.0} ms, {seen} of {} entities readable", t.elapsed().as_secs_f64() * 1000.0, catalog.read().len()));
    // One entity changes (as discovery changes a few at a time): the user's next read decides
    // only it and its neighbours again.
    let mut times = Vec::new();
    for i in 0..20 {
        let value = serde_json::json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": format!("bench-changed-{i}")},
            "spec": {"type": "service", "lifecycle": "production", "owner": summary.sample_owner, "dependsOn": [summary.hub_resource]}});
        let raw = portico_catalog::RawEntity { value, origin: portico_catalog::Origin { location: "bench".into(), text: None, document: 0 }, parent: None, degraded: false };
        catalog.apply(portico_catalog::Mutation::Delta { source: "bench".into(), upserts: vec![raw], removals: Vec::new() }).await?;
        let t = Instant::now();
        as_user.get(format!("{base}/api/catalog/entity-facets?facet=kind")).send().await?.error_for_status()?;
        times.push(t.elapsed());
    }
    row("first read as the user after one entity changed", percentiles(times));
    let readable: Vec<String> = components.iter().filter(|n| !hidden_name(n)).map(|n| format!("{base}/api/catalog/entities/by-name/component/default/{n}")).collect();
    row("GET by-name as a user, half the catalog hidden", latency(&as_user, &readable).await?);
    let hidden: Vec<String> = components.iter().filter(|n| hidden_name(n)).take(20).map(|n| format!("{base}/api/catalog/entities/by-name/component/default/{n}")).collect();
    for u in &hidden {
        anyhow::ensure!(as_user.get(u).send().await?.status() == reqwest::StatusCode::NOT_FOUND, "{u} is hidden from the user");
    }
    let owner = summary.sample_owner.clone();
    let q = format!("{base}/api/catalog/entities/by-query?filter=kind=component,spec.owner={}&limit=100", owner.rsplit('/').next().unwrap_or_default());
    row("GET by-query kind+owner limit 100", latency(&client, &vec![q.clone(); requests]).await?);
    row("GET by-query kind+owner limit 100 as a user, half hidden", latency(&as_user, &vec![q; requests]).await?);
    let q = format!("{base}/api/catalog/entities/by-query?filter=relations.dependsOn={}&limit=100", summary.hub_resource);
    row("GET by-query relations.dependsOn=hub limit 100", latency(&client, &vec![q.clone(); requests]).await?);
    row("GET by-query relations.dependsOn=hub as a user, half hidden", latency(&as_user, &vec![q; requests]).await?);
    let q = format!("{base}/api/catalog/entity-facets?facet=kind");
    row("GET entity-facets facet=kind", latency(&client, &vec![q.clone(); requests.min(500)]).await?);
    row("GET entity-facets facet=kind as a user, half hidden", latency(&as_user, &vec![q; requests.min(500)]).await?);
    for (what, body, n) in expression_queries(summary, requests) {
        row(&what, post_latency(&client, &format!("{base}/api/v1/query"), &body, n).await?);
    }
    // Before any query of the past: a catalog as of another time is a second read model.
    row("peak RSS before the full list (VmHWM)", format!("{} MiB", portico_catalog::memory_kib("VmHWM:") / 1024));
    for _ in 0..3 {
        let t = Instant::now();
        let mut resp = client.get(format!("{base}/api/catalog/entities")).send().await?.error_for_status()?;
        // Counted as it arrives, so that the client holds no copy (it runs in this process).
        let mut bytes = 0usize;
        while let Some(chunk) = resp.chunk().await? {
            bytes += chunk.len();
        }
        row("GET /api/catalog/entities (full list)", format!("{:.2} s, {:.0} MB", t.elapsed().as_secs_f64(), bytes as f64 / 1e6));
    }
    row("peak RSS after three full lists (VmHWM)", format!("{} MiB", portico_catalog::memory_kib("VmHWM:") / 1024));
    row("GET /healthz while 50 clients send expensive queries", healthz_under_load(&client, &base).await?);
    let now = portico_catalog::format_time(portico_catalog::now_ms());
    let urls: Vec<String> = components.iter().map(|n| format!("{base}/api/v1/entities/component/default/{n}?asOf={now}")).collect();
    row("GET one entity asOf (from history)", latency(&client, &urls).await?);
    let past = serde_json::json!({"expression": format!("kind == 'Component' && spec.owner == '{}'", owner.rsplit('/').next().unwrap_or_default()), "asOf": now, "limit": 100});
    let t = Instant::now();
    post_latency(&client, &format!("{base}/api/v1/query"), &past, 1).await?;
    row("POST query asOf, first (builds the past catalog)", format!("{:.0} ms", t.elapsed().as_secs_f64() * 1000.0));
    row("POST query asOf, cached past catalog", post_latency(&client, &format!("{base}/api/v1/query"), &past, requests.min(200)).await?);
    server.abort();
    row("peak RSS of the whole run (VmHWM)", format!("{} MiB", portico_catalog::memory_kib("VmHWM:") / 1024));
    Ok(out)
}

/// The policy of the benchmark's server: admins (the guest) do everything; a user may not
/// read an entity whose name ends in an odd digit (about half of them) unless it or its groups
/// own it: a rule that reads the entity and follows its relations, decided for every entity.
fn bench_policy() -> anyhow::Result<portico_server::auth::Authorizer> {
    let config: portico_server::auth::AuthConfig = serde_json::from_value(serde_json::json!({"policy": {"rules": [
        {"name": "admins", "effect": "allow", "permissions": ["*"], "when": "user.admin"},
        {"name": "half-hidden", "effect": "deny", "permissions": ["catalog.entity.read"],
         "when": "entity != null && entity.metadata.name.matches('[13579]$') && !user.owners.exists(o, entity.has_relation('ownedBy', o))"},
        {"name": "read", "effect": "allow", "permissions": ["catalog.entity.read", "query.run"], "when": "user.signedIn"}
    ]}}))?;
    config.authorizer().map_err(anyhow::Error::msg)
}

/// Whether the benchmark's policy hides an entity of this name from its user.
fn hidden_name(name: &str) -> bool {
    name.ends_with(['1', '3', '5', '7', '9'])
}

fn hidden_from_user(catalog: &Catalog) -> usize {
    catalog.read().entries().filter(|e| hidden_name(&e.entity.metadata.name)).count()
}

/// The expression-language queries measured: (label, body, requests).
fn expression_queries(summary: &synth::SynthSummary, requests: usize) -> Vec<(String, serde_json::Value, usize)> {
    use serde_json::json;
    let owner = summary.sample_owner.rsplit('/').next().unwrap_or_default().to_owned();
    vec![
        (
            "POST query kind+owner (indexed) limit 100".into(),
            json!({"expression": format!("kind == 'Component' && spec.owner == '{owner}'"), "limit": 100}),
            requests,
        ),
        (
            format!("POST query reachable('dependencyOf') of the hub ({} direct)", summary.hub_dependents),
            json!({"expression": format!("ref == '{}'", summary.hub_resource), "fields": ["reachable('dependencyOf').size()"]}),
            requests.min(500),
        ),
        (
            "POST query full scan: metadata.name.contains('42')".into(),
            json!({"expression": "metadata.name.contains('42')", "limit": 100}),
            requests.min(30),
        ),
        ("POST query groupBy spec.lifecycle over all".into(), json!({"expression": "true", "groupBy": "spec.lifecycle", "limit": 0}), requests.min(30)),
    ]
}

/// Posts `body` `n` times, one after another; the same summary as [`latency`].
async fn post_latency(client: &reqwest::Client, url: &str, body: &serde_json::Value, n: usize) -> anyhow::Result<String> {
    let mut times: Vec<Duration> = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let resp = client.post(url).json(body).send().await?;
        let status = resp.status();
        let text = resp.text().await?;
        times.push(t.elapsed());
        anyhow::ensure!(status.is_success(), "{url} {body}: HTTP {status}: {text}");
    }
    Ok(percentiles(times))
}

/// A fresh database of the named backend; `None` (said on stdout) when PostgreSQL is not
/// reachable.
pub(super) async fn database(backend: &str) -> anyhow::Result<Option<TestDb>> {
    match backend {
        "sqlite" => Ok(Some(TestDb::sqlite().await)),
        "postgres" => {
            let db = TestDb::postgres().await;
            if db.is_none() {
                println!("postgres: skipped (no server reachable)");
            }
            Ok(db)
        }
        other => anyhow::bail!("unknown backend {other:?}; expected sqlite or postgres"),
    }
}

/// Generates the synthetic catalog of `entities` into a temporary directory, saying so.
pub(super) fn generate(entities: usize) -> anyhow::Result<(tempfile::TempDir, synth::SynthSummary)> {
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let summary = synth::generate(dir.path(), &SynthOptions::with_entities(entities))?;
    println!(
        "generated {} entities in {} files in {:.2} s ({}; hot owner {} owns {} components; hub {} has {} dependents)",
        summary.entities,
        summary.files,
        t.elapsed().as_secs_f64(),
        dir.path().display(),
        summary.sample_owner,
        summary.sample_owner_components,
        summary.hub_resource,
        summary.hub_dependents
    );
    Ok((dir, summary))
}

/// Generates the Backstage harness's catalog shape of `entities` into a temporary directory.
fn generate_backstage(entities: usize) -> anyhow::Result<(tempfile::TempDir, synth::SynthSummary)> {
    let dir = tempfile::tempdir()?;
    let t = Instant::now();
    let summary = synth::backstage::generate(dir.path(), entities, 42)?;
    println!("generated {} entities (Backstage harness shape) in {} files in {:.2} s ({})", summary.entities, summary.files, t.elapsed().as_secs_f64(), dir.path().display());
    Ok((dir, summary))
}

/// `/healthz` latency while 50 clients each keep a full-scan query with nested comprehensions
/// running (more than the concurrency cap, so some are queued or refused with 503): the
/// server's async workers must stay free.
async fn healthz_under_load(client: &reqwest::Client, base: &str) -> anyhow::Result<String> {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A full scan with a comprehension per entity: about a second of one core each.
    let body = serde_json::json!({"expression": "[1,2,3,4,5,6,7,8].all(x, metadata.name.size() + x > 0) && metadata.name.contains('zz')", "limit": 10});
    let mut load = Vec::new();
    for _ in 0..50 {
        let (client, stop, url, body) = (client.clone(), stop.clone(), format!("{base}/api/v1/query"), body.clone());
        load.push(tokio::spawn(async move {
            let (mut ok, mut refused, mut failed) = (0usize, 0usize, 0usize);
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match client.post(&url).json(&body).send().await.map(|r| r.status().as_u16()) {
                    Ok(200) => ok += 1,
                    Ok(503) => refused += 1,
                    _ => failed += 1,
                }
            }
            (ok, refused, failed)
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut times = Vec::with_capacity(1000);
    for _ in 0..1000 {
        let t = Instant::now();
        client.get(format!("{base}/healthz")).send().await?.error_for_status()?.bytes().await?;
        times.push(t.elapsed());
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (mut ok, mut refused, mut failed) = (0, 0, 0);
    for task in load {
        let (o, r, f) = task.await?;
        ok += o;
        refused += r;
        failed += f;
    }
    Ok(format!("{} (meanwhile {ok} queries answered, {refused} refused with 503, {failed} failed)", percentiles(times)))
}

/// "p50 … ms, p99 … ms (n requests)" of a set of timings.
pub(super) fn percentiles(mut times: Vec<Duration>) -> String {
    times.sort();
    let pct = |p: f64| times[((times.len() as f64 * p).ceil() as usize).saturating_sub(1).min(times.len() - 1)].as_secs_f64() * 1000.0;
    format!("p50 {:.2} ms, p99 {:.2} ms ({} requests)", pct(0.50), pct(0.99), times.len())
}

/// Sends the requests one after another; returns "p50 … ms, p99 … ms (n requests)".
async fn latency(client: &reqwest::Client, urls: &[String]) -> anyhow::Result<String> {
    // Warm up connections and caches.
    for u in urls.iter().take(20) {
        client.get(u).send().await?.bytes().await?;
    }
    let mut times: Vec<Duration> = Vec::with_capacity(urls.len());
    for u in urls {
        let t = Instant::now();
        let resp = client.get(u).send().await?;
        let status = resp.status();
        resp.bytes().await?;
        times.push(t.elapsed());
        anyhow::ensure!(status.is_success(), "{u}: HTTP {status}");
    }
    Ok(percentiles(times))
}
