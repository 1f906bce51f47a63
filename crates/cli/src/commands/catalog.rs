//! `portico catalog …`: validate, import, get, list.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader};
use portico_graph::EntityQuery;

use crate::config::Config;

#[derive(Subcommand)]
pub enum CatalogCommand {
    /// Lint descriptor files or directories (for CI): prints file:line:col: message, exits 1 on problems.
    Validate {
        /// Files, directories or globs (relative to the working directory).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Register a location (file, directory, glob or URL) and ingest it, with progress.
    Import {
        /// A file, directory, glob or allowed URL.
        location: String,
        /// Only show what would be imported.
        #[arg(long)]
        dry_run: bool,
    },
    /// Print one entity as JSON.
    Get {
        /// Entity reference, `[kind:][namespace/]name`.
        entity_ref: String,
    },
    /// List entities matching Backstage filters (`kind=component,spec.owner=team-a`).
    List {
        /// A Backstage filter (`kind=component,spec.owner=team-a`); repeat for alternatives.
        #[arg(long)]
        filter: Vec<String>,
        /// Most entities to show.
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// Print `{items, totalItems, limit, truncated}` as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: Config, command: CatalogCommand) -> anyhow::Result<ExitCode> {
    match command {
        CatalogCommand::Validate { paths } => super::validate::validate(&paths, &config.reading).await,
        CatalogCommand::Import { location, dry_run } => import(config, &location, dry_run).await,
        CatalogCommand::Get { entity_ref } => get(config, &entity_ref).await,
        CatalogCommand::List { filter, limit, json } => list(config, &filter, limit, json).await,
    }
}

/// Opens the configured store (creating the data directory for SQLite) and the catalog on it.
pub async fn open(config: &Config) -> anyhow::Result<(Arc<Catalog>, LocationService)> {
    let store = open_store(config).await?;
    let catalog = Catalog::open(store, CatalogOptions { orphan_strategy: config.catalog.orphan_strategy, queries: config.queries.clone() }).await?;
    let rules = portico_catalog::CatalogRules::compile(&config.catalog.rules).map_err(anyhow::Error::msg)?;
    let locations = LocationService::new(catalog.clone(), Reader::new(config.reading.clone())).with_rules(rules);
    Ok((catalog, locations))
}

/// Opens the configured store (creating the data directory for SQLite), migrated.
pub async fn open_store(config: &Config) -> anyhow::Result<Arc<dyn portico_store::Store>> {
    let url = config.database_url();
    if url.starts_with("sqlite:") {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("failed to create data directory {}", config.data_dir.display()))?;
    }
    let store = portico_store::open(&url).await.context("failed to open the database")?;
    store.migrate().await.context("failed to migrate the database")?;
    Ok(store)
}

/// The discovery engine of the configured sources.
pub fn engine(config: &Config, catalog: &Arc<Catalog>) -> anyhow::Result<Arc<portico_discovery::engine::Engine>> {
    let decls = portico_discovery::engine::parse_sources(&config.discovery.sources).map_err(anyhow::Error::msg)?;
    let cache = config.discovery.cache_dir.clone().unwrap_or_else(|| config.data_dir.join("discovery"));
    portico_discovery::engine::Engine::new(catalog.clone(), Reader::new(config.reading.clone()), cache, &portico_discovery::providers::registry(), decls).map_err(anyhow::Error::msg)
}

/// `url` for http(s) targets, `file` otherwise.
pub fn spec_of(location: &str) -> LocationSpec {
    let kind = if location.starts_with("http://") || location.starts_with("https://") { "url" } else { "file" };
    LocationSpec { kind: kind.into(), target: location.to_owned() }
}

async fn import(config: Config, location: &str, dry_run: bool) -> anyhow::Result<ExitCode> {
    let (catalog, locations) = open(&config).await?;
    let spec = LocationService::normalize(&spec_of(location)).map_err(anyhow::Error::msg)?;
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar.set_message("reading…");
    let progress = {
        let bar = bar.clone();
        move |files: usize, entities: usize| bar.set_message(format!("read {files} file(s), {entities} entities"))
    };
    if dry_run {
        let outcome = locations.read(&spec, &progress).await;
        bar.finish_and_clear();
        let invalid = super::validate::document_problems(&outcome.entities);
        println!("would import {} entities from {} file(s)", outcome.entities.len(), outcome.files);
        for e in &outcome.errors {
            println!("{}: {}", e.location, e.message);
        }
        // Documents the import would refuse (reported, the rest imported).
        for p in &invalid {
            println!("{p}");
        }
        // The exit code says what the real import would do: it fails only when nothing could be
        // read; problems in some documents are reported and the rest imported.
        return Ok(if outcome.count == 0 && !outcome.errors.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS });
    }
    let (record, _, exists, report) = locations.register_with_progress(&spec, false, &progress).await?;
    bar.finish_and_clear();
    let report = report.unwrap_or_default();
    let detail = format!("portico catalog import {}: {} added, {} updated, {} removed", record.target, report.added, report.updated, report.removed);
    super::audit::record(catalog.store().as_ref(), "catalog.location.create", &record.id, detail).await?;
    println!(
        "{} location {} ({}): {} added, {} updated, {} removed, {} unchanged, {} error(s)",
        if exists { "refreshed" } else { "registered" },
        record.id,
        record.target,
        report.added,
        report.updated,
        report.removed,
        report.unchanged,
        report.errors.len()
    );
    for e in &report.errors {
        println!("{}: {}", e.location, e.message);
    }
    Ok(ExitCode::SUCCESS)
}

async fn get(config: Config, entity_ref: &str) -> anyhow::Result<ExitCode> {
    let r = portico_model::EntityRef::parse(entity_ref, portico_model::RefDefaults { kind: Some("Component"), namespace: None })?;
    let (catalog, _) = open(&config).await?;
    let g = catalog.read();
    let Some(entry) = g.get(&r.key()) else {
        anyhow::bail!("entity `{r}` not found");
    };
    let mut value = entry.entity.to_value();
    value["relations"] = serde_json::to_value(g.relations(&entry.key))?;
    println!("{}", serde_json::to_string_pretty(&value)?);
    Ok(ExitCode::SUCCESS)
}

async fn list(config: Config, filters: &[String], limit: usize, json: bool) -> anyhow::Result<ExitCode> {
    let refs: Vec<&str> = filters.iter().map(String::as_str).collect();
    let filter = portico_graph::filter::parse_filter_params(&refs)?;
    let (catalog, _) = open(&config).await?;
    let g = catalog.read();
    let page = g.query(&EntityQuery { filter, limit: Some(limit), ..Default::default() });
    let entries: Vec<_> = page.ids.iter().filter_map(|id| g.entry(*id)).collect();
    if json {
        let items: Vec<serde_json::Value> = entries.iter().map(|e| e.entity.to_value()).collect();
        // Says when the list stopped at its limit, so a script does not take a page for all.
        let truncated = items.len() < page.total;
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({"items": items, "totalItems": page.total, "limit": limit, "truncated": truncated}))?);
        if truncated {
            eprintln!("showing {} of {} entities; raise --limit to see more", items.len(), page.total);
        }
    } else {
        let rows: Vec<Vec<String>> = entries
            .iter()
            .map(|e| {
                let spec = |f: &str| e.entity.spec_str(f).unwrap_or("").to_owned();
                vec![e.entity_ref().to_string(), spec("type"), spec("owner"), spec("lifecycle"), e.entity.metadata.title.clone().unwrap_or_default()]
            })
            .collect();
        println!("{}", crate::output::table(&["REF", "TYPE", "OWNER", "LIFECYCLE", "TITLE"], &rows));
        if entries.len() < page.total {
            eprintln!("{} of {} entities; raise --limit to see more", entries.len(), page.total);
        } else {
            eprintln!("{} of {} entities", entries.len(), page.total);
        }
    }
    Ok(ExitCode::SUCCESS)
}
