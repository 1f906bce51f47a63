//! The command line's entries in the audit log: what it changes is recorded as the API's
//! changes are, with `cli` as the actor (whoever can run it owns the database).

use portico_store::{AuditEvent, Store};

/// Records that the command line did `action` (a permission's name) to `target`.
pub async fn record(store: &dyn Store, action: &str, target: &str, detail: String) -> anyhow::Result<()> {
    let event = AuditEvent::of("cli", "cli", action, Some(target.into()), "allowed").with(None, None, detail);
    store.append_audit(&event).await?;
    Ok(())
}

/// `portico audit`: the audit log, newest first, as a table or CSV.
#[derive(clap::Args)]
pub struct AuditArgs {
    /// Only this actor (`user:default/ada`, `service:deployer`, `cli`).
    #[arg(long)]
    actor: Option<String>,
    /// Only this action, or actions starting with it (`catalog.`).
    #[arg(long)]
    action: Option<String>,
    /// Only `allowed`, `denied` or `failed`.
    #[arg(long)]
    outcome: Option<String>,
    /// Most events to show (1 to 10000).
    #[arg(long, default_value_t = 50)]
    limit: u32,
    /// Print CSV (the API's columns) instead of a table.
    #[arg(long)]
    csv: bool,
}

pub async fn list(config: crate::config::Config, args: AuditArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::ensure!((1..=10_000).contains(&args.limit), "--limit: must be from 1 to 10000");
    if let Some(o) = &args.outcome {
        anyhow::ensure!(matches!(o.as_str(), "allowed" | "denied" | "failed"), "--outcome: {o:?} is not one of allowed, denied, failed");
    }
    let store = super::catalog::open_store(&config).await?;
    let filter = portico_store::AuditFilter { actor: args.actor, action: args.action, outcome: args.outcome, limit: args.limit, ..Default::default() };
    let events = store.list_audit(&filter).await?;
    let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| vec![portico_catalog::format_time(e.at), e.actor.clone(), e.action.clone(), text(&e.target), e.outcome.clone(), text(&e.detail)])
        .collect();
    if args.csv {
        print!("{}", portico_catalog::csv_table(&["at", "actor", "action", "target", "outcome", "detail"], &rows));
    } else {
        println!("{}", crate::output::table(&["AT", "ACTOR", "ACTION", "TARGET", "OUTCOME", "DETAIL"], &rows));
    }
    Ok(std::process::ExitCode::SUCCESS)
}
