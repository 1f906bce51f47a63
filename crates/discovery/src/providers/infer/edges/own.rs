//! What a component's own files say: configuration files, Dockerfile `ENV`, code defaults, and
//! which variables given in bulk its code reads.

use std::collections::BTreeSet;

use super::super::Cx;
use super::super::components::Component;
use super::super::manifests::{source_language, source_stem};
use super::super::facts::is_test_path;
use super::super::settings::{self, Setting};
use super::super::tree::file_name;
use super::super::yaml::is_yaml;

/// Code files read per component for defaults and URLs, at most.
const MAX_CODE_FILES: usize = 80;

/// Stems of code files where configuration defaults and clients live.
pub(super) fn is_config_code(path: &str) -> bool {
    const WORDS: &[&str] = &[
        "config", "conf", "setting", "env", "main", "app", "server", "index", "program", "client", "constant", "startup", "database",
        "redis", "mongo", "cache", "queue", "broker", "kafka", "rabbit", "connection", "bootstrap", "init", "proxy", "gateway", "api",
        "service", "store", "repository", "db",
    ];
    source_stem(path).is_some_and(|stem| WORDS.iter().any(|w| stem.contains(w)))
}

/// Configuration files whose values may name hosts.
fn config_reader(path: &str) -> Option<fn(&str, &str) -> Vec<Setting>> {
    let name = file_name(path).to_ascii_lowercase();
    if super::super::manifests::is_dockerfile(&name) {
        return Some(settings::dockerfile_env);
    }
    if name == ".env" || name.ends_with(".env") || name.ends_with(".properties") {
        return Some(settings::key_values);
    }
    if name.ends_with(".conf") || name == "caddyfile" || name.starts_with("envoy") && is_yaml(&name) {
        return Some(settings::proxy_upstreams);
    }
    if is_yaml(&name) && !super::super::compose::is_compose_file(path) {
        return Some(settings::yaml_lines);
    }
    if name.ends_with(".json") && (name.starts_with("appsettings") || name.starts_with("config") || name.starts_with("settings")) {
        return Some(settings::json_strings);
    }
    None
}

/// The settings in a component's own files: configuration, Dockerfile `ENV`, code defaults.
pub(super) fn own_settings(cx: &Cx<'_>, c: &Component) -> Vec<Setting> {
    let mut out = Vec::new();
    let mut code = 0;
    for path in c.own.iter().filter(|p| !is_test_path(p)) {
        let reader = match config_reader(path) {
            Some(r) => r,
            None if code < MAX_CODE_FILES && is_config_code(path) => {
                code += 1;
                settings::code
            }
            None => continue,
        };
        if let Some(text) = cx.tree.read(path).ok().flatten() {
            if is_yaml(path) && text.contains("apiVersion") && text.contains("kind:") {
                continue;
            }
            out.extend(reader(path, &text));
        }
    }
    out
}

/// Own code files read, at most, to tell which variables given in bulk a service reads.
const MAX_MENTION_FILES: usize = 400;

/// Words of setting keys too common to say which library reads them.
const COMMON_KEY_WORDS: &[&str] = &[
    "spring", "cloud", "client", "host", "hosts", "port", "server", "servers", "service", "services", "data", "config", "default",
    "zone", "enabled", "address", "addresses", "name", "path", "http", "https", "management", "username", "password", "virtual",
];

/// A key's product words and what a build manifest calls their client libraries
/// (`spring.rabbitmq.host` → `rabbitmq`, `amqp`).
fn library_words(key: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for w in key.split(['.', '-', '_']).filter(|w| w.len() >= 4 && !COMMON_KEY_WORDS.contains(&w.to_ascii_lowercase().as_str())) {
        out.push(w);
        if w.eq_ignore_ascii_case("rabbitmq") {
            out.extend(["rabbit", "amqp"]);
        }
    }
    out
}

/// The variables among `keys` that a component's own files (code and configuration, tests
/// left out) mention, or whose product its build manifest names a library for (a shared
/// `spring.rabbitmq.host` reaches only services built with an AMQP client).
pub(super) fn mentioned(cx: &Cx<'_>, c: &Component, keys: &BTreeSet<&str>) -> BTreeSet<String> {
    let manifest = cx.tree.read(&c.manifest).ok().flatten().unwrap_or_default().to_ascii_lowercase();
    let mut out: BTreeSet<String> = keys
        .iter()
        .filter(|k| k.contains('.') && library_words(k).iter().any(|w| manifest.contains(&w.to_ascii_lowercase())))
        .map(|k| (*k).to_owned())
        .collect();
    let files = c.own.iter().filter(|p| !is_test_path(p) && (is_config_code(p) || is_source(p) || config_reader(p).is_some()));
    for path in files.take(MAX_MENTION_FILES) {
        let Some(text) = cx.tree.read(path).ok().flatten() else { continue };
        out.extend(keys.iter().filter(|k| text.contains(**k)).map(|k| (*k).to_owned()));
        if out.len() == keys.len() {
            break;
        }
    }
    out
}

fn is_source(path: &str) -> bool {
    source_language(path).is_some()
}
