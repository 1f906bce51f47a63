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

use crate::action::{Context, Registry};
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
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StepStatus {
    Completed,
    /// Not run: its `if` was false, or a dry run does not run its action.
    Skipped,
    Failed,
    /// Not reached: an earlier step failed.
    Pending,
}

/// One step as it ran.
#[derive(Clone, Debug, Serialize)]
pub struct StepReport {
    pub id: String,
    pub name: String,
    pub action: String,
    pub status: StepStatus,
    /// The rendered input (per iteration for `each`), secrets masked.
    #[serde(skip_serializing_if = "Value::is_null")]
    pub input: Value,
    #[serde(skip_serializing_if = "Value::is_null")]
    pub output: Value,
    pub log: Vec<String>,
    #[serde(rename = "durationMs")]
    pub duration_ms: u64,
    /// Why it was skipped or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A whole run.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    #[serde(rename = "template")]
    pub template: String,
    #[serde(rename = "dryRun")]
    pub dry_run: bool,
    /// `completed` or `failed`.
    pub status: &'static str,
    pub steps: Vec<StepReport>,
    /// The template's rendered `output` (`links`, `text`).
    pub output: Value,
    /// The workspace's files at the end (always for a dry run).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub files: Vec<FileEntry>,
}

/// What a run tells the caller as it goes (a command line's live log, a server's event stream).
#[derive(Clone, Debug, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Event {
    StepStarted { step: String, name: String },
    Log { step: String, line: String },
    StepFinished { step: String, status: StepStatus, #[serde(rename = "durationMs")] duration_ms: u64, #[serde(skip_serializing_if = "Option::is_none")] reason: Option<String> },
}

/// Runs templates with a set of actions.
pub struct Engine {
    registry: Registry,
    renderer: Renderer,
}

impl Engine {
    pub fn new(registry: Registry) -> Self {
        Self { registry, renderer: Renderer::new() }
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
    pub async fn run(&self, template: &Template, request: &Request, workspace: &Workspace, on_event: &mut (dyn FnMut(Event) + Send)) -> Report {
        let mask = Mask::new(&request.secrets);
        let mut context = json!({
            "parameters": request.parameters,
            "steps": {},
            "user": request.user,
            "secrets": request.secrets,
            "entity": request.entity.clone().unwrap_or(Value::Null),
        });
        let template_dir = template.base_dir();
        let mut steps: Vec<StepReport> = template
            .steps
            .iter()
            .map(|s| StepReport { id: s.id.clone(), name: s.name.clone(), action: s.action.clone(), status: StepStatus::Pending, input: Value::Null, output: Value::Null, log: Vec::new(), duration_ms: 0, reason: None })
            .collect();
        let mut failed = false;
        for (i, step) in template.steps.iter().enumerate() {
            let started = Instant::now();
            on_event(Event::StepStarted { step: step.id.clone(), name: step.name.clone() });
            let path = format!("spec.steps[{i}]");
            let outcome = self.step(template, i, request, &mut context, template_dir.as_deref(), workspace, &mask, &path, on_event).await;
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
                StepOutcome::Failed { input, reason, log } => {
                    report.status = StepStatus::Failed;
                    report.input = mask.value(input);
                    report.reason = Some(mask.text(&reason));
                    report.log = log;
                    failed = true;
                }
            }
            on_event(Event::StepFinished { step: step.id.clone(), status: report.status, duration_ms: report.duration_ms, reason: report.reason.clone() });
            if failed {
                break;
            }
        }
        let jv = crate::render::context(&context);
        let output = match self.renderer.render_value(&template.output, &jv, "spec.output") {
            Ok(v) => mask.value(v.unwrap_or(Value::Null)),
            Err((path, e)) => json!({ "error": format!("{path}: {e}") }),
        };
        let files = if request.dry_run { workspace.files().unwrap_or_default() } else { Vec::new() };
        Report { template: template.key.clone(), dry_run: request.dry_run, status: if failed { "failed" } else { "completed" }, steps, output, files }
    }

    #[allow(clippy::too_many_arguments)]
    async fn step(&self, template: &Template, index: usize, request: &Request, context: &mut Value, template_dir: Option<&std::path::Path>, workspace: &Workspace, mask: &Mask, path: &str, on_event: &mut (dyn FnMut(Event) + Send)) -> StepOutcome {
        let step = &template.steps[index];
        let jv = crate::render::context(context);
        if let Some(condition) = &step.condition {
            match self.renderer.render_value(condition, &jv, &format!("{path}.if")) {
                Ok(v) if !truthy(v.as_ref()) => return StepOutcome::Skipped { input: Value::Null, reason: "its `if` is false".into() },
                Ok(_) => {}
                Err((at, e)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{at}: {e}"), log: Vec::new() },
            }
        }
        let iterations: Vec<Option<(Value, Value)>> = match &step.each {
            None => vec![None],
            Some(each) => match self.renderer.render_value(each, &jv, &format!("{path}.each")) {
                Ok(Some(Value::Array(items))) => items.into_iter().enumerate().map(|(k, v)| Some((json!(k), v))).collect(),
                Ok(Some(Value::Object(map))) => map.into_iter().map(|(k, v)| Some((json!(k), v))).collect(),
                Ok(None) => Vec::new(),
                Ok(Some(other)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{path}.each: renders to {other}, not a list or an object"), log: Vec::new() },
                Err((at, e)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{at}: {e}"), log: Vec::new() },
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
                Err((at, e)) => return StepOutcome::Failed { input: Value::Null, reason: format!("{at}: {e}"), log },
            };
            inputs.push(input.clone());
            let Some(action) = self.registry.get(&step.action) else {
                let reason = format!("this Portico has no action {:?}", step.action);
                return if request.dry_run { StepOutcome::Skipped { input: collect(inputs, single), reason } } else { StepOutcome::Failed { input: collect(inputs, single), reason, log } };
            };
            if let Err(errors) = self.registry.check_input(&step.action, &input) {
                let text: Vec<String> = errors.iter().map(|e| format!("{path}.input{}: {}", e.field.as_deref().map(|f| format!(".{f}")).unwrap_or_default(), e.message)).collect();
                return StepOutcome::Failed { input: collect(inputs, single), reason: text.join("; "), log };
            }
            if request.dry_run && !action.dry_run_safe() {
                return StepOutcome::Skipped { input: collect(inputs, single), reason: format!("a dry run does not run {}: it changes things outside the run's workspace", step.action) };
            }
            let step_id = step.id.clone();
            let mut lines = Vec::new();
            let result = {
                let mut sink = |line: String| {
                    let line = mask.text(&line);
                    on_event(Event::Log { step: step_id.clone(), line: line.clone() });
                    lines.push(line);
                };
                let mut cx = Context { workspace, template_dir, renderer: &self.renderer, dry_run: request.dry_run, log: &mut sink };
                tokio::time::timeout(STEP_TIMEOUT, action.run(&mut cx, input)).await
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
                Ok(Err(e)) => {
                    let at = if e.field.is_some() { format!("{path}.") } else { String::new() };
                    return StepOutcome::Failed { input: collect(inputs, single), reason: format!("{at}{e}"), log };
                }
                Err(_) => return StepOutcome::Failed { input: collect(inputs, single), reason: format!("timed out after {} s", STEP_TIMEOUT.as_secs()), log },
            }
        }
        StepOutcome::Done { input: collect(inputs, single), output: Value::Object(outputs), log }
    }
}

enum StepOutcome {
    Done { input: Value, output: Value, log: Vec<String> },
    Skipped { input: Value, reason: String },
    Failed { input: Value, reason: String, log: Vec<String> },
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
