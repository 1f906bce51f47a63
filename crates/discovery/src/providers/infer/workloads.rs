//! Workloads of deployment files, and what each is in the catalog. Kubernetes manifests, Helm
//! templates and docker-compose files describe workloads (a Deployment, a compose service);
//! each is matched to a component by its build folder or by any name it carries (service
//! name, `container_name`, `hostname`, Deployment and Service names, image name with or
//! without the prefix all images share), to a declared entity, or becomes a Resource when it
//! runs a datastore: a well-known image (`redis`, `postgres`), an image named like one
//! (`*-mongodb`, `*-db`), or a folder of the repository that builds `FROM` one. A component
//! takes the name its deployment uses; the other names become aliases.

use std::collections::BTreeMap;

use portico_model::naming::sanitize_object_name;

use super::components::{Component, holder};
use super::settings::{Setting, dockerfile_from};
use super::tree::{file_name, join};
use super::{Cx, compose, kubernetes};

/// A workload found in a deployment file.
#[derive(Debug, Default, Clone)]
pub(crate) struct Workload {
    /// The file it was found in.
    pub path: String,
    /// The line that names it (1-based).
    pub line: usize,
    /// Names it goes by, preferred first: workload or compose service name, labels,
    /// container names.
    pub names: Vec<String>,
    /// Images of its containers.
    pub images: Vec<String>,
    /// Its environment, each variable with the file and line that sets it.
    pub env: Vec<Setting>,
    /// Names of the workloads it declares it needs (compose `depends_on`, `links`).
    pub depends_on: Vec<String>,
    /// Folder its image is built from (compose `build`).
    pub build_dir: Option<String>,
    /// The Dockerfile it names, when not the build folder's `Dockerfile`.
    pub dockerfile: Option<String>,
    /// The repository folder it runs its code from (a development compose service mounting
    /// the code and working in it).
    pub code_dir: Option<String>,
    /// Rendered from a Helm template: its names come from a guessed release name and do not
    /// rename a component.
    pub templated: bool,
    /// A Kubernetes Job or CronJob: it runs once, it is no datastore.
    pub job: bool,
    /// Pod labels, for Kubernetes Services' selectors.
    pub labels: BTreeMap<String, String>,
}

impl Workload {
    /// Folds in what an override file says of the same service.
    pub fn merge(&mut self, o: Workload) {
        for n in o.names {
            if !self.names.contains(&n) {
                self.names.push(n);
            }
        }
        for i in o.images {
            if !self.images.contains(&i) {
                self.images.push(i);
            }
        }
        self.env.extend(o.env);
        self.depends_on.extend(o.depends_on);
        self.build_dir = o.build_dir.or(self.build_dir.take());
        self.dockerfile = o.dockerfile.or(self.dockerfile.take());
        self.code_dir = o.code_dir.or(self.code_dir.take());
        self.labels.extend(o.labels);
    }
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
    ("documentdb", "database"),
    ("documentdb-local", "database"),
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
    ("elasticsearch-oss", "search"),
    ("opensearch", "search"),
    ("solr", "search"),
    ("meilisearch", "search"),
    ("typesense", "search"),
    ("minio", "storage"),
    ("localstack", "storage"),
    ("azurite", "storage"),
    ("mssql", "database"),
    ("sqlserver", "database"),
];

/// Endings of image and folder names that mean a datastore (`piggymetrics-mongodb`,
/// `accounts-db`), with the Resource type.
const NAME_ENDINGS: &[(&str, &str)] = &[
    ("-mongodb", "database"),
    ("-mongo", "database"),
    ("-postgres", "database"),
    ("-postgresql", "database"),
    ("-mysql", "database"),
    ("-mariadb", "database"),
    ("-db", "database"),
    ("-database", "database"),
    ("-redis", "cache"),
    ("-cache", "cache"),
    ("-rabbitmq", "queue"),
    ("-kafka", "queue"),
    ("-elasticsearch", "search"),
    ("-opensearch", "search"),
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

/// Images of observability stacks: folders building them are configuration, not services.
const OBSERVABILITY: &[&str] = &[
    "grafana", "prometheus", "kibana", "logstash", "logstash-oss", "fluentd", "fluent-bit", "opentelemetry-collector",
    "opentelemetry-collector-contrib", "otel-collector", "jaeger", "all-in-one", "loki", "tempo", "alertmanager", "promtail", "zipkin",
    "seq", "vector", "filebeat", "metricbeat", "telegraf", "kibana-oss", "grafana-oss",
];

/// True for an image of an observability stack (`grafana/grafana:10`, `otel/opentelemetry-collector`).
pub(crate) fn is_observability(image: &str) -> bool {
    OBSERVABILITY.contains(&image_base(image).to_ascii_lowercase().as_str())
}

/// Managed datastores whose emulators run locally (`firestore-emulator`, `pubsub`).
const EMULATED: &[(&str, &str)] =
    &[("firestore", "database"), ("datastore", "database"), ("spanner", "database"), ("bigtable", "database"), ("cosmos", "database"), ("pubsub", "queue")];

/// Resource type of a name ending like a datastore's (`auth-mongodb`, `orders-db`) or naming
/// an emulated managed datastore (`firestore-emulator`).
pub(crate) fn resource_type_of_name(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    NAME_ENDINGS
        .iter()
        .find(|(end, _)| lower.ends_with(end) && lower.len() > end.len())
        .or_else(|| EMULATED.iter().find(|(word, _)| lower.split(['-', '_', '.']).any(|w| w == *word)))
        .map(|(_, t)| *t)
}

/// Key words of environment variables that hold a bare `host[:port]`.
const ADDRESS_KEYS: &[&str] = &[
    "ADDR", "ADDRESS", "ADDRS", "ADDRESSES", "HOST", "HOSTS", "HOSTNAME", "SERVER", "SERVERS", "BROKER", "BROKERS", "ENDPOINT",
    "ENDPOINTS", "NODES", "URL", "URLS", "URI", "URIS", "CONNECTION", "CONNECTIONSTRING", "DSN", "ZONE", "UPSTREAM",
];

/// Connection-string keys whose value is a host (`Server=sqldata;Database=x`).
const CONNECTION_HOST_KEYS: &[&str] = &["server", "host", "data source", "address", "addr", "hostname", "endpoint"];

/// Words of a variable's name, split at `_`, `-`, `.` and camel case, upper case.
pub(crate) fn key_words(key: &str) -> Vec<String> {
    let mut words = Vec::new();
    for part in key.split(['_', '-', '.', ':']) {
        let mut cur = String::new();
        let mut prev_lower = false;
        for ch in part.chars() {
            if ch.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
                words.push(std::mem::take(&mut cur).to_ascii_uppercase());
            }
            prev_lower = ch.is_ascii_lowercase() || ch.is_ascii_digit();
            cur.push(ch);
        }
        if !cur.is_empty() {
            words.push(cur.to_ascii_uppercase());
        }
    }
    words
}

/// Service names an environment variable points at: hosts of URLs in any variable, and
/// `host[:port]` lists in variables named like addresses.
pub(crate) fn hosts_in(key: &str, value: &str) -> Vec<String> {
    let address_key = key_words(key).iter().any(|t| ADDRESS_KEYS.contains(&t.as_str()));
    let mut out = Vec::new();
    for part in value.split([',', ' ', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let part = part.strip_prefix("jdbc:").unwrap_or(part);
        let conn = part.split_once('=').filter(|(k, _)| CONNECTION_HOST_KEYS.contains(&k.trim().to_ascii_lowercase().as_str()));
        let host = if let Some((_, v)) = conn {
            let v = v.trim().trim_start_matches("tcp:");
            Some(v.split([':', ',']).next().unwrap_or(v).to_owned())
        } else if part.contains("://") {
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
pub(crate) enum Identity {
    Component(usize),
    /// A declared entity without inferred component (its reference).
    Declared(String),
    /// A Resource: its name and type.
    Resource(String, &'static str),
    Unknown,
}

/// The deployment files of a tree, and what each workload is.
#[derive(Debug, Default)]
pub(crate) struct Deployments {
    pub workloads: Vec<Workload>,
    pub services: Vec<ServiceAlias>,
    pub ids: Vec<Identity>,
    /// Folders that build a datastore image (`FROM mongo`): folder → (Resource type, image).
    pub datastore_dirs: BTreeMap<String, (&'static str, String)>,
}

/// Every workload and Kubernetes Service of the tree.
pub(crate) fn collect(cx: &mut Cx<'_>) -> Deployments {
    let (mut workloads, services) = kubernetes::collect(cx);
    workloads.extend(compose::collect(cx));
    workloads.extend(super::aspire::collect(cx));
    Deployments { workloads, services, ..Deployments::default() }
}

/// The longest `-`-ended prefix at least two image names share (`retail-store-sample-`).
fn common_prefix(names: &[String]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for n in names {
        for (i, _) in n.match_indices('-') {
            *counts.entry(&n[..=i]).or_default() += 1;
        }
    }
    counts.into_iter().filter(|(_, c)| *c >= 2).map(|(p, _)| p).max_by_key(|p| p.len()).map(str::to_owned)
}

/// The names an image goes by: its base, and the base without the shared prefix or the
/// repository's name (`go-coffeeshop-product` → `product`).
fn image_names(image: &str, prefix: Option<&str>, repo: &str) -> Vec<String> {
    let base = image_base(image).to_ascii_lowercase();
    let mut out = vec![base.clone()];
    let repo_prefix = format!("{}-", repo.to_ascii_lowercase());
    for p in [prefix, Some(repo_prefix.as_str())].into_iter().flatten() {
        if let Some(rest) = base.strip_prefix(p).filter(|r| !r.is_empty()) {
            out.push(rest.to_owned());
        }
    }
    out
}

/// Folders whose Dockerfile builds a datastore (`FROM mongo:6`): they are no component.
fn datastore_dirs(cx: &Cx<'_>, components: &mut Vec<Component>) -> BTreeMap<String, (&'static str, String)> {
    let mut out = BTreeMap::new();
    components.retain(|c| {
        if !super::manifests::is_dockerfile(file_name(&c.manifest)) {
            return true;
        }
        let Some(text) = cx.tree.read(&c.manifest).ok().flatten() else { return true };
        let from = dockerfile_from(&text);
        let Some(image) = from.last() else { return true };
        if is_observability(image) {
            // A folder configuring grafana, logstash, an OpenTelemetry collector: no service.
            return false;
        }
        match resource_type(image) {
            Some(t) => {
                out.insert(c.dir.clone(), (t, image.clone()));
                false
            }
            None => true,
        }
    });
    out
}

/// What each workload is; components matched to a workload take the name it deploys them
/// under and every other name it carries as aliases.
pub(crate) fn identify(cx: &mut Cx<'_>, components: &mut Vec<Component>, d: &mut Deployments) {
    d.datastore_dirs = datastore_dirs(cx, components);
    // An Aspire app host orchestrates the others: tooling, not a service of its own.
    for host in super::aspire::hosts(cx) {
        if let Some(c) = components.iter_mut().find(|c| c.dir == host) {
            c.spec_type = super::manifests::Type::Tool;
            c.type_reason = Some("a .NET Aspire app host: it starts the other services, it serves nothing itself".to_owned());
        }
    }
    let bases: Vec<String> = d.workloads.iter().flat_map(|w| w.images.iter().map(|i| image_base(i).to_ascii_lowercase())).collect();
    let prefix = common_prefix(&bases);
    let carved = carve(cx, components, &d.workloads);
    let mut renamed = vec![false; components.len()];
    let mut ids = Vec::with_capacity(d.workloads.len());
    for w in &d.workloads {
        let images: Vec<String> = w.images.iter().flat_map(|i| image_names(i, prefix.as_deref(), &cx.repo.name)).collect();
        let id = identify_one(cx, components, &d.datastore_dirs, w, &images);
        if let Identity::Component(i) = id {
            let by_deployment =
                !w.templated && (w.build_dir.is_some() || w.names.iter().any(|n| components[i].aliases.contains(&n.to_ascii_lowercase())));
            let c = &mut components[i];
            for n in w.names.iter().map(|n| n.to_ascii_lowercase()).chain(images) {
                if !c.aliases.contains(&n) {
                    c.aliases.push(n);
                }
            }
            let declared = cx.repo.declared.iter().any(|x| x.dir == c.dir);
            let wanted = w.names.first().and_then(|n| sanitize_object_name(n));
            if let Some(name) = wanted.filter(|_| by_deployment && !renamed[i] && !declared) {
                renamed[i] = true;
                let taken = components.iter().enumerate().any(|(j, o)| j != i && !is_recipe(o) && o.name.eq_ignore_ascii_case(&name));
                if !taken {
                    components[i].name = name;
                    components[i].name_from = Some(format!("{}:{}", w.path, w.line));
                }
            }
        }
        ids.push(id);
    }
    // A module whose deployables were all carved out of it is their shared code.
    for i in carved {
        if !ids.contains(&Identity::Component(i)) {
            components[i].spec_type = super::manifests::Type::Library;
        }
    }
    d.ids = fold_nested(cx, components, ids, &d.workloads);
}

/// Modules nested in a deployed component's folder that nothing deploys on its own and that
/// have no Dockerfile (an ASP.NET host's `ClientApp/package.json`, a service's helper module)
/// are part of that component: their files join it and they make no component. Returns the
/// identities with component indexes renumbered.
fn fold_nested(cx: &Cx<'_>, components: &mut Vec<Component>, ids: Vec<Identity>, workloads: &[Workload]) -> Vec<Identity> {
    let built: Vec<&str> = workloads.iter().filter_map(|w| w.build_dir.as_deref()).collect();
    let deployed: Vec<usize> = ids.iter().filter_map(|id| if let Identity::Component(i) = id { Some(*i) } else { None }).collect();
    let mut into: Vec<Option<usize>> = vec![None; components.len()];
    for (i, c) in components.iter().enumerate() {
        let declared = cx.repo.declared.iter().any(|d| d.dir == c.dir);
        let own_dockerfile = c.own.iter().any(|p| super::manifests::is_dockerfile(file_name(p)));
        if deployed.contains(&i) || declared {
            continue;
        }
        if is_recipe(c) && built.contains(&c.dir.as_str()) {
            // A Dockerfile with no code that workloads build but run other code with (a
            // development image mounting each service's folder): a recipe, no service.
            into[i] = Some(usize::MAX);
            continue;
        }
        if c.dir.is_empty() || own_dockerfile {
            continue;
        }
        if let Some(p) = holder(components, &c.dir).filter(|p| deployed.contains(p)) {
            into[i] = Some(p);
        }
    }
    for (i, p) in into.iter().enumerate() {
        if let Some(p) = p.filter(|p| *p != usize::MAX) {
            let files = std::mem::take(&mut components[i].own);
            components[p].own.extend(files);
        }
    }
    let mut renumber = Vec::with_capacity(components.len());
    let mut kept = 0;
    for f in &into {
        renumber.push(kept);
        if f.is_none() {
            kept += 1;
        }
    }
    let mut i = 0;
    components.retain(|_| {
        let keep = into[i].is_none();
        i += 1;
        keep
    });
    ids.into_iter().map(|id| if let Identity::Component(i) = id { Identity::Component(renumber[i]) } else { id }).collect()
}

/// The stem a Dockerfile's name gives (`Dockerfile-product`, `Dockerfile.product`,
/// `product.Dockerfile` → `product`).
fn dockerfile_stem(path: &str) -> Option<String> {
    let name = file_name(path).to_ascii_lowercase();
    let stem = name.strip_prefix("dockerfile").map(|s| s.trim_start_matches(['-', '.', '_'])).or_else(|| name.strip_suffix(".dockerfile"))?;
    (!stem.is_empty() && !matches!(stem, "dev" | "prod" | "production" | "local" | "debug" | "test" | "ci")).then(|| stem.to_owned())
}

/// Services built from one module by Dockerfiles kept together (`docker/Dockerfile-product`
/// building `cmd/product` of a root `go.mod`): each becomes a component of its own folder,
/// found by the Dockerfile's stem. Returns the modules carved.
fn carve(cx: &Cx<'_>, components: &mut Vec<Component>, workloads: &[Workload]) -> Vec<usize> {
    let mut carved = Vec::new();
    for w in workloads {
        let (Some(df), Some(dir)) = (&w.dockerfile, &w.build_dir) else { continue };
        let Some(stem) = dockerfile_stem(df) else { continue };
        let Some(parent) = holder(components, &join(dir, "Dockerfile")) else { continue };
        let root = components[parent].dir.clone();
        let mut folders: Vec<&str> = cx
            .tree
            .dirs
            .iter()
            .copied()
            .filter(|d| super::tree::is_within(d, &root) && file_name(d).eq_ignore_ascii_case(&stem) && !super::tree::in_test_dir(d))
            .collect();
        folders.sort_by_key(|d| (!d.split('/').any(|s| matches!(s, "cmd" | "apps" | "services" | "src")), d.len()));
        let Some(folder) = folders.first().map(|f| (*f).to_owned()) else { continue };
        if components.iter().any(|c| c.dir == folder) {
            continue;
        }
        let mut c = components[parent].derived(&folder, df);
        c.spec_type = super::manifests::Type::Service;
        c.own = cx.tree.under(&folder).map(str::to_owned).collect();
        components.push(c);
        carved.push(parent);
    }
    carved
}

fn identify_one(
    cx: &Cx<'_>,
    components: &[Component],
    datastores: &BTreeMap<String, (&'static str, String)>,
    w: &Workload,
    images: &[String],
) -> Identity {
    let resource_name = || w.names.first().and_then(|n| sanitize_object_name(n));
    // A test double in the main compose file (`firestore-component-tests`, `api-e2e`).
    let test_double = |n: &String| {
        let n = n.to_ascii_lowercase();
        ["-test", "-tests", "-e2e", "-it"].iter().any(|s| n.ends_with(s)) || n.starts_with("test-")
    };
    if w.names.first().is_some_and(test_double) {
        return Identity::Unknown;
    }
    let carved = |c: &Component, df: &str| c.manifest == df && c.dir != super::tree::dir_of(df);
    if let Some(i) = w.dockerfile.as_ref().and_then(|df| components.iter().position(|c| carved(c, df))) {
        return Identity::Component(i);
    }
    if let Some(dir) = &w.code_dir {
        let found = components.iter().position(|c| &c.dir == dir).or_else(|| holder(components, &join(dir, "x")));
        if let Some(i) = found.filter(|i| !components[*i].dir.is_empty() || dir.is_empty()) {
            return Identity::Component(i);
        }
    }
    if let Some(dir) = &w.build_dir {
        if let Some((t, _)) = datastores.get(dir) {
            return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
        }
        let exact = components.iter().position(|c| &c.dir == dir);
        if let Some(i) = exact.or_else(|| holder(components, &join(dir, "Dockerfile"))) {
            // A folder holding only a Dockerfile (a recipe several services share) names no
            // service by itself: the workload's names say which it is, when they can.
            if is_recipe(&components[i]) {
                if let Some(id) = by_names(cx, components, w) {
                    return id;
                }
                let named = w.names.iter().map(String::as_str).chain([file_name(dir)]).find_map(resource_type_of_name);
                if let (Some(t), Some(n)) = (named, resource_name()) {
                    return Identity::Resource(n, t);
                }
            }
            return Identity::Component(i);
        }
        // The Dockerfile sits above the only manifest (`svc/Dockerfile`, `svc/html/composer.json`):
        // that component is the deployed folder's service.
        let below: Vec<usize> = (0..components.len()).filter(|i| super::tree::is_within(&components[*i].dir, dir)).collect();
        if let [only] = below[..] {
            return Identity::Component(only);
        }
    }
    // A well-known datastore image in the main container is that datastore, whatever a
    // component is called; a one-off job running one (loading data) is none.
    // (A Helm template's name is the guessed release's: it names no datastore reliably.)
    if let Some(t) = w.images.first().and_then(|i| resource_type(i)).filter(|_| !w.job && !w.templated) {
        return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
    }
    if let Some(id) = by_names(cx, components, w) {
        return id;
    }
    if let Some(t) = w.images.iter().find_map(|i| resource_type(i)).filter(|_| !w.job) {
        return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
    }
    for image in images {
        if let Some((t, _)) = datastores.iter().find(|(dir, _)| file_name(dir).eq_ignore_ascii_case(image)).map(|(_, v)| v) {
            return resource_name().map_or(Identity::Unknown, |n| Identity::Resource(n, t));
        }
        if let Some(i) = components.iter().position(|c| c.aliases.contains(image)) {
            return Identity::Component(i);
        }
    }
    let named = w.names.iter().chain(images.iter()).find_map(|n| resource_type_of_name(n)).filter(|_| !w.job);
    match (named, resource_name()) {
        (Some(t), Some(n)) => Identity::Resource(n, t),
        _ => Identity::Unknown,
    }
}

/// A workload name without a role suffix (`-http`, `-grpc`, `-api`, `-service`, `-worker`…).
fn strip_role(name: &str) -> Option<String> {
    const ROLES: &[&str] = &["-http", "-grpc", "-api", "-service", "-svc", "-server", "-worker", "-web", "-app", "-backend"];
    ROLES.iter().find_map(|r| name.strip_suffix(r)).filter(|n| !n.is_empty()).map(str::to_owned)
}

/// A component made from a folder holding a Dockerfile and no source code.
fn is_recipe(c: &Component) -> bool {
    c.language.is_none() && super::manifests::is_dockerfile(file_name(&c.manifest))
}

/// The component or declared entity one of the workload's names is.
fn by_names(cx: &Cx<'_>, components: &[Component], w: &Workload) -> Option<Identity> {
    for name in &w.names {
        let lower = name.to_ascii_lowercase();
        if let Some(i) = components.iter().position(|c| c.aliases.contains(&lower) && !is_recipe(c)) {
            return Some(Identity::Component(i));
        }
        if let Some(d) = cx.repo.declared.iter().find(|d| d.kind.eq_ignore_ascii_case("component") && d.name.eq_ignore_ascii_case(name)) {
            return Some(Identity::Declared(format!("component:{}/{}", d.namespace, d.name)));
        }
    }
    // `trainer-http`, `orders-api`: a component's name with the protocol or role appended.
    let stripped = w.names.iter().filter_map(|n| strip_role(&n.to_ascii_lowercase()));
    stripped.filter_map(|n| components.iter().position(|c| c.aliases.contains(&n) && !is_recipe(c))).next().map(Identity::Component)
}
