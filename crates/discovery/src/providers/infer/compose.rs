//! docker-compose files (`docker-compose*.y*ml`, `compose*.y*ml`): each service is a
//! workload, with its `build` folder, `image`, `depends_on` (list and map forms), `links` and
//! `environment` (list and map forms, bare `- VAR` entries taken from the folder's `.env`),
//! `env_file`s, and `${VAR:-default}` interpolated from `.env` as compose does. The files of
//! one folder (`docker-compose.yml`, `docker-compose.override.yml`, `compose.prod.yaml`…) are
//! merged by service name before anything is inferred.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Cx;
use super::settings::{Setting, interpolate, key_values, line_of};
use super::tree::{dir_of, file_name, join, resolve};
use super::workloads::Workload;
use super::yaml;

pub(crate) fn is_compose_file(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    (name.starts_with("docker-compose") || name.starts_with("compose")) && yaml::is_yaml(&name)
}

/// A compose file for tests (`docker-compose.test.yml`, `compose.ci.yaml`, one in a test
/// folder): its services are test doubles, not the system's deployment.
fn is_test_compose(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    let stem = name.trim_end_matches(".yaml").trim_end_matches(".yml");
    stem.split(['.', '-', '_']).skip(1).any(|w| matches!(w, "test" | "tests" | "ci" | "e2e" | "it"))
        || super::tree::in_test_dir(dir_of(path))
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// `KEY=value` list entries or a `KEY: value` map; a bare `- KEY` (or `KEY:` with no value)
/// takes its value from `dotenv`.
pub(crate) fn environment(v: Option<&Value>, dotenv: &[Setting]) -> Vec<(String, Option<String>)> {
    let from_env = |k: &str| dotenv.iter().rev().find(|s| s.key == k).map(|s| s.value.clone());
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|e| match e.split_once('=') {
                Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
                None => (e.trim().to_owned(), from_env(e.trim())),
            })
            .collect(),
        Some(Value::Object(map)) => map.iter().map(|(k, v)| (k.clone(), scalar(v).or_else(|| from_env(k)))).collect(),
        _ => Vec::new(),
    }
}

/// The `.env` file of a folder, as settings.
fn dotenv(cx: &Cx<'_>, dir: &str) -> Vec<Setting> {
    let path = join(dir, ".env");
    cx.tree.read(&path).ok().flatten().map(|t| key_values(&path, &t)).unwrap_or_default()
}

/// `env_file: a.env` or a list of them (strings or `{path}`), relative to the compose folder.
fn env_files(cx: &Cx<'_>, base: &str, v: Option<&Value>) -> Vec<Setting> {
    let paths: Vec<&str> = match v {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(|e| e.as_str().or_else(|| e.get("path").and_then(Value::as_str))).collect(),
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for p in paths {
        let Some(path) = resolve(base, p) else { continue };
        if let Some(text) = cx.tree.read(&path).ok().flatten() {
            out.extend(key_values(&path, &text));
        }
    }
    out
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

/// The repository folder a development service runs its code from: a volume mounting a
/// folder of the repository (`./internal:/internal`) that holds its `working_dir`
/// (`/internal/trainer` → `internal/trainer`).
fn code_dir(base: &str, svc: &Value) -> Option<String> {
    let work = svc.get("working_dir")?.as_str()?.trim_end_matches('/');
    svc.get("volumes")?.as_array()?.iter().filter_map(Value::as_str).find_map(|v| {
        let mut parts = v.split(':');
        let (src, dst) = (parts.next()?, parts.next()?.trim_end_matches('/'));
        if !(src.starts_with("./") || src.starts_with("../") || src == ".") || dst.is_empty() {
            return None;
        }
        let rest = work.strip_prefix(dst).filter(|r| r.is_empty() || r.starts_with('/'))?;
        resolve(&resolve(base, src)?, rest.trim_start_matches('/'))
    })
}

/// The Dockerfile a `build` names (`{context: ., dockerfile: docker/Dockerfile-product}`).
fn dockerfile(base: &str, build: Option<&Value>) -> Option<String> {
    let m = build?.as_object()?;
    let context = resolve(base, m.get("context").and_then(Value::as_str).unwrap_or("."))?;
    resolve(&context, m.get("dockerfile")?.as_str()?)
}

/// The workloads of every compose file of the tree, merged by service name within a folder;
/// an unparseable file is reported.
pub(crate) fn collect(cx: &mut Cx<'_>) -> Vec<Workload> {
    let mut merged: BTreeMap<(String, String), Workload> = BTreeMap::new();
    let mut order: Vec<(String, String)> = Vec::new();
    for w in read_all(cx) {
        let key = (dir_of(&w.path).to_owned(), w.names[0].to_ascii_lowercase());
        match merged.get_mut(&key) {
            // A variant's settings of a service the main files define are another
            // deployment's (often stale): only its names count.
            Some(base) if variant_rank(&file_name(&w.path).to_ascii_lowercase()) == 2 && variant_rank(&file_name(&base.path).to_ascii_lowercase()) < 2 => {
                base.merge(Workload { env: Vec::new(), depends_on: Vec::new(), ..w })
            }
            Some(base) => base.merge(w),
            None => {
                order.push(key.clone());
                merged.insert(key, w);
            }
        }
    }
    order.into_iter().filter_map(|k| merged.remove(&k)).collect()
}

/// Base files first (`docker-compose.yml`, `compose.yaml`), then overrides and variants.
fn compose_rank(path: &str) -> (String, u8, String) {
    let name = file_name(path).to_ascii_lowercase();
    (dir_of(path).to_owned(), variant_rank(&name), name)
}

/// 0 for a base file, 1 for an override compose merges by itself (`*.override.yml`), 2 for
/// a variant chosen with `-f` (`docker-compose.prod.yml`, `docker-compose-windows.yml`).
fn variant_rank(name: &str) -> u8 {
    let stem = name.trim_end_matches(".yaml").trim_end_matches(".yml");
    if matches!(stem, "docker-compose" | "compose") {
        0
    } else if stem.ends_with("override") {
        1
    } else {
        2
    }
}

fn read_all(cx: &mut Cx<'_>) -> Vec<Workload> {
    let mut out = Vec::new();
    let mut files: Vec<_> = yaml::texts(cx).into_iter().filter(|(p, _)| is_compose_file(p) && !is_test_compose(p)).collect();
    files.sort_by_key(|(p, _)| compose_rank(p));
    for (path, text) in files {
        let docs = match portico_model::yaml::parse_documents(&text) {
            Ok(d) => d,
            Err(e) => {
                cx.error(path, e.to_string());
                continue;
            }
        };
        let Some(services) = docs.first().and_then(|d| d.get("services")).and_then(Value::as_object) else { continue };
        let base = dir_of(path);
        let dotenv = dotenv(cx, base);
        let lookup = |k: &str| dotenv.iter().rev().find(|s| s.key == k).map(|s| s.value.clone());
        let text_of = |v: Option<&Value>| v.and_then(Value::as_str).map(|s| interpolate(s, &lookup));
        for (name, svc) in services {
            let mut names = vec![name.clone()];
            names.extend(["container_name", "hostname"].iter().filter_map(|k| text_of(svc.get(*k))));
            let mut depends_on = service_names(svc.get("depends_on"));
            depends_on.extend(service_names(svc.get("links")));
            let service_text = text.find(&format!("{name}:")).map_or(&text[..], |at| &text[at..]);
            let offset = text.len() - service_text.len();
            let first_line = text[..offset].matches('\n').count();
            // An env_file is often shared by every service: its variables count only where read.
            let mut env: Vec<Setting> = env_files(cx, base, svc.get("env_file")).into_iter().map(|s| Setting { bulk: true, ..s }).collect();
            for (k, v) in environment(svc.get("environment"), &dotenv) {
                let Some(v) = v else { continue };
                let line = first_line + line_of(service_text, &k, &v);
                env.push(Setting::new(k, interpolate(&v, &lookup), path, line));
            }
            out.push(Workload {
                path: path.to_owned(),
                names,
                images: text_of(svc.get("image")).into_iter().collect(),
                env,
                depends_on,
                line: first_line + 1,
                build_dir: build_dir(base, svc.get("build")),
                dockerfile: dockerfile(base, svc.get("build")),
                code_dir: code_dir(base, svc),
                ..Workload::default()
            });
        }
    }
    out
}
