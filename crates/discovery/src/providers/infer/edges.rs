//! Dependencies: a host name, URL or `host:port` that names a known service or datastore,
//! wherever the repository writes it — a workload's environment (compose, `.env`, Kubernetes
//! env and ConfigMaps, Helm values), the component's own Dockerfile `ENV`, configuration files
//! (Spring `application*.yml`/`.properties`/`bootstrap.yml`, `appsettings*.json`, nginx/envoy
//! upstreams) and code defaults. Compose `depends_on`/`links` count only for a workload about
//! which nothing else says anything. Each edge keeps the file, line and variable that shows
//! it (the `discovery.dependencyEvidence` fact).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::components::{Component, source_location};
use super::facts::is_test_path;
use super::settings::{self, Setting};
use super::tree::{dir_of, file_name};
use super::workloads::{Deployments, Identity, hosts_in, key_words};
use super::yaml::is_yaml;
use super::{Cx, OBSERVED_DEPENDS_ON};
use crate::engine::{Contribution, Evidence};

/// Fact naming, per dependency, the file, line and setting that shows it.
pub const DEPENDENCY_EVIDENCE: &str = "discovery.dependencyEvidence";

/// Code files read per component for defaults and URLs, at most.
const MAX_CODE_FILES: usize = 80;

/// Words of a variable that never hold a host even when the value is a service's name
/// (`POSTGRES_DB=orders`, `OTEL_SERVICE_NAME=cart`).
const NOT_HOST_WORDS: &[&str] = &[
    "NAME", "DB", "DATABASE", "USER", "USERNAME", "PASSWORD", "PASS", "TOPIC", "QUEUE", "EXCHANGE", "BUCKET", "TABLE", "SCHEMA",
    "ID", "KEY", "SECRET", "TOKEN", "REALM", "CLIENT", "GROUP", "INDEX", "PROFILE", "PROFILES", "ACTIVE", "APP", "APPLICATION",
    "PATH", "DIR", "FILE", "LEVEL", "MODE", "ENV", "ENVIRONMENT", "REGION", "PREFIX", "SUFFIX", "TAG", "VERSION", "IMAGE",
];

/// A Resource found in the deployment files.
struct Resource {
    spec_type: &'static str,
    image: String,
    path: String,
    depends_on: BTreeMap<String, String>,
}

/// Stems of code files where configuration defaults and clients live.
fn is_config_code(path: &str) -> bool {
    const EXTENSIONS: &[&str] = &["py", "js", "mjs", "cjs", "ts", "go", "java", "kt", "cs", "rb", "php", "rs", "ex", "exs", "scala"];
    let name = file_name(path);
    let Some((stem, ext)) = name.rsplit_once('.') else { return false };
    if !EXTENSIONS.contains(&ext) || name.ends_with(".d.ts") || name.contains(".min.") {
        return false;
    }
    const WORDS: &[&str] = &[
        "config", "conf", "setting", "env", "main", "app", "server", "index", "program", "client", "constant", "startup", "database",
        "redis", "mongo", "cache", "queue", "broker", "kafka", "rabbit", "connection", "bootstrap", "init", "proxy", "gateway", "api",
        "service", "store", "repository", "db",
    ];
    let stem = stem.to_ascii_lowercase();
    WORDS.iter().any(|w| stem.contains(w))
}

/// Configuration files whose values may name hosts.
fn config_reader(path: &str) -> Option<fn(&str, &str) -> Vec<Setting>> {
    let name = file_name(path).to_ascii_lowercase();
    if super::manifests::is_dockerfile(&name) {
        return Some(settings::dockerfile_env);
    }
    if name == ".env" || name.ends_with(".env") || name.ends_with(".properties") {
        return Some(settings::key_values);
    }
    if name.ends_with(".conf") || name == "caddyfile" || name.starts_with("envoy") && is_yaml(&name) {
        return Some(settings::proxy_upstreams);
    }
    if is_yaml(&name) && !super::compose::is_compose_file(path) {
        return Some(settings::yaml_lines);
    }
    if name.ends_with(".json") && (name.starts_with("appsettings") || name.starts_with("config") || name.starts_with("settings")) {
        return Some(settings::json_strings);
    }
    None
}

/// The settings in a component's own files: configuration, Dockerfile `ENV`, code defaults.
fn own_settings(cx: &Cx<'_>, c: &Component) -> Vec<Setting> {
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

/// A host named by a setting whose value is a bare name (`CART=cart`, `cart:7070`), when the
/// variable is not one that holds names of other things.
fn bare_host(key: &str, value: &str) -> Option<String> {
    let v = value.trim();
    let host = match v.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() => h,
        _ => v,
    };
    let ok = !host.is_empty() && host.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    let words = key_words(key);
    // `serviceId: cart` (Spring Cloud routes, Ribbon, Feign) names a service by its id.
    let service_id = words.ends_with(&["SERVICE".to_owned(), "ID".to_owned()]);
    let named_elsewhere = words.iter().any(|w| NOT_HOST_WORDS.contains(&w.as_str()));
    (ok && (service_id || !named_elsewhere)).then(|| host.split('.').next().unwrap_or(host).to_ascii_lowercase())
}

/// Names a reference can be reached by: workload and Kubernetes Service names, component
/// aliases, Resource names.
/// Names a compose file defines resolve within that compose project first: a repository of
/// several projects (examples, stacks) reuses `db` and `backend`.
struct Index {
    by_name: HashMap<String, String>,
    /// (compose folder, name) → reference.
    scoped: HashMap<(String, String), String>,
    /// Reference → the compose folders of the workloads that are it.
    scopes: HashMap<String, Vec<String>>,
}

impl Index {
    fn new(components: &[Component], d: &Deployments, refs: &[Option<String>]) -> Self {
        let mut by_name = HashMap::new();
        let mut scoped = HashMap::new();
        let mut scopes: HashMap<String, Vec<String>> = HashMap::new();
        for (w, r) in d.workloads.iter().zip(refs) {
            let Some(r) = r else { continue };
            let compose = super::compose::is_compose_file(&w.path).then(|| dir_of(&w.path).to_owned());
            for n in &w.names {
                by_name.entry(n.to_ascii_lowercase()).or_insert_with(|| r.clone());
                if let Some(scope) = &compose {
                    scoped.entry((scope.clone(), n.to_ascii_lowercase())).or_insert_with(|| r.clone());
                }
            }
            if let Some(scope) = compose {
                let list = scopes.entry(r.clone()).or_default();
                if !list.contains(&scope) {
                    list.push(scope);
                }
            }
        }
        for s in &d.services {
            let picked = d.workloads.iter().position(|w| !s.selector.is_empty() && s.selector.iter().all(|(k, v)| w.labels.get(k) == Some(v)));
            if let Some(r) = picked.and_then(|i| refs[i].clone()) {
                by_name.entry(s.name.to_ascii_lowercase()).or_insert(r);
            }
        }
        for c in components {
            for a in &c.aliases {
                by_name.entry(a.clone()).or_insert_with(|| c.entity_ref());
            }
        }
        Self { by_name, scoped, scopes }
    }

    /// What `name` is for the entity `from`: a workload of its own compose projects first.
    fn resolve(&self, from: &str, name: &str) -> Option<&String> {
        let lower = name.to_ascii_lowercase();
        let own = self.scopes.get(from).into_iter().flatten();
        own.map(|s| self.scoped.get(&(s.clone(), lower.clone()))).find(Option::is_some).flatten().or_else(|| self.by_name.get(&lower))
    }
}

/// Edges of one entity: target → evidence.
type Edges = BTreeMap<String, String>;

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
fn mentioned(cx: &Cx<'_>, c: &Component, keys: &BTreeSet<&str>) -> BTreeSet<String> {
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
    const EXTENSIONS: &[&str] = &["py", "js", "mjs", "ts", "go", "java", "kt", "cs", "rb", "php", "rs", "scala", "ex"];
    file_name(path).rsplit_once('.').is_some_and(|(_, e)| EXTENSIONS.contains(&e))
}

fn edges_of(index: &Index, own: &str, settings: &[Setting], env: &HashMap<String, String>) -> Edges {
    let lookup = |k: &str| env.get(k).cloned();
    let mut out = Edges::new();
    for s in settings {
        let value = settings::interpolate(&s.value, &lookup);
        let mut hosts = hosts_in(&s.key, &value);
        if hosts.is_empty() {
            hosts.extend(bare_host(&s.key, &value));
        }
        for h in hosts {
            if let Some(target) = index.resolve(own, &h).filter(|t| *t != own) {
                out.entry(target.clone()).or_insert_with(|| format!("{} {}", s.at(), s.key));
            }
        }
    }
    out
}

/// Per entity: its settings, its environment for interpolation, its start-order needs.
type Settings = BTreeMap<String, (Vec<Setting>, HashMap<String, String>, Vec<String>)>;

/// Spring Cloud Config servers serving files of their own (`native.search-locations:
/// classpath:/shared`): `<application>.yml` configures the client of that name,
/// `application.yml` every client (a component configured with `spring.cloud.config` or a
/// `configserver:` import). The files' settings move from the server to their clients.
fn spring_config_server(components: &[Component], settings: &mut Settings) {
    for server in components {
        let sref = server.entity_ref();
        let Some((own, _, _)) = settings.get(&sref) else { continue };
        let dirs: Vec<String> = own
            .iter()
            .filter(|s| s.key.ends_with("native.search-locations") || s.key.ends_with("native.searchLocations"))
            .flat_map(|s| s.value.split(',').filter_map(|l| l.trim().strip_prefix("classpath:")).map(|l| format!("{}/{}", dir_of(&s.path), l.trim_matches('/'))).collect::<Vec<_>>())
            .collect();
        if dirs.is_empty() {
            continue;
        }
        let served = |s: &Setting| dirs.iter().any(|d| dir_of(&s.path) == d);
        let (moved, kept): (Vec<Setting>, Vec<Setting>) = settings[&sref].0.iter().cloned().partition(|s| served(s));
        if let Some(e) = settings.get_mut(&sref) {
            e.0 = kept;
        }
        let clients: Vec<String> = settings
            .iter()
            .filter(|(r, (s, _, _))| **r != sref && s.iter().any(|x| x.key.starts_with("spring.cloud.config") || x.value.contains("configserver:")))
            .map(|(r, _)| r.clone())
            .collect();
        for s in moved {
            let stem = file_name(&s.path).split('.').next().unwrap_or("").to_ascii_lowercase();
            let broadcast = stem == "application" || stem.starts_with("application-");
            let s = Setting { bulk: broadcast, ..s };
            let targets: Vec<String> = if broadcast {
                clients.clone()
            } else {
                let named = |c: &&Component| c.aliases.iter().any(|a| *a == stem || stem.starts_with(&format!("{a}-")));
                components.iter().filter(named).map(Component::entity_ref).collect()
            };
            for t in targets {
                settings.entry(t).or_default().0.push(s.clone());
            }
        }
    }
}

/// Adds the dependencies of the tree to its components, and returns the Resources found and
/// the dependencies of declared entities that have no inferred component.
pub(crate) fn apply(cx: &mut Cx<'_>, components: &mut [Component], d: &Deployments) -> Vec<Contribution> {
    let refs: Vec<Option<String>> = d
        .ids
        .iter()
        .map(|id| match id {
            Identity::Component(i) => Some(components[*i].entity_ref()),
            Identity::Declared(r) => Some(r.clone()),
            Identity::Resource(name, _) => Some(format!("resource:{}/{name}", cx.namespace())),
            Identity::Unknown => None,
        })
        .collect();
    let index = Index::new(components, d, &refs);
    let mut settings = Settings::new();
    for ((w, r), id) in d.workloads.iter().zip(&refs).zip(&d.ids) {
        let Some(r) = r else { continue };
        // A datastore calls nothing: what its environment names is the datastore's own setup.
        if matches!(id, Identity::Resource(..)) {
            continue;
        }
        let e = settings.entry(r.clone()).or_default();
        e.0.extend(w.env.iter().cloned());
        e.1.extend(w.env.iter().map(|s| (s.key.clone(), s.value.clone())));
        e.2.extend(w.depends_on.iter().cloned());
    }
    for c in components.iter().filter(|c| !matches!(c.spec_type, super::manifests::Type::Library | super::manifests::Type::Tool)) {
        let own = own_settings(cx, c);
        settings.entry(c.entity_ref()).or_default().0.extend(own);
    }
    for (r, s) in super::charts::settings(cx, components) {
        settings.entry(r).or_default().0.extend(s);
    }
    spring_config_server(components, &mut settings);
    // Variables given in bulk count only where the service's files read them.
    for c in components.iter() {
        let Some(entry) = settings.get_mut(&c.entity_ref()) else { continue };
        let bulk: BTreeSet<&str> = entry.0.iter().filter(|s| s.bulk).map(|s| s.key.as_str()).collect();
        if bulk.is_empty() {
            continue;
        }
        let read = mentioned(cx, c, &bulk);
        entry.0.retain(|s| !s.bulk || read.contains(&s.key));
    }
    let mut found: BTreeMap<String, Edges> = BTreeMap::new();
    for (r, (s, env, needs)) in &settings {
        let mut edges = edges_of(&index, r, s, env);
        if edges.is_empty() {
            for n in needs {
                if let Some(t) = index.resolve(r, n).filter(|t| *t != r) {
                    edges.insert(t.clone(), "depends_on".to_owned());
                }
            }
        }
        found.insert(r.clone(), edges);
    }
    for c in components.iter_mut() {
        if let Some(edges) = found.remove(&c.entity_ref()) {
            c.depends_on.extend(edges.keys().cloned());
            c.evidence.extend(edges);
        }
    }
    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();
    let mut declared: BTreeMap<String, (String, Edges)> = BTreeMap::new();
    for ((w, id), r) in d.workloads.iter().zip(&d.ids).zip(&refs) {
        let Some(r) = r else { continue };
        match id {
            Identity::Resource(name, spec_type) => {
                let image = w.images.first().cloned().unwrap_or_default();
                let res = resources.entry(name.clone()).or_insert_with(|| Resource { spec_type, image, path: w.path.clone(), depends_on: Edges::new() });
                res.depends_on.extend(found.get(r).cloned().unwrap_or_default());
            }
            Identity::Declared(_) => {
                let e = declared.entry(r.clone()).or_insert_with(|| (w.path.clone(), Edges::new()));
                e.1.extend(found.get(r).cloned().unwrap_or_default());
            }
            _ => {}
        }
    }
    let mut out: Vec<Contribution> = resources.into_iter().map(|(name, r)| resource(cx, &name, r)).collect();
    out.extend(declared.into_iter().filter(|(_, (_, e))| !e.is_empty()).map(|(r, (path, e))| declared_deps(cx, &r, &path, e)));
    out
}

fn resource(cx: &Cx<'_>, name: &str, r: Resource) -> Contribution {
    let dir = dir_of(&r.path);
    let mut spec = json!({"type": r.spec_type, "owner": cx.owner_of(dir).0});
    let mut facts = json!({"image": r.image});
    if !r.depends_on.is_empty() {
        let deps: BTreeSet<&String> = r.depends_on.keys().collect();
        spec["dependsOn"] = json!(deps);
        facts[OBSERVED_DEPENDS_ON] = json!(deps);
        facts[DEPENDENCY_EVIDENCE] = json!(r.depends_on);
    }
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": cx.with_namespace(json!({"name": name, "annotations": {"backstage.io/source-location": source_location(cx, dir)}})),
        "spec": spec,
        "status": {"facts": facts},
    });
    Contribution::new(Evidence::Inferred, cx.location(&r.path), document)
}

/// The dependencies of a declared entity that inference found no component for.
fn declared_deps(cx: &Cx<'_>, entity_ref: &str, path: &str, edges: Edges) -> Contribution {
    let (kind_ns, name) = entity_ref.split_once('/').unwrap_or(("component:default", entity_ref));
    let namespace = kind_ns.split_once(':').map_or("default", |(_, ns)| ns);
    let mut metadata = json!({"name": name});
    if namespace != portico_model::DEFAULT_NAMESPACE {
        metadata["namespace"] = Value::from(namespace);
    }
    let deps: BTreeSet<&String> = edges.keys().collect();
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": metadata,
        "spec": {"dependsOn": deps},
        "status": {"facts": {OBSERVED_DEPENDS_ON: deps, DEPENDENCY_EVIDENCE: edges}},
    });
    Contribution::new(Evidence::Inferred, cx.location(path), document)
}
