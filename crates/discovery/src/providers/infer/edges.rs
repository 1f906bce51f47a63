//! Dependencies: a host name, URL or `host:port` that names a known service or datastore,
//! wherever the repository writes it — a workload's environment (compose, `.env`, Kubernetes
//! env and ConfigMaps, Helm values), the component's own Dockerfile `ENV`, configuration files
//! (Spring `application*.yml`/`.properties`/`bootstrap.yml`, `appsettings*.json`, nginx/envoy
//! upstreams) and code defaults. Compose `depends_on`/`links` count only for a workload about
//! which nothing else says anything. Each edge keeps the file, line and variable that shows
//! it (the `discovery.dependencyEvidence` fact).

mod own;
mod spring;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::{Value, json};

use super::components::{Component, source_location};
use super::settings::{self, Setting};
use super::tree::dir_of;
use super::workloads::{Deployments, Identity, hosts_in, key_words};
use super::{Cx, OBSERVED_DEPENDS_ON};
use crate::engine::{Contribution, Evidence};

pub use crate::engine::provenance::DEPENDENCY_EVIDENCE;

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
/// aliases, Resource names. Names a compose file defines resolve within that compose project
/// first: a repository of several projects (examples, stacks) reuses `db` and `backend`.
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
pub(super) type Settings = BTreeMap<String, (Vec<Setting>, HashMap<String, String>, Vec<String>)>;

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
        let own = own::own_settings(cx, c);
        settings.entry(c.entity_ref()).or_default().0.extend(own);
    }
    for (r, s) in super::charts::settings(cx, components) {
        settings.entry(r).or_default().0.extend(s);
    }
    spring::spring_config_server(components, &mut settings);
    // Variables given in bulk count only where the service's files read them.
    for c in components.iter() {
        let Some(entry) = settings.get_mut(&c.entity_ref()) else { continue };
        let bulk: BTreeSet<&str> = entry.0.iter().filter(|s| s.bulk).map(|s| s.key.as_str()).collect();
        if bulk.is_empty() {
            continue;
        }
        let read = own::mentioned(cx, c, &bulk);
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
