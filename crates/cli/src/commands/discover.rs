//! `portico discover [SOURCE]` and `portico drift`.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use portico_discovery::engine::{Trigger, drift};
use portico_catalog::text_table;

use super::catalog::{engine, open};
use crate::config::Config;

#[derive(clap::Args)]
pub struct DiscoverArgs {
    /// The source to run (default: every enabled source).
    source: Option<String>,
    /// Only this scope of the source (a repository URL or path, a state file).
    #[arg(long, requires = "source")]
    scope: Option<String>,
    /// Print the runs as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn discover(config: Config, args: DiscoverArgs) -> anyhow::Result<ExitCode> {
    let (catalog, _) = open(&config).await?;
    let engine = engine(&config, &catalog)?;
    let names: Vec<String> = match &args.source {
        Some(name) => {
            engine.source(name).map_err(|_| {
                let known: Vec<&str> = engine.sources().map(|d| d.name.as_str()).collect();
                anyhow::anyhow!("no discovery source named `{name}`; configured: {}", if known.is_empty() { "none (see discovery.sources in portico.yaml)".to_owned() } else { known.join(", ") })
            })?;
            vec![name.clone()]
        }
        None => engine.sources().filter(|d| d.enabled).map(|d| d.name.clone()).collect(),
    };
    if names.is_empty() {
        eprintln!("No discovery sources are configured: add them under discovery.sources in portico.yaml (docs/reference/discovery.md).");
        return Ok(ExitCode::SUCCESS);
    }
    let mut runs = Vec::new();
    for name in names {
        let bar = ProgressBar::new_spinner();
        bar.set_style(ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed} [{bar:30}] {pos}/{len} {wide_msg}").expect("template").progress_chars("=> "));
        bar.set_prefix(name.clone());
        bar.enable_steady_tick(Duration::from_millis(120));
        let progress_bar = bar.clone();
        let progress = Arc::new(move |p: portico_discovery::engine::ScanProgress| {
            if let Some(total) = p.total {
                progress_bar.set_length(total);
            }
            progress_bar.set_position(p.done);
            progress_bar.set_message(p.item);
        });
        let run = engine.run(&name, Trigger::Manual, args.scope.clone(), Some(progress)).await?;
        bar.finish_and_clear();
        super::audit::record(catalog.store().as_ref(), "discovery.run", &name, format!("portico discover {name}")).await?;
        runs.push(run);
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&runs)?);
    } else {
        let rows: Vec<Vec<String>> = runs
            .iter()
            .map(|r| {
                vec![
                    r.source.clone(),
                    r.status.clone(),
                    r.added.to_string(),
                    r.updated.to_string(),
                    r.removed.to_string(),
                    r.unchanged.to_string(),
                    r.errors.as_array().map_or(0, Vec::len).to_string(),
                    format!("{} ms", r.finished_at - r.started_at),
                ]
            })
            .collect();
        print!("{}", text_table(&["source", "status", "added", "updated", "removed", "unchanged scopes", "errors", "time"], &rows));
        for r in &runs {
            for e in r.errors.as_array().into_iter().flatten().take(20) {
                eprintln!("{}: {}: {}", r.source, e["location"].as_str().unwrap_or_default(), e["message"].as_str().unwrap_or_default());
            }
        }
    }
    // A repository or state that could not be read (a wrong path, not a repository) makes a
    // run `partial`: CI must see it, so that exits non-zero too.
    let failed: Vec<&str> = runs.iter().filter(|r| r.status != "ok").map(|r| r.source.as_str()).collect();
    if !failed.is_empty() {
        eprintln!("portico: discovery did not read everything: {} (see the errors above)", failed.join(", "));
    }
    Ok(if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

pub async fn drift(config: Config, json: bool) -> anyhow::Result<ExitCode> {
    let (catalog, _) = open(&config).await?;
    let engine = engine(&config, &catalog)?;
    let kinds: HashMap<String, String> = engine.sources().map(|d| (d.name.clone(), d.kind.clone())).collect();
    let report = drift::report(&catalog, &kinds).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    for (kind, count) in &report.counts {
        println!("{:<36} {count}", kind.title());
    }
    if !report.runtime_sources {
        println!("(no runtime source — kubernetes, terraform, postgres — is configured: nothing can be seen running)");
    }
    if !report.items.is_empty() {
        println!();
        let rows: Vec<Vec<String>> = report
            .items
            .iter()
            .map(|i| vec![i.kind.title().to_owned(), i.entity_ref.clone(), i.target.clone().unwrap_or_default(), i.detail.clone()])
            .collect();
        print!("{}", text_table(&["drift", "entity", "target", "detail"], &rows));
    }
    Ok(ExitCode::SUCCESS)
}
