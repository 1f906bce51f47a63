//! `portico login`, `logout` and `whoami`: a token saved per server, so the command line can
//! talk to a remote Portico (`--server`) without the token on every command line.

use std::io::BufRead;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::remote::{Credentials, Remote, Saved, server_url};

/// `portico login --server URL`: checks a token with the server (`/api/v1/me`) and saves it.
/// The token comes from `--token` / `PORTICO_TOKEN`, or the first line of standard input (so it
/// stays out of the shell's history: `portico login --server … < token.txt`).
pub async fn login(server: Option<&str>, token: Option<String>) -> anyhow::Result<ExitCode> {
    let Some(server) = server else { bail!("login: which server? --server https://portico.example.com (or PORTICO_SERVER)") };
    let base = server_url(server)?;
    let token = match token.filter(|t| !t.trim().is_empty()) {
        Some(t) => t,
        None => {
            if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
                eprintln!("Paste a token for {base} (create one on the server: portico token create, or POST /api/v1/tokens), then Enter:");
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line).context("failed to read the token from standard input")?;
            line.trim().to_owned()
        }
    };
    if token.is_empty() {
        bail!("login: no token given (--token, PORTICO_TOKEN, or standard input)");
    }
    let remote = Remote::new(&base, Some(token.clone()))?;
    let me = remote.get("/api/v1/me").await.context("login: the server did not accept the token")?;
    let subject = me["subject"].as_str().unwrap_or("?").to_owned();
    if me["via"] != "token" {
        bail!("login: the server took this for {subject} via {}, not a token", me["via"]);
    }
    let mut credentials = Credentials::load()?;
    credentials.servers.insert(base.clone(), Saved { token, subject: subject.clone(), saved_at: portico_catalog::format_time(portico_catalog::now_ms()) });
    let path = credentials.save()?;
    println!("Logged in to {base} as {subject} (token {}); saved in {}.", me["tokenId"].as_str().unwrap_or("?"), path.display());
    Ok(ExitCode::SUCCESS)
}

/// `portico logout --server URL`: forgets the saved token (it stays valid on the server until
/// revoked: `portico --server … token revoke ID`).
pub fn logout(server: Option<&str>) -> anyhow::Result<ExitCode> {
    let Some(server) = server else { bail!("logout: which server? --server https://portico.example.com (or PORTICO_SERVER)") };
    let base = server_url(server)?;
    let mut credentials = Credentials::load()?;
    match credentials.servers.remove(&base) {
        Some(saved) => {
            credentials.save()?;
            println!("Logged out of {base}: the token of {} is no longer saved here (revoke it on the server to end it).", saved.subject);
        }
        None => println!("No token saved for {base}."),
    }
    Ok(ExitCode::SUCCESS)
}

/// `portico --server URL whoami`: who the server takes this command line for.
pub async fn whoami(remote: &Remote) -> anyhow::Result<ExitCode> {
    let me = remote.get("/api/v1/me").await?;
    let groups: Vec<&str> = me["user"]["groups"].as_array().map(|g| g.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
    println!(
        "{} via {} on {}{}{}",
        me["subject"].as_str().unwrap_or("?"),
        me["via"].as_str().unwrap_or("?"),
        remote.base,
        if me["admin"] == true { "; an admin" } else { "" },
        if groups.is_empty() { String::new() } else { format!("; groups: {}", groups.join(", ")) }
    );
    let permissions: Vec<&str> = me["permissions"].as_array().map(|p| p.iter().filter_map(|x| x.as_str()).collect()).unwrap_or_default();
    println!("may: {}", permissions.join(", "));
    Ok(ExitCode::SUCCESS)
}
