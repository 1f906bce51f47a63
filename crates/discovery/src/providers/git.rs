//! The `git` source: reads repositories (local paths, or `file://`, `git://` and `http(s)://`
//! URLs cloned bare into the source's cache and fetched incrementally) at one commit, straight
//! from the object database with `gix` (no work tree, no `git` binary except for `file://`
//! URLs, which gix serves with `git-upload-pack`).
//!
//! Per repository (one scope, state = its commit id): descriptor files (`catalogFiles`) are
//! declared entities, history facts (`git.*`) are observed, and inference over the commit's
//! tree adds what code looks like. A repository at the same commit as last time is
//! `Unchanged` and costs one ref lookup (plus a fetch for remotes).
//!
//! Trade-off: only committed content counts (uncommitted edits in a local work tree are not
//! seen), in exchange for a consistent snapshot and a cheap "nothing changed" check.

mod descriptors;
mod facts;
mod repo;
mod tree;

#[cfg(test)]
mod tests;

use std::time::Instant;

use serde_json::{Map, Value, json};

use crate::engine::{Contribution, Evidence, Provider, ProviderError, Scan, ScanContext, ScopeOutcome, ScopeScan};
use portico_catalog::SourceError;
use crate::providers::infer::{self, Files as _};

use repo::RepoSpec;

/// The source type.
pub const KIND: &str = "git";

/// Default `catalogFiles`.
pub const DEFAULT_CATALOG_FILES: &[&str] = &["**/catalog-info.yaml", "**/catalog-info.yml"];
/// Default `maxFileBytes`: 1 MiB.
pub const DEFAULT_MAX_FILE_BYTES: u64 = 1024 * 1024;

/// The settings of a `git` source, as written in `portico.yaml`.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Settings {
    /// Each a path, a URL, or `{url | path, branch?, name?}`.
    repositories: Vec<Value>,
    #[serde(default = "default_catalog_files")]
    catalog_files: Vec<String>,
    #[serde(default = "yes")]
    infer: bool,
    default_owner: Option<String>,
    lifecycle: Option<String>,
    #[serde(default = "default_max_file_bytes")]
    max_file_bytes: u64,
    /// Globs of paths inference leaves out (`examples/**`, `docs/samples/**`).
    #[serde(default)]
    exclude: Vec<String>,
}

fn default_catalog_files() -> Vec<String> {
    DEFAULT_CATALOG_FILES.iter().map(|s| (*s).to_owned()).collect()
}

fn yes() -> bool {
    true
}

fn default_max_file_bytes() -> u64 {
    DEFAULT_MAX_FILE_BYTES
}

/// One repository in its long form.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RepositorySetting {
    url: Option<String>,
    path: Option<String>,
    branch: Option<String>,
    name: Option<String>,
    /// Namespace of the entities inferred from this repository (to keep two repositories'
    /// `frontend` apart).
    namespace: Option<String>,
}

/// Reads git repositories.
pub struct GitProvider {
    repos: Vec<RepoSpec>,
    catalog_files: Vec<glob::Pattern>,
    infer: bool,
    options: infer::InferOptions,
    max_file_bytes: u64,
}

impl GitProvider {
    /// Builds the provider from a source's settings; errors name the field at fault.
    pub fn from_settings(settings: &Value) -> Result<Self, String> {
        let s: Settings = crate::providers::settings(KIND, settings)?;
        let field = |f: &str, m: String| format!("{KIND} source settings: {f}: {m}");
        if s.repositories.is_empty() {
            return Err(field("repositories", "at least one repository is required".into()));
        }
        let mut repos = Vec::with_capacity(s.repositories.len());
        for (i, r) in s.repositories.iter().enumerate() {
            let spec = parse_repository(r).map_err(|m| field(&format!("repositories[{i}]"), m))?;
            if let Some(other) = repos.iter().position(|o: &RepoSpec| o.scope == spec.scope) {
                return Err(field(&format!("repositories[{i}]"), format!("{} is already listed as repositories[{other}]", spec.scope)));
            }
            repos.push(spec);
        }
        let mut catalog_files = Vec::with_capacity(s.catalog_files.len());
        for (i, g) in s.catalog_files.iter().enumerate() {
            let p = glob::Pattern::new(g).map_err(|e| field(&format!("catalogFiles[{i}]"), format!("invalid glob {g:?}: {e}")))?;
            catalog_files.push(p);
        }
        if s.max_file_bytes == 0 {
            return Err(field("maxFileBytes", "must be at least 1".into()));
        }
        let mut options = infer::InferOptions::default();
        if let Some(owner) = s.default_owner {
            options.default_owner = owner;
        }
        if let Some(lifecycle) = s.lifecycle {
            options.lifecycle = lifecycle;
        }
        for (i, g) in s.exclude.iter().enumerate() {
            let p = glob::Pattern::new(g).map_err(|e| field(&format!("exclude[{i}]"), format!("invalid glob {g:?}: {e}")))?;
            options.exclude.push(p);
        }
        Ok(Self { repos, catalog_files, infer: s.infer, options, max_file_bytes: s.max_file_bytes })
    }

    /// The scopes (normalized URLs or absolute paths) of the configured repositories.
    pub fn scopes(&self) -> Vec<String> {
        self.repos.iter().map(|r| r.scope.clone()).collect()
    }
}

/// A repository entry: a string (path or URL) or `{url | path, branch?, name?}`.
fn parse_repository(v: &Value) -> Result<RepoSpec, String> {
    match v {
        Value::String(s) => RepoSpec::parse(s, false, None, None),
        Value::Object(_) => {
            let r: RepositorySetting = serde_json::from_value(v.clone()).map_err(|e| e.to_string())?;
            let (target, is_path) = match (r.url, r.path) {
                (Some(u), None) => (u, false),
                (None, Some(p)) => (p, true),
                (Some(_), Some(_)) => return Err("give either `url` or `path`, not both".into()),
                (None, None) => return Err("missing `url` or `path`".into()),
            };
            if r.branch.as_deref().is_some_and(|b| b.trim().is_empty()) {
                return Err("`branch` is empty".into());
            }
            if let Some(ns) = r.namespace.as_deref().filter(|ns| !portico_model::naming::is_valid_namespace(ns)) {
                return Err(format!("`namespace` {ns:?} is not a valid namespace (lower case letters, digits and `-`, at most 63)"));
            }
            let mut spec = RepoSpec::parse(&target, is_path, r.branch, r.name)?;
            spec.namespace = r.namespace;
            Ok(spec)
        }
        other => Err(format!("expected a path, a URL or {{url | path, branch?, name?}}, got {other}")),
    }
}

#[async_trait::async_trait]
impl Provider for GitProvider {
    fn kind(&self) -> &'static str {
        KIND
    }

    async fn scan(&self, ctx: &ScanContext) -> Result<Scan, ProviderError> {
        let selected: Vec<RepoSpec> = match &ctx.only {
            Some(only) => self.repos.iter().filter(|r| r.matches(only)).cloned().collect(),
            None => self.repos.clone(),
        };
        let job = Job {
            catalog_files: self.catalog_files.clone(),
            infer: self.infer,
            options: self.options.clone(),
            max_file_bytes: self.max_file_bytes,
        };
        let mut state: Map<String, Value> = match &ctx.previous {
            Value::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let total = selected.len() as u64;
        let mut inferred: Map<String, Value> = state.get(INFERRED_STATE).and_then(Value::as_object).cloned().unwrap_or_default();
        // Repositories whose inferred names clash are read again each run, so the clash is
        // reported every run until it is resolved.
        let clashing: Vec<String> = clashes(&inferred).into_iter().flat_map(|(_, scopes)| scopes).collect();
        let mut scopes = Vec::with_capacity(selected.len());
        for (i, spec) in selected.into_iter().enumerate() {
            ctx.report(spec.scope.clone(), i as u64, Some(total));
            let previous = state.get(&spec.scope).and_then(Value::as_str).map(str::to_owned).filter(|_| !clashing.contains(&spec.scope));
            let (ctx2, job2, spec2) = (ctx.clone(), job.clone(), spec.clone());
            let handle = tokio::runtime::Handle::current();
            let (outcome, commit) = tokio::task::spawn_blocking(move || job2.scan_repo(&spec2, &ctx2, previous.as_deref(), &handle))
                .await
                .unwrap_or_else(|e| (failed(&spec.scope, format!("reading the repository panicked: {e}")), None));
            if let Some(commit) = commit {
                state.insert(spec.scope.clone(), Value::String(commit));
            }
            scopes.push(ScopeScan { scope: spec.scope, outcome });
        }
        ctx.report("done", total, Some(total));
        for s in &scopes {
            if let ScopeOutcome::Full { contributions, .. } = &s.outcome {
                let keys: Vec<String> = contributions.iter().filter(|c| c.evidence == Evidence::Inferred).filter_map(Contribution::key).collect();
                if keys.is_empty() {
                    inferred.remove(&s.scope);
                } else {
                    inferred.insert(s.scope.clone(), json!(keys));
                }
            }
        }
        let configured = self.scopes();
        if ctx.only.is_none() {
            // Repositories removed from the configuration are forgotten.
            state.retain(|k, _| configured.contains(k));
        }
        inferred.retain(|k, _| configured.contains(k));
        report_clashes(&inferred, &mut scopes);
        if inferred.is_empty() {
            state.remove(INFERRED_STATE);
        } else {
            state.insert(INFERRED_STATE.into(), Value::Object(inferred));
        }
        Ok(Scan { scopes, exhaustive: ctx.only.is_none(), state: Value::Object(state) })
    }
}

/// Key of the provider state remembering each repository's inferred entity keys.
const INFERRED_STATE: &str = "#inferred";

/// Inferred entity keys that several repositories give: key → the repositories, in order.
fn clashes(inferred: &Map<String, Value>) -> Vec<(String, Vec<String>)> {
    let mut by_key: std::collections::BTreeMap<&str, Vec<String>> = std::collections::BTreeMap::new();
    for (scope, keys) in inferred {
        for k in keys.as_array().into_iter().flatten().filter_map(Value::as_str) {
            by_key.entry(k).or_default().push(scope.clone());
        }
    }
    by_key.into_iter().filter(|(_, s)| s.len() > 1).map(|(k, s)| (k.to_owned(), s)).collect()
}

/// Reports, on each repository read this run, the inferred names another repository gives
/// too: they would be merged into one entity.
fn report_clashes(inferred: &Map<String, Value>, scopes: &mut [ScopeScan]) {
    for (key, owners) in clashes(inferred) {
        for s in scopes.iter_mut().filter(|s| owners.contains(&s.scope)) {
            if let ScopeOutcome::Full { errors, .. } = &mut s.outcome {
                let others: Vec<&str> = owners.iter().filter(|o| **o != s.scope).map(String::as_str).collect();
                errors.push(SourceError {
                    location: s.scope.clone(),
                    key: Some(key.clone()),
                    message: format!(
                        "{key} is inferred from this repository and from {}: both are merged into one entity; give one repository its own `namespace` (repositories[].namespace) to keep both",
                        others.join(", ")
                    ),
                });
            }
        }
    }
}

fn failed(scope: &str, message: String) -> ScopeOutcome {
    ScopeOutcome::Failed { error: SourceError { location: scope.to_owned(), key: None, message } }
}

/// What one run needs to read a repository, cheap to clone into a blocking task.
#[derive(Clone)]
struct Job {
    catalog_files: Vec<glob::Pattern>,
    infer: bool,
    options: infer::InferOptions,
    max_file_bytes: u64,
}

impl Job {
    /// Reads one repository. Returns the outcome and the commit to remember (`None` keeps the
    /// previous state: the repository failed, or a file could not be read and the next run
    /// should try again).
    fn scan_repo(&self, spec: &RepoSpec, ctx: &ScanContext, previous: Option<&str>, rt: &tokio::runtime::Handle) -> (ScopeOutcome, Option<String>) {
        let started = Instant::now();
        let opened = match repo::open(spec, ctx) {
            Ok(o) => o,
            Err(message) => return (failed(&spec.scope, message), None),
        };
        let (commit, branch) = match repo::resolve(&opened.repo, spec) {
            Ok(c) => c,
            Err(message) => return (failed(&spec.scope, format!("{}: {message}", spec.scope)), None),
        };
        let commit_hex = commit.to_string();
        if previous == Some(commit_hex.as_str()) {
            tracing::debug!(repo = %spec.scope, commit = %commit_hex, elapsed_ms = started.elapsed().as_millis() as u64, "git: unchanged");
            return (ScopeOutcome::Unchanged, Some(commit_hex));
        }
        let tree = match tree::TreeFiles::read(opened.repo, commit, self.max_file_bytes) {
            Ok(t) => t,
            Err(message) => return (failed(&spec.scope, format!("{}: {message}", spec.scope)), None),
        };
        let location = format!("{}@{commit_hex}", spec.scope);
        let reader = descriptors::Descriptors { tree: &tree, location: &location, base: &opened.base, reader: &ctx.reader, rt };
        let found = reader.read(&self.catalog_files);
        let mut contributions = found.contributions;
        let mut errors = found.errors;
        let facts = match tree.with_repo(|r| facts::facts(r, commit, branch.as_deref(), chrono::Utc::now().timestamp())) {
            Ok(f) => f,
            Err(message) => {
                errors.push(SourceError { location: location.clone(), key: None, message: format!("reading history: {message}") });
                Map::new()
            }
        };
        let declared_components: Vec<Value> = found
            .declared
            .iter()
            .filter(|d| d.kind.eq_ignore_ascii_case("component"))
            .map(|d| facts_document(d, &facts))
            .collect();
        contributions.extend(declared_components.into_iter().map(|doc| Contribution::new(Evidence::Observed, location.clone(), doc)));
        if self.infer {
            let info = infer::RepoInfo {
                name: spec.name.clone(),
                location: location.clone(),
                facts,
                declared: found.declared,
                source_base: Some(opened.base.dir("")),
            };
            let options = infer::InferOptions { namespace: spec.namespace.clone(), ..self.options.clone() };
            let inferred = infer::infer(&info, &tree, &options);
            contributions.extend(inferred.contributions);
            errors.extend(inferred.errors);
        }
        tracing::debug!(repo = %spec.scope, commit = %commit_hex, files = tree.paths().len(), contributions = contributions.len(),
            elapsed_ms = started.elapsed().as_millis() as u64, "git: read");
        let remember = found.complete.then_some(commit_hex);
        (ScopeOutcome::Full { contributions, errors, complete: found.complete }, remember)
    }
}

/// The observed contribution of a declared Component: its repository's facts only.
fn facts_document(d: &infer::Declared, facts: &Map<String, Value>) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), Value::String(d.name.clone()));
    if d.namespace != portico_model::DEFAULT_NAMESPACE {
        metadata.insert("namespace".into(), Value::String(d.namespace.clone()));
    }
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": d.kind, "metadata": metadata, "status": {"facts": facts}})
}

/// Infers the entities of a local repository (a work tree or a bare one) at `commit` (a full
/// id or a ref name; `None`: HEAD), without descriptors, history facts or a
/// store: what the accuracy benchmark scores. `name` is the repository's short name.
pub fn infer_commit(path: &std::path::Path, commit: Option<&str>, name: &str, options: &infer::InferOptions) -> Result<infer::Inference, String> {
    let scope = path.display().to_string();
    let repo = gix::open_opts(path, gix::open::Options::isolated())
        .map_err(|e| format!("{scope}: not a readable git repository: {}", portico_model::with_causes(&e)))?;
    let id = match commit {
        Some(c) => match gix::ObjectId::from_hex(c.as_bytes()) {
            Ok(id) => id,
            Err(_) => repo
                .find_reference(c)
                .map_err(|e| format!("{scope}: {c} is neither a full commit id nor a ref: {}", portico_model::with_causes(&e)))?
                .peel_to_commit()
                .map_err(|e| format!("{scope}: {c}: {}", portico_model::with_causes(&e)))?
                .id,
        },
        None => repo.head_id().map_err(|e| format!("{scope}: HEAD: {}", portico_model::with_causes(&e)))?.detach(),
    };
    let tree = tree::TreeFiles::read(repo, id, DEFAULT_MAX_FILE_BYTES)?;
    let info = infer::RepoInfo { name: name.to_owned(), location: format!("{scope}@{id}"), ..Default::default() };
    Ok(infer::infer(&info, &tree, options))
}
