//! The `postgres` source: lists the databases of one PostgreSQL server as `Resource` entities
//! of type `database`, with their size, encoding, owner role, connection limit and the
//! server's version as facts. A database's owner in the catalog comes from its comment
//! (`COMMENT ON DATABASE shop IS 'owner=group:payments'`), as roles rarely name teams.
//!
//! One scope: the server. A server that cannot be reached or refuses the login fails the
//! whole run, so the catalog keeps what it had.

use std::str::FromStr;
use std::time::Duration;

use portico_model::naming::sanitize_object_name;
use serde_json::{Value, json};
use sqlx::postgres::{PgConnectOptions, PgConnection};
use sqlx::{Connection, Row};

use crate::engine::{Contribution, Evidence, Provider, ProviderError, Scan, ScanContext, ScopeOutcome, ScopeScan};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    url: Option<String>,
    url_env: Option<String>,
    name: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    include_templates: bool,
}

#[derive(Debug)]
enum UrlFrom {
    Value(String),
    /// Read at each run, so a rotated password needs no restart.
    Env(String),
}

pub const KIND: &str = "postgres";

pub struct PostgresProvider {
    url: UrlFrom,
    name: Option<String>,
    exclude: Vec<glob::Pattern>,
    include_templates: bool,
}

/// One row of `pg_database`.
#[derive(Debug)]
struct Database {
    name: String,
    size: Option<i64>,
    encoding: String,
    owner: String,
    connection_limit: i32,
    template: bool,
    comment: Option<String>,
}

impl PostgresProvider {
    pub fn from_settings(settings: &Value) -> Result<Self, String> {
        let s: Settings = super::settings("postgres", settings)?;
        let url = match (s.url, s.url_env) {
            (Some(u), None) => {
                connect_options(&u).map_err(|e| format!("postgres source settings: url: {e}"))?;
                UrlFrom::Value(u)
            }
            (None, Some(var)) => UrlFrom::Env(var),
            (Some(_), Some(_)) => return Err("postgres source settings: give either url or urlEnv, not both".into()),
            (None, None) => return Err("postgres source settings: missing field `url` (or `urlEnv`)".into()),
        };
        let exclude = s
            .exclude
            .iter()
            .map(|p| glob::Pattern::new(p).map_err(|e| format!("postgres source settings: exclude: {p:?}: {e}")))
            .collect::<Result<_, _>>()?;
        if let Some(n) = &s.name
            && sanitize_object_name(n).is_none()
        {
            return Err(format!("postgres source settings: name {n:?} has no usable characters"));
        }
        Ok(Self { url, name: s.name, exclude, include_templates: s.include_templates })
    }

    fn options(&self) -> Result<PgConnectOptions, ProviderError> {
        let url = match &self.url {
            UrlFrom::Value(u) => u.clone(),
            UrlFrom::Env(var) => std::env::var(var)
                .map_err(|_| ProviderError::new(format!("the environment variable {var} named by urlEnv is not set")))?,
        };
        connect_options(&url).map_err(ProviderError::new)
    }

    fn wanted(&self, db: &Database) -> bool {
        (self.include_templates || !db.template) && !self.exclude.iter().any(|p| p.matches(&db.name))
    }
}

/// Parses a connection URL; the message never repeats the URL, which may hold a password.
fn connect_options(url: &str) -> Result<PgConnectOptions, String> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        return Err("not a PostgreSQL connection URL (expected postgres://…)".into());
    }
    PgConnectOptions::from_str(url).map_err(|e| format!("not a PostgreSQL connection URL ({e})"))
}

async fn read_server(opts: &PgConnectOptions, server: &str) -> Result<(String, Vec<Database>), ProviderError> {
    let fail = |what: &str, e: sqlx::Error| ProviderError::new(format!("postgres server {server}: {what}: {e}"));
    let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(opts)).await {
        Ok(c) => c.map_err(|e| fail("cannot connect", e))?,
        Err(_) => {
            return Err(ProviderError::new(format!("postgres server {server}: cannot connect: no answer within {}s", CONNECT_TIMEOUT.as_secs())));
        }
    };
    let version: String = sqlx::query_scalar("select current_setting('server_version')")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| fail("reading the version", e))?;
    // Sizes need the CONNECT privilege; databases the role may not enter are listed without.
    let rows = sqlx::query(
        "select d.datname::text as name, \
                case when has_database_privilege(d.oid, 'CONNECT') then pg_database_size(d.oid) end as size, \
                pg_encoding_to_char(d.encoding)::text as encoding, \
                pg_get_userbyid(d.datdba)::text as owner, \
                d.datconnlimit as connection_limit, d.datistemplate as template, \
                shobj_description(d.oid, 'pg_database') as comment \
         from pg_database d order by d.datname",
    )
    .fetch_all(&mut conn)
    .await
    .map_err(|e| fail("listing databases", e))?;
    let _ = conn.close().await;
    let databases = rows
        .iter()
        .map(|r| {
            Ok(Database {
                name: r.try_get("name")?,
                size: r.try_get("size")?,
                encoding: r.try_get("encoding")?,
                owner: r.try_get("owner")?,
                connection_limit: r.try_get("connection_limit")?,
                template: r.try_get("template")?,
                comment: r.try_get("comment")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .map_err(|e| fail("reading pg_database", e))?;
    Ok((version, databases))
}

/// The owner named in a database comment: a `owner=<ref>` word anywhere in it
/// (`owner=group:payments`, `Orders. owner=team-a`). Bare names are groups.
pub(crate) fn owner_from_comment(comment: &str) -> Option<String> {
    let value = comment
        .split(|c: char| c.is_whitespace() || matches!(c, ',' | ';'))
        .find_map(|w| w.strip_prefix("owner="))?
        .trim_end_matches('.');
    if value.contains(':') {
        return Some(value.to_owned());
    }
    sanitize_object_name(value).map(|n| format!("group:default/{n}"))
}

fn contribution(db: &Database, server: &str, version: &str) -> Option<Contribution> {
    let name = sanitize_object_name(&format!("{server}-{}", db.name))?;
    let mut facts = serde_json::Map::new();
    if let Some(size) = db.size {
        facts.insert("postgres.sizeBytes".into(), json!(size));
    }
    facts.insert("postgres.encoding".into(), json!(db.encoding));
    facts.insert("postgres.owner".into(), json!(db.owner));
    facts.insert("postgres.connectionLimit".into(), json!(db.connection_limit));
    facts.insert("postgres.version".into(), json!(version));
    facts.insert("postgres.database".into(), json!(db.name));
    let mut spec = json!({ "type": "database" });
    if let Some(owner) = db.comment.as_deref().and_then(owner_from_comment) {
        spec["owner"] = json!(owner);
    }
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": {
            "name": name,
            "title": db.name,
            "annotations": { "portico.dev/postgres-server": server },
        },
        "spec": spec,
        "status": { "facts": facts },
    });
    Some(Contribution::new(Evidence::Observed, format!("postgres://{server}/{}", db.name), document))
}

#[async_trait::async_trait]
impl Provider for PostgresProvider {
    fn kind(&self) -> &'static str {
        "postgres"
    }

    async fn scan(&self, ctx: &ScanContext) -> Result<Scan, ProviderError> {
        let opts = self.options()?;
        let server = self.name.clone().unwrap_or_else(|| format!("{}:{}", opts.get_host(), opts.get_port()));
        if ctx.only.as_ref().is_some_and(|o| *o != server) {
            return Ok(Scan { scopes: Vec::new(), exhaustive: false, state: Value::Null });
        }
        ctx.report(server.clone(), 0, Some(1));
        let (version, databases) = read_server(&opts, &server).await?;
        let contributions = databases.iter().filter(|d| self.wanted(d)).filter_map(|d| contribution(d, &server, &version)).collect();
        ctx.report(server.clone(), 1, Some(1));
        let outcome = ScopeOutcome::Full { contributions, errors: Vec::new(), complete: true };
        Ok(Scan { scopes: vec![ScopeScan { scope: server, outcome }], exhaustive: true, state: Value::Null })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owners_come_from_an_owner_word_in_the_comment() {
        assert_eq!(owner_from_comment("owner=group:payments").as_deref(), Some("group:payments"));
        assert_eq!(owner_from_comment("Orders of the shop. owner=user:default/jane;").as_deref(), Some("user:default/jane"));
        assert_eq!(owner_from_comment("owner=Team A, prod").as_deref(), Some("group:default/Team"));
        assert_eq!(owner_from_comment("owner=checkout.").as_deref(), Some("group:default/checkout"));
        assert_eq!(owner_from_comment("no owner here"), None);
        assert_eq!(owner_from_comment("owner="), None);
    }

    #[test]
    fn settings_name_what_is_wrong() {
        let err = |v: Value| PostgresProvider::from_settings(&v).err().unwrap();
        assert!(err(json!({})).contains("missing field `url`"));
        assert!(err(json!({"url": "postgres://x@h/db", "urlEnv": "X"})).contains("either url or urlEnv"));
        assert!(err(json!({"url": "mysql://h/db"})).contains("url: not a PostgreSQL connection URL"));
        assert!(err(json!({"url": "postgres://h/db", "exlude": []})).contains("unknown field `exlude`"));
        assert!(err(json!({"url": "postgres://h/db", "exclude": ["[a"]})).contains("exclude: \"[a\""));
        assert!(err(json!({"url": "postgres://h/db", "name": "!!"})).contains("name \"!!\""));
        let secret = err(json!({"url": "postgres://u:hunter2@h:notaport/db"}));
        assert!(!secret.contains("hunter2"), "{secret}");
    }

    #[test]
    fn templates_and_excluded_databases_are_left_out() {
        let p = PostgresProvider::from_settings(&json!({"url": "postgres://h/db", "exclude": ["tmp_*", "scratch"]})).unwrap();
        let db = |name: &str, template: bool| Database {
            name: name.into(),
            size: Some(1),
            encoding: "UTF8".into(),
            owner: "postgres".into(),
            connection_limit: -1,
            template,
            comment: None,
        };
        assert!(p.wanted(&db("shop", false)));
        assert!(!p.wanted(&db("tmp_42", false)));
        assert!(!p.wanted(&db("scratch", false)));
        assert!(!p.wanted(&db("template1", true)));
        let with = PostgresProvider::from_settings(&json!({"url": "postgres://h/db", "includeTemplates": true})).unwrap();
        assert!(with.wanted(&db("template1", true)));
    }
}
