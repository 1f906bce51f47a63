//! The `scaffolder.backstage.io/v1beta3` `Template` kind, read from a catalog entity:
//! parameter pages (JSON Schema, one object or a list of pages), steps (`id`, `name`, `action`,
//! `input`, `if`, `each`), `output` (`links`, `text`), `spec.owner`, `spec.type`.
//!
//! [`check_entity`] runs in every validator: a `${{ }}` that does not parse, a step id used
//! twice, a parameter page that is not a JSON Schema are errors at their field when the file is
//! read. An action Portico does not have is not an error there (the catalog keeps the template,
//! as Backstage does), but every listing and the run endpoint report it
//! ([`Template::unknown_actions`]), and a run refuses to start.

use std::path::PathBuf;

use portico_model::{Entity, FieldError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::render::{Renderer, join};

/// One page of the parameter form: a JSON Schema object with a title.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Page {
    pub title: Option<String>,
    pub description: Option<String>,
    pub schema: Value,
}

/// One step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Step {
    pub id: String,
    pub name: String,
    pub action: String,
    pub input: Value,
    /// `if`: the step runs only when this renders to a true value.
    #[serde(rename = "if", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
    /// `each`: the step runs once per item (or per key of an object), with `each.key` and
    /// `each.value` in its context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub each: Option<Value>,
    /// `undo`: the step a rollback runs instead of the action's own undo (`{action, input}`;
    /// its input sees `step.input` and `step.output` besides the usual context).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub undo: Option<UndoStep>,
}

/// An explicit undo of a step.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct UndoStep {
    pub action: String,
    #[serde(default)]
    pub input: Value,
}

/// A template, ready to render and run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Template {
    /// `template:namespace/name`.
    #[serde(rename = "ref")]
    pub key: String,
    pub namespace: String,
    pub name: String,
    pub title: String,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub owner: Option<String>,
    #[serde(rename = "type")]
    pub template_type: Option<String>,
    pub pages: Vec<Page>,
    pub steps: Vec<Step>,
    pub output: Value,
    /// Where the template was read from (`backstage.io/managed-by-location`): relative `url`s
    /// of `fetch:*` steps resolve against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `automatic`: a failed or cancelled run undoes its completed steps at once; `manual`
    /// (the default): on request (`spec.rollback`, Portico's own field).
    #[serde(default, skip_serializing_if = "is_false")]
    pub rollback_automatic: bool,
    /// Guardrails checked before every run (`spec.policies`, Portico's own field).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub policies: Vec<crate::policy::PolicySpec>,
    /// A day-2 template's entities (`spec.target`, Portico's own field): it is offered on their
    /// pages and runs with `entity` in its context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
}

/// Which entities a day-2 template runs on: of `kind` (any case), for which `filter` (an
/// expression of the one language) holds.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Target {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
}

fn target_limits() -> portico_expr::Limits {
    portico_expr::Limits { timeout: std::time::Duration::from_millis(200), ..portico_expr::Limits::default() }
}

fn target(value: Option<&Value>, errors: &mut Vec<FieldError>) -> Option<Target> {
    let value = value.filter(|v| !v.is_null())?;
    let t: Target = match serde_json::from_value(value.clone()) {
        Ok(t) => t,
        Err(e) => {
            errors.push(FieldError::new("spec.target", format!("`{{kind, filter}}`: {e}")));
            return None;
        }
    };
    if let Some(f) = &t.filter
        && let Err(e) = portico_expr::on_big_stack(|| portico_expr::Expr::compile(f, &portico_expr::Vocabulary::entity(), &target_limits()).map(drop))
    {
        errors.push(FieldError::new("spec.target.filter", e.to_string()));
    }
    Some(t)
}

impl Template {
    /// Whether this day-2 template runs on the entity `key`: its kind, then its filter, on the
    /// read model. A template without a target runs on none.
    pub fn applies_to(&self, graph: &portico_graph::eval::SharedGraph, key: &str) -> bool {
        let Some(t) = &self.target else { return false };
        let (id, kind_ok) = {
            let g = graph.read();
            let Some(id) = g.id_of(key) else { return false };
            let kind = g.entry(id).map(|e| e.entity.kind.clone()).unwrap_or_default();
            (id, t.kind.as_deref().is_none_or(|k| k.eq_ignore_ascii_case(&kind)))
        };
        let Some(filter) = t.filter.as_deref().filter(|_| kind_ok) else { return kind_ok };
        portico_expr::on_big_stack(|| {
            let limits = target_limits();
            let Ok(expr) = portico_expr::Expr::compile(filter, &portico_expr::Vocabulary::entity(), &limits) else { return false };
            let now = chrono::Utc::now().fixed_offset();
            matches!(portico_graph::eval::evaluate(graph, &[&expr], &[id], now, &limits).as_deref(), Ok([row]) if matches!(row.as_slice(), [Ok(portico_expr::cel::Value::Bool(true))]))
        })
    }
}

impl Template {
    /// Reads a Template entity; every problem at its field.
    pub fn from_entity(entity: &Entity) -> Result<Template, Vec<FieldError>> {
        let mut errors = Vec::new();
        let empty = serde_json::Map::new();
        let spec = entity.spec.as_ref().unwrap_or(&empty);
        let pages = match spec.get("parameters") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(pages)) => pages.iter().enumerate().filter_map(|(i, p)| page(p, &format!("spec.parameters[{i}]"), &mut errors)).collect(),
            Some(p) => page(p, "spec.parameters", &mut errors).into_iter().collect(),
        };
        let mut steps = Vec::new();
        match spec.get("steps") {
            None | Some(Value::Null) => {}
            Some(Value::Array(list)) => {
                for (i, s) in list.iter().enumerate() {
                    if let Some(step) = step(s, i, &mut errors) {
                        if steps.iter().any(|o: &Step| o.id == step.id) {
                            errors.push(FieldError::new(format!("spec.steps[{i}].id"), format!("step id {:?} is used by an earlier step; ids must be unique, as `steps.<id>.output` names one step", step.id)));
                        }
                        steps.push(step);
                    }
                }
            }
            Some(_) => errors.push(FieldError::new("spec.steps", "must be a list of steps")),
        }
        let str_field = |k: &str| spec.get(k).and_then(Value::as_str).map(str::to_owned);
        let policies = crate::policy::parse(spec.get("policies")).unwrap_or_else(|e| {
            errors.extend(e);
            Vec::new()
        });
        let target = target(spec.get("target"), &mut errors);
        let rollback_automatic = match spec.get("rollback") {
            None | Some(Value::Null) => false,
            Some(Value::String(m)) if m == "automatic" => true,
            Some(Value::String(m)) if m == "manual" => false,
            Some(other) => {
                errors.push(FieldError::new("spec.rollback", format!("{other} is not `automatic` or `manual`")));
                false
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Template {
            key: format!("template:{}/{}", entity.metadata.namespace, entity.metadata.name).to_ascii_lowercase(),
            namespace: entity.metadata.namespace.clone(),
            name: entity.metadata.name.clone(),
            title: entity.metadata.title.clone().unwrap_or_else(|| entity.metadata.name.clone()),
            description: entity.metadata.description.clone(),
            tags: entity.metadata.tags.clone(),
            owner: str_field("owner"),
            template_type: str_field("type"),
            pages,
            steps,
            output: spec.get("output").cloned().unwrap_or(Value::Null),
            location: entity.annotation(portico_model::ANNOTATION_LOCATION).map(str::to_owned),
            policies,
            target,
            rollback_automatic,
        })
    }

    /// The steps whose action is not in `known`, as errors at their field.
    pub fn unknown_actions(&self, known: impl Fn(&str) -> bool) -> Vec<FieldError> {
        let mut out = Vec::new();
        for (i, s) in self.steps.iter().enumerate() {
            if !known(&s.action) {
                out.push(FieldError::new(format!("spec.steps[{i}].action"), format!("step {:?} uses the action {:?}, which this Portico does not have (`portico action actions` lists those it has)", s.id, s.action)));
            }
            if let Some(u) = s.undo.as_ref().filter(|u| !known(&u.action)) {
                out.push(FieldError::new(format!("spec.steps[{i}].undo.action"), format!("step {:?} undoes with the action {:?}, which this Portico does not have", s.id, u.action)));
            }
        }
        out
    }

    /// The directory relative skeleton `url`s resolve against: the template file's, for
    /// templates read from files.
    /// The folder of a template read from a URL location, as a folder URL of its repository
    /// (`url:https://github.com/acme/t/blob/main/python/template.yaml` →
    /// `https://github.com/acme/t/tree/main/python`): relative `url`s of its `fetch:*` steps are
    /// fetched from there, as Backstage does.
    pub fn base_url(&self) -> Option<String> {
        let location = self.location.as_deref()?.strip_prefix("url:")?;
        let folder = location.rsplit_once('/')?.0;
        Some(folder.replacen("/blob/", "/tree/", 1))
    }

    pub fn base_dir(&self) -> Option<PathBuf> {
        let location = self.location.as_deref()?;
        let path = location.strip_prefix("file:")?;
        let path = path.strip_prefix("//").unwrap_or(path);
        PathBuf::from(path).parent().map(PathBuf::from)
    }
}

fn page(p: &Value, path: &str, errors: &mut Vec<FieldError>) -> Option<Page> {
    let Some(map) = p.as_object() else {
        errors.push(FieldError::new(path, "a parameter page must be an object (a JSON Schema)"));
        return None;
    };
    if let Err(e) = crate::params::compile(p) {
        errors.push(FieldError::new(path, format!("is not a valid JSON Schema: {e}")));
        return None;
    }
    let text = |k: &str| map.get(k).and_then(Value::as_str).map(str::to_owned);
    Some(Page { title: text("title"), description: text("description"), schema: p.clone() })
}

fn step(s: &Value, i: usize, errors: &mut Vec<FieldError>) -> Option<Step> {
    let path = format!("spec.steps[{i}]");
    let Some(map) = s.as_object() else {
        errors.push(FieldError::new(path, "a step must be an object with an `action`"));
        return None;
    };
    let Some(action) = map.get("action").and_then(Value::as_str).filter(|a| !a.trim().is_empty()) else {
        errors.push(FieldError::new(format!("{path}.action"), "every step needs an action (such as `fetch:template`)"));
        return None;
    };
    let id = match map.get("id") {
        None | Some(Value::Null) => format!("step-{}", i + 1),
        Some(Value::String(id)) if !id.is_empty() => id.clone(),
        Some(_) => {
            errors.push(FieldError::new(format!("{path}.id"), "must be a non-empty string"));
            return None;
        }
    };
    let name = map.get("name").and_then(Value::as_str).map_or_else(|| id.clone(), str::to_owned);
    let input = map.get("input").cloned().unwrap_or(Value::Object(Default::default()));
    if !input.is_object() {
        errors.push(FieldError::new(format!("{path}.input"), "must be an object"));
        return None;
    }
    let undo = match map.get("undo") {
        None | Some(Value::Null) => None,
        Some(u) => match serde_json::from_value::<UndoStep>(u.clone()) {
            Ok(u) => Some(u),
            Err(e) => {
                errors.push(FieldError::new(format!("{path}.undo"), format!("`{{action, input}}`: {e}")));
                return None;
            }
        },
    };
    Some(Step { id, name, action: action.to_owned(), input, condition: map.get("if").cloned(), each: map.get("each").cloned(), undo })
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn renderer() -> &'static Renderer {
    static R: std::sync::OnceLock<Renderer> = std::sync::OnceLock::new();
    R.get_or_init(Renderer::new)
}

/// The validator's check of Template entities: the template reads, and every `${{ }}` in its
/// steps and output parses (named at its field, with the line inside a multi-line string).
pub(crate) fn check_entity(entity: &Entity) -> Vec<FieldError> {
    let mut errors = Template::from_entity(entity).err().unwrap_or_default();
    let Some(spec) = entity.spec.as_ref() else { return errors };
    for (i, s) in spec.get("steps").and_then(Value::as_array).into_iter().flatten().enumerate() {
        for field in ["input", "if", "each", "undo"] {
            if let Some(v) = s.get(field) {
                check_strings(v, &format!("spec.steps[{i}].{field}"), &mut errors);
            }
        }
    }
    if let Some(output) = spec.get("output") {
        check_strings(output, "spec.output", &mut errors);
    }
    errors
}

fn check_strings(v: &Value, path: &str, errors: &mut Vec<FieldError>) {
    match v {
        Value::String(s) => {
            if let Err(e) = renderer().check(s) {
                let at = e.line.filter(|_| s.contains('\n')).map(|l| format!(" (line {l} of the text)")).unwrap_or_default();
                errors.push(FieldError::new(path, format!("{}{at}", e.message)));
            }
        }
        Value::Array(items) => items.iter().enumerate().for_each(|(i, x)| check_strings(x, &format!("{path}[{i}]"), errors)),
        Value::Object(map) => map.iter().for_each(|(k, x)| check_strings(x, &join(path, k), errors)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;

/// Every Template entity of the read model (`apiVersion` `scaffolder.backstage.io/v1beta3`):
/// read, or why not (by key); sorted by title.
pub fn all(graph: &portico_graph::CatalogGraph) -> Vec<Result<Template, (String, Vec<FieldError>)>> {
    static KIND: std::sync::OnceLock<portico_graph::filter::EntityFilter> = std::sync::OnceLock::new();
    let kind = KIND.get_or_init(|| portico_graph::filter::parse_filter_params(&["kind=template"]).ok().flatten().expect("a valid filter"));
    let mut out: Vec<Result<Template, (String, Vec<FieldError>)>> = graph
        .matching(Some(kind))
        .iter()
        .filter_map(|id| graph.entry(id))
        .filter(|e| e.entity.kind == "Template" && e.entity.api_version == "scaffolder.backstage.io/v1beta3")
        .map(|e| Template::from_entity(&e.entity).map_err(|errors| (e.key.clone(), errors)))
        .collect();
    out.sort_by(|a, b| {
        let key = |x: &Result<Template, (String, Vec<FieldError>)>| match x {
            Ok(t) => (t.title.to_lowercase(), t.key.clone()),
            Err((k, _)) => (String::new(), k.clone()),
        };
        key(a).cmp(&key(b))
    });
    out
}

/// One template by `name`, `namespace/name` or `template:namespace/name`.
pub fn find(graph: &portico_graph::CatalogGraph, name: &str) -> Result<Template, String> {
    let name = name.strip_prefix("template:").unwrap_or(name).to_ascii_lowercase();
    let key = if name.contains('/') { format!("template:{name}") } else { format!("template:default/{name}") };
    match all(graph).into_iter().find(|t| t.as_ref().map_or_else(|(k, _)| *k == key, |t| t.key == key)) {
        Some(Ok(t)) => Ok(t),
        Some(Err((_, errors))) => Err(format!("{key} does not read: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))),
        None => Err(format!("no template {key} in the catalog; `portico action list` lists them")),
    }
}
