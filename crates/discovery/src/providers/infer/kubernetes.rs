//! Kubernetes manifests and Helm templates: Deployments, StatefulSets, DaemonSets, Jobs,
//! CronJobs and Pods become workloads, Services other names for them. YAML that is not a
//! Kubernetes object is skipped quietly. Helm templates are rendered just enough to parse:
//! `.Values.*`, `.Chart.Name` and `default` are resolved from the chart, other directives
//! dropped.

mod helm;

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::Cx;
use super::compose::is_compose_file;
use super::settings::{Setting, line_of};
use super::workloads::{ServiceAlias, Workload, image_base};
use super::yaml;

const WORKLOAD_KINDS: &[&str] =
    &["Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod", "DeploymentConfig", "Rollout"];

/// Cheap test before parsing: could the text hold a Kubernetes workload or Service?
fn may_hold_objects(text: &str) -> bool {
    text.contains("apiVersion") && text.contains("kind:")
}

/// A plain manifest (no template) declaring an object at the top level: worth an error
/// when it does not parse.
fn looks_like_object(text: &str) -> bool {
    !text.contains("{{") && text.lines().any(|l| l.starts_with("apiVersion:")) && text.lines().any(|l| l.starts_with("kind:"))
}

fn labels(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(Value::as_object)
        .map(|m| m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned()))).collect())
        .unwrap_or_default()
}

/// What a container's `env` and `envFrom` ask of ConfigMaps, resolved once every ConfigMap of
/// the tree is known.
#[derive(Debug, Default, Clone)]
pub(crate) struct ConfigRefs {
    /// Whole ConfigMaps (`envFrom.configMapRef.name`).
    pub maps: Vec<String>,
    /// (variable, ConfigMap, key) of `valueFrom.configMapKeyRef`.
    pub keys: Vec<(String, String, String)>,
}

fn workload(path: &str, text: &str, doc: &Value) -> Option<(Workload, ConfigRefs)> {
    let kind = doc.get("kind")?.as_str()?;
    let (pod, pod_meta) = match kind {
        "Pod" => (doc.get("spec")?, doc.get("metadata")),
        "CronJob" => {
            let t = doc.pointer("/spec/jobTemplate/spec/template")?;
            (t.get("spec")?, t.get("metadata"))
        }
        k if WORKLOAD_KINDS.contains(&k) => {
            let t = doc.pointer("/spec/template")?;
            (t.get("spec")?, t.get("metadata"))
        }
        _ => return None,
    };
    let meta_labels = labels(doc.pointer("/metadata/labels"));
    let pod_labels = labels(pod_meta.and_then(|m| m.get("labels")));
    let mut names: Vec<String> = Vec::new();
    let mut push = |n: &str| {
        if !n.is_empty() && !names.iter().any(|x| x == n) {
            names.push(n.to_owned());
        }
    };
    if let Some(n) = doc.pointer("/metadata/name").and_then(Value::as_str) {
        push(n);
    }
    for l in [&meta_labels, &pod_labels] {
        for key in ["app.kubernetes.io/name", "app"] {
            if let Some(n) = l.get(key) {
                push(n);
            }
        }
    }
    let containers: Vec<&Value> = ["containers", "initContainers"]
        .iter()
        .filter_map(|k| pod.get(*k).and_then(Value::as_array))
        .flatten()
        .collect();
    let mut images = Vec::new();
    let mut env = Vec::new();
    let mut refs = ConfigRefs::default();
    for c in &containers {
        if let Some(n) = c.get("name").and_then(Value::as_str) {
            push(n);
        }
        if let Some(i) = c.get("image").and_then(Value::as_str) {
            images.push(i.to_owned());
        }
        for e in c.get("env").and_then(Value::as_array).into_iter().flatten() {
            let Some(k) = e.get("name").and_then(Value::as_str) else { continue };
            if let Some(v) = e.get("value").and_then(Value::as_str) {
                env.push(Setting::new(k, v, path, line_of(text, k, v)));
            } else if let Some(r) = e.pointer("/valueFrom/configMapKeyRef").or_else(|| e.pointer("/valueFrom/secretKeyRef")) {
                let text = |f: &str| r.get(f).and_then(Value::as_str).map(str::to_owned);
                if let (Some(map), Some(key)) = (text("name"), text("key")) {
                    refs.keys.push((k.to_owned(), map, key));
                }
            }
        }
        for e in c.get("envFrom").and_then(Value::as_array).into_iter().flatten() {
            if let Some(n) = e.pointer("/configMapRef/name").or_else(|| e.pointer("/secretRef/name")).and_then(Value::as_str) {
                refs.maps.push(n.to_owned());
            }
        }
    }
    // ConfigMaps mounted as files (an `application.yaml` key holding the whole file).
    for v in pod.get("volumes").and_then(Value::as_array).into_iter().flatten() {
        if let Some(n) = v.pointer("/configMap/name").and_then(Value::as_str) {
            refs.maps.push(n.to_owned());
        }
    }
    for i in &images {
        push(image_base(i));
    }
    let labels = if pod_labels.is_empty() { meta_labels } else { pod_labels };
    let line = names.first().map_or(1, |n| line_of(text, "metadata:", &format!("name: {n}")));
    let job = matches!(kind, "Job" | "CronJob");
    Some((Workload { path: path.to_owned(), line, names, images, env, labels, job, ..Workload::default() }, refs))
}

/// A ConfigMap's string data as settings.
/// Words of a Secret's keys whose values are secrets: never read.
const SECRET_WORDS: &[&str] = &["PASSWORD", "PASS", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "CREDENTIALS", "CERT", "PRIVATE", "AUTH"];

/// A ConfigMap's string data, or a Secret's non-secret keys (`DB_HOST` in `stringData`, or in
/// `data` base64-decoded; never a password, token or key), as settings.
fn config_map(path: &str, text: &str, doc: &Value) -> Option<(String, Vec<Setting>)> {
    let kind = doc.get("kind")?.as_str()?;
    if kind != "ConfigMap" && kind != "Secret" {
        return None;
    }
    let name = doc.pointer("/metadata/name")?.as_str()?.to_owned();
    let mut settings = Vec::new();
    for field in ["data", "stringData"] {
        for (k, v) in doc.get(field).and_then(Value::as_object).into_iter().flatten() {
            let Some(raw) = v.as_str() else { continue };
            let value = if kind == "Secret" {
                let words = super::workloads::key_words(k);
                if words.iter().any(|w| SECRET_WORDS.contains(&w.as_str())) {
                    continue;
                }
                if field == "data" {
                    use base64::Engine as _;
                    let Some(decoded) = base64::engine::general_purpose::STANDARD.decode(raw.trim()).ok().and_then(|b| String::from_utf8(b).ok()) else { continue };
                    decoded
                } else {
                    raw.to_owned()
                }
            } else {
                raw.to_owned()
            };
            settings.push(Setting::new(k, value, path, line_of(text, k, raw.lines().next().unwrap_or(""))));
        }
    }
    Some((name, settings))
}

fn service(doc: &Value) -> Option<ServiceAlias> {
    if doc.get("kind")?.as_str()? != "Service" {
        return None;
    }
    let name = doc.pointer("/metadata/name")?.as_str()?.to_owned();
    Some(ServiceAlias { name, selector: labels(doc.pointer("/spec/selector")) })
}

/// Objects of a parsed document; `List` kinds are unwrapped.
fn objects(doc: Value) -> Vec<Value> {
    match doc.get("kind").and_then(Value::as_str) {
        Some("List") => doc.get("items").and_then(Value::as_array).cloned().unwrap_or_default(),
        _ => vec![doc],
    }
}

/// Workloads and Services of every Kubernetes manifest and Helm template of the tree.
pub(crate) fn collect(cx: &mut Cx<'_>) -> (Vec<Workload>, Vec<ServiceAlias>) {
    let mut workloads = Vec::new();
    let mut services = Vec::new();
    let mut maps: HashMap<String, Vec<Setting>> = HashMap::new();
    let mut charts: HashMap<String, Option<helm::Chart>> = HashMap::new();
    for (path, text) in yaml::texts(cx) {
        if is_compose_file(path) || !may_hold_objects(&text) {
            continue;
        }
        let chart_dir = helm::chart_dir(&cx.tree, path);
        let docs: Vec<Value> = match &chart_dir {
            Some(dir) => {
                let chart = charts.entry(dir.clone()).or_insert_with(|| helm::Chart::load(&cx.tree, dir));
                let Some(chart) = chart else { continue };
                // A template's documents are parsed one by one: one that renders badly
                // must not hide the others.
                helm::documents(&chart.render(&text)).filter_map(|d| portico_model::yaml::parse_documents(d).ok()).flatten().collect()
            }
            None => match portico_model::yaml::parse_documents(&text) {
                Ok(d) => d,
                Err(e) => {
                    if looks_like_object(&text) {
                        cx.error(path, e.to_string());
                    }
                    continue;
                }
            },
        };
        for doc in docs.into_iter().flat_map(objects) {
            workloads.extend(workload(path, &text, &doc).map(|(mut w, r)| {
                w.templated = chart_dir.is_some();
                (w, r)
            }));
            services.extend(service(&doc));
            if let Some((name, settings)) = config_map(path, &text, &doc) {
                maps.entry(name).or_default().extend(settings);
            }
        }
    }
    let workloads = workloads
        .into_iter()
        .map(|(mut w, refs)| {
            for m in &refs.maps {
                w.env.extend(maps.get(m).into_iter().flatten().map(|s| Setting { bulk: true, ..s.clone() }));
            }
            for (var, m, key) in &refs.keys {
                let found = maps.get(m).and_then(|s| s.iter().find(|s| &s.key == key));
                w.env.extend(found.map(|s| Setting { key: var.clone(), ..s.clone() }));
            }
            w
        })
        .collect();
    (workloads, services)
}
