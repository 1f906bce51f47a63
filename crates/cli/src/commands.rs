//! The command line.

mod action;
mod audit;
mod bench;
mod bench_accuracy;
mod bench_actions;
mod bench_discovery;
mod bench_scorecards;
mod bench_web;
mod catalog;
mod diff;
mod discover;
mod event;
mod facts;
mod login;
mod query;
mod initiative;
mod scorecard;
mod policy;
mod serve;
mod token;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "portico", version, about = "Portico, the internal developer portal")]
pub struct Cli {
    /// Configuration file (default: ./portico.yaml when present).
    #[arg(long, global = true, env = "PORTICO_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    log_json: bool,
    /// A running Portico to talk to instead of the configured database (https, or http to this
    /// machine): `query`, `gate`, `scorecards`, `initiatives`, `event`, `dora`, `token`, `audit`, `whoami`,
    /// `login` and `logout` work against it.
    #[arg(long, global = true, env = "PORTICO_SERVER")]
    server: Option<String>,
    /// The API token for --server (else the one `portico login` saved for it).
    #[arg(long, global = true, env = "PORTICO_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Start the portal.
    Serve,
    /// Start the portal with the bundled demo catalog (in a temporary data directory unless --data-dir).
    Demo {
        /// Keep the demo's database and files in this directory (kept after the demo stops).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// Port (default: the configured one, 7007).
        #[arg(long)]
        port: Option<u16>,
    },
    /// Work with the catalog.
    #[command(subcommand)]
    Catalog(catalog::CatalogCommand),
    /// What changed between two times (RFC 3339), with field-level differences.
    Diff {
        /// Start of the period, RFC 3339 (`2026-11-27T09:00:00Z`).
        #[arg(long)]
        from: String,
        /// Default: now.
        #[arg(long)]
        to: Option<String>,
        /// Print the changes as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run discovery sources now (all, or the one named), with progress.
    Discover(discover::DiscoverArgs),
    /// Where declarations and what runs disagree (the drift report).
    Drift {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Query the catalog in the expression language (CEL with graph functions).
    Query(query::QueryArgs),
    /// Whether an entity reaches a scorecard's level, for CI: exit 0 if it does, 1 if not
    /// (with the rules to fix), 2 on an error.
    Gate(scorecard::GateArgs),
    /// The scorecards, and how many entities are at each level.
    Scorecards(scorecard::ListArgs),
    /// Initiatives and their progress; with a name, progress per owner and the to-do list.
    Initiatives(initiative::InitiativeArgs),
    /// Record a deployment, an incident or a fact (for CI pipelines and incident tools).
    #[command(subcommand)]
    Event(event::EventCommand),
    /// DORA's four keys for an entity, or rolled up per system, owner or domain.
    Dora(event::DoraArgs),
    /// Import reports (vulnerabilities, tests, coverage, billing) as facts; costs rolled up.
    #[command(subcommand)]
    Facts(facts::FactsCommand),
    /// Self-service actions: the catalog's templates, the actions this Portico has, and runs
    /// (`run --dry-run` executes only what stays in its workspace).
    #[command(subcommand)]
    Action(action::ActionCommand),
    /// API tokens for CI and scripts, in the configured database (as its admin).
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// The audit log: changes and refusals, newest first.
    Audit(audit::AuditArgs),
    /// Check the permissions policy, and ask it who may do what.
    #[command(subcommand)]
    Policy(policy::PolicyCommand),
    /// Benchmarks.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Check a token with --server and save it for that server (from --token, PORTICO_TOKEN or
    /// standard input).
    Login,
    /// Forget the token saved for --server.
    Logout,
    /// Who --server takes this command line for, and what it may do.
    Whoami,
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    init_logs(cli.log_json, matches!(cli.command, Command::Serve | Command::Demo { .. }));
    let config = crate::config::Config::load(cli.config.as_deref())?;
    portico_model::yaml::configure(config.catalog.limits);
    // Scorecard entities are checked (expressions, levels, rule ids) wherever entities are read.
    portico_scorecards::register();
    // Template entities are checked (steps, `${{ }}` expressions) wherever entities are read.
    portico_actions::register();
    match cli.command {
        Command::Login => return login::login(cli.server.as_deref(), cli.token).await,
        Command::Logout => return login::logout(cli.server.as_deref()),
        _ => {}
    }
    let remote = cli.server.as_deref().map(|s| crate::remote::Remote::new(s, cli.token.clone())).transpose()?;
    if let Some(remote) = &remote {
        return match cli.command {
            Command::Query(q) => query::query(config, Some(remote), q).await,
            Command::Token(t) => token::remote(remote, t).await,
            Command::Audit(a) => audit::list(config, Some(remote), a).await,
            Command::Whoami => login::whoami(remote).await,
            Command::Gate(g) => scorecard::gate(config, Some(remote), g).await,
            Command::Scorecards(s) => scorecard::list(config, Some(remote), s).await,
            Command::Initiatives(i) => initiative::run(config, Some(remote), i).await,
            Command::Event(e) => event::event(config, Some(remote), e).await,
            Command::Dora(d) => event::dora(config, Some(remote), d).await,
            Command::Facts(f) => facts::run(config, Some(remote), f).await,
            _ => anyhow::bail!("this command works on the configured database and has no --server mode; with --server: query, gate, scorecards, initiatives, event, dora, facts, token, audit, whoami, login, logout"),
        };
    }
    match cli.command {
        Command::Login | Command::Logout => unreachable!("handled above"),
        Command::Whoami => anyhow::bail!("whoami: which server? --server https://portico.example.com (or PORTICO_SERVER); the command line on the server's own database is its admin"),
        Command::Serve => serve::serve(config).await,
        Command::Demo { data_dir, port } => serve::demo(config, data_dir, port).await,
        // What the command line changes is recorded as `cli`'s in entities' histories.
        Command::Catalog(c) => portico_catalog::actor::acting_as("cli".into(), catalog::run(config, c)).await,
        Command::Diff { from, to, json } => diff::diff(config, &from, to.as_deref(), json).await,
        Command::Query(q) => query::query(config, None, q).await,
        Command::Gate(g) => scorecard::gate(config, None, g).await,
        Command::Scorecards(s) => scorecard::list(config, None, s).await,
        Command::Initiatives(i) => initiative::run(config, None, i).await,
        Command::Event(e) => event::event(config, None, e).await,
        Command::Dora(d) => event::dora(config, None, d).await,
        Command::Facts(f) => facts::run(config, None, f).await,
        Command::Action(a) => action::run(config, a).await,
        Command::Discover(d) => portico_catalog::actor::acting_as("cli".into(), discover::discover(config, d)).await,
        Command::Drift { json } => discover::drift(config, json).await,
        Command::Token(t) => token::run(config, t).await,
        Command::Policy(p) => policy::run(config, p).await,
        Command::Audit(a) => audit::list(config, None, a).await,
        Command::Bench(b) => bench::run(b).await,
    }
}

fn init_logs(json: bool, verbose: bool) {
    let default = if verbose { "info" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::try_from_env("PORTICO_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    // Colour only for a person at a terminal: logs sent to a file or a pipe stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every command, argument and flag says what it is for in `--help`.
    #[test]
    fn every_flag_has_help_text() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            let path = format!("{path} {}", cmd.get_name());
            if cmd.get_about().is_none() && path != " portico" {
                missing.push(path.clone());
            }
            for arg in cmd.get_arguments() {
                if arg.get_help().is_none() && !matches!(arg.get_id().as_str(), "help" | "version") {
                    missing.push(format!("{path} {}", arg.get_id()));
                }
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &path, missing);
                }
            }
        }
        let mut missing = Vec::new();
        walk(&super::Cli::command(), "", &mut missing);
        assert!(missing.is_empty(), "without help text: {missing:#?}");
    }
}
