//! Running a template's steps in order in a workspace: each step's `if`, `each` and `input`
//! rendered against `parameters`, earlier `steps.<id>.output`, `user`, `secrets` and `entity`;
//! the input checked against its action's schema; the action run with a timeout; its log and
//! output recorded; secrets masked in everything shown or kept.
//!
//! A dry run executes only the actions that change nothing outside the workspace
//! ([`Action::dry_run_safe`]) and shows the others with their rendered input; its report lists
//! the files a skeleton would produce.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use portico_model::FieldError;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::action::{ActionError, Context, Registry};
use crate::render::Renderer;
use crate::template::Template;
use crate::workspace::{FileEntry, Workspace};

/// How long one step may run before it fails.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(600);

/// What a run is asked to do.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// The form's values (defaults are filled in by [`Engine::prepare`]).
    pub parameters: Value,
    /// `user` in expressions: `{ "ref": "user:default/ana", "entity": {…} }`.
    pub user: Value,
    /// `entity` in expressions, for a template run on an entity (day-2 actions).
    pub entity: Option<Value>,
    /// `secrets` in expressions; masked as `***` in every log, input and output shown.
    pub secrets: BTreeMap<String, String>,
    pub dry_run: bool,
    /// Set to true to stop the run: the running step is abandoned, no other starts.
    pub cancel: Option<tokio::sync::watch::Receiver<bool>>,
    /// The whole run's deadline: each step's timeout is cut to what is left.
    pub deadline: Option<Instant>,
    /// The approvals asked by this run's steps, by step id, as they stand (`approval:wait`).
    pub approvals: BTreeMap<String, Value>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Completed,
    /// Not run: its `if` was false, or a dry run does not run its action.
    Skipped,
    Failed,
    /// Not reached: an earlier step failed, or the run has not got there yet.
    Pending,
    /// Started and not finished (seen in a stored run while it runs, or after its worker
    /// stopped).
    Running,
    /// Waiting for an approval: the run is parked until it is decided.
    Waiting,
}

impl StepStatus {
    /// As JSON writes it.
    pub fn name(self) -> &'static str {
        match self {
            StepStatus::Completed => "completed",
            StepStatus::Skipped => "skipped",
            StepStatus::Failed => "failed",
            StepStatus::Pending => "pending",
            StepStatus::Running => "running",
            StepStatus::Waiting => "waiting",
        }
    }
}

/// One step as it ran.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
pub struct StepReport {
    pub id: String,
    pub name: String,
    pub action: String,
    pub status: StepStatus,
    /// The rendered input (per iteration for `each`), secrets masked.
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub input: Value,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    pub output: Value,
    #[serde(default)]
    pub log: Vec<String>,
    #[serde(rename = "durationMs", default)]
    pub duration_ms: u64,
    /// Why it was skipped or failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    #[serde(rename = "template")]
    pub template: String,
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
    /// `completed`, `failed`, `cancelled`, or `waiting` (a step waits for an approval: its
    /// report's `output` is what it asks).
    pub status: &'static str,
    pub steps: Vec<StepReport>,
    /// The template's rendered `output` (`links`, `text`).
    pub output: Value,
    /// The workspace's files at the end (always for a dry run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileEntry>,
    /// What an automatic rollback undid (`spec.rollback: automatic`, after a failure).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rollback: Vec<UndoReport>,
}

/// What a rollback did about one completed step: `undone`, `nothing` (it changed nothing outside
/// the workspace), `failed` (with why) or `skipped`.
#[derive(Clone, Debug, Serialize, serde::Deserialize, PartialEq)]
pub struct UndoReport {
    pub step: String,
    pub status: String,
    pub message: String,
}

/// What a run tells the caller as it goes (a command line's live log, a server's event stream).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    StepStarted { step: String, name: String },
    Log { step: String, line: String },
    StepFinished { step: String, status: StepStatus, #[serde(rename = "durationMs")] duration_ms: u64, #[serde(skip_serializing_if = "Option::is_none")] reason: Option<String> },
}

/// Who follows a run: every event as it happens, and the steps' state at each step's start
/// and end (a worker stores it there, before the run goes on).
#[async_trait::async_trait]
pub trait Observer: Send {
    fn event(&mut self, event: &Event);
    async fn checkpoint(&mut self, _steps: &[StepReport]) {}
}

/// A closure that takes each event (a command line's live log, a test).
#[async_trait::async_trait]
impl<F: FnMut(Event) + Send> Observer for F {
    fn event(&mut self, event: &Event) {
        self(event.clone())
    }
}

/// Runs templates with a set of actions.
pub struct Engine {
    registry: Registry,
    renderer: Renderer,
    remotes: crate::action::Remotes,
    catalog: Option<std::sync::Arc<dyn crate::CatalogPort>>,
}

impl Engine {
    pub fn new(registry: Registry) -> Self {
        Self { registry, renderer: Renderer::new(), remotes: crate::action::Remotes::default(), catalog: None }
    }

    /// The engine with the catalog its actions read and write.
    pub fn with_catalog(mut self, catalog: std::sync::Arc<dyn crate::CatalogPort>) -> Self {
        self.catalog = Some(catalog);
        self
    }

    /// The engine with what its actions may reach outside the workspace.
    pub fn with_remotes(mut self, remotes: crate::action::Remotes) -> Self {
        self.remotes = remotes;
        self
    }

    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    pub fn renderer(&self) -> &Renderer {
        &self.renderer
    }

    /// Checks a run before it starts: the parameters against the form's schema (defaults
    /// filled in, the result returned) and, unless it is a dry run, that every action exists.
    pub fn prepare(&self, template: &Template, parameters: &Value, dry_run: bool) -> Result<Value, Vec<FieldError>> {
        let parameters = crate::params::with_defaults(&template.pages, parameters);
        let mut errors = crate::params::validate(&template.pages, &parameters).err().unwrap_or_default();
        if !dry_run {
            errors.extend(template.unknown_actions(|a| self.registry.contains(a)));
        }
        if errors.is_empty() { Ok(parameters) } else { Err(errors) }
    }

    /// Runs `template`'s steps in `workspace`. Call [`Engine::prepare`] first: this does not
    /// check the parameters again.
    pub async fn run(&self, template: &Template, request: &Request, workspace: &Workspace, observer: &mut dyn Observer) -> Report {
        self.resume(template, request, workspace, &[], false, observer).await
    }

    /// Runs `template`'s steps, taking up after `prior` (the steps' reports a stopped worker
    /// saved): a finished step is not run again, its output is reused, except that with
    /// `replay_workspace` (the workspace was lost with the worker) the steps that only write the
    /// workspace are run again to rebuild it. A step that was running when the worker stopped
    /// is run again if its action only writes the workspace; otherwise the run fails, saying
    /// so: an action with effects elsewhere is never run twice.
    pub async fn resume(&self, template: &Template, request: &Request, workspace: &Workspace, prior: &[StepReport], replay_workspace: bool, observer: &mut dyn Observer) -> Report {
        let mask = Mask::new(&request.secrets);
        let mut context = base_context(request);
        let template_dir = template.base_dir();
        let mut steps: Vec<StepReport> = template
            .steps
            .iter()
            .map(|s| StepReport { id: s.id.clone(), name: s.name.clone(), action: s.action.clone(), status: StepStatus::Pending, input: Value::Null, output: Value::Null, log: Vec::new(), duration_ms: 0, reason: None })
            .collect();
        let mut status = "completed";
        for (i, step) in template.steps.iter().enumerate() {
            let earlier = prior.get(i).filter(|p| p.id == step.id);
            let workspace_only = self.registry.get(&step.action).is_some_and(|a| a.dry_run_safe());
            match earlier.map(|p| p.status) {
                Some(StepStatus::Completed | StepStatus::Skipped) if !(replay_workspace && workspace_only && earlier.is_some_and(|p| p.status == StepStatus::Completed)) => {
                    let p = earlier.expect("matched");
                    context["steps"][&step.id] = json!({ "output": if p.status == StepStatus::Completed { p.output.clone() } else { json!({}) } });
                    steps[i] = p.clone();
                    continue;
                }
                Some(StepStatus::Running) if !workspace_only => {
                    let reason = format!("{} was running when its worker stopped; {} has effects outside the run's workspace, so it is not run a second time. Check what it did, then run the template again.", step.id, step.action);
                    steps[i].status = StepStatus::Failed;
                    steps[i].reason = Some(reason.clone());
                    observer.event(&Event::StepFinished { step: step.id.clone(), status: StepStatus::Failed, duration_ms: 0, reason: Some(reason) });
                    observer.checkpoint(&steps).await;
                    status = "failed";
                    break;
                }
                _ => {}
            }
            if request.cancel.as_ref().is_some_and(|c| *c.borrow()) {
                status = "cancelled";
                break;
            }
            let started = Instant::now();
            steps[i].status = StepStatus::Running;
            observer.event(&Event::StepStarted { step: step.id.clone(), name: step.name.clone() });
            observer.checkpoint(&steps).await;
            let path = format!("spec.steps[{i}]");
            let outcome = self.step(template, i, request, &mut context, template_dir.as_deref(), workspace, &mask, &path, observer).await;
            let report = &mut steps[i];
            report.duration_ms = started.elapsed().as_millis() as u64;
            match outcome {
                StepOutcome::Done { input, output, log } => {
                    report.status = StepStatus::Completed;
                    report.input = mask.value(input);
                    report.output = mask.value(output.clone());
                    report.log = log;
                    context["steps"][&step.id] = json!({ "output": output });
                }
                StepOutcome::Skipped { input, reason } => {
                    report.status = StepStatus::Skipped;
                    report.input = mask.value(input);
                    report.reason = Some(mask.text(&reason));
                    context["steps"][&step.id] = json!({ "output": {} });
                }
                StepOutcome::Waiting { input, ask, reason, log } => {
                    report.status = StepStatus::Waiting;
                    report.input = mask.value(input);
                    report.output = ask;
                    report.reason = Some(mask.text(&reason));
                    report.log = log;
                    status = "waiting";
                }
                StepOutcome::Failed { input, reason, log, cancelled } => {
                    report.status = StepStatus::Failed;
                    report.input = mask.value(input);
                    report.reason = Some(mask.text(&reason));
                    report.log = log;
                    status = if cancelled { "cancelled" } else { "failed" };
                }
            }
            observer.event(&Event::StepFinished { step: step.id.clone(), status: report.status, duration_ms: report.duration_ms, reason: report.reason.clone() });
            observer.checkpoint(&steps).await;
            if status != "completed" {
                break;
            }
        }
        let jv = crate::render::context(&context);
        let output = match self.renderer.render_value(&template.output, &jv, "spec.output") {
            Ok(v) => mask.value(v.unwrap_or(Value::Null)),
            Err((path, e)) => json!({ "error": format!("{path}: {e}") }),
        };
        let files = if request.dry_run { workspace.files().unwrap_or_default() } else { Vec::new() };
        let rollback = if !matches!(status, "completed" | "waiting") && template.rollback_automatic && !request.dry_run { self.rollback(template, request, workspace, &steps, observer).await } else { Vec::new() };
        Report { template: template.key.clone(), dry_run: request.dry_run, status, steps, output, files, rollback }
    }

    /// Undoes the completed steps of a run, last first: each step's `undo` when it has one,
    /// else its action's own undo (deleting a pushed branch), from the step's input rendered
    /// again and its stored output. Steps that failed or were skipped are not undone; every
    /// completed step gets a line saying what was and was not undone.
    pub async fn rollback(&self, template: &Template, request: &Request, workspace: &Workspace, steps: &[StepReport], observer: &mut dyn Observer) -> Vec<UndoReport> {
        let mask = Mask::new(&request.secrets);
        let mut context = base_context(request);
        for s in steps.iter().filter(|s| s.status == StepStatus::Completed) {
            context["steps"][&s.id] = json!({ "output": s.output });
        }
        let template_dir = template.base_dir();
        let template_url = template.base_url();
        let mut out = Vec::new();
        let report = |step: &str, status: &str, message: String| UndoReport { step: step.to_owned(), status: status.to_owned(), message: mask.text(&message) };
        for (i, step) in template.steps.iter().enumerate().rev() {
            let Some(done) = steps.get(i).filter(|r| r.id == step.id && r.status == StepStatus::Completed) else { continue };
            if step.each.is_some() && step.undo.is_none() {
                out.push(report(&step.id, "skipped", "a step with `each` is undone only by an `undo` of its own".into()));
                continue;
            }
            let mut cx_value = context.clone();
            cx_value["step"] = json!({ "input": done.input, "output": done.output });
            let jv = crate::render::context(&cx_value);
            let (action_id, source, at) = match &step.undo {
                Some(u) => (u.action.as_str(), &u.input, format!("spec.steps[{i}].undo.input")),
                None => (step.action.as_str(), &step.input, format!("spec.steps[{i}].input")),
            };
            let input = match self.renderer.render_value(source, &jv, &at) {
                Ok(v) => v.unwrap_or_else(|| json!({})),
                Err((at, e)) => {
                    out.push(report(&step.id, "failed", format!("{at}: {e}")));
                    continue;
                }
            };
            let Some(action) = self.registry.get(action_id) else {
                out.push(report(&step.id, "failed", format!("this Portico has no action {action_id:?}")));
                continue;
            };
            let step_id = step.id.clone();
            let mut sink = |line: String| observer.event(&Event::Log { step: step_id.clone(), line: mask.text(&format!("↶ {line}")) });
            let mut cx = Context { workspace, template_dir: template_dir.as_deref(), template_url: template_url.as_deref(), renderer: &self.renderer, dry_run: false, remotes: &self.remotes, user: &request.user, approval: None, catalog: self.catalog.as_deref(), secrets: &request.secrets, log: &mut sink };
            let result = match &step.undo {
                Some(_) => action.run(&mut cx, input).await.map(|_| Some(format!("ran its undo ({action_id})"))),
                None => action.undo(&mut cx, input, &done.output).await,
            };
            out.push(match result {
                Ok(Some(what)) => report(&step.id, "undone", what),
                Ok(None) => report(&step.id, "nothing", "changed nothing outside the run's workspace".into()),
                Err(e) => report(&step.id, "failed", e.to_string()),
            });
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    async fn step(&self, template: &Template, index: usize, request: &Request, context: &mut Value, template_dir: Option<&std::path::Path>, workspace: &Workspace, mask: &Mask, path: &str, observer: &mut dyn Observer) -> StepOutcome {
        let step = &template.steps[index];
        let jv = crate::render::context(context);
        if let Some(condition) = &step.condition {
            match self.renderer.render_value(condition, &jv, &format!("{path}.if")) {
                Ok(v) if !truthy(v.as_ref()) => return StepOutcome::Skipped { input: Value::Null, reason: "its `if` is false".into() },
                Ok(_) => {}
                Err((at, e)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{at}: {e}"), log: Vec::new(), cancelled: false },
            }
        }
        let iterations: Vec<Option<(Value, Value)>> = match &step.each {
            None => vec![None],
            Some(each) => match self.renderer.render_value(each, &jv, &format!("{path}.each")) {
                Ok(Some(Value::Array(items))) => items.into_iter().enumerate().map(|(k, v)| Some((json!(k), v))).collect(),
                Ok(Some(Value::Object(map))) => map.into_iter().map(|(k, v)| Some((json!(k), v))).collect(),
                Ok(None) => Vec::new(),
                Ok(Some(other)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{path}.each: renders to {other}, not a list or an object"), log: Vec::new(), cancelled: false },
                Err((at, e)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{at}: {e}"), log: Vec::new(), cancelled: false },
            },
        };
        let mut inputs = Vec::new();
        let mut outputs = Map::new();
        let mut log = Vec::new();
        let single = step.each.is_none();
        for iteration in iterations {
            let mut cx_value = context.clone();
            if let Some((key, value)) = &iteration {
                cx_value["each"] = json!({ "key": key, "value": value });
            }
            let jv = if iteration.is_some() { crate::render::context(&cx_value) } else { jv.clone() };
            let input = match self.renderer.render_value(&step.input, &jv, &format!("{path}.input")) {
                Ok(v) => v.unwrap_or_else(|| json!({})),
                Err((at, e)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{at}: {e}"), log, cancelled: false },
            };
            inputs.push(input.clone());
            let Some(action) = self.registry.get(&step.action) else {
                let reason = format!("this Portico has no action {:?}", step.action);
                return if request.dry_run { StepOutcome::Skipped { input: collect(inputs, single), reason } } else { StepOutcome::Failed { input: collect(inputs, single), reason, log, cancelled: false } };
            };
            if let Err(errors) = self.registry.check_input(&step.action, &input) {
                let text: Vec<String> = errors.iter().map(|e| format!("{path}.input{}: {}", e.field.as_deref().map(|f| format!(".{f}")).unwrap_or_default(), e.message)).collect();
                return StepOutcome::Failed { input: collect(inputs, single), reason: text.join("; "), log, cancelled: false };
            }
            if request.dry_run && !action.dry_run_safe() {
                return StepOutcome::Skipped { input: collect(inputs, single), reason: format!("a dry run does not run {}: it changes things outside the run's workspace", step.action) };
            }
            let step_id = step.id.clone();
            let mut lines = Vec::new();
            let result = {
                let mut sink = |line: String| {
                    let line = mask.text(&line);
                    observer.event(&Event::Log { step: step_id.clone(), line: line.clone() });
                    lines.push(line);
                };
                let template_url = template.base_url();
                let mut cx = Context { workspace, template_dir, template_url: template_url.as_deref(), renderer: &self.renderer, dry_run: request.dry_run, remotes: &self.remotes, user: &request.user, approval: request.approvals.get(&step.id), catalog: self.catalog.as_deref(), secrets: &request.secrets, log: &mut sink };
                let limit = request.deadline.map_or(STEP_TIMEOUT, |d| d.saturating_duration_since(Instant::now()).min(STEP_TIMEOUT));
                let mut cancel = request.cancel.clone();
                tokio::select! {
                    r = tokio::time::timeout(limit, action.run(&mut cx, input)) => r.map_err(|_| limit),
                    _ = cancelled(&mut cancel) => Ok(Err(ActionError::new(CANCELLED))),
                }
            };
            log.extend(lines);
            match result {
                Ok(Ok(out)) => {
                    for (k, v) in out.as_object().cloned().unwrap_or_default() {
                        if single {
                            outputs.insert(k, v);
                        } else if let Some(Value::Array(list)) = outputs.get_mut(&k) {
                            list.push(v);
                        } else {
                            outputs.insert(k, Value::Array(vec![v]));
                        }
                    }
                }
                Ok(Err(e)) if e.message == CANCELLED && e.field.is_none() => return StepOutcome::Failed { input: collect(inputs, single), reason: CANCELLED.into(), log, cancelled: true },
                Ok(Err(ActionError { wait: Some(ask), message, .. })) if single && !ask.is_null() => return StepOutcome::Waiting { input: collect(inputs, single), ask, reason: message, log },
                Ok(Err(e)) => {
                    let at = if e.field.is_some() { format!("{path}.") } else { String::new() };
                    return StepOutcome::Failed { input: collect(inputs, single), reason: format!("{at}{e}"), log, cancelled: false };
                }
                Err(limit) => return StepOutcome::Failed { input: collect(inputs, single), reason: format!("timed out after {} s", limit.as_secs()), log, cancelled: false },
            }
        }
        StepOutcome::Done { input: collect(inputs, single), output: Value::Object(outputs), log }
    }
}

/// What every expression of a run sees before any step: `parameters`, `user`, `secrets`,
/// `entity`, and `steps` to fill.
fn base_context(request: &Request) -> Value {
    json!({
        "parameters": request.parameters,
        "steps": {},
        "user": request.user,
        "secrets": request.secrets,
        "entity": request.entity.clone().unwrap_or(Value::Null),
    })
}

enum StepOutcome {
    Done { input: Value, output: Value, log: Vec<String> },
    Skipped { input: Value, reason: String },
    Failed { input: Value, reason: String, log: Vec<String>, cancelled: bool },
    /// Parked until an approval is decided (`ask` says what is asked).
    Waiting { input: Value, ask: Value, reason: String, log: Vec<String> },
}

const CANCELLED: &str = "cancelled";

/// Resolves when the run is asked to stop (never, without a cancel signal).
async fn cancelled(cancel: &mut Option<tokio::sync::watch::Receiver<bool>>) {
    match cancel {
        Some(rx) => {
            let _ = rx.wait_for(|c| *c).await;
        }
        None => std::future::pending().await,
    }
}

fn collect(mut inputs: Vec<Value>, single: bool) -> Value {
    if single { inputs.pop().unwrap_or(Value::Null) } else { Value::Array(inputs) }
}

/// JavaScript's truthiness, with an empty list false (as Backstage's `isTruthy`).
fn truthy(v: Option<&Value>) -> bool {
    match v {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(Value::String(s)) => !s.is_empty(),
        Some(Value::Array(a)) => !a.is_empty(),
        Some(Value::Object(_)) => true,
    }
}

/// Replaces every secret's value with `***`.
struct Mask {
    secrets: Vec<String>,
}

impl Mask {
    fn new(secrets: &BTreeMap<String, String>) -> Self {
        // Longest first, so a secret containing another is masked whole; very short values
        // would mask ordinary text and are not secrets worth the name.
        let mut secrets: Vec<String> = secrets.values().filter(|s| s.len() >= 4).cloned().collect();
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        Self { secrets }
    }

    fn text(&self, s: &str) -> String {
        let mut out = s.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
            }
        }
        out
    }

    fn value(&self, v: Value) -> Value {
        if self.secrets.is_empty() {
            return v;
        }
        match v {
            Value::String(s) => Value::String(self.text(&s)),
            Value::Array(a) => Value::Array(a.into_iter().map(|x| self.value(x)).collect()),
            Value::Object(m) => Value::Object(m.into_iter().map(|(k, x)| (k, self.value(x))).collect()),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests;
