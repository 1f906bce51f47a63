//! The `terraform` source: reads Terraform state files (local paths, or the HTTP backend's
//! URLs) and turns each resource instance into a `Resource` entity, with its owner, system
//! and consuming component from tags, and `dependsOn` from the state's dependencies.
//!
//! One scope per state. The state's `lineage:serial` is kept between runs, so a state that has
//! not changed is answered `Unchanged` after reading only its header.

mod entity;
mod state;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::engine::{Provider, ProviderError, Scan, ScanContext, ScopeOutcome, ScopeScan};
use portico_catalog::SourceError;
use portico_catalog::reader::{BodyError, FileError, read_body, read_regular_file};

/// States larger than this are refused (a 10,000-resource state is about 30 MB).
const MAX_STATE_BYTES: u64 = 512 * 1024 * 1024;
const HTTP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    states: Vec<Value>,
    #[serde(default = "default_owner_tags")]
    owner_tags: Vec<String>,
    #[serde(default = "default_system_tags")]
    system_tags: Vec<String>,
    #[serde(default = "default_component_tags")]
    component_tags: Vec<String>,
    #[serde(default)]
    include_data_sources: bool,
}

fn strings(s: &[&str]) -> Vec<String> {
    s.iter().map(|s| (*s).to_owned()).collect()
}
fn default_owner_tags() -> Vec<String> {
    strings(&["owner", "Owner", "team", "Team"])
}
fn default_system_tags() -> Vec<String> {
    strings(&["system", "System"])
}
fn default_component_tags() -> Vec<String> {
    strings(&["component", "Component", "service", "app"])
}

/// One entry of `states` written as an object.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct StateEntry {
    path: Option<PathBuf>,
    url: Option<String>,
    name: Option<String>,
    username: Option<String>,
    password_env: Option<String>,
}

#[derive(Debug, Clone)]
enum Place {
    File(PathBuf),
    Http { url: url::Url, username: Option<String>, password_env: Option<String> },
}

#[derive(Debug, Clone)]
struct StateSource {
    place: Place,
    /// The scope: the path or URL as written (without credentials).
    scope: String,
    prefix: Option<String>,
}

pub const KIND: &str = "terraform";

pub struct TerraformProvider {
    states: Vec<StateSource>,
    mapping: entity::Mapping,
    http: reqwest::Client,
}

impl TerraformProvider {
    pub fn from_settings(settings: &Value) -> Result<Self, String> {
        let s: Settings = super::settings("terraform", settings)?;
        if s.states.is_empty() {
            return Err("terraform source settings: states: at least one state file or URL is required".into());
        }
        let states = s.states.iter().enumerate().map(|(i, v)| state_source(i, v)).collect::<Result<Vec<_>, _>>()?;
        let http = reqwest::Client::builder()
            .timeout(HTTP_TIMEOUT)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("portico/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("terraform source: cannot build an HTTP client: {e}"))?;
        let mapping = entity::Mapping {
            owner_tags: s.owner_tags,
            system_tags: s.system_tags,
            component_tags: s.component_tags,
            include_data_sources: s.include_data_sources,
            prefix: None,
        };
        Ok(Self { states, mapping, http })
    }

    /// Reads one state and answers its scope; `previous` is its last `lineage:serial`.
    async fn scan_state(&self, src: &StateSource, previous: Option<&str>) -> (ScopeOutcome, Option<String>) {
        let failed = |message: String| {
            (ScopeOutcome::Failed { error: SourceError { location: src.scope.clone(), key: None, message } }, None)
        };
        let text = match self.fetch(src).await {
            Ok(t) => t,
            Err(e) => return failed(e),
        };
        let identity = match state::identity(&src.scope, &text) {
            Ok((lineage, serial, _)) => format!("{lineage}:{serial}"),
            Err(e) => return failed(e),
        };
        if previous == Some(identity.as_str()) {
            return (ScopeOutcome::Unchanged, Some(identity));
        }
        let mapping = entity::Mapping { prefix: src.prefix.clone(), ..self.mapping.clone() };
        let scope = src.scope.clone();
        // Parsing a large state takes a while; keep it off the async workers.
        let built = tokio::task::spawn_blocking(move || {
            let state = state::parse(&scope, &text)?;
            Ok::<_, String>(entity::contributions(&state, &mapping, &scope))
        })
        .await
        .unwrap_or_else(|e| Err(format!("{}: reading the state failed: {e}", src.scope)));
        match built {
            Ok(contributions) => (ScopeOutcome::Full { contributions, errors: Vec::new(), complete: true }, Some(identity)),
            Err(e) => failed(e),
        }
    }

    async fn fetch(&self, src: &StateSource) -> Result<String, String> {
        match &src.place {
            Place::File(path) => {
                let shown = path.display().to_string();
                let read = path.clone();
                let bytes = tokio::task::spawn_blocking(move || read_regular_file(&read, MAX_STATE_BYTES))
                    .await
                    .map_err(|e| format!("{shown}: {e}"))?
                    .map_err(|e| match e {
                        FileError::Io(e) if e.kind() == std::io::ErrorKind::NotFound => format!("{shown}: file not found"),
                        FileError::Io(e) => format!("{shown}: {e}"),
                        FileError::NotRegular => format!("{shown}: not a regular file (a directory, FIFO, socket or device); refused"),
                        FileError::TooLarge(size) => format!("{shown}: file is {size} bytes, over the limit of {MAX_STATE_BYTES} bytes"),
                    })?;
                String::from_utf8(bytes).map_err(|_| format!("{shown}: not UTF-8 text, so not a Terraform state"))
            }
            Place::Http { url, username, password_env } => {
                let shown = &src.scope;
                let mut req = self.http.get(url.clone());
                if let Some(user) = username {
                    let password = match password_env {
                        Some(var) => Some(std::env::var(var).map_err(|_| {
                            format!("{shown}: the environment variable {var} named by passwordEnv is not set")
                        })?),
                        None => None,
                    };
                    req = req.basic_auth(user, password);
                }
                let resp = req.send().await.map_err(|e| {
                    let e = e.without_url();
                    if e.is_timeout() {
                        format!("GET {shown}: no answer within {}s", HTTP_TIMEOUT.as_secs())
                    } else {
                        format!("GET {shown}: {}", portico_model::with_causes(&e))
                    }
                })?;
                let status = resp.status();
                if !status.is_success() {
                    return Err(format!("GET {shown}: HTTP {status}"));
                }
                let bytes = read_body(resp, MAX_STATE_BYTES as usize).await.map_err(|e| match e {
                    BodyError::TooLarge(_) => format!("GET {shown}: the state is over the limit of {MAX_STATE_BYTES} bytes"),
                    BodyError::Io(e) => format!("GET {shown}: reading the body: {e}"),
                })?;
                String::from_utf8(bytes).map_err(|_| format!("GET {shown}: the body is not UTF-8 text, so not a Terraform state"))
            }
        }
    }
}

/// One entry of `states`: a path, a URL, or an object.
fn state_source(i: usize, v: &Value) -> Result<StateSource, String> {
    let at = |m: String| format!("terraform source settings: states[{i}]: {m}");
    let entry = match v {
        Value::String(s) if s.starts_with("http://") || s.starts_with("https://") => {
            StateEntry { path: None, url: Some(s.clone()), name: None, username: None, password_env: None }
        }
        Value::String(s) => StateEntry { path: Some(PathBuf::from(s)), url: None, name: None, username: None, password_env: None },
        Value::Object(_) => serde_json::from_value(v.clone()).map_err(|e| at(e.to_string()))?,
        other => return Err(at(format!("expected a path, a URL or an object with `path` or `url`, found {other}"))),
    };
    let prefix = match &entry.name {
        Some(n) => Some(portico_model::naming::sanitize_object_name(n).ok_or_else(|| at(format!("name {n:?} has no usable characters")))?),
        None => None,
    };
    let (place, scope) = match (entry.path, entry.url) {
        (Some(path), None) => {
            if entry.username.is_some() || entry.password_env.is_some() {
                return Err(at("username and passwordEnv apply to a url, not a path".into()));
            }
            let scope = path.display().to_string();
            (Place::File(path), scope)
        }
        (None, Some(url)) => {
            let mut parsed = url::Url::parse(&url).map_err(|e| at(format!("url {url:?}: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(at(format!("url {url:?}: expected an http or https URL")));
            }
            if entry.password_env.is_some() && entry.username.is_none() {
                return Err(at("passwordEnv needs a username".into()));
            }
            // Credentials belong in username/passwordEnv; never show them as part of the scope.
            if !parsed.username().is_empty() || parsed.password().is_some() {
                return Err(at("the url must not contain credentials; use username and passwordEnv".into()));
            }
            parsed.set_fragment(None);
            let scope = parsed.to_string();
            let username = entry.username.filter(|u| !u.is_empty());
            (Place::Http { url: parsed, username, password_env: entry.password_env }, scope)
        }
        (Some(_), Some(_)) => return Err(at("give either path or url, not both".into())),
        (None, None) => return Err(at("missing field `path` or `url`".into())),
    };
    Ok(StateSource { place, scope, prefix })
}

#[async_trait::async_trait]
impl Provider for TerraformProvider {
    fn kind(&self) -> &'static str {
        "terraform"
    }

    async fn scan(&self, ctx: &ScanContext) -> Result<Scan, ProviderError> {
        let previous = ctx.previous.as_object().cloned().unwrap_or_default();
        let mut next = Map::new();
        let mut scopes = Vec::new();
        let selected: Vec<&StateSource> = self.states.iter().filter(|s| ctx.only.as_ref().is_none_or(|o| *o == s.scope)).collect();
        let total = selected.len() as u64;
        for (done, src) in selected.into_iter().enumerate() {
            ctx.report(src.scope.clone(), done as u64, Some(total));
            // HTTP backends are checked against the allow-list before anything is sent.
            if let Place::Http { url, .. } = &src.place
                && let Err(e) = ctx.reader.check_url(url)
            {
                let error = SourceError { location: src.scope.clone(), key: None, message: e.to_string() };
                scopes.push(ScopeScan { scope: src.scope.clone(), outcome: ScopeOutcome::Failed { error } });
                continue;
            }
            let prev = previous.get(&src.scope).and_then(Value::as_str);
            let (outcome, identity) = self.scan_state(src, prev).await;
            if let Some(id) = identity.or_else(|| prev.map(str::to_owned)) {
                next.insert(src.scope.clone(), Value::String(id));
            }
            scopes.push(ScopeScan { scope: src.scope.clone(), outcome });
        }
        // A narrowed run keeps what it did not read.
        if ctx.only.is_some() {
            for (k, v) in previous {
                next.entry(k).or_insert(v);
            }
        }
        ctx.report("", total, Some(total));
        Ok(Scan { scopes, exhaustive: ctx.only.is_none(), state: Value::Object(next) })
    }
}
