//! `portico policy check|explain`: checks the configured policy (every rule compiles, every
//! permission exists) and answers "may this user do this to that entity?" over the configured
//! catalog, naming the rule that decides: the way to try a policy before it guards a server.

use std::process::ExitCode;

use clap::Subcommand;
use portico_auth::{Permission, Scope};
use portico_server::auth::Principal;

use super::catalog::open;
use crate::config::Config;

#[derive(Subcommand)]
pub enum PolicyCommand {
    /// Check `auth:` of the configuration and print the rules in force.
    Check,
    /// Say whether a subject may do something, and which rule decides.
    Explain {
        /// Who: a user (`user:default/ada`), `service:<name>`, or `guest`.
        #[arg(long = "as")]
        subject: String,
        /// The permission (`catalog.entity.delete`; `portico policy check` lists them).
        #[arg(long)]
        permission: String,
        /// The entity acted on, for permissions on one entity.
        #[arg(long)]
        entity: Option<String>,
        /// The credential's scope (a person signed in has every scope).
        #[arg(long, default_value = "admin")]
        scope: String,
    },
}

pub async fn run(config: Config, command: PolicyCommand) -> anyhow::Result<ExitCode> {
    let auth = config.authorizer()?;
    match command {
        PolicyCommand::Check => {
            let rules = if config.auth.policy.rules.is_empty() {
                println!("auth: valid; no rules configured, so the default policy is in force:\n");
                portico_auth::DEFAULT_POLICY.to_owned()
            } else {
                println!("auth: valid; {} rules, combined {:?}.\n", config.auth.policy.rules.len(), config.auth.policy.combine);
                serde_json::to_string_pretty(&config.auth.policy)?
            };
            println!("{rules}");
            if let Some(oidc) = auth.oidc.as_ref() {
                let c = &oidc.config;
                println!("\nSign-in: OpenID Connect at {}, client {}, callback {}, users matched by {:?}.", c.issuer, c.client_id, c.redirect_url.as_deref().unwrap_or("?"), c.user_match.by);
            }
            println!("\nPermissions:");
            let rows: Vec<Vec<String>> = Permission::ALL.iter().map(|p| vec![p.name().to_owned(), p.scope().to_string(), p.description().to_owned()]).collect();
            println!("{}", crate::output::table(&["PERMISSION", "SCOPE", "WHAT"], &rows));
        }
        PolicyCommand::Explain { subject, permission, entity, scope } => {
            let permission = Permission::named(&permission)
                .ok_or_else(|| anyhow::anyhow!("--permission: {permission:?} is not a permission (see `portico policy check`)"))?;
            let scope: Scope = scope.parse().map_err(|e: String| anyhow::anyhow!("--scope: {e}"))?;
            let (catalog, _) = open(&config).await?;
            // The catalog's Policy entities from trusted locations count, as on the server.
            let conflicts = portico_server::auth::policy_entities::conflicts(catalog.store().as_ref()).await;
            if let Some(load) = auth.load_policies(&catalog.read(), &conflicts) {
                if let Some(e) = &load.error {
                    anyhow::bail!("the Policy entities do not compile (the server keeps the rules it had): {e}");
                }
                for i in &load.ignored {
                    eprintln!("ignored: {}: {}", i.reference, i.reason);
                }
            }
            let key = match &entity {
                None => None,
                Some(r) => {
                    let r = portico_model::EntityRef::parse_full(r).map_err(|e| anyhow::anyhow!("--entity: {e}"))?;
                    anyhow::ensure!(catalog.read().get(&r.key()).is_some(), "--entity: no entity {r} in the catalog");
                    Some(r.key())
                }
            };
            let who = if subject == "guest" { Principal::guest() } else { Principal::signed_in(&subject, vec![scope]) };
            let identity = auth.subject(&who, catalog.graph());
            println!("{} ({}; groups: {})", who.subject, if identity.identity.in_catalog { "in the catalog" } else { "not in the catalog" }, list(&identity.identity.groups));
            if permission == Permission::EntityRead && key.is_none() {
                // What reading means entity by entity: how much of the catalog the policy shows.
                let total = catalog.read().len();
                let readable = auth.visibility(&who, catalog.graph()).await.count().map_or(total, |n| n as usize);
                let rest = if readable < total { "; the policy hides the rest from them" } else { "" };
                println!("reads {readable} of the catalog's {total} entities{rest}");
            }
            match auth.check(&who, permission, key.as_deref(), None, catalog.graph()) {
                Ok(decision) => {
                    println!("allowed: {permission}{}: {}", on(&entity), decision.reason());
                }
                Err(refusal) => {
                    println!("denied: {permission}{}: {refusal}", on(&entity));
                    return Ok(ExitCode::from(1));
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn on(entity: &Option<String>) -> String {
    entity.as_ref().map(|e| format!(" on {e}")).unwrap_or_default()
}

fn list(items: &[String]) -> String {
    if items.is_empty() { "none".into() } else { items.join(", ") }
}
