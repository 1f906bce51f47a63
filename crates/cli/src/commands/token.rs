//! `portico token create|list|revoke`: API tokens, managed in the configured database directly
//! (whoever can read the database is its admin), with the same checks as `/api/v1/tokens`.

use std::process::ExitCode;

use clap::Subcommand;
use portico_server::auth::{NewToken, Principal, create_token};

use super::catalog::open_store;
use crate::config::Config;

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown this once).
    Create {
        /// What the token is for (`ci`, `deploy pipeline`).
        #[arg(long)]
        name: String,
        /// What it may do: read, write or admin, or one permission (`catalog.entity.refresh`); repeat for several.
        #[arg(long = "scope", required = true)]
        scopes: Vec<String>,
        /// Days until it expires (default: never).
        #[arg(long)]
        expires_in_days: Option<u32>,
        /// Make it a service token, owned by `service:<NAME>` rather than a person.
        #[arg(long, conflicts_with = "user")]
        service: Option<String>,
        /// Make it a personal token of this user (`user:default/ada`, or `ada`).
        #[arg(long)]
        user: Option<String>,
    },
    /// List tokens (never their secrets).
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id; it is refused from the next request on.
    Revoke {
        /// The token's id (from `portico token list`).
        id: String,
    },
}

pub async fn run(config: Config, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = open_store(&config).await?;
    match command {
        TokenCommand::Create { name, scopes, expires_in_days, service, user } => {
            let request = NewToken { name, scopes, expires_in_days, service, user };
            let auth = config.authorizer()?;
            // The command line is the database's admin; no catalog is needed to say so.
            let graph = portico_graph::eval::SharedGraph::default();
            let (token, secret) = create_token(store.as_ref(), &auth, &graph, &Principal::local_admin(), request).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            super::audit::record(store.as_ref(), "token.create", &token.id, format!("portico token create: {:?} for {}", token.name, token.owner)).await?;
            println!("{secret}");
            eprintln!("Created token {} ({:?}, owner {}, scopes {}). The secret above is shown this once.", token.id, token.name, token.owner, token.scopes.join(", "));
        }
        TokenCommand::List { json } => {
            let tokens = store.list_tokens(None).await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&tokens)?);
                return Ok(ExitCode::SUCCESS);
            }
            print_tokens(&tokens);
        }
        TokenCommand::Revoke { id } => {
            anyhow::ensure!(store.get_token(&id).await?.is_some(), "no token with id {id:?} (see `portico token list`)");
            anyhow::ensure!(store.revoke_token(&id, portico_catalog::now_ms()).await?, "the token {id} is already revoked");
            super::audit::record(store.as_ref(), "token.revoke", &id, "portico token revoke".into()).await?;
            eprintln!("Revoked token {id}.");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn print_tokens(tokens: &[portico_store::ApiToken]) {
    let time = |t: Option<i64>| t.map_or_else(|| "-".to_owned(), portico_catalog::format_time);
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            let status = if t.revoked_at.is_some() { "revoked" } else if t.expires_at.is_some_and(|e| e <= portico_catalog::now_ms()) { "expired" } else { "active" };
            vec![t.id.clone(), t.name.clone(), t.owner.clone(), t.scopes.join(","), status.to_owned(), time(t.expires_at), time(t.last_used_at)]
        })
        .collect();
    println!("{}", crate::output::table(&["ID", "NAME", "OWNER", "SCOPES", "STATUS", "EXPIRES", "LAST USED"], &rows));
}

/// `portico --server URL token …`: the same through `/api/v1/tokens`, as the token's owner.
pub async fn remote(remote: &crate::remote::Remote, command: TokenCommand) -> anyhow::Result<ExitCode> {
    match command {
        TokenCommand::Create { name, scopes, expires_in_days, service, user } => {
            let body = serde_json::json!({"name": name, "scopes": scopes, "expiresInDays": expires_in_days, "service": service, "user": user});
            let answer: serde_json::Value = serde_json::from_str(&remote.send(reqwest::Method::POST, "/api/v1/tokens", Some(&body)).await?)?;
            let token: portico_store::ApiToken = serde_json::from_value(answer["token"].clone())?;
            println!("{}", answer["secret"].as_str().unwrap_or_default());
            eprintln!("Created token {} ({:?}, owner {}, scopes {}) on {}. The secret above is shown this once.", token.id, token.name, token.owner, token.scopes.join(", "), remote.base);
        }
        TokenCommand::List { json } => {
            let answer = remote.get("/api/v1/tokens").await?;
            if json {
                println!("{}", serde_json::to_string_pretty(&answer["items"])?);
                return Ok(ExitCode::SUCCESS);
            }
            let tokens: Vec<portico_store::ApiToken> = serde_json::from_value(answer["items"].clone())?;
            print_tokens(&tokens);
        }
        TokenCommand::Revoke { id } => {
            let path = format!("/api/v1/tokens/{}", form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>());
            remote.send(reqwest::Method::DELETE, &path, None).await?;
            eprintln!("Revoked token {id} on {}.", remote.base);
        }
    }
    Ok(ExitCode::SUCCESS)
}
