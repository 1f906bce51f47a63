//! `portico action`: the catalog's templates (Backstage `v1beta3` Templates), the actions this
//! Portico has, and running a template from the command line: for real into a folder, or as a
//! dry run that executes only what stays in its workspace and shows every step's rendered
//! input and the files a skeleton would produce. Steps are printed as they run.

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Arc;
use std::process::ExitCode;

use portico_actions::{Engine, Event, Registry, Report, Request, StepStatus, Template};

#[derive(clap::Subcommand)]
pub enum ActionCommand {
    /// The templates in the catalog, with the actions each uses that this Portico lacks.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The actions this Portico has, with an example step of each.
    Actions {
        /// Print JSON (id, description, input schema, example) instead of text.
        #[arg(long)]
        json: bool,
    },
    /// One template: its parameters (the form) and steps.
    Show {
        /// The template (`name`, `namespace/name` or `template:namespace/name`).
        template: String,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Run a template with parameters from `--param key=value`.
    Run(RunArgs),
}

#[derive(clap::Args)]
pub struct RunArgs {
    /// The template (`name`, `namespace/name` or `template:namespace/name`).
    template: String,
    /// A parameter, `key=value`, typed as the form declares it (`true`, `3`, `a,b` for a list).
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Execute only what changes nothing outside the run's workspace; show each step's
    /// rendered input and the files produced.
    #[arg(long)]
    dry_run: bool,
    /// The run's folder (must be new or empty; default: a temporary one for a dry run, else
    /// ./<template name>).
    #[arg(long)]
    workspace: Option<PathBuf>,
    /// A secret the template reads as `secrets.NAME`, taken from the environment variable
    /// NAME; masked as *** in everything shown.
    #[arg(long = "secret", value_name = "NAME")]
    secrets: Vec<String>,
    /// Print the run's report as JSON (the live log still goes to standard error).
    #[arg(long)]
    json: bool,
    /// The entity a day-2 template runs on (`kind:namespace/name`; its `spec.target` must
    /// select it): `entity` in its expressions.
    #[arg(long)]
    entity: Option<String>,
}

pub async fn run(config: crate::config::Config, command: ActionCommand) -> anyhow::Result<ExitCode> {
    let registry = Registry::builtin();
    if let ActionCommand::Actions { json } = command {
        return actions(&registry, json);
    }
    let (catalog, locations) = super::catalog::open(&config).await?;
    match command {
        ActionCommand::List { json } => {
            let all = portico_actions::template::all(&catalog.read());
            let items: Vec<serde_json::Value> = all
                .iter()
                .map(|t| match t {
                    Ok(t) => {
                        let missing: Vec<String> = t.unknown_actions(|a| registry.contains(a)).into_iter().map(|e| e.message).collect();
                        serde_json::json!({"ref": t.key, "title": t.title, "type": t.template_type, "owner": t.owner, "steps": t.steps.len(), "unknownActions": missing})
                    }
                    Err((key, errors)) => serde_json::json!({"ref": key, "errors": errors}),
                })
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "items": items }))?);
            } else if items.is_empty() {
                println!("No templates. Register a Template entity (docs/reference/actions.md).");
            } else {
                let rows: Vec<Vec<String>> = items
                    .iter()
                    .map(|i| {
                        let unknown = i["unknownActions"].as_array().map_or(0, Vec::len);
                        let state = if i.get("errors").is_some() { "does not read".to_owned() } else if unknown > 0 { format!("{unknown} unknown action(s): dry run only") } else { "ready".to_owned() };
                        let s = |k: &str| i[k].as_str().unwrap_or("").to_owned();
                        vec![s("ref"), s("title"), s("type"), s("owner"), state]
                    })
                    .collect();
                println!("{}", crate::output::table(&["TEMPLATE", "TITLE", "TYPE", "OWNER", "STATE"], &rows));
            }
            Ok(ExitCode::SUCCESS)
        }
        ActionCommand::Show { template, json } => {
            let t = portico_actions::template::find(&catalog.read(), &template).map_err(anyhow::Error::msg)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&t)?);
            } else {
                show(&t, &registry);
            }
            Ok(ExitCode::SUCCESS)
        }
        ActionCommand::Run(args) => {
            let t = portico_actions::template::find(&catalog.read(), &args.template).map_err(anyhow::Error::msg)?;
            let remotes = config.actions.runs()?.remotes;
            // The template's policies hold here too: the command line runs as `cli`, an admin.
            let given = portico_actions::params::from_pairs(&t.pages, &args.params).map_err(anyhow::Error::msg)?;
            let parameters = portico_actions::params::with_defaults(&t.pages, &given);
            let user = serde_json::json!({"ref": "cli", "groups": [], "owners": ["cli"], "admin": true});
            let entity = match &args.entity {
                None => None,
                Some(r) => {
                    let key = portico_model::EntityRef::parse(r, portico_model::RefDefaults { kind: Some("component"), namespace: None }).map_err(|e| anyhow::anyhow!("--entity: {e}"))?.key();
                    let value = catalog.read().get(&key).map(|e| e.entity.to_value()).ok_or_else(|| anyhow::anyhow!("--entity: no entity {key} in the catalog"))?;
                    Some((key, value))
                }
            };
            match (&t.target, &entity) {
                (Some(_), None) => anyhow::bail!("{} runs on an entity (spec.target): give one with --entity", t.key),
                (None, Some((k, _))) => anyhow::bail!("{} is not a day-2 template (it has no spec.target), so it does not run on {k}", t.key),
                (Some(_), Some((k, _))) if !t.applies_to(catalog.graph(), k) => anyhow::bail!("{} does not run on {k}: its spec.target does not select it", t.key),
                _ => {}
            }
            // `runs` counts the runs the server stored (runs of this command are not stored).
            let runs = portico_actions::runs::earlier_runs(catalog.store().as_ref(), &t.key, entity.as_ref().map(|(k, _)| k.as_str()), "cli").await?;
            let facts = portico_actions::policy::Facts { user: &user, template: &t, entity: entity.as_ref().map(|(k, _)| k.as_str()), parameters: &parameters, runs };
            let refused: Vec<_> = portico_actions::policy::evaluate(&t.policies, catalog.graph(), &facts).into_iter().filter(|v| !v.passed).collect();
            for v in &refused {
                let approval = v.approval.as_ref().map(|a| format!(" (it asks {} of {} to approve instead: run it through the server)", a.count, a.approvers)).unwrap_or_default();
                eprintln!("{}: {}{approval}", v.name, v.message.as_deref().unwrap_or("refused"));
            }
            if !refused.is_empty() && !args.dry_run {
                anyhow::bail!("{} cannot run: its policies refuse it (above)", t.key);
            }
            let port = Arc::new(portico_server::ServerCatalog { catalog: catalog.clone(), locations });
            let engine = Engine::new(registry).with_remotes(remotes).with_catalog(port);
            run_template(t, engine, entity.map(|(_, v)| v), args).await
        }
        ActionCommand::Actions { .. } => unreachable!("handled above"),
    }
}

fn actions(registry: &Registry, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        let items: Vec<serde_json::Value> = registry.iter().map(|a| serde_json::json!({"id": a.id(), "description": a.description(), "dryRun": a.dry_run_safe(), "inputSchema": a.input_schema(), "example": a.example()})).collect();
        println!("{}", serde_json::to_string_pretty(&serde_json::json!({ "items": items }))?);
        return Ok(ExitCode::SUCCESS);
    }
    for a in registry.iter() {
        println!("{}{}\n  {}\n", a.id(), if a.dry_run_safe() { "" } else { "  (not run in dry runs)" }, a.description());
    }
    Ok(ExitCode::SUCCESS)
}

fn show(t: &Template, registry: &Registry) {
    println!("{} ({})", t.title, t.key);
    if let Some(d) = &t.description {
        println!("{}", d.trim());
    }
    for (i, page) in t.pages.iter().enumerate() {
        println!("\nPage {}: {}", i + 1, page.title.as_deref().unwrap_or(""));
        let required: Vec<&str> = page.schema["required"].as_array().into_iter().flatten().filter_map(|v| v.as_str()).collect();
        for (name, s) in page.schema["properties"].as_object().into_iter().flatten() {
            let kind = s["type"].as_str().unwrap_or("any");
            let mut notes = Vec::new();
            if required.contains(&name.as_str()) {
                notes.push("required".to_owned());
            }
            if let Some(d) = s.get("default") {
                notes.push(format!("default {d}"));
            }
            if let Some(e) = s["enum"].as_array() {
                notes.push(format!("one of {}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")));
            }
            let title = s["title"].as_str().unwrap_or("");
            println!("  --param {name}=<{kind}>  {title}{}", if notes.is_empty() { String::new() } else { format!(" ({})", notes.join("; ")) });
        }
    }
    println!("\nSteps:");
    for s in &t.steps {
        println!("  {:<20} {}{}", s.id, s.action, if registry.contains(&s.action) { "" } else { "  (this Portico has no such action)" });
    }
}

async fn run_template(t: Template, engine: Engine, entity: Option<serde_json::Value>, args: RunArgs) -> anyhow::Result<ExitCode> {
    let given = portico_actions::params::from_pairs(&t.pages, &args.params).map_err(anyhow::Error::msg)?;
    let parameters = match engine.prepare(&t, &given, args.dry_run) {
        Ok(p) => p,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            anyhow::bail!("{} cannot run: {} problem(s) above", t.key, errors.len());
        }
    };
    // Approvals are asked of people through a server: a local run cannot wait for them.
    if !args.dry_run && t.steps.iter().any(|s| s.action == "approval:wait") {
        anyhow::bail!("{} waits for approvals (approval:wait): run it through the server, in the portal or with POST /api/v1/actions/{}/{}/runs; --dry-run shows what it would do", t.key, t.namespace, t.name);
    }
    let mut secrets = std::collections::BTreeMap::new();
    for name in &args.secrets {
        let value = std::env::var(name).map_err(|_| anyhow::anyhow!("--secret {name}: the environment variable {name} is not set"))?;
        secrets.insert(name.clone(), value);
    }
    let temp;
    let dir = match (&args.workspace, args.dry_run) {
        (Some(d), _) => d.clone(),
        (None, true) => {
            temp = tempfile::tempdir()?;
            temp.path().to_path_buf()
        }
        (None, false) => PathBuf::from(&t.name),
    };
    if std::fs::read_dir(&dir).is_ok_and(|mut d| d.next().is_some()) {
        anyhow::bail!("--workspace {}: the folder is not empty; a run starts from an empty folder", dir.display());
    }
    let workspace = portico_actions::workspace::Workspace::new(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let request = Request { parameters, user: serde_json::json!({"ref": "cli"}), entity, secrets, dry_run: args.dry_run, ..Request::default() };
    let mut stderr = std::io::stderr();
    let mut on_event = |e: Event| {
        let _ = match e {
            Event::StepStarted { step, name } => writeln!(stderr, "▶ {step}: {name}"),
            Event::Log { line, .. } => writeln!(stderr, "    {line}"),
            Event::StepFinished { step, status, duration_ms, reason } => {
                writeln!(stderr, "{} {step} {} in {duration_ms} ms{}", mark(status), status_word(status), reason.map(|r| format!(": {r}")).unwrap_or_default())
            }
        };
    };
    let report = engine.run(&t, &request, &workspace, &mut on_event).await;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        summary(&report, &dir, args.dry_run && args.workspace.is_none());
    }
    Ok(if report.status == "completed" { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn mark(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Completed => "✔",
        StepStatus::Skipped => "–",
        StepStatus::Failed => "✘",
        StepStatus::Pending | StepStatus::Running => " ",
        StepStatus::Waiting => "⏸",
    }
}

fn status_word(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Completed => "done",
        StepStatus::Skipped => "skipped",
        StepStatus::Failed => "failed",
        StepStatus::Pending => "not run",
        StepStatus::Running => "interrupted",
        StepStatus::Waiting => "waits for an approval",
    }
}

fn summary(report: &Report, dir: &std::path::Path, temporary: bool) {
    if report.dry_run {
        println!("Dry run of {}: {}", report.template, report.status);
        for s in report.steps.iter().filter(|s| s.status == StepStatus::Skipped && !s.input.is_null()) {
            println!("\n{} ({}) would run with:\n{}", s.id, s.action, serde_json::to_string_pretty(&s.input).unwrap_or_default());
        }
        println!("\nFiles ({}):", report.files.len());
        for f in &report.files {
            println!("  {:<50} {:>8} bytes", f.path, f.size);
        }
    } else {
        println!("Run of {}: {}", report.template, report.status);
        if !temporary {
            println!("Workspace: {}", dir.display());
        }
    }
    for link in report.output["links"].as_array().into_iter().flatten() {
        let target = link["url"].as_str().or_else(|| link["entityRef"].as_str()).unwrap_or("");
        if !target.is_empty() {
            println!("{}: {target}", link["title"].as_str().unwrap_or("Link"));
        }
    }
    for text in report.output["text"].as_array().into_iter().flatten() {
        println!("\n{}\n{}", text["title"].as_str().unwrap_or(""), text["content"].as_str().unwrap_or("").trim_end());
    }
}
