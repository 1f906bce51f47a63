//! From a cluster's objects to contributions: one `Cluster`, one `Workload` per Deployment,
//! StatefulSet, DaemonSet and CronJob, and the `Kind` entities declaring both. Services and
//! Ingresses become facts of the workloads they reach (a Service reaches the workloads whose
//! pod template labels match its selector; an Ingress reaches what its backend Services reach),
//! and namespaces are facts too: what a namespace means (a team, an environment, an app)
//! differs from one organisation to the next.

use std::collections::{BTreeMap, BTreeSet, HashSet};

use k8s_openapi::api::core::v1::{Container, PodTemplateSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use portico_model::naming::sanitize_object_name;
use serde_json::{Map, Value, json};

use super::Settings;
use super::fetch::Snapshot;
use super::kinds;
use crate::engine::{Contribution, Evidence};

/// Labels naming a workload's owning team, first match wins.
const OWNER_LABELS: &[&str] = &["backstage.io/owner", "owner", "team"];

/// One workload object, whatever its API kind.
struct View<'a> {
    /// `spec.type`: deployment, statefulset, daemonset, cronjob.
    kind: &'static str,
    /// The API kind, for locations.
    api_kind: &'static str,
    meta: &'a ObjectMeta,
    template: Option<&'a PodTemplateSpec>,
    replicas: Option<i32>,
    ready: Option<i32>,
    extra: Map<String, Value>,
}

pub(crate) fn contributions(cluster: &str, snap: &Snapshot, settings: &Settings) -> Vec<Contribution> {
    let cluster_name = sanitize_object_name(cluster).unwrap_or_else(|| "cluster".into());
    let mut out: Vec<Contribution> = kinds::documents()
        .into_iter()
        .map(|doc| Contribution::new(Evidence::Observed, format!("k8s:{cluster}"), doc))
        .collect();
    out.push(Contribution::new(
        Evidence::Observed,
        format!("k8s:{cluster}"),
        json!({
            "apiVersion": kinds::API_VERSION,
            "kind": "Cluster",
            "metadata": { "name": cluster_name, "title": cluster },
            "spec": { "server": snap.server },
            "status": { "facts": { "k8s.cluster": cluster, "k8s.namespaces": snap.namespaces } },
        }),
    ));
    let hosts = ingress_hosts(snap);
    let mut used = HashSet::new();
    for view in views(snap) {
        let ns = view.meta.namespace.as_deref().unwrap_or("default");
        let obj = view.meta.name.as_deref().unwrap_or_default();
        let Some(mut name) = sanitize_object_name(&format!("{cluster}-{ns}-{obj}")) else { continue };
        if !used.insert(name.clone()) {
            // A Deployment and a StatefulSet of one name in one namespace: keep both apart.
            name = sanitize_object_name(&format!("{cluster}-{ns}-{obj}-{}", view.kind)).unwrap_or(name);
            used.insert(name.clone());
        }
        let location = format!("k8s:{cluster}:{ns}/{}/{obj}", view.api_kind);
        out.push(Contribution::new(Evidence::Observed, location, workload(cluster, &cluster_name, &name, &view, snap, &hosts, settings)));
    }
    out
}

fn workload(
    cluster: &str,
    cluster_name: &str,
    name: &str,
    view: &View<'_>,
    snap: &Snapshot,
    hosts: &BTreeMap<(String, String), BTreeSet<String>>,
    settings: &Settings,
) -> Value {
    let ns = view.meta.namespace.clone().unwrap_or_else(|| "default".into());
    let pod_labels = view.template.and_then(|t| t.metadata.as_ref()).and_then(|m| m.labels.as_ref());
    let lookup = |keys: &[&str]| -> Option<String> {
        keys.iter().find_map(|k| {
            [view.meta.annotations.as_ref(), view.meta.labels.as_ref(), pod_labels]
                .into_iter()
                .flatten()
                .find_map(|m| m.get(*k).and_then(|v| sanitize_object_name(v)))
        })
    };
    let component_keys: Vec<&str> = settings.component_labels.iter().map(String::as_str).collect();
    let component = lookup(&component_keys);
    let owner = lookup(OWNER_LABELS);

    let mut facts = view.extra.clone();
    facts.insert("k8s.cluster".into(), json!(cluster));
    facts.insert("k8s.namespace".into(), json!(ns));
    if let Some(r) = view.replicas {
        facts.insert("k8s.replicas".into(), json!(r));
    }
    if let Some(r) = view.ready {
        facts.insert("k8s.readyReplicas".into(), json!(r));
    }
    if let Some(pod) = view.template.and_then(|t| t.spec.as_ref()) {
        let all: Vec<&Container> = pod.init_containers.iter().flatten().chain(&pod.containers).collect();
        let mut images: Vec<&str> = Vec::new();
        for image in all.iter().filter_map(|c| c.image.as_deref()) {
            if !images.contains(&image) {
                images.push(image);
            }
        }
        let tags: Vec<String> = images.iter().map(|i| image_tag(i)).collect();
        facts.insert("k8s.images".into(), json!(images));
        facts.insert("k8s.imageTags".into(), json!(tags));
        let every = |f: &dyn Fn(&Container) -> bool| !pod.containers.is_empty() && pod.containers.iter().all(f);
        facts.insert("k8s.hasLivenessProbe".into(), json!(every(&|c| c.liveness_probe.is_some())));
        facts.insert("k8s.hasReadinessProbe".into(), json!(every(&|c| c.readiness_probe.is_some())));
        facts.insert(
            "k8s.hasResourceLimits".into(),
            json!(every(&|c| c.resources.as_ref().and_then(|r| r.limits.as_ref()).is_some_and(|l| !l.is_empty()))),
        );
    }
    let services: Vec<&str> = selecting_services(snap, &ns, pod_labels);
    let mut reach: BTreeSet<&str> = BTreeSet::new();
    for s in &services {
        reach.extend(hosts.get(&(ns.clone(), (*s).to_owned())).into_iter().flatten().map(String::as_str));
    }
    facts.insert("k8s.services".into(), json!(services));
    facts.insert("k8s.hosts".into(), json!(reach));

    let mut spec = json!({ "type": view.kind, "cluster": cluster_name, "namespace": ns });
    if let Some(c) = component {
        spec["component"] = json!(c);
    }
    if let Some(o) = owner {
        spec["owner"] = json!(o);
    }
    json!({
        "apiVersion": kinds::API_VERSION,
        "kind": "Workload",
        "metadata": {
            "name": name,
            "title": view.meta.name,
            "annotations": { "portico.dev/kubernetes-ref": format!("{cluster}/{ns}/{}/{}", view.api_kind, view.meta.name.as_deref().unwrap_or_default()) },
        },
        "spec": spec,
        "status": { "facts": facts },
    })
}

/// The tag of an image reference: `nginx:1.25` → `1.25`, `repo@sha256:…` → the digest,
/// untagged → `latest` (what the kubelet pulls).
pub(crate) fn image_tag(image: &str) -> String {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d)),
        None => (image, None),
    };
    let last = name.rsplit('/').next().unwrap_or(name);
    match (last.split_once(':'), digest) {
        (Some((_, tag)), _) => tag.to_owned(),
        (None, Some(d)) => d.to_owned(),
        (None, None) => "latest".to_owned(),
    }
}

/// Services in `ns` whose non-empty selector matches the pod template's labels.
fn selecting_services<'a>(snap: &'a Snapshot, ns: &str, pod_labels: Option<&BTreeMap<String, String>>) -> Vec<&'a str> {
    let Some(labels) = pod_labels else { return Vec::new() };
    snap.services
        .iter()
        .filter(|s| s.metadata.namespace.as_deref() == Some(ns))
        .filter(|s| {
            let selector = s.spec.as_ref().and_then(|sp| sp.selector.as_ref());
            selector.is_some_and(|sel| !sel.is_empty() && sel.iter().all(|(k, v)| labels.get(k) == Some(v)))
        })
        .filter_map(|s| s.metadata.name.as_deref())
        .collect()
}

/// Per (namespace, service), the hosts of the Ingress rules routing to it. A rule without a
/// host (any host) adds none; an Ingress's default backend gets all the Ingress's hosts.
fn ingress_hosts(snap: &Snapshot) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for ing in &snap.ingresses {
        let ns = ing.metadata.namespace.clone().unwrap_or_else(|| "default".into());
        let Some(spec) = &ing.spec else { continue };
        let rules = spec.rules.as_deref().unwrap_or_default();
        let all_hosts: Vec<&String> = rules.iter().filter_map(|r| r.host.as_ref()).collect();
        if let Some(svc) = spec.default_backend.as_ref().and_then(|b| b.service.as_ref()) {
            out.entry((ns.clone(), svc.name.clone())).or_default().extend(all_hosts.iter().map(|h| (*h).clone()));
        }
        for rule in rules {
            for path in rule.http.iter().flat_map(|h| &h.paths) {
                if let Some(svc) = &path.backend.service {
                    let entry = out.entry((ns.clone(), svc.name.clone())).or_default();
                    entry.extend(rule.host.clone());
                }
            }
        }
    }
    out
}

fn views(snap: &Snapshot) -> Vec<View<'_>> {
    let mut out = Vec::new();
    for d in &snap.deployments {
        out.push(View {
            kind: "deployment",
            api_kind: "Deployment",
            meta: &d.metadata,
            template: Some(&d.spec.template),
            replicas: Some(d.spec.replicas.unwrap_or(1)),
            ready: Some(d.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0)),
            extra: Map::new(),
        });
    }
    for s in &snap.statefulsets {
        out.push(View {
            kind: "statefulset",
            api_kind: "StatefulSet",
            meta: &s.metadata,
            template: Some(&s.spec.template),
            replicas: Some(s.spec.replicas.unwrap_or(1)),
            ready: Some(s.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0)),
            extra: Map::new(),
        });
    }
    for d in &snap.daemonsets {
        let status = d.status.as_ref();
        out.push(View {
            kind: "daemonset",
            api_kind: "DaemonSet",
            meta: &d.metadata,
            template: Some(&d.spec.template),
            replicas: Some(status.map_or(0, |s| s.desired_number_scheduled)),
            ready: Some(status.map_or(0, |s| s.number_ready)),
            extra: Map::new(),
        });
    }
    for c in &snap.cronjobs {
        let mut extra = Map::new();
        extra.insert("k8s.schedule".into(), json!(c.spec.schedule));
        extra.insert("k8s.suspended".into(), json!(c.spec.suspend.unwrap_or(false)));
        out.push(View {
            kind: "cronjob",
            api_kind: "CronJob",
            meta: &c.metadata,
            template: c.spec.job_template.spec.as_ref().map(|j| &j.template),
            replicas: None,
            ready: None,
            extra,
        });
    }
    out
}
