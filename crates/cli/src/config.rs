//! Layered configuration: built-in defaults, then `portico.yaml` (or `--config FILE`), then
//! `PORTICO__SECTION__KEY` environment variables (`PORTICO__SERVER__PORT=8080`,
//! `PORTICO__DATABASE__URL=postgres://…`). The database URL is wrapped so it never prints.

use std::path::{Path, PathBuf};

use anyhow::Context;
use portico_catalog::{LocationSpec, OrphanStrategy, QueryConfig, ReaderConfig};
use portico_server::ServerConfig;
use serde::Deserialize;
use serde_json::Value;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    /// Where the SQLite database and the demo catalog live.
    pub data_dir: PathBuf,
    pub catalog: CatalogConfig,
    pub reading: ReaderConfig,
    pub discovery: DiscoveryConfig,
    /// How many queries run at once and their limits (docs/reference/configuration.md).
    pub queries: QueryConfig,
    /// Identity: the bootstrap token (docs/reference/auth.md).
    pub auth: portico_server::auth::AuthConfig,
    /// Scorecards: what the deploy gate answers for an entity with no result.
    pub scorecards: ScorecardsConfig,
    /// Self-service runs: workers, limits, secrets (docs/reference/actions.md).
    pub actions: ActionsConfig,
}

/// `actions` (docs/reference/actions.md#configuration).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ActionsConfig {
    /// Runs one replica executes at once.
    pub concurrency: usize,
    /// Queued and running runs of one template, across replicas.
    pub max_runs_per_template: i64,
    /// Queued and running runs of one person.
    pub max_runs_per_user: i64,
    /// A whole run's time limit, in seconds.
    pub run_timeout_seconds: u64,
    /// How long a worker's claim on a run lasts without renewal: how soon another replica takes
    /// up a run whose worker died. 3 to 600.
    pub lease_seconds: u64,
    /// Secrets templates read as `secrets.NAME`: each from an environment variable
    /// (`{env: GITHUB_TOKEN}`) or written here (`{value: …}`).
    pub secrets: std::collections::BTreeMap<String, SecretSource>,
    /// What actions may reach outside a run's workspace: git and HTTP hosts (`host` or
    /// `host:port`) and folders of local repositories. Empty: nothing.
    pub remotes: RemotesConfig,
}

/// `actions.remotes`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct RemotesConfig {
    pub hosts: Vec<String>,
    pub roots: Vec<PathBuf>,
    /// Whether an allowed host may resolve to a private or loopback address.
    pub private_addresses: bool,
    /// A git host's REST API when it is not at its usual place (host → URL).
    pub api_base_urls: std::collections::BTreeMap<String, String>,
}

/// Where a secret's value comes from.
#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct SecretSource {
    pub env: Option<String>,
    pub value: Option<String>,
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretSource").field("env", &self.env).field("value", &self.value.as_ref().map(|_| "[redacted]")).finish()
    }
}

impl Default for ActionsConfig {
    fn default() -> Self {
        let d = portico_actions::RunsConfig::default();
        Self { concurrency: d.concurrency, max_runs_per_template: d.per_template, max_runs_per_user: d.per_user, run_timeout_seconds: d.run_timeout.as_secs(), lease_seconds: d.lease.as_secs(), secrets: Default::default(), remotes: RemotesConfig::default() }
    }
}

impl ActionsConfig {
    /// The runs service's settings, secrets read: an unset environment variable is an error
    /// naming the secret.
    pub fn runs(&self) -> anyhow::Result<portico_actions::RunsConfig> {
        if self.concurrency == 0 || self.max_runs_per_template < 1 || self.max_runs_per_user < 1 || self.run_timeout_seconds == 0 {
            anyhow::bail!("actions: concurrency, maxRunsPerTemplate, maxRunsPerUser and runTimeoutSeconds must be at least 1");
        }
        if !(3..=600).contains(&self.lease_seconds) {
            anyhow::bail!("actions.leaseSeconds: {} is not between 3 and 600", self.lease_seconds);
        }
        let mut secrets = std::collections::BTreeMap::new();
        for (name, source) in &self.secrets {
            let value = match (&source.env, &source.value) {
                (Some(var), None) => std::env::var(var).map_err(|_| anyhow::anyhow!("actions.secrets.{name}: the environment variable {var} is not set"))?,
                (None, Some(v)) => v.clone(),
                _ => anyhow::bail!("actions.secrets.{name}: give `env` (an environment variable) or `value`, one of them"),
            };
            secrets.insert(name.clone(), value);
        }
        Ok(portico_actions::RunsConfig {
            concurrency: self.concurrency,
            per_template: self.max_runs_per_template,
            per_user: self.max_runs_per_user,
            run_timeout: std::time::Duration::from_secs(self.run_timeout_seconds),
            lease: std::time::Duration::from_secs(self.lease_seconds),
            secrets,
            remotes: portico_actions::Remotes { hosts: self.remotes.hosts.clone(), roots: self.remotes.roots.clone(), private_addresses: self.remotes.private_addresses, api_base_urls: self.remotes.api_base_urls.clone() },
        })
    }
}

/// `scorecards` (docs/reference/scorecards.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct ScorecardsConfig {
    pub gate: GateConfig,
    pub dora: DoraSettings,
}

/// `scorecards.dora`: which deployments DORA counts, and over how long.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DoraSettings {
    /// Environments that are production (compared without case).
    pub environments: Vec<String>,
    /// Days the metrics are computed over, 7 to 365.
    pub window_days: i64,
}

impl Default for DoraSettings {
    fn default() -> Self {
        let d = portico_scorecards::dora::DoraConfig::default();
        Self { environments: d.environments, window_days: d.window_days }
    }
}

impl DoraSettings {
    /// The settings checked: a window of 7 to 365 days, at least one environment.
    pub fn config(&self) -> anyhow::Result<portico_scorecards::dora::DoraConfig> {
        if !(7..=365).contains(&self.window_days) {
            anyhow::bail!("scorecards.dora.windowDays: {} is not between 7 and 365", self.window_days);
        }
        if self.environments.iter().all(|e| e.trim().is_empty()) {
            anyhow::bail!("scorecards.dora.environments: name at least one production environment");
        }
        Ok(portico_scorecards::dora::DoraConfig { environments: self.environments.clone(), window_days: self.window_days })
    }
}

/// `scorecards.gate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct GateConfig {
    /// An entity the catalog does not have, or a scorecard does not apply to: `fail` (default)
    /// or `pass`.
    pub unknown: portico_scorecards::report::Unknown,
}

/// `discovery`: the sources the engine runs (see docs/reference/discovery.md).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DiscoveryConfig {
    /// Each source: `name`, `type`, `interval`, `priority`, `webhookSecret`, `enabled`, and
    /// the provider's own settings. Checked by [`portico_discovery::engine::parse_sources`].
    pub sources: Vec<Value>,
    /// Where providers keep caches (git clones); default `<dataDir>/discovery`.
    pub cache_dir: Option<PathBuf>,
}


#[derive(Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// `sqlite://…` or `postgres://…`; default: SQLite in the data directory.
    pub url: Option<String>,
}

impl std::fmt::Debug for DatabaseConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseConfig").field("url", &self.url.as_ref().map(|_| "[redacted]")).finish()
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct CatalogConfig {
    /// Locations registered at start.
    pub locations: Vec<LocationSpec>,
    pub orphan_strategy: OrphanStrategy,
    /// How often every location is read again; 0 turns the schedule off.
    pub refresh_interval_seconds: u64,
    /// Limits on each descriptor file (size, documents, nodes, depth, aliases).
    pub limits: portico_model::yaml::YamlLimits,
    /// Which kinds registered locations may hold (Backstage's catalog rules); none: every kind.
    pub rules: Vec<portico_catalog::CatalogRule>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            data_dir: PathBuf::from(".portico"),
            catalog: CatalogConfig::default(),
            reading: ReaderConfig::default(),
            discovery: DiscoveryConfig::default(),
            queries: QueryConfig::default(),
            auth: Default::default(),
            scorecards: ScorecardsConfig::default(),
            actions: ActionsConfig::default(),
        }
    }
}


impl Default for CatalogConfig {
    fn default() -> Self {
        Self { locations: Vec::new(), orphan_strategy: OrphanStrategy::Delete, refresh_interval_seconds: 300, limits: Default::default(), rules: Vec::new() }
    }
}

impl Config {
    /// Loads defaults, then the file (when given, or `portico.yaml` when it exists), then the
    /// environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(file, &vars)
    }

    pub fn load_from(file: Option<&Path>, vars: &[(String, String)]) -> anyhow::Result<Self> {
        let mut value = serde_json::to_value(Defaults).unwrap_or(Value::Object(Default::default()));
        let path = file.map(Path::to_path_buf).or_else(|| Some(PathBuf::from("portico.yaml")).filter(|p| p.exists()));
        if let Some(path) = &path {
            let text = std::fs::read_to_string(path).with_context(|| format!("failed to read {}", path.display()))?;
            let docs = portico_model::yaml::parse_documents(&text).map_err(|e| anyhow::anyhow!("{}:{e}", path.display()))?;
            if let Some(doc) = docs.into_iter().next() {
                merge(&mut value, doc);
            }
        }
        for (k, v) in vars {
            let Some(rest) = k.strip_prefix("PORTICO__") else { continue };
            let keys: Vec<String> = rest.split("__").map(camel).collect();
            let parsed: Value = serde_json::from_str(v).unwrap_or_else(|_| Value::String(v.clone()));
            set(&mut value, &keys, parsed);
        }
        let where_ = path.map_or("configuration".to_owned(), |p| p.display().to_string());
        serde_json::from_value(value).with_context(|| format!("{where_}: invalid configuration"))
    }

    /// `auth:` as the server uses it: the sign-in's callback is `<server.publicUrl>/auth/callback`
    /// unless `auth.oidc.redirectUrl` says otherwise.
    pub fn auth(&self) -> portico_server::auth::AuthConfig {
        let mut auth = self.auth.clone();
        if let (Some(oidc), Some(public)) = (auth.oidc.as_mut(), self.server.public_url.as_deref())
            && oidc.redirect_url.is_none()
        {
            oidc.redirect_url = Some(format!("{}/auth/callback", public.trim_end_matches('/')));
        }
        auth
    }

    /// The authorizer of [`Config::auth`]; a message naming the field when it is not valid.
    pub fn authorizer(&self) -> anyhow::Result<portico_server::auth::Authorizer> {
        self.auth().authorizer().map_err(anyhow::Error::msg)
    }

    /// The database URL in force.
    pub fn database_url(&self) -> String {
        self.database.url.clone().unwrap_or_else(|| format!("sqlite://{}", self.data_dir.join("portico.db").display()))
    }
}

/// Serializes nothing: defaults come from `Default` at deserialization.
struct Defaults;
impl serde::Serialize for Defaults {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

/// `REFRESH_INTERVAL_SECONDS` → `refreshIntervalSeconds`.
fn camel(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split('_').enumerate() {
        let lower = part.to_ascii_lowercase();
        if i == 0 {
            out.push_str(&lower);
        } else {
            let mut c = lower.chars();
            if let Some(f) = c.next() {
                out.push(f.to_ascii_uppercase());
                out.extend(c);
            }
        }
    }
    out
}

fn merge(base: &mut Value, over: Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o,
    }
}

fn set(value: &mut Value, keys: &[String], v: Value) {
    let Some((first, rest)) = keys.split_first() else { return };
    if !value.is_object() {
        *value = Value::Object(Default::default());
    }
    let map = value.as_object_mut().expect("object");
    if rest.is_empty() {
        map.insert(first.clone(), v);
    } else {
        set(map.entry(first.clone()).or_insert(Value::Null), rest, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portico.yaml");
        std::fs::write(&file, "server:\n  port: 9000\ncatalog:\n  orphanStrategy: keep\n  locations:\n    - { type: file, target: ./a.yaml }\n").unwrap();
        let vars = vec![("PORTICO__SERVER__PORT".to_owned(), "9100".to_owned()), ("PORTICO__DATABASE__URL".to_owned(), "postgres://x".to_owned())];
        let c = Config::load_from(Some(&file), &vars).unwrap();
        assert_eq!(c.server.port, 9100);
        assert_eq!(c.server.host, "127.0.0.1");
        assert_eq!(c.catalog.orphan_strategy, OrphanStrategy::Keep);
        assert_eq!(c.catalog.locations.len(), 1);
        assert_eq!(c.database_url(), "postgres://x");
        assert!(!format!("{c:?}").contains("postgres://x"), "secrets never print");
    }

    #[test]
    fn unknown_keys_and_wrong_types_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portico.yaml");
        std::fs::write(&file, "server:\n  prot: 1\n").unwrap();
        let err = format!("{:#}", Config::load_from(Some(&file), &[]).unwrap_err());
        assert!(err.contains("portico.yaml") && err.contains("prot"), "{err}");
        std::fs::write(&file, "server:\n  port: many\n").unwrap();
        assert!(Config::load_from(Some(&file), &[]).is_err());
    }

    #[test]
    fn sign_in_is_configured_in_the_file_with_its_secret_from_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("portico.yaml");
        let yaml = "auth:\n  mode: oidc\n  oidc:\n    issuer: https://id.example.com\n    clientId: portico\n    userMatch: {by: name}\n  sessions: {idleTimeoutSeconds: 600}\n";
        std::fs::write(&file, yaml).unwrap();
        let vars = vec![("PORTICO__AUTH__OIDC__CLIENT_SECRET".to_owned(), "s3cret-from-env".to_owned())];
        let c = Config::load_from(Some(&file), &vars).unwrap();
        let oidc = c.auth.oidc.as_ref().unwrap();
        assert_eq!((oidc.client_id.as_str(), oidc.client_secret.as_deref()), ("portico", Some("s3cret-from-env")));
        assert_eq!(oidc.user_match.by, portico_auth::MatchBy::Name);
        assert_eq!(c.auth.sessions.idle_timeout_seconds, 600);
        assert_eq!(c.auth.sessions.max_age_seconds, 86_400, "the rest of a section keeps its defaults");
        assert!(!format!("{c:?}").contains("s3cret-from-env"), "secrets never print");
        std::fs::write(&file, "auth:\n  mode: oidc\n  oidc: {issuer: https://id.example.com, clientID: x}\n").unwrap();
        let err = format!("{:#}", Config::load_from(Some(&file), &[]).unwrap_err());
        assert!(err.contains("clientID"), "a misspelt key is named: {err}");
    }

    #[test]
    fn defaults_use_sqlite_in_the_data_directory() {
        let c = Config::load_from(None, &[]).unwrap();
        assert_eq!(c.database_url(), "sqlite://.portico/portico.db");
        assert_eq!(c.server.port, 7007);
    }
}
