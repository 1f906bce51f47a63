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

pub async fn list(config: crate::config::Config, remote: Option<&crate::remote::Remote>, args: AuditArgs) -> anyhow::Result<std::process::ExitCode> {
    anyhow::ensure!((1..=10_000).contains(&args.limit), "--limit: must be from 1 to 10000");
    if let Some(o) = &args.outcome {
        anyhow::ensure!(matches!(o.as_str(), "allowed" | "denied" | "failed"), "--outcome: {o:?} is not one of allowed, denied, failed");
    }
    let events = match remote {
        Some(remote) => remote_events(remote, &args).await?,
        None => {
            let store = super::catalog::open_store(&config).await?;
            let filter = portico_store::AuditFilter { actor: args.actor.clone(), action: args.action.clone(), outcome: args.outcome.clone(), limit: args.limit, ..Default::default() };
            store.list_audit(&filter).await?
        }
    };
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

/// The events of `GET /api/v1/audit`, a page of at most 1000 at a time, up to `--limit`.
async fn remote_events(remote: &crate::remote::Remote, args: &AuditArgs) -> anyhow::Result<Vec<AuditEvent>> {
    let mut events: Vec<AuditEvent> = Vec::new();
    let mut cursor: Option<String> = None;
    while events.len() < args.limit as usize {
        let page = (args.limit as usize - events.len()).min(1000);
        let q = crate::remote::query(&[
            ("actor", args.actor.clone()),
            ("action", args.action.clone()),
            ("outcome", args.outcome.clone()),
            ("limit", Some(page.to_string())),
            ("cursor", cursor.clone()),
        ]);
        let answer = remote.get(&format!("/api/v1/audit?{q}")).await?;
        let items: Vec<AuditEvent> = serde_json::from_value(answer["items"].clone())?;
        events.extend(items);
        cursor = answer["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    Ok(events)
}
