//! The [`Action`] trait every step's action implements, what a step gives it ([`Context`]), and
//! the [`Registry`] of the actions this Portico has (their input schemas compiled once).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;

use crate::render::Renderer;
use crate::workspace::Workspace;

/// One action (`fetch:template`, `debug:log`, …): its input is the step's rendered `input`,
/// already checked against [`Action::input_schema`]; its output becomes `steps.<id>.output`.
#[async_trait::async_trait]
pub trait Action: Send + Sync {
    /// `namespace:verb`, as templates name it.
    fn id(&self) -> &'static str;
    /// One sentence for listings.
    fn description(&self) -> &'static str;
    /// The JSON Schema (draft 7) of its input.
    fn input_schema(&self) -> Value;
    /// A step that uses it, in YAML, for the reference and `portico action actions`.
    fn example(&self) -> &'static str;
    /// Whether a dry run executes it: true only for actions that change nothing outside the
    /// run's own workspace. The others are shown with their rendered input and not run.
    fn dry_run_safe(&self) -> bool {
        false
    }
    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError>;
    /// Undoes what a completed run of this action did outside the run's workspace, from its
    /// input and output (a rollback): what was undone, or `None` when there is nothing to undo
    /// (an action that only writes the workspace, which goes with the run).
    async fn undo(&self, _cx: &mut Context<'_>, _input: Value, _output: &Value) -> Result<Option<String>, ActionError> {
        Ok(None)
    }
}

/// What an action may use while it runs.
pub struct Context<'a> {
    /// The run's working directory: every path an action writes is inside it.
    pub workspace: &'a Workspace,
    /// The directory of the template's file, against which relative `url`s resolve.
    pub template_dir: Option<&'a Path>,
    /// For a template read from a URL: its folder's URL, against which relative `url`s resolve.
    pub template_url: Option<&'a str>,
    pub renderer: &'a Renderer,
    pub dry_run: bool,
    /// Where actions may reach outside the workspace.
    pub remotes: &'a Remotes,
    /// Who runs it: `{ref, entity, groups, …}`, as expressions see `user`.
    pub user: &'a Value,
    /// The approval this step asked for, as it stands (`approval:wait`): `None` until asked.
    pub approval: Option<&'a Value>,
    /// The catalog (`catalog:fetch`, `catalog:register`, `portico:entity:update`); `None` for a
    /// local run without a server.
    pub catalog: Option<&'a dyn crate::CatalogPort>,
    /// The run's secrets (`actions.secrets`), for actions that fall back to a well-known one
    /// (`GITHUB_TOKEN`, `GITLAB_TOKEN`) when a step gives no token, as Backstage's integrations do.
    pub secrets: &'a BTreeMap<String, String>,
    pub(crate) log: &'a mut (dyn FnMut(String) + Send),
}

/// The allow-list of what actions may reach: git remotes and HTTP hosts by host name (`host`
/// or `host:port`), local repositories (`file://`) by folder. Empty: nothing (tests and the
/// default).
#[derive(Clone, Debug, Default)]
pub struct Remotes {
    pub hosts: Vec<String>,
    pub roots: Vec<std::path::PathBuf>,
    /// Whether an allowed host may resolve to a private, loopback or link-local address
    /// (`http:request`); off by default, so a name on the list cannot be pointed inside.
    pub private_addresses: bool,
    /// The REST API of a git host by its name (`github.example.com` →
    /// `https://github.example.com/api/v3`), for hosts whose API is not where it usually is
    /// (`publish:github`, `publish:gitlab`, `github:actions:dispatch`).
    pub api_base_urls: BTreeMap<String, String>,
}

impl Remotes {
    /// Where the REST API of `host` is: configured, or GitHub's and GitLab's usual places
    /// (`api.github.com` for github.com, `/api/v3` for GitHub Enterprise Server, `/api/v4` for
    /// GitLab).
    pub fn api_base(&self, kind: &str, host: &str) -> String {
        if let Some(url) = self.api_base_urls.iter().find(|(h, _)| h.eq_ignore_ascii_case(host)).map(|(_, u)| u) {
            return url.trim_end_matches('/').to_owned();
        }
        match (kind, host) {
            ("github", "github.com") => "https://api.github.com".to_owned(),
            ("github", _) => format!("https://{host}/api/v3"),
            _ => format!("https://{host}/api/v4"),
        }
    }
}

impl Remotes {
    /// Whether `url` may be reached: its host (with port, when it has one) listed, or for a
    /// `file://` URL, its path inside a listed folder (after `..` is applied).
    pub fn check(&self, url: &str) -> Result<url::Url, String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("{url:?} is not a URL: {e}"))?;
        match parsed.scheme() {
            "file" => {
                let path = parsed.to_file_path().map_err(|_| format!("{url:?} is not a local path"))?;
                let normal: std::path::PathBuf = path.components().fold(std::path::PathBuf::new(), |mut p, c| {
                    match c {
                        std::path::Component::ParentDir => {
                            p.pop();
                        }
                        other => p.push(other),
                    }
                    p
                });
                if self.roots.iter().any(|r| normal.starts_with(r)) {
                    Ok(parsed)
                } else {
                    Err(format!("{url:?} is not inside a folder actions.remotes.roots allows ({})", if self.roots.is_empty() { "none is".to_owned() } else { self.roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ") }))
                }
            }
            "http" | "https" | "git" | "ssh" => {
                let host = parsed.host_str().unwrap_or("").to_ascii_lowercase();
                let with_port = parsed.port().map(|p| format!("{host}:{p}"));
                if self.hosts.iter().any(|h| h.eq_ignore_ascii_case(&host) || with_port.as_deref().is_some_and(|w| h.eq_ignore_ascii_case(w))) {
                    Ok(parsed)
                } else {
                    Err(format!("{host} is not a host actions.remotes.hosts allows"))
                }
            }
            other => Err(format!("{url:?}: the scheme {other} is not supported (file, http, https, git, ssh)")),
        }
    }
}

impl Context<'_> {
    /// Writes a line to the step's log (secrets are masked before it is shown or stored).
    pub fn log(&mut self, line: impl Into<String>) {
        (self.log)(line.into());
    }
}

/// Why an action failed; `field` names the input field at fault, when one is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionError {
    pub field: Option<String>,
    pub message: String,
    /// Not a failure: the step waits for an approval (what it asks: `approvers`, `count`,
    /// `message`, `timeoutSeconds`). The run is parked until it is decided, then the step runs
    /// again and finds it in [`Context::approval`].
    pub wait: Option<Value>,
}

impl std::fmt::Display for ActionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.field {
            Some(field) => write!(f, "input.{field}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for ActionError {}

impl ActionError {
    pub fn new(message: impl Into<String>) -> Self {
        Self { field: None, message: message.into(), wait: None }
    }

    /// The step waits for the approval `ask` describes.
    pub fn wait(message: impl Into<String>, ask: Value) -> Self {
        Self { field: None, message: message.into(), wait: Some(ask) }
    }

    /// A problem with one input field.
    pub fn input(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: Some(field.into()), message: message.into(), wait: None }
    }
}

struct Registered {
    action: Arc<dyn Action>,
    schema: jsonschema::Validator,
}

/// The actions this Portico has, by id.
#[derive(Clone, Default)]
pub struct Registry {
    actions: BTreeMap<&'static str, Arc<Registered>>,
}

impl Registry {
    /// Every built-in action.
    pub fn builtin() -> Self {
        let mut r = Self::default();
        for a in crate::builtin::all() {
            r.register(a);
        }
        r
    }

    /// Adds (or replaces) an action. Panics when its input schema does not compile: that is a
    /// bug in the action, found by the registry's test.
    pub fn register(&mut self, action: Arc<dyn Action>) {
        let schema = crate::params::compile(&action.input_schema()).unwrap_or_else(|e| panic!("{}: input schema: {e}", action.id()));
        self.actions.insert(action.id(), Arc::new(Registered { action, schema }));
    }

    pub fn get(&self, id: &str) -> Option<&Arc<dyn Action>> {
        self.actions.get(id).map(|r| &r.action)
    }

    pub fn contains(&self, id: &str) -> bool {
        self.actions.contains_key(id)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Arc<dyn Action>> {
        self.actions.values().map(|r| &r.action)
    }

    /// Checks a step's rendered input against its action's schema: every problem, by field.
    pub fn check_input(&self, id: &str, input: &Value) -> Result<(), Vec<ActionError>> {
        let Some(r) = self.actions.get(id) else { return Ok(()) };
        let errors: Vec<ActionError> = r
            .schema
            .iter_errors(input)
            .map(|e| {
                let at = portico_model::pointer_to_path(e.instance_path().as_str());
                ActionError { field: (!at.is_empty()).then_some(at), message: e.masked().to_string(), wait: None }
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors) }
    }
}

/// A string input field, or an error naming it.
pub fn str_input<'v>(input: &'v Value, field: &str) -> Result<&'v str, ActionError> {
    input.get(field).and_then(Value::as_str).ok_or_else(|| ActionError::input(field, "is required"))
}

/// A list of strings (absent: empty).
pub fn strings(input: &Value, field: &str) -> Vec<String> {
    input.get(field).and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect()).unwrap_or_default()
}
