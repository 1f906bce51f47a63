//! docker-compose files (`docker-compose*.y*ml`, `compose*.y*ml`): each service is a
//! workload, with its `build` folder, `image`, `depends_on` (list and map forms), `links` and
//! `environment` (list and map forms).

use serde_json::Value;

use super::Cx;
use super::tree::{dir_of, file_name, resolve};
use super::workloads::Workload;
use super::yaml;

pub(crate) fn is_compose_file(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    (name.starts_with("docker-compose") || name.starts_with("compose")) && yaml::is_yaml(&name)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `KEY=value` list entries or a `KEY: value` map.
pub(crate) fn environment(v: Option<&Value>) -> Vec<(String, String)> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .filter_map(|e| e.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect(),
        Some(Value::Object(map)) => map.iter().filter_map(|(k, v)| Some((k.clone(), scalar(v)?))).collect(),
        _ => Vec::new(),
    }
}

/// Names of a list (`[db, cache]`, `["db:database"]` for links) or the keys of a map.
fn service_names(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => {
            items.iter().filter_map(Value::as_str).map(|s| s.split(':').next().unwrap_or(s).to_owned()).collect()
        }
        Some(Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// Folder an image is built from: `build: ./cart` or `build: {context, dockerfile}`.
fn build_dir(base: &str, build: Option<&Value>) -> Option<String> {
    let (context, dockerfile) = match build? {
        Value::String(s) => (s.as_str(), None),
        Value::Object(m) => (m.get("context").and_then(Value::as_str).unwrap_or("."), m.get("dockerfile").and_then(Value::as_str)),
        _ => return None,
    };
    if context.contains("://") {
        return None;
    }
    let context = resolve(base, context)?;
    match dockerfile.map(dir_of).filter(|d| !d.is_empty()) {
        Some(d) => resolve(&context, d),
        None => Some(context),
    }
}

/// The workloads of every compose file of the tree; an unparseable file is reported.
pub(crate) fn collect(cx: &mut Cx<'_>) -> Vec<Workload> {
    let mut out = Vec::new();
    for (path, text) in yaml::texts(cx).into_iter().filter(|(p, _)| is_compose_file(p)) {
        let docs = match portico_model::yaml::parse_documents(&text) {
            Ok(d) => d,
            Err(e) => {
                cx.error(path, e.to_string());
                continue;
            }
        };
        let Some(services) = docs.first().and_then(|d| d.get("services")).and_then(Value::as_object) else { continue };
        let base = dir_of(path);
        for (name, svc) in services {
            let mut names = vec![name.clone()];
            names.extend(["container_name", "hostname"].iter().filter_map(|k| svc.get(*k).and_then(Value::as_str)).map(str::to_owned));
            let mut depends_on = service_names(svc.get("depends_on"));
            depends_on.extend(service_names(svc.get("links")));
            out.push(Workload {
                path: path.to_owned(),
                names,
                images: svc.get("image").and_then(Value::as_str).map(str::to_owned).into_iter().collect(),
                env: environment(svc.get("environment")),
                depends_on,
                build_dir: build_dir(base, svc.get("build")),
                ..Workload::default()
            });
        }
    }
    out
}
