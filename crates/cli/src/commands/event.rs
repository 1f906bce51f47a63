//! `portico event` (record a deployment, an incident or a fact; for CI pipelines and incident
//! tools) and `portico dora` (the four keys of an entity, or rolled up), against a server
//! (`--server`) or the configured database.

use std::process::ExitCode;

use portico_scorecards::{GroupBy, Recorded, Recorder};
use serde_json::{Value, json};

/// `portico event`.
#[derive(clap::Subcommand)]
pub enum EventCommand {
    /// A deployment: started (`--status in_progress`) or finished.
    Deployment(DeploymentArgs),
    /// An incident: opened, or resolved (`--resolved`).
    Incident(IncidentArgs),
    /// A fact about an entity (`coverage`, `cost.monthly`), read by rules with fact('name').
    Fact(FactArgs),
    /// Events from a JSON file (`-` for standard input): one event, a list, or {"events": [...]}.
    File {
        /// The JSON file, or `-` for standard input.
        path: String,
    },
}

#[derive(clap::Args)]
pub struct DeploymentArgs {
    /// The entity deployed (`cart` is component:default/cart).
    #[arg(long)]
    entity: String,
    /// The environment (production counts for DORA: see scorecards.dora.environments).
    #[arg(long)]
    environment: String,
    /// succeeded, failed, rolled_back, cancelled or in_progress.
    #[arg(long, default_value = "succeeded")]
    status: String,
    /// The deployment's id: the same id again is the same deployment (default: entity,
    /// environment and version or commit).
    #[arg(long)]
    id: Option<String>,
    /// The version deployed (`1.4.2`).
    #[arg(long)]
    version: Option<String>,
    /// The commit deployed.
    #[arg(long)]
    commit: Option<String>,
    /// When that commit was made, RFC 3339 (lead time runs from it).
    #[arg(long)]
    commit_time: Option<String>,
    /// RFC 3339.
    #[arg(long)]
    started: Option<String>,
    /// RFC 3339 (default: now, unless in progress).
    #[arg(long)]
    finished: Option<String>,
    /// A link to the pipeline run.
    #[arg(long)]
    url: Option<String>,
    #[command(flatten)]
    out: Out,
}

#[derive(clap::Args)]
pub struct IncidentArgs {
    /// The entity the incident is about (`cart` is component:default/cart).
    #[arg(long)]
    entity: String,
    /// The incident's id in its tool (`INC-42`).
    #[arg(long)]
    id: String,
    /// RFC 3339 (default: now).
    #[arg(long)]
    opened: Option<String>,
    /// RFC 3339: the incident is resolved.
    #[arg(long)]
    resolved: Option<String>,
    /// As the incident tool says it (`sev1`, `critical`).
    #[arg(long)]
    severity: Option<String>,
    /// What happened, in a few words.
    #[arg(long)]
    title: Option<String>,
    /// The id of the deployment that caused it (counted as a failed change).
    #[arg(long)]
    deployment: Option<String>,
    #[command(flatten)]
    out: Out,
}

#[derive(clap::Args)]
pub struct FactArgs {
    /// The entity the fact is about (`cart` is component:default/cart).
    #[arg(long)]
    entity: String,
    /// The fact's name (`coverage`, `cost.monthly`), as rules read it with fact('name').
    #[arg(long)]
    name: String,
    /// A JSON value (`81.5`, `true`, `{"critical": 0}`), or else text.
    #[arg(long)]
    value: String,
    /// When the value held, RFC 3339 (default: now).
    #[arg(long)]
    at: Option<String>,
    #[command(flatten)]
    out: Out,
}

#[derive(clap::Args, Default)]
pub struct Out {
    /// Print the answer as JSON.
    #[arg(long)]
    json: bool,
}

/// `portico dora`.
#[derive(clap::Args)]
pub struct DoraArgs {
    /// An entity (`cart`); without one, the metrics rolled up per --group-by.
    entity: Option<String>,
    /// system, owner or domain.
    #[arg(long, default_value = "system")]
    group_by: String,
    /// Print the API's answer as JSON.
    #[arg(long)]
    json: bool,
}

pub async fn event(config: crate::config::Config, remote: Option<&crate::remote::Remote>, command: EventCommand) -> anyhow::Result<ExitCode> {
    let (body, out) = match command {
        EventCommand::Deployment(d) => {
            let id = match (&d.id, &d.version, &d.commit) {
                (Some(id), _, _) => id.clone(),
                (None, Some(v), _) => format!("{}/{}/{v}", d.entity, d.environment),
                (None, None, Some(c)) => format!("{}/{}/{c}", d.entity, d.environment),
                (None, None, None) => anyhow::bail!("--id: required without --version or --commit (the id makes a retry record the deployment once)"),
            };
            let finished = d.finished.clone().or_else(|| (d.status != "in_progress").then(now));
            let body = json!({"type": "deployment", "id": id, "entity": d.entity, "environment": d.environment, "status": d.status,
                "version": d.version, "commitSha": d.commit, "commitTime": d.commit_time, "startedAt": d.started, "finishedAt": finished, "url": d.url});
            (body, d.out)
        }
        EventCommand::Incident(i) => {
            let body = json!({"type": "incident", "id": i.id, "entity": i.entity, "openedAt": i.opened.unwrap_or_else(now), "resolvedAt": i.resolved,
                "severity": i.severity, "title": i.title, "deployment": i.deployment});
            (body, i.out)
        }
        EventCommand::Fact(f) => {
            let value = serde_json::from_str::<Value>(&f.value).unwrap_or(Value::String(f.value.clone()));
            (json!({"type": "fact", "entity": f.entity, "name": f.name, "value": value, "at": f.at}), f.out)
        }
        EventCommand::File { path } => {
            let text = if path == "-" {
                std::io::read_to_string(std::io::stdin())?
            } else {
                std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{path}: {e}"))?
            };
            let body: Value = serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{path}:{}:{}: not JSON: {e}", e.line(), e.column()))?;
            (body, Out::default())
        }
    };
    let body = without_nulls(body);
    let recorded: Recorded = match remote {
        Some(remote) => serde_json::from_str(&remote.send(reqwest::Method::POST, "/api/v1/events", Some(&body)).await?)?,
        None => {
            let (catalog, _) = super::catalog::open(&config).await?;
            let recorder = Recorder::new(catalog, config.scorecards.dora.config()?);
            recorder.record(&body).await?
        }
    };
    if out.json {
        println!("{}", serde_json::to_string_pretty(&recorded)?);
    } else {
        for e in &recorded.events {
            println!("{:<9} {} ({})", format!("{:?}", e.outcome).to_lowercase(), e.id, e.entity);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn dora(config: crate::config::Config, remote: Option<&crate::remote::Remote>, args: DoraArgs) -> anyhow::Result<ExitCode> {
    let by: GroupBy = args.group_by.parse().map_err(|e| anyhow::anyhow!("--group-by: {e}"))?;
    let answer = match (remote, &args.entity) {
        (Some(remote), Some(e)) => {
            let r = reference(e)?;
            remote.get(&format!("/api/v1/dora/{}/{}/{}", r.kind(), r.namespace(), r.name())).await?
        }
        (Some(remote), None) => remote.get(&format!("/api/v1/dora?groupBy={}", args.group_by)).await?,
        (None, entity) => {
            let (catalog, _) = super::catalog::open(&config).await?;
            let recorder = Recorder::new(catalog.clone(), config.scorecards.dora.config()?);
            match entity {
                Some(e) => {
                    let key = reference(e)?.key();
                    if catalog.read().get(&key).is_none() {
                        anyhow::bail!("{e}: no entity {key} in the catalog");
                    }
                    let (dora, weeks) = recorder.entity(&key, 12).await?;
                    json!({"entity": key, "dora": dora, "weeks": weeks})
                }
                None => json!({"groupBy": by, "items": recorder.rollup(by, &|_| true).await?}),
            }
        }
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&answer)?);
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<(String, &Value)> = match answer.get("items").and_then(Value::as_array) {
        Some(items) => items.iter().map(|g| (format!("{} ({} entities)", g["group"].as_str().unwrap_or("?"), g["entities"]), &g["dora"])).collect(),
        None => vec![(answer["entity"].as_str().unwrap_or("?").to_owned(), &answer["dora"])],
    };
    if rows.is_empty() {
        println!("no deployments or incidents recorded in the window");
    }
    for (name, d) in rows {
        println!("{name}");
        let band = |k: &str| d[k].as_str().map(|b| format!("  [{b}]")).unwrap_or_default();
        let num = |k: &str, unit: &str| d[k].as_f64().map_or_else(|| "not measured".to_owned(), |v| format!("{v}{unit}"));
        println!("  deployment frequency   {}{}", num("deploys_per_week", " per week"), band("deploy_frequency_band"));
        println!("  lead time for changes  {}{}", num("lead_time_hours", " h"), band("lead_time_band"));
        println!("  change failure rate    {}{}", d["change_failure_rate"].as_f64().map_or_else(|| "not measured".to_owned(), |v| format!("{:.0}%", v * 100.0)), band("change_failure_band"));
        println!("  time to restore        {}{}", num("time_to_restore_hours", " h"), band("time_to_restore_band"));
        println!("  overall                {}  ({} deployments, {} open incidents, last {} days)", d["band"].as_str().unwrap_or("not measured"), d["deployments"], d["open_incidents"], d["window_days"]);
    }
    Ok(ExitCode::SUCCESS)
}

fn reference(e: &str) -> anyhow::Result<portico_model::EntityRef> {
    portico_model::EntityRef::parse(e, portico_model::RefDefaults { kind: Some("component"), namespace: Some("default") })
        .map_err(|err| anyhow::anyhow!("{e}: not an entity reference ({err}); write kind:namespace/name, e.g. component:default/cart"))
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn without_nulls(mut v: Value) -> Value {
    if let Some(o) = v.as_object_mut() {
        o.retain(|_, v| !v.is_null());
    }
    v
}
