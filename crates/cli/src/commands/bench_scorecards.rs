//! `portico bench scorecards`: generates the synthetic catalog, ingests it (SQLite), adds a
//! 10-rule scorecard, and times its full evaluation, the re-scoring after one entity changes
//! (through the catalog's write path, until the new level is visible), and the deploy gate
//! through the whole router (middleware included) in this process. Prints plain numbers.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Args;
use portico_catalog::{Mutation, Origin, RawEntity};
use portico_server::AppState;

use super::bench::percentiles;

#[derive(Args)]
pub struct ScorecardsBench {
    /// Entities to generate.
    #[arg(long, default_value_t = 100_000)]
    entities: usize,
    /// Changes and gate requests to time.
    #[arg(long, default_value_t = 1000)]
    requests: usize,
}

/// Ten rules over fields, relations and neighbours: what a production-readiness scorecard asks.
const TEN_RULES: &[(&str, &str, &str)] = &[
    ("owner", "Bronze", "has_owner()"),
    ("owner-exists", "Bronze", "owner_exists()"),
    ("owner-group", "Bronze", "owner_is_group()"),
    ("lifecycle", "Bronze", "lifecycle_known()"),
    ("description", "Silver", "has_description()"),
    ("system", "Silver", "system_exists()"),
    ("tags", "Silver", "has_tags()"),
    ("no-deprecated", "Gold", "no_deprecated_dependencies()"),
    ("deps-owned", "Gold", "dependencies_owned()"),
    ("production", "Gold", "spec.lifecycle == 'production' && related('dependsOn').size() <= 10"),
];

fn raw(value: serde_json::Value) -> RawEntity {
    RawEntity { value, origin: Origin { location: "bench".into(), text: None, document: 0 }, parent: None, degraded: false }
}

fn scorecard(name: &str, filter: Option<&str>, rules: &[(&str, &str, &str)]) -> serde_json::Value {
    let rules: Vec<serde_json::Value> = rules.iter().map(|(id, level, e)| serde_json::json!({"id": id, "level": level, "expression": e})).collect();
    let mut spec = serde_json::json!({"rules": rules});
    if let Some(f) = filter {
        spec["filter"] = serde_json::json!(f);
    }
    serde_json::json!({"apiVersion": "portico.dev/v1", "kind": "Scorecard", "metadata": {"name": name}, "spec": spec})
}

pub async fn run(opts: ScorecardsBench) -> anyhow::Result<ExitCode> {
    let (_dir, _summary, _db, catalog, locations) = super::bench_web::ingested(opts.entities).await?;
    let state = AppState::new(catalog.clone(), locations);
    let scorecards = state.scorecards.clone();
    scorecards.update();
    let mut rows: Vec<(String, String)> = Vec::new();

    // Full evaluations: a new scorecard is scored on everything its filter selects.
    for (name, filter, what) in [
        ("readiness", Some("kind == 'Component'"), "10-rule scorecard, full evaluation, Components"),
        ("everything", None, "10-rule scorecard, full evaluation, every entity"),
    ] {
        catalog.apply(Mutation::Delta { source: "bench".into(), upserts: vec![raw(scorecard(name, filter, TEN_RULES))], removals: Vec::new() }).await?;
        let s = scorecards.clone();
        let t = Instant::now();
        let u = tokio::task::spawn_blocking(move || s.update()).await?;
        let card = scorecards.card(name).ok_or_else(|| anyhow::anyhow!("the scorecard {name} is not in force: {:?}", scorecards.broken()))?;
        rows.push((what.to_owned(), format!("{:.0} ms, {} entities scored, RSS {} MiB", t.elapsed().as_secs_f64() * 1000.0, card.scores.len(), portico_catalog::rss_mib())));
        anyhow::ensure!(u.full == 1, "one full evaluation expected: {u:?}");
    }
    // What each rule costs alone, on the Components.
    let components: Vec<portico_graph::Id> = scorecards.card("readiness").map(|c| c.scores.keys().collect()).unwrap_or_default();
    for (id, _, source) in TEN_RULES {
        let expr = portico_expr::Expr::compile(source, &portico_expr::Vocabulary::entity(), &portico_expr::Limits::default())?;
        let t = Instant::now();
        let limits = portico_expr::Limits { max_steps: u64::MAX, max_iterations: u64::MAX, max_produced_bytes: u64::MAX, timeout: Duration::from_secs(600), ..portico_expr::Limits::default() };
        portico_graph::eval::evaluate(catalog.graph(), &[&expr], &components, chrono::Utc::now().fixed_offset(), &limits)?;
        rows.push((format!("  rule `{id}` alone (`{source}`)"), format!("{:.0} ms", t.elapsed().as_secs_f64() * 1000.0)));
    }
    // A rule that follows dependencies transitively.
    let transitive = [("no-deprecated-deep", "Gold", "no_deprecated_dependencies_transitively()")];
    catalog.apply(Mutation::Delta { source: "bench".into(), upserts: vec![raw(scorecard("deep", Some("kind == 'Component'"), &transitive))], removals: Vec::new() }).await?;
    let t = Instant::now();
    scorecards.update();
    rows.push(("1 transitive rule (reachable dependsOn), full, Components".to_owned(), format!("{:.0} ms", t.elapsed().as_secs_f64() * 1000.0)));

    // One entity changes through the write path; the time until every scorecard has scored
    // it again (the three above: the transitive one follows its dependents).
    let names: Vec<String> = {
        let g = catalog.read();
        let mut n: Vec<String> = g.entries().filter(|e| e.entity.kind == "Component").map(|e| e.entity.metadata.name.clone()).collect();
        n.sort();
        let step = (n.len() / opts.requests.max(1)).max(1);
        n.into_iter().step_by(step).take(opts.requests.min(300)).collect()
    };
    let (mut write, mut rescore, mut total) = (Vec::new(), Vec::new(), Vec::new());
    let mut rescored = 0u64;
    for (i, name) in names.iter().enumerate() {
        // Changed by the source that provides it (another source's copy would be a conflict).
        let (entity, source) = catalog.read().get(&format!("component:default/{name}")).map(|e| ((*e.entity).clone(), e.source.clone())).ok_or_else(|| anyhow::anyhow!("{name} is gone"))?;
        let mut value = serde_json::to_value(&entity)?;
        value["metadata"]["description"] = serde_json::json!(format!("changed {i}"));
        let generation = catalog.read().generation();
        let t = Instant::now();
        catalog.apply(Mutation::Delta { source, upserts: vec![raw(value)], removals: Vec::new() }).await?;
        anyhow::ensure!(catalog.read().generation() > generation, "the change to {name} was not applied");
        let written = t.elapsed();
        let s = scorecards.clone();
        let u = tokio::task::spawn_blocking(move || s.update()).await?;
        rescored += u.rescored;
        total.push(t.elapsed());
        write.push(written);
        rescore.push(Duration::from_secs_f64(u.elapsed_ms / 1000.0));
    }
    rows.push(("one entity changed: write through the catalog".to_owned(), percentiles(write)));
    rows.push(("one entity changed: re-score until visible (3 scorecards)".to_owned(), format!("{}, {:.1} entities re-scored on average", percentiles(rescore), rescored as f64 / names.len().max(1) as f64)));
    rows.push(("one entity changed: write + re-score".to_owned(), percentiles(total)));

    // The gate, through the router as CI asks it.
    let router = portico_server::router(state);
    let urls: Vec<String> = names.iter().cycle().take(opts.requests).map(|n| format!("/api/v1/gates/component/default/{n}?scorecard=readiness&level=Silver")).collect();
    rows.push(("gate answer (GET /api/v1/gates/…, in process)".to_owned(), super::bench_web::time(&router, &urls).await?));

    // An initiative over the production Components: its progress per owner and to-do list,
    // computed from the results on each request, and an entity's initiatives.
    let initiative = serde_json::json!({"apiVersion": "portico.dev/v1", "kind": "Initiative", "metadata": {"name": "silver"},
        "spec": {"scorecard": "readiness", "level": "Silver", "filter": "spec.lifecycle == 'production'", "deadline": "2999-12-31"}});
    catalog.apply(Mutation::Delta { source: "bench".into(), upserts: vec![raw(initiative)], removals: Vec::new() }).await?;
    let s = scorecards.clone();
    tokio::task::spawn_blocking(move || s.update()).await?;
    let (in_scope, owners) = {
        let list = super::bench_web::get(&router, "/api/v1/initiatives").await?;
        (list["items"][0]["total"].clone(), list["items"][0]["owners"].as_array().map_or(0, Vec::len))
    };
    let urls = vec!["/api/v1/initiatives/default/silver?limit=100".to_owned(); 50];
    rows.push((format!("initiative: progress per owner and the first 100 to-dos ({in_scope} entities in scope, {owners} owners)"), super::bench_web::time(&router, &urls).await?));
    let urls: Vec<String> = names.iter().take(200).map(|n| format!("/api/v1/entities/component/default/{n}/initiatives")).collect();
    rows.push(("an entity's initiatives (GET …/initiatives)".to_owned(), super::bench_web::time(&router, &urls).await?));

    // Deployments as CI sends them: 10,000 in one request, then one per request; each time
    // with the DORA facts of the entities concerned recomputed and stored, and the scorecards
    // brought up to date after.
    let now = chrono::Utc::now();
    let deployment = |batch: &str, i: usize| {
        let name = &names[i % names.len()];
        let finished = now - chrono::Duration::minutes(i as i64 % 100_000);
        serde_json::json!({"type": "deployment", "id": format!("{batch}-{i}"), "entity": format!("component:default/{name}"), "environment": "production",
            "version": format!("1.{i}.0"), "commitTime": (finished - chrono::Duration::hours(3)).to_rfc3339(), "finishedAt": finished.to_rfc3339(), "status": "succeeded"})
    };
    let batch: Vec<serde_json::Value> = (0..10_000).map(|i| deployment("bulk", i)).collect();
    let t = Instant::now();
    let done = super::bench_web::post(&router, "/api/v1/events", &serde_json::json!({"events": batch})).await?;
    let recorded = t.elapsed();
    anyhow::ensure!(done["added"] == 10_000, "10,000 events expected to be added: {}", done["added"]);
    let s = scorecards.clone();
    let u = tokio::task::spawn_blocking(move || s.update()).await?;
    rows.push((
        format!("10,000 deployment events in one request ({} entities), recorded with DORA recomputed", names.len()),
        format!("{:.0} ms; scorecards up to date {:.0} ms later ({} re-scored)", recorded.as_secs_f64() * 1000.0, u.elapsed_ms, u.rescored),
    ));
    let mut one = Vec::new();
    for i in 0..opts.requests.min(1000) {
        let t = Instant::now();
        super::bench_web::post(&router, "/api/v1/events", &deployment("single", i)).await?;
        one.push(t.elapsed());
    }
    rows.push(("one deployment event per request (POST /api/v1/events, in process)".to_owned(), percentiles(one)));

    println!("\n| measure | value |\n| --- | --- |");
    for (what, value) in rows {
        println!("| {what} | {value} |");
    }
    Ok(ExitCode::SUCCESS)
}
