//! The command line against a running server (`--server URL`, `PORTICO_SERVER`) instead of the
//! configured database: its API with a token (`--token`, `PORTICO_TOKEN`, or the one
//! `portico login` saved for that server). The server decides, as for any client: the token's
//! scopes and the policy apply, and the audit log names the token's owner.
//!
//! Tokens travel over https, or plain http to this machine only. Saved tokens live in
//! `$PORTICO_CREDENTIALS`, else `$XDG_CONFIG_HOME/portico/credentials.json`, else
//! `~/.config/portico/credentials.json`, readable by their owner only.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

/// A server to talk to.
pub struct Remote {
    pub base: String,
    token: Option<String>,
    client: reqwest::Client,
}

/// The server's address: `https://…`, or `http://` to this machine; no path, query or user.
pub fn server_url(raw: &str) -> anyhow::Result<String> {
    let url = url::Url::parse(raw.trim()).with_context(|| format!("--server: {raw:?} is not a URL (https://portico.example.com)"))?;
    let loopback = portico_server::auth::oidc::is_loopback(&url);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => bail!("--server: {raw:?} is plain http to another machine, which would send the token in clear; use https"),
        other => bail!("--server: {raw:?} has the scheme {other}; use https"),
    }
    if !url.username().is_empty() || url.password().is_some() || url.query().is_some() {
        bail!("--server: {raw:?}: give only the server's address; the token goes in --token or PORTICO_TOKEN");
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

impl Remote {
    /// The server at `server` with `token`, or the token saved for it by `portico login`.
    pub fn new(server: &str, token: Option<String>) -> anyhow::Result<Self> {
        let base = server_url(server)?;
        let token = token.filter(|t| !t.trim().is_empty()).or_else(|| Credentials::load().ok().and_then(|c| c.servers.get(&base).map(|s| s.token.clone())));
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portico-cli/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(Self { base, token, client })
    }

    /// Sends `method path` (with a JSON `body`); the answer's body as text, or an error naming
    /// the status and the server's message.
    pub async fn send(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> anyhow::Result<String> {
        self.send_with(method, path, |r| match body {
            Some(b) => r.json(b),
            None => r,
        })
        .await
    }

    async fn send_with(&self, method: reqwest::Method, path: &str, body: impl FnOnce(reqwest::RequestBuilder) -> reqwest::RequestBuilder) -> anyhow::Result<String> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.request(method.clone(), &url);
        if let Some(t) = &self.token {
            request = request.bearer_auth(t);
        }
        request = body(request);
        let response = request.send().await.map_err(|e| anyhow::anyhow!("{method} {url}: {}", portico_model::with_causes(&e)))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if status.is_success() {
            return Ok(text);
        }
        let message = serde_json::from_str::<Value>(&text).ok().and_then(|v| v["error"]["message"].as_str().map(str::to_owned)).unwrap_or_else(|| text.chars().take(300).collect());
        let hint = match status.as_u16() {
            401 if self.token.is_none() => " (this server needs a token: --token, PORTICO_TOKEN, or `portico login`)",
            _ => "",
        };
        bail!("{} answered {}: {message}{hint}", self.base, status.as_u16())
    }

    /// POSTs raw bytes (a report as a tool wrote it); the answer's body as text.
    pub async fn send_bytes(&self, method: reqwest::Method, path: &str, body: Vec<u8>) -> anyhow::Result<String> {
        self.send_with(method, path, |r| r.body(body)).await
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let text = self.send(reqwest::Method::GET, path, None).await?;
        serde_json::from_str(&text).with_context(|| format!("GET {path}: the answer is not JSON"))
    }
}

/// Query-string encoding of pairs whose value is set.
pub fn query(pairs: &[(&str, Option<String>)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        if let Some(v) = v {
            q.append_pair(k, v);
        }
    }
    q.finish()
}

/// Tokens saved by `portico login`, per server.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct Credentials {
    pub servers: BTreeMap<String, Saved>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub token: String,
    /// Who the token is, as the server said at login.
    pub subject: String,
    pub saved_at: String,
}

impl Credentials {
    pub fn path() -> anyhow::Result<PathBuf> {
        if let Some(p) = std::env::var_os("PORTICO_CREDENTIALS") {
            return Ok(PathBuf::from(p));
        }
        let config = std::env::var_os("XDG_CONFIG_HOME").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")));
        Ok(config.context("neither XDG_CONFIG_HOME nor HOME is set: set PORTICO_CREDENTIALS to a file for saved tokens")?.join("portico/credentials.json"))
    }

    pub fn load() -> anyhow::Result<Self> {
        let path = Self::path()?;
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).with_context(|| format!("{}: not a credentials file", path.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("failed to read {}", path.display())),
        }
    }

    /// Writes the file, readable and writable by its owner only; returns its path.
    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path = Self::path()?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("failed to create {}", dir.display()))?;
        }
        let text = serde_json::to_string_pretty(self)?;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).with_context(|| format!("failed to write {}", path.display()))?;
        // A file made before with wider rights is narrowed too.
        #[cfg(unix)]
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
        std::io::Write::write_all(&mut file, text.as_bytes())?;
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn servers_are_https_or_this_machine() {
        assert_eq!(server_url("https://portico.example.com/").unwrap(), "https://portico.example.com");
        assert_eq!(server_url("http://127.0.0.1:7007").unwrap(), "http://127.0.0.1:7007");
        assert_eq!(server_url("http://localhost:7007/").unwrap(), "http://localhost:7007");
        assert!(server_url("http://portico.example.com").unwrap_err().to_string().contains("in clear"));
        assert!(server_url("ftp://x").unwrap_err().to_string().contains("scheme ftp"));
        assert!(server_url("https://u:p@x.example.com").unwrap_err().to_string().contains("only the server's address"));
        assert!(server_url("portico").unwrap_err().to_string().contains("is not a URL"));
    }

    #[test]
    fn query_strings_leave_unset_values_out() {
        assert_eq!(query(&[("actor", Some("user:default/ada".into())), ("action", None), ("limit", Some("5".into()))]), "actor=user%3Adefault%2Fada&limit=5");
    }
}
