//! `portico diff`: what changed in the catalog between two times, from its version history.

use std::process::ExitCode;

use portico_catalog::parse_time;

use super::catalog::open;
use crate::config::Config;

pub async fn diff(config: Config, from: &str, to: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let from = parse_time("--from", from).map_err(anyhow::Error::msg)?;
    let to = match to {
        Some(t) => parse_time("--to", t).map_err(anyhow::Error::msg)?,
        None => portico_catalog::now_ms(),
    };
    anyhow::ensure!(from <= to, "--from must not be after --to");
    let (catalog, _) = open(&config).await?;
    let report = catalog.changes(from, to).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    for (what, list) in [("added", &report.added), ("removed", &report.removed), ("changed", &report.changed)] {
        for c in list {
            let fields: Vec<&str> = c.fields.iter().map(|f| f.path.as_str()).collect();
            let detail = if fields.is_empty() && what == "changed" { c.change.clone() } else { fields.join(", ") };
            rows.push(vec![what.to_owned(), c.entity_ref.clone(), c.source.clone(), detail]);
        }
    }
    println!("{}", crate::output::table(&["CHANGE", "ENTITY", "SOURCE", "FIELDS"], &rows));
    eprintln!(
        "{} added, {} removed, {} changed{}",
        report.added.len(),
        report.removed.len(),
        report.changed.len(),
        if report.truncated > 0 { format!(" ({} more not shown)", report.truncated) } else { String::new() }
    );
    Ok(ExitCode::SUCCESS)
}
