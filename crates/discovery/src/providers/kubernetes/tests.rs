use std::path::PathBuf;

use k8s_openapi::List;
use portico_model::{Entity, KindRegistry, Validator};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::fetch::Snapshot;
use super::map::{contributions, image_tag};
use super::{KubernetesProvider, Settings};

fn ours(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kubernetes")).join(file)
}

fn shared(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/kubernetes")).join(file)
}

fn read<T: DeserializeOwned>(path: PathBuf) -> T {
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Items of one of our List fixtures plus single objects from the shared third-party set.
fn items<T>(list: &str, extra: &[&str]) -> Vec<T>
where
    T: DeserializeOwned + k8s_openapi::ListableResource,
{
    let mut items = read::<List<T>>(ours(list)).items;
    items.extend(extra.iter().map(|f| read::<T>(shared(f))));
    items
}

fn settings(v: Value) -> Settings {
    serde_json::from_value::<Settings>(v).unwrap().check().unwrap()
}

/// The cluster as the fixtures describe it, narrowed the way `fetch` narrows it.
fn snapshot() -> Snapshot {
    let keep = |ns: Option<&String>| ns.is_some_and(|n| n != "kube-system");
    let mut deployments: Vec<_> = items("deployments.json", &["k9s/dp.json"]);
    deployments.retain(|d: &k8s_openapi::api::apps::v1::Deployment| keep(d.metadata.namespace.as_ref()));
    Snapshot {
        server: "https://k8s.example.com:6443/".into(),
        namespaces: vec!["default".into(), "shop".into(), "monitoring".into()],
        deployments,
        statefulsets: items("statefulsets.json", &["k9s/sts.json"]),
        daemonsets: items("daemonsets.json", &[]),
        cronjobs: items("cronjobs.json", &[]),
        services: items("services.json", &["k9s/svc.json", "kubectl-neat/service1-raw.json"]),
        ingresses: items("ingresses.json", &[]),
    }
}

fn docs() -> Vec<Value> {
    contributions("prod-eu", &snapshot(), &settings(json!({}))).into_iter().map(|c| c.document).collect()
}

fn named<'a>(docs: &'a [Value], name: &str) -> &'a Value {
    docs.iter().find(|d| d["metadata"]["name"] == name).unwrap_or_else(|| panic!("no entity {name}"))
}

#[test]
fn settings_default_to_one_cluster_with_the_system_namespaces_excluded() {
    let s = settings(json!({}));
    assert_eq!(s.clusters.len(), 1);
    assert_eq!(s.clusters[0].name, "default");
    assert_eq!(s.exclude_namespaces, ["kube-system", "kube-public", "kube-node-lease"]);
    assert_eq!(s.component_labels[0], "backstage.io/kubernetes-id");
}

#[test]
fn bad_settings_name_the_field() {
    let err = |v: Value| KubernetesProvider::from_settings(&v).err().unwrap();
    assert!(err(json!({ "namespace": ["a"] })).contains("unknown field `namespace`"), "{}", err(json!({ "namespace": ["a"] })));
    let e = err(json!({ "clusters": [{ "name": "a" }, { "name": "a" }] }));
    assert!(e.contains("clusters[1].name") && e.contains("twice"), "{e}");
    let e = err(json!({ "clusters": [{ "name": "a", "inCluster": true, "context": "x" }] }));
    assert!(e.contains("clusters[0]") && e.contains("inCluster"), "{e}");
    let e = err(json!({ "clusters": [{ "name": "???" }] }));
    assert!(e.contains("clusters[0].name"), "{e}");
    let e = err(json!({ "clusters": [{ "kubeconfig": "/x" }] }));
    assert!(e.contains("missing field `name`"), "{e}");
}

#[test]
fn image_tags_follow_the_reference_syntax() {
    assert_eq!(image_tag("k8s.gcr.io/nginx-slim:0.8"), "0.8");
    assert_eq!(image_tag("registry.example.com:5000/shop/cart:2.4.1"), "2.4.1");
    assert_eq!(image_tag("registry.example.com:5000/shop/cart"), "latest");
    assert_eq!(image_tag("redis"), "latest");
    assert_eq!(image_tag("envoyproxy/envoy@sha256:abc"), "sha256:abc");
    assert_eq!(image_tag("envoyproxy/envoy:v1.31@sha256:abc"), "v1.31");
}

#[test]
fn every_document_validates_against_the_kinds_the_scan_declares() {
    let docs = docs();
    let kinds: Vec<Entity> = docs
        .iter()
        .filter(|d| d["kind"] == "Kind")
        .map(|d| Validator::default().validate(d.clone()).expect("Kind entity"))
        .collect();
    assert_eq!(kinds.len(), 2);
    let validator = Validator::new(KindRegistry::builtin().with_declared(&kinds).expect("kinds compile"));
    for doc in &docs {
        if let Err(errors) = validator.validate(doc.clone()) {
            panic!("{} is invalid: {errors:?}", doc["metadata"]["name"]);
        }
    }
    // Kinds, the cluster, and 2 deployments + 2 statefulsets + 1 daemonset + 1 cronjob.
    assert_eq!(docs.len(), 2 + 1 + 6, "{:#?}", docs.iter().map(|d| &d["metadata"]["name"]).collect::<Vec<_>>());
}

#[test]
fn a_deployment_carries_its_facts_and_relations() {
    let docs = docs();
    let cart = named(&docs, "prod-eu-shop-cart");
    assert_eq!(cart["spec"], json!({ "type": "deployment", "cluster": "prod-eu", "namespace": "shop", "component": "cart-service", "owner": "payments" }));
    let facts = &cart["status"]["facts"];
    assert_eq!(facts["k8s.replicas"], 3);
    assert_eq!(facts["k8s.readyReplicas"], 2);
    assert_eq!(facts["k8s.images"][0], "registry.example.com:5000/shop/cart-migrations:2.4.1");
    assert_eq!(facts["k8s.imageTags"], json!(["2.4.1", "2.4.1", "sha256:5f0b1c7a3d1e4c0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f"]));
    assert_eq!(facts["k8s.hasLivenessProbe"], true);
    assert_eq!(facts["k8s.hasReadinessProbe"], true);
    assert_eq!(facts["k8s.hasResourceLimits"], true);
    assert_eq!(facts["k8s.namespace"], "shop");
    assert_eq!(facts["k8s.cluster"], "prod-eu");
    assert_eq!(facts["k8s.services"], json!(["cart"]));
    assert_eq!(facts["k8s.hosts"], json!(["api.shop.example.com", "shop.example.com"]));
    assert_eq!(cart["metadata"]["annotations"]["portico.dev/kubernetes-ref"], "prod-eu/shop/Deployment/cart");
}

#[test]
fn third_party_objects_map_like_ours() {
    let docs = docs();
    // k9s's nginx: selected by the k9s Service and reached by the default-backend Ingress.
    let nginx = named(&docs, "prod-eu-default-nginx");
    assert_eq!(nginx["spec"]["component"], "nginx");
    assert!(nginx["spec"].get("owner").is_none());
    let facts = &nginx["status"]["facts"];
    assert_eq!(facts["k8s.services"], json!(["nginx"]));
    assert_eq!(facts["k8s.hosts"], json!(["nginx.example.com"]));
    assert_eq!(facts["k8s.hasResourceLimits"], true);
    assert_eq!(facts["k8s.hasLivenessProbe"], false);
    let sts = named(&docs, "prod-eu-default-nginx-sts");
    assert_eq!(sts["spec"]["type"], "statefulset");
    assert_eq!(sts["status"]["facts"]["k8s.replicas"], 2);
    assert_eq!(sts["status"]["facts"]["k8s.hasResourceLimits"], false);
    assert_eq!(sts["status"]["facts"]["k8s.services"], json!([]));
}

#[test]
fn a_statefulset_named_like_a_deployment_gets_its_type_appended() {
    let docs = docs();
    let cache = named(&docs, "prod-eu-shop-cart-statefulset");
    assert_eq!(cache["spec"]["component"], "cart-cache");
    assert_eq!(cache["spec"]["owner"], "Payments-Team", "owner label values are sanitized");
    assert_eq!(cache["status"]["facts"]["k8s.imageTags"], json!(["latest"]));
}

#[test]
fn daemonsets_and_cronjobs_report_what_they_have() {
    let docs = docs();
    let ne = named(&docs, "prod-eu-monitoring-node-exporter");
    assert_eq!(ne["spec"]["type"], "daemonset");
    assert_eq!(ne["status"]["facts"]["k8s.replicas"], 3);
    assert_eq!(ne["status"]["facts"]["k8s.hasReadinessProbe"], true);
    assert_eq!(ne["status"]["facts"]["k8s.hasLivenessProbe"], false);
    let cj = named(&docs, "prod-eu-shop-nightly-report");
    assert_eq!(cj["spec"]["type"], "cronjob");
    assert_eq!(cj["spec"]["component"], "shop", "app.kubernetes.io/part-of is the first label present");
    assert_eq!(cj["spec"]["owner"], "finance");
    assert_eq!(cj["status"]["facts"]["k8s.schedule"], "30 2 * * *");
    assert!(cj["status"]["facts"].get("k8s.replicas").is_none());
    let cluster = named(&docs, "prod-eu");
    assert_eq!(cluster["kind"], "Cluster");
    assert_eq!(cluster["status"]["facts"]["k8s.namespaces"], json!(["default", "shop", "monitoring"]));
}

#[test]
fn component_labels_are_configurable() {
    let s = settings(json!({ "componentLabels": ["tier"] }));
    let docs: Vec<Value> = contributions("c", &snapshot(), &s).into_iter().map(|c| c.document).collect();
    assert_eq!(named(&docs, "c-shop-cart")["spec"]["component"], "backend", "from the pod template's labels");
    assert!(named(&docs, "c-default-nginx")["spec"].get("component").is_none());
}
