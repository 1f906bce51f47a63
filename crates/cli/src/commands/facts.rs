//! `portico facts import` (a report from a scanner, a test runner, a coverage tool or a billing
//! export, as facts about entities) and `portico facts costs` (monthly cost rolled up), against
//! a server (`--server`) or the configured database.

use std::process::ExitCode;

use portico_scorecards::import::Format;
use portico_scorecards::{GroupBy, Imported, Recorder};
use serde_json::Value;

/// `portico facts`.
#[derive(clap::Subcommand)]
pub enum FactsCommand {
    /// Import a report: `--format trivy|grype|junit|cobertura|lcov` about `--entity`, or a
    /// `billing` CSV export whose rows are matched to entities.
    Import {
        /// The report, as the tool wrote it (`-` for standard input).
        path: String,
        /// trivy, grype, junit, cobertura, lcov or billing.
        #[arg(long)]
        format: String,
        /// The entity the report is about (`cart` is component:default/cart); not for billing.
        #[arg(long)]
        entity: Option<String>,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Monthly cost from imported billing exports, per system, owner or domain.
    Costs {
        /// system, owner or domain.
        #[arg(long, default_value = "system")]
        group_by: String,
        /// Print the answer as JSON.
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(config: crate::config::Config, remote: Option<&crate::remote::Remote>, command: FactsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FactsCommand::Import { path, format, entity, json } => {
            let format = Format::named(&format).map_err(|e| anyhow::anyhow!("--{e}"))?;
            let report = if path == "-" { std::io::read_to_string(std::io::stdin())?.into_bytes() } else { std::fs::read(&path).map_err(|e| anyhow::anyhow!("{path}: {e}"))? };
            let done: Imported = match remote {
                Some(remote) => {
                    let q = crate::remote::query(&[("format", Some(format.name().to_owned())), ("entity", entity.clone())]);
                    serde_json::from_str(&remote.send_bytes(reqwest::Method::POST, &format!("/api/v1/facts/import?{q}"), report).await?)?
                }
                None => {
                    let (catalog, _) = super::catalog::open(&config).await?;
                    Recorder::new(catalog, config.scorecards.dora.config()?).import(format, &report, entity.as_deref()).await.map_err(|e| anyhow::anyhow!("{path}: {e}"))?
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&done)?);
                return Ok(ExitCode::SUCCESS);
            }
            for (entity, facts) in &done.facts {
                println!("{entity}");
                for (name, value) in facts {
                    let shown = match value {
                        Value::Object(_) | Value::Array(_) => serde_json::to_string(value)?.chars().take(80).collect(),
                        Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    println!("  {name:<24} {shown}");
                }
            }
            println!("{} fact(s) added, {} updated, {} unchanged", done.recorded.added, done.recorded.updated, done.recorded.unchanged);
            for s in &done.skipped {
                eprintln!("skipped: {s}");
            }
            Ok(ExitCode::SUCCESS)
        }
        FactsCommand::Costs { group_by, json } => {
            let by: GroupBy = group_by.parse().map_err(|e| anyhow::anyhow!("--group-by: {e}"))?;
            let answer = match remote {
                Some(remote) => remote.get(&format!("/api/v1/costs?groupBy={group_by}")).await?,
                None => {
                    let (catalog, _) = super::catalog::open(&config).await?;
                    let items = Recorder::new(catalog, config.scorecards.dora.config()?).costs(by, &|_| true);
                    serde_json::json!({"groupBy": by, "items": items})
                }
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&answer)?);
                return Ok(ExitCode::SUCCESS);
            }
            let items = answer["items"].as_array().cloned().unwrap_or_default();
            if items.is_empty() {
                println!("no costs recorded: import a billing export with `portico facts import --format billing FILE`");
            }
            for g in items {
                let currencies: Vec<&str> = g["currencies"].as_array().map(|c| c.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
                println!("{:<40} {:>12.2} {}  ({} entities)", g["group"].as_str().unwrap_or("?"), g["monthly"].as_f64().unwrap_or(0.0), currencies.join("/"), g["entities"]);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
