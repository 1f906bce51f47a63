//! Workloads of deployment files, and what each is in the catalog. Kubernetes manifests, Helm
//! templates and docker-compose files describe workloads (a Deployment, a compose service);
//! each is matched to a component by its build folder or by any name it carries (service
//! name, `container_name`, `hostname`, Deployment and Service names, image name with or
//! without the prefix all images share), to a declared entity, or becomes a Resource when it
//! runs a datastore: a well-known image (`redis`, `postgres`), an image named like one
//! (`*-mongodb`, `*-db`), or a folder of the repository that builds `FROM` one. A component
//! takes the name its deployment uses; the other names become aliases.

mod identify;
mod images;

use std::collections::BTreeMap;

use super::settings::Setting;
use super::{Cx, compose, kubernetes};

pub(crate) use identify::identify;
pub(crate) use images::image_base;
#[cfg(test)]
pub(crate) use images::resource_type;

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
    /// Folders of the .NET Aspire app hosts.
    pub app_hosts: Vec<String>,
}
/// Every workload and Kubernetes Service of the tree.
pub(crate) fn collect(cx: &mut Cx<'_>) -> Deployments {
    let (mut workloads, services) = kubernetes::collect(cx);
    workloads.extend(compose::collect(cx));
    let app_hosts = super::aspire::hosts(cx);
    workloads.extend(super::aspire::collect(cx, &app_hosts));
    Deployments { workloads, services, app_hosts, ..Deployments::default() }
}
