//! Dependencies and Resources from deployment files. Kubernetes manifests, Helm templates and
//! docker-compose files describe workloads (a Deployment, a compose service); each is matched
//! to a component (by build folder or by name), to a declared entity, or — when it runs a
//! well-known image such as `redis` or `postgres` — becomes a Resource. A workload's
//! dependencies are the workloads its environment points at (`CART_SERVICE_ADDR=cart:7070`,
//! `DATABASE_URL=postgres://…@db/x`) and its compose `depends_on`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use portico_model::naming::sanitize_object_name;
use serde_json::{Value, json};

use super::components::{Component, holder, source_location};
use super::tree::{dir_of, join};
use super::{Cx, OBSERVED_DEPENDS_ON, compose, kubernetes};
use crate::engine::{Contribution, Evidence};

/// A workload found in a deployment file.
#[derive(Debug, Default, Clone)]
pub(crate) struct Workload {
    /// The file it was found in.
    pub path: String,
    /// Names it goes by, preferred first: workload or compose service name, labels,
    /// container names.
    pub names: Vec<String>,
    /// Images of its containers.
    pub images: Vec<String>,
    pub env: Vec<(String, String)>,
    /// Names of the workloads it declares it needs (compose `depends_on`, `links`).
    pub depends_on: Vec<String>,
    /// Folder its image is built from (compose `build`).
    pub build_dir: Option<String>,
    /// Pod labels, for Kubernetes Services' selectors.
    pub labels: BTreeMap<String, String>,
}

/// A Kubernetes Service: another name for the workloads its selector picks.
#[derive(Debug, Clone)]
pub(crate) struct ServiceAlias {
    pub name: String,
    pub selector: BTreeMap<String, String>,
}

/// Well-known images and the Resource type they make.
const IMAGES: &[(&str, &str)] = &[
    ("postgres", "database"),
    ("postgresql", "database"),
    ("postgis", "database"),
    ("mysql", "database"),
    ("mariadb", "database"),
    ("mongo", "database"),
    ("mongodb", "database"),
    ("cassandra", "database"),
    ("scylla", "database"),
    ("cockroach", "database"),
    ("couchdb", "database"),
    ("clickhouse-server", "database"),
    ("neo4j", "database"),
    ("influxdb", "database"),
    ("timescaledb", "database"),
    ("spanner-emulator", "database"),
    ("dynamodb-local", "database"),
    ("redis", "cache"),
    ("redis-stack", "cache"),
    ("redis-stack-server", "cache"),
    ("valkey", "cache"),
    ("keydb", "cache"),
    ("dragonfly", "cache"),
    ("memcached", "cache"),
    ("kafka", "queue"),
    ("cp-kafka", "queue"),
    ("cp-server", "queue"),
    ("redpanda", "queue"),
    ("rabbitmq", "queue"),
    ("nats", "queue"),
    ("nats-streaming", "queue"),
    ("activemq", "queue"),
    ("activemq-artemis", "queue"),
    ("pulsar", "queue"),
    ("eclipse-mosquitto", "queue"),
    ("emqx", "queue"),
    ("nsqd", "queue"),
    ("elasticsearch", "search"),
    ("opensearch", "search"),
    ("solr", "search"),
    ("meilisearch", "search"),
    ("typesense", "search"),
    ("minio", "storage"),
];

/// The repository part of an image reference's last segment: `docker.io/library/redis:7` → `redis`.
pub(crate) fn image_base(image: &str) -> &str {
    let no_digest = image.split('@').next().unwrap_or(image);
    let last = no_digest.rsplit('/').next().unwrap_or(no_digest);
    last.split(':').next().unwrap_or(last)
}

/// Resource type of a well-known image (`mcr.microsoft.com/mssql/server` too).
pub(crate) fn resource_type(image: &str) -> Option<&'static str> {
    let base = image_base(image).to_ascii_lowercase();
    if image.contains("/mssql/") {
        return Some("database");
    }
    IMAGES.iter().find(|(name, _)| *name == base).map(|(_, t)| *t)
}

/// Key words of environment variables that hold a bare `host[:port]`.
const ADDRESS_KEYS: &[&str] =
    &["ADDR", "ADDRESS", "ADDRS", "HOST", "HOSTS", "HOSTNAME", "SERVER", "SERVERS", "BROKER", "BROKERS", "ENDPOINT", "NODES", "URL", "URI"];

/// Service names an environment variable points at: hosts of URLs in any variable, and
/// `host[:port]` lists in variables named like addresses.
pub(crate) fn hosts_in(key: &str, value: &str) -> Vec<String> {
    let address_key = key.to_ascii_uppercase().split(['_', '-', '.']).any(|t| ADDRESS_KEYS.contains(&t));
    let mut out = Vec::new();
    for part in value.split([',', ' ', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let part = part.strip_prefix("jdbc:").unwrap_or(part);
        let host = if part.contains("://") {
            url::Url::parse(part).ok().and_then(|u| u.host_str().map(str::to_owned))
        } else if address_key {
            let hostport = part.split('/').next().unwrap_or(part);
            let host = match hostport.rsplit_once(':') {
                Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
                Some(_) => continue,
                None => hostport,
            };
            Some(host.to_owned())
        } else {
            None
        };
        let Some(host) = host else { continue };
        let label = host.split('.').next().unwrap_or(&host).to_ascii_lowercase();
        let valid = !label.is_empty()
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            && !label.bytes().all(|b| b.is_ascii_digit())
            && label != "localhost";
        if valid && !out.contains(&label) {
            out.push(label);
        }
    }
    out
}

/// What a workload is in the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Identity {
    Component(usize),
    /// A declared entity without inferred component (its reference).
    Declared(String),
    /// A Resource of a well-known image: its name and type.
    Resource(String),
    Unknown,
}

struct Resource {
    spec_type: &'static str,
    image: String,
    path: String,
    depends_on: BTreeSet<String>,
}

fn identify(cx: &Cx<'_>, components: &[Component], w: &Workload) -> Identity {
    if let Some(dir) = &w.build_dir {
        let exact = components.iter().position(|c| &c.dir == dir);
        if let Some(i) = exact.or_else(|| holder(components, &join(dir, "Dockerfile"))) {
            return Identity::Component(i);
        }
    }
    for name in &w.names {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = components.iter().position(|c| c.aliases.contains(&lower)) {
            return Identity::Component(i);
        }
        if let Some(d) = cx.repo.declared.iter().find(|d| d.kind.eq_ignore_ascii_case("component") && d.name.eq_ignore_ascii_case(name)) {
            return Identity::Declared(format!("component:{}/{}", d.namespace, d.name));
        }
    }
    match (w.images.iter().find_map(|i| resource_type(i)), w.names.first().and_then(|n| sanitize_object_name(n))) {
        (Some(_), Some(name)) => Identity::Resource(name),
        _ => Identity::Unknown,
    }
}

/// Adds the dependencies of the tree's workloads to its components, and returns the
/// Resources found and the dependencies of declared entities that have no inferred component.
pub(crate) fn apply(cx: &mut Cx<'_>, components: &mut [Component]) -> Vec<Contribution> {
    let (mut workloads, services) = kubernetes::collect(cx);
    workloads.extend(compose::collect(cx));
    let deps = dependencies(cx, components, &workloads, &services);
    for (i, dep) in deps.components {
        components[i].depends_on.insert(dep);
    }
    let mut out: Vec<Contribution> = deps.resources.into_iter().map(|(name, r)| resource(cx, &name, r)).collect();
    let declared = deps.declared.into_iter().filter(|(_, (_, d))| !d.is_empty());
    out.extend(declared.map(|(r, (path, d))| declared_deps(cx, &r, &path, d)));
    out
}

/// What the workloads say, by entity.
struct Dependencies {
    /// (component index, dependency).
    components: Vec<(usize, String)>,
    resources: BTreeMap<String, Resource>,
    /// Declared entity → (file, dependencies).
    declared: BTreeMap<String, (String, BTreeSet<String>)>,
}

fn dependencies(cx: &Cx<'_>, components: &[Component], workloads: &[Workload], services: &[ServiceAlias]) -> Dependencies {
    let ids: Vec<Identity> = workloads.iter().map(|w| identify(cx, components, w)).collect();
    let reference = |id: &Identity| match id {
        Identity::Component(i) => Some(components[*i].entity_ref()),
        Identity::Declared(r) => Some(r.clone()),
        Identity::Resource(name) => Some(format!("resource:default/{name}")),
        Identity::Unknown => None,
    };
    let refs: Vec<Option<String>> = ids.iter().map(reference).collect();
    // Names a workload can be reached by, Kubernetes Service names included.
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for (i, w) in workloads.iter().enumerate().filter(|(i, _)| refs[*i].is_some()) {
        for n in &w.names {
            by_name.entry(n.to_ascii_lowercase()).or_insert(i);
        }
    }
    for s in services {
        let picked = workloads.iter().position(|w| !s.selector.is_empty() && s.selector.iter().all(|(k, v)| w.labels.get(k) == Some(v)));
        if let Some(i) = picked.filter(|i| refs[*i].is_some()) {
            by_name.entry(s.name.to_ascii_lowercase()).or_insert(i);
        }
    }
    let resolve = |name: &str| -> Option<String> {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = by_name.get(&lower) {
            return refs[*i].clone();
        }
        components.iter().find(|c| c.aliases.contains(&lower)).map(Component::entity_ref)
    };
    let mut resources: BTreeMap<String, Resource> = BTreeMap::new();
    let mut declared: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
    let mut component_deps: Vec<(usize, String)> = Vec::new();
    for (w, (id, own)) in workloads.iter().zip(ids.iter().zip(&refs)) {
        let Some(own) = own else { continue };
        let hosts = w.env.iter().flat_map(|(k, v)| hosts_in(k, v));
        let deps: BTreeSet<String> =
            w.depends_on.iter().cloned().chain(hosts).filter_map(|h| resolve(&h)).filter(|r| r != own).collect();
        match id {
            Identity::Component(i) => component_deps.extend(deps.into_iter().map(|d| (*i, d))),
            Identity::Declared(r) => declared.entry(r.clone()).or_insert_with(|| (w.path.clone(), BTreeSet::new())).1.extend(deps),
            Identity::Resource(name) => {
                let image = w.images.iter().find(|i| resource_type(i).is_some()).cloned().unwrap_or_default();
                let spec_type = resource_type(&image).unwrap_or("database");
                let r = resources.entry(name.clone()).or_insert_with(|| Resource { spec_type, image, path: w.path.clone(), depends_on: BTreeSet::new() });
                r.depends_on.extend(deps);
            }
            Identity::Unknown => {}
        }
    }
    Dependencies { components: component_deps, resources, declared }
}

fn resource(cx: &Cx<'_>, name: &str, r: Resource) -> Contribution {
    let dir = dir_of(&r.path);
    let mut spec = json!({"type": r.spec_type, "owner": cx.owner_of(dir).0});
    let mut facts = json!({"image": r.image});
    if !r.depends_on.is_empty() {
        spec["dependsOn"] = json!(r.depends_on);
        facts[OBSERVED_DEPENDS_ON] = json!(r.depends_on);
    }
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Resource",
        "metadata": {"name": name, "annotations": {"backstage.io/source-location": source_location(cx, dir)}},
        "spec": spec,
        "status": {"facts": facts},
    });
    Contribution::new(Evidence::Inferred, cx.location(&r.path), document)
}

/// The dependencies of a declared entity that inference found no component for.
fn declared_deps(cx: &Cx<'_>, entity_ref: &str, path: &str, deps: BTreeSet<String>) -> Contribution {
    let (kind_ns, name) = entity_ref.split_once('/').unwrap_or(("component:default", entity_ref));
    let namespace = kind_ns.split_once(':').map_or("default", |(_, ns)| ns);
    let mut metadata = json!({"name": name});
    if namespace != portico_model::DEFAULT_NAMESPACE {
        metadata["namespace"] = Value::from(namespace);
    }
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": metadata,
        "spec": {"dependsOn": deps},
        "status": {"facts": {OBSERVED_DEPENDS_ON: deps}},
    });
    Contribution::new(Evidence::Inferred, cx.location(path), document)
}
