//! `portico initiatives [NAME]`: every initiative with its progress and deadline, or one with
//! its progress per owner and to-do list (what each entity must still pass, with how to fix
//! it), against a server (`--server`) or the configured database.

use std::process::ExitCode;

use portico_scorecards::Scorecards;
use portico_scorecards::initiative::{self, Progress, Todo};

/// `portico initiatives`.
#[derive(clap::Args)]
pub struct InitiativeArgs {
    /// One initiative (`name` or `namespace/name`): its progress per owner and to-do list.
    name: Option<String>,
    /// With a name: only this owner's to-do list (`payments` is group:default/payments; `none`:
    /// entities with no owner).
    #[arg(long)]
    owner: Option<String>,
    /// Print JSON (the API's) instead of tables.
    #[arg(long)]
    json: bool,
}

/// The API's answers: the list, or one initiative with its to-do list.
async fn answer(config: &crate::config::Config, remote: Option<&crate::remote::Remote>, args: &InitiativeArgs) -> anyhow::Result<serde_json::Value> {
    let path = args.name.as_deref().map(|n| if n.contains('/') { n.to_owned() } else { format!("default/{n}") });
    if let Some(remote) = remote {
        return Ok(match &path {
            None => remote.get("/api/v1/initiatives").await?,
            Some(p) => remote.get(&format!("/api/v1/initiatives/{p}?{}", crate::remote::query(&[("owner", args.owner.clone()), ("limit", Some("10000".into()))]))).await?,
        });
    }
    let (catalog, _) = super::catalog::open(config).await?;
    let scorecards = Scorecards::new(catalog.graph().clone());
    let s = scorecards.clone();
    tokio::task::spawn_blocking(move || s.update()).await?;
    let now = chrono::Utc::now();
    let all = portico_graph::Visibility::all();
    let initiatives = initiative::all(&catalog.read());
    let Some(path) = path else {
        let (mut items, mut broken) = (Vec::new(), Vec::new());
        for i in initiatives {
            match i.and_then(|i| initiative::scope(&i, &scorecards, &all, now.fixed_offset(), None).map(|s| initiative::progress(&i, &s, now.timestamp_millis())).map_err(|error| portico_scorecards::Broken { reference: i.key.clone(), error })) {
                Ok(p) => items.push(p),
                Err(b) => broken.push(b),
            }
        }
        return Ok(serde_json::json!({ "items": items, "broken": broken }));
    };
    let key = format!("initiative:{}", path.to_ascii_lowercase());
    let i = match initiatives.into_iter().find(|i| i.as_ref().map_or_else(|b| b.reference == key, |i| i.key == key)) {
        Some(Ok(i)) => i,
        Some(Err(b)) => anyhow::bail!("{key} does not compile: {}", b.error),
        None => anyhow::bail!("no initiative {key} in the catalog; `portico initiatives` lists them"),
    };
    let scope = initiative::scope(&i, &scorecards, &all, now.fixed_offset(), None).map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
    let owner = args.owner.as_deref().map(|o| portico_server::owner_key(o).map_err(|e| anyhow::anyhow!("--owner: {e}"))).transpose()?;
    let mut v = serde_json::to_value(initiative::progress(&i, &scope, now.timestamp_millis()))?;
    let (total, todo) = initiative::todo(&i, &scope, &catalog.read(), owner.as_deref(), now.timestamp_millis(), 0..usize::MAX);
    v["totalItems"] = total.into();
    v["items"] = serde_json::to_value(todo)?;
    Ok(v)
}

pub async fn run(config: crate::config::Config, remote: Option<&crate::remote::Remote>, args: InitiativeArgs) -> anyhow::Result<ExitCode> {
    let v = answer(&config, remote, &args).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(ExitCode::SUCCESS);
    }
    if args.name.is_none() {
        let items: Vec<Progress> = serde_json::from_value(v["items"].clone()).unwrap_or_default();
        for b in v["broken"].as_array().into_iter().flatten() {
            eprintln!("{} does not resolve: {}", b["ref"].as_str().unwrap_or(""), b["error"].as_str().unwrap_or(""));
        }
        if items.is_empty() {
            println!("No initiatives. Declare one as an Initiative entity (docs/reference/scorecards.md#initiatives).");
            return Ok(ExitCode::SUCCESS);
        }
        let rows: Vec<Vec<String>> = items.iter().map(|p| vec![p.reference.clone(), p.title.clone(), p.target_text(), deadline(p), format!("{} / {} ({}%)", p.done, p.total, p.percent)]).collect();
        println!("{}", crate::output::table(&["INITIATIVE", "TITLE", "TARGET", "DEADLINE", "DONE"], &rows));
        return Ok(ExitCode::SUCCESS);
    }
    let p: Progress = serde_json::from_value(v.clone())?;
    println!("{} — {}\n{} on {}, {}: {} of {} done ({}%){}\n", p.reference, p.title, p.target_text(), p.scorecard, deadline(&p), p.done, p.total, p.percent, if p.overdue > 0 { format!(", {} overdue", p.overdue) } else { String::new() });
    let owners: Vec<Vec<String>> = p.owners.iter().map(|o| vec![o.owner.clone(), format!("{} / {}", o.done, o.total), format!("{}%", o.percent)]).collect();
    println!("{}", crate::output::table(&["OWNER", "DONE", ""], &owners));
    let todo: Vec<Todo> = serde_json::from_value(v["items"].clone()).unwrap_or_default();
    if todo.is_empty() {
        println!("\nNothing to do: every entity in scope meets the target.");
    } else {
        println!("\nTo do ({}):", todo.len());
    }
    for t in &todo {
        println!("  {} ({}, at {})", t.reference, t.owner, t.level.as_deref().unwrap_or("no level"));
        for r in &t.fix {
            println!("    ✗ [{}] {} ({})", r.level, r.title, r.id);
            if let Some(fix) = &r.remediation {
                for line in [fix.text.as_deref(), fix.url.as_deref()].into_iter().flatten() {
                    println!("        → {line}");
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn deadline(p: &Progress) -> String {
    let day = p.deadline.get(..10).unwrap_or(&p.deadline);
    if p.past_deadline { format!("{day} (passed)") } else { format!("{day} ({} days left)", p.days_left) }
}
