//! `portico gate` (may this entity deploy? for CI) and `portico scorecards` (every scorecard and
//! how entities fare), against a server (`--server`) or the configured database.

use std::process::ExitCode;

use portico_scorecards::report::{self, GateAnswer};
use portico_scorecards::Scorecards;

/// `portico gate`.
#[derive(clap::Args)]
pub struct GateArgs {
    /// The entity, as `kind:namespace/name` (`component:default/cart`; the kind defaults to
    /// component, the namespace to default).
    entity: String,
    /// The scorecard: its name (`readiness`) or `namespace/name`.
    #[arg(long)]
    scorecard: String,
    /// The level required (`Silver`).
    #[arg(long)]
    level: String,
    /// Print the answer as JSON (the API's) instead of a report.
    #[arg(long)]
    json: bool,
}

/// Exit status of a gate that fails, as `catalog validate` exits on problems: distinct from 2,
/// an error (a wrong scorecard, a server that does not answer), so a pipeline can tell a
/// refusal from a breakage.
const REFUSED: u8 = 1;

pub async fn gate(config: crate::config::Config, remote: Option<&crate::remote::Remote>, args: GateArgs) -> anyhow::Result<ExitCode> {
    let reference = portico_model::EntityRef::parse(&args.entity, portico_model::RefDefaults { kind: Some("component"), namespace: Some("default") })
        .map_err(|e| anyhow::anyhow!("{}: not an entity reference ({e}); write kind:namespace/name, e.g. component:default/cart", args.entity))?;
    let answer: GateAnswer = match remote {
        Some(remote) => {
            let q = crate::remote::query(&[("scorecard", Some(args.scorecard.clone())), ("level", Some(args.level.clone()))]);
            let path = format!("/api/v1/gates/{}/{}/{}?{q}", enc(reference.kind()), enc(reference.namespace()), enc(reference.name()));
            serde_json::from_value(remote.get(&path).await?)?
        }
        None => {
            let (catalog, _) = super::catalog::open(&config).await?;
            let scorecards = Scorecards::new(catalog.graph().clone());
            let s = scorecards.clone();
            tokio::task::spawn_blocking(move || s.update()).await?;
            let card = scorecards.card(&args.scorecard).ok_or_else(|| {
                let names: Vec<String> = scorecards.cards().iter().map(|c| c.card.name.clone()).collect();
                anyhow::anyhow!("--scorecard: no scorecard {:?}; the scorecards: {}", args.scorecard, if names.is_empty() { "none".into() } else { names.join(", ") })
            })?;
            let id = {
                let graph = catalog.read();
                graph.id_of(&reference.key()).filter(|&id| graph.entry(id).is_some())
            };
            let answer = report::gate(&card, &reference.to_string(), id, &args.level, config.scorecards.gate.unknown).map_err(|e| anyhow::anyhow!("--level: {e}"))?;
            let outcome = if answer.pass { "passed" } else { "failed" };
            let event = portico_store::AuditEvent::of("cli", "cli", "scorecard.gate", Some(answer.entity.clone()), outcome).with(None, None, format!("{} at {}", answer.scorecard, answer.required));
            catalog.store().append_audit(&event).await?;
            answer
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
    } else {
        print!("{}", gate_report(&answer));
    }
    Ok(if answer.pass { ExitCode::SUCCESS } else { ExitCode::from(REFUSED) })
}

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// The gate's answer for a CI log: the verdict first, then what to fix.
pub fn gate_report(a: &GateAnswer) -> String {
    let mut out = String::new();
    let reached = a.level.as_deref().unwrap_or("no level");
    let score = a.score.map(|s| format!(", score {s}")).unwrap_or_default();
    if a.pass {
        out.push_str(&format!("PASS  {} reaches {} on {} (at {reached}{score})\n", a.entity, a.required, a.scorecard));
        return out;
    }
    out.push_str(&format!("FAIL  {} does not reach {} on {} (at {reached}{score})\n", a.entity, a.required, a.scorecard));
    if let Some(r) = &a.reason {
        out.push_str(&format!("      {r}\n"));
    }
    if !a.failing.is_empty() {
        out.push_str(&format!("\n{} rule(s) to fix:\n", a.failing.len()));
    }
    for r in &a.failing {
        out.push_str(&format!("  ✗ [{}] {} ({}){}\n", r.level, r.title, r.id, if r.errored { " — could not be evaluated" } else { "" }));
        if let Some(fix) = &r.remediation {
            for line in [fix.text.as_deref(), fix.url.as_deref(), fix.template.as_deref().map(|t| format!("template {t}")).as_deref()].into_iter().flatten() {
                out.push_str(&format!("      → {line}\n"));
            }
        }
    }
    out
}

/// `portico scorecards`.
#[derive(clap::Args)]
pub struct ListArgs {
    /// Print JSON (the API's items) instead of a table.
    #[arg(long)]
    json: bool,
}

pub async fn list(config: crate::config::Config, remote: Option<&crate::remote::Remote>, args: ListArgs) -> anyhow::Result<ExitCode> {
    let items: Vec<serde_json::Value> = match remote {
        Some(remote) => serde_json::from_value(remote.get("/api/v1/scorecards").await?["items"].clone())?,
        None => {
            let (catalog, _) = super::catalog::open(&config).await?;
            let scorecards = Scorecards::new(catalog.graph().clone());
            let s = scorecards.clone();
            tokio::task::spawn_blocking(move || s.update()).await?;
            let all = portico_graph::Visibility::all();
            scorecards.cards().iter().map(|c| serde_json::to_value(report::summary(c, &all))).collect::<Result<_, _>>()?
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&items)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = items
        .iter()
        .filter_map(|v| serde_json::from_value::<SummaryRow>(v.clone()).ok())
        .map(|s| {
            let levels = s.distribution.iter().map(|d| format!("{} {}", d.level.as_deref().unwrap_or("none"), d.count)).collect::<Vec<_>>().join(" · ");
            vec![s.reference, s.title, s.entities.to_string(), levels, format!("{:.1}", s.average_score)]
        })
        .collect();
    if rows.is_empty() {
        println!("No scorecards. Declare one as a Scorecard entity (docs/reference/scorecards.md).");
    } else {
        println!("{}", crate::output::table(&["SCORECARD", "TITLE", "ENTITIES", "LEVELS", "AVG SCORE"], &rows));
    }
    Ok(ExitCode::SUCCESS)
}

/// What the table shows of a scorecard's summary, read back from JSON (local and remote alike).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct SummaryRow {
    #[serde(rename = "ref")]
    reference: String,
    title: String,
    entities: usize,
    distribution: Vec<LevelRow>,
    average_score: f64,
}

#[derive(serde::Deserialize)]
struct LevelRow {
    level: Option<String>,
    count: usize,
}
