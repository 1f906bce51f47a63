//! The `kubernetes` source against an HTTP server on 127.0.0.1 that stands in for a Kubernetes
//! API server, because none can run here. It serves real API JSON: the third-party objects in
//! `shared/fixtures/kubernetes/` (k9s, kubectl-neat) and the List responses in
//! `tests/fixtures/kubernetes/`, in pages of two with `continue` tokens, and the `Status`
//! bodies a real API server sends with 401, 403 and 500. The provider reaches it through the
//! real `kube` client, configured by a kubeconfig file the test writes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use portico_discovery::engine::{Scan, ScanContext, ScopeOutcome};
use portico_discovery::providers;
use portico_catalog::{Reader, ReaderConfig};
use serde_json::{Value, json};

fn ours(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/kubernetes")).join(file)
}

fn shared(file: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/kubernetes")).join(file)
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Resource path (cluster-wide) → our List fixture and the shared objects added to it.
const RESOURCES: &[(&str, &str, &[&str])] = &[
    ("/api/v1/namespaces", "namespaces.json", &["k9s/ns.json"]),
    ("/apis/apps/v1/deployments", "deployments.json", &["k9s/dp.json"]),
    ("/apis/apps/v1/statefulsets", "statefulsets.json", &["k9s/sts.json"]),
    ("/apis/apps/v1/daemonsets", "daemonsets.json", &[]),
    ("/apis/batch/v1/cronjobs", "cronjobs.json", &[]),
    ("/api/v1/services", "services.json", &["k9s/svc.json", "kubectl-neat/service1-raw.json"]),
    ("/apis/networking.k8s.io/v1/ingresses", "ingresses.json", &[]),
];

#[derive(Default)]
struct Api {
    lists: HashMap<String, Value>,
    /// Path → (status, raw body) to answer instead.
    faults: HashMap<String, (u16, String)>,
    /// Every request, as `path?query`.
    log: Vec<String>,
}

type Shared = Arc<Mutex<Api>>;

/// `/apis/apps/v1/namespaces/shop/deployments` → (`/apis/apps/v1/deployments`, `shop`).
fn split_namespace(path: &str) -> (String, Option<String>) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.iter().position(|p| *p == "namespaces") {
        Some(i) if parts.len() == i + 3 => {
            let mut all = parts[..i].to_vec();
            all.push(parts[i + 2]);
            (all.join("/"), Some(parts[i + 1].to_owned()))
        }
        _ => (path.to_owned(), None),
    }
}

async fn serve(State(api): State<Shared>, Query(q): Query<HashMap<String, String>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    let mut api = api.lock().unwrap();
    api.log.push(req.uri().to_string());
    if let Some((status, body)) = api.faults.get(&path) {
        let status = StatusCode::from_u16(*status).unwrap();
        return (status, [("content-type", "application/json")], body.clone()).into_response();
    }
    let (all, ns) = split_namespace(&path);
    let Some(list) = api.lists.get(&all) else {
        let body = json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "the server could not find the requested resource", "reason": "NotFound", "code": 404 });
        return (StatusCode::NOT_FOUND, axum::Json(body)).into_response();
    };
    let items: Vec<&Value> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| ns.as_ref().is_none_or(|n| i["metadata"]["namespace"] == n.as_str()))
        .collect();
    // A real server may return fewer items than `limit`; two per page exercises `continue`.
    let start: usize = q.get("continue").map_or(0, |c| c.parse().unwrap());
    let end = (start + 2).min(items.len());
    let mut metadata = json!({ "resourceVersion": list["metadata"]["resourceVersion"] });
    if end < items.len() {
        metadata["continue"] = json!(end.to_string());
    }
    let page = json!({ "apiVersion": list["apiVersion"], "kind": list["kind"], "metadata": metadata, "items": items[start..end] });
    axum::Json(page).into_response()
}

struct Server {
    port: u16,
    api: Shared,
}

async fn server() -> Server {
    let mut api = Api::default();
    for (path, file, extra) in RESOURCES {
        let mut list = json_file(&ours(file));
        let items = list["items"].as_array_mut().unwrap();
        items.extend(extra.iter().map(|f| json_file(&shared(f))));
        api.lists.insert((*path).to_owned(), list);
    }
    let api = Arc::new(Mutex::new(api));
    let app = axum::Router::new().fallback(serve).with_state(api.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server { port, api }
}

/// A kubeconfig with one context per (name, port).
fn kubeconfig(dir: &Path, clusters: &[(&str, u16)]) -> PathBuf {
    let mut text = String::from("apiVersion: v1\nkind: Config\nclusters:\n");
    for (name, port) in clusters {
        text.push_str(&format!("- name: {name}\n  cluster:\n    server: http://127.0.0.1:{port}\n"));
    }
    text.push_str("users:\n- name: reader\n  user:\n    token: test-token\ncontexts:\n");
    for (name, _) in clusters {
        text.push_str(&format!("- name: {name}\n  context:\n    cluster: {name}\n    user: reader\n"));
    }
    text.push_str(&format!("current-context: {}\n", clusters[0].0));
    let path = dir.join("kubeconfig");
    std::fs::write(&path, text).unwrap();
    path
}

/// Settings for one cluster `prod` served by `srv`, its kubeconfig written into `dir`.
fn prod(srv: &Server, dir: &Path) -> Value {
    json!({ "clusters": [{ "name": "prod", "kubeconfig": kubeconfig(dir, &[("prod", srv.port)]) }] })
}

fn context(ports: &[u16]) -> ScanContext {
    let allow = ports.iter().map(|p| format!("127.0.0.1:{p}")).collect();
    ScanContext::new(Reader::new(ReaderConfig { allow, ..Default::default() }), std::env::temp_dir())
}

async fn scan(settings: Value, ctx: &ScanContext) -> Scan {
    providers::build("kubernetes", &settings).unwrap().scan(ctx).await.unwrap()
}

fn names(outcome: &ScopeOutcome) -> Vec<String> {
    let ScopeOutcome::Full { contributions, .. } = outcome else { panic!("expected a full scan, got {outcome:?}") };
    let mut v: Vec<String> = contributions.iter().map(|c| c.document["metadata"]["name"].as_str().unwrap().to_owned()).collect();
    v.sort();
    v
}

fn failure(outcome: &ScopeOutcome) -> String {
    let ScopeOutcome::Failed { error } = outcome else { panic!("expected a failed scope, got {outcome:?}") };
    format!("{}: {}", error.location, error.message)
}

#[tokio::test]
async fn reads_a_cluster_through_the_api_in_pages() {
    let srv = server().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = prod(&srv, dir.path());
    let result = scan(settings, &context(&[srv.port])).await;
    assert!(result.exhaustive);
    assert_eq!(result.scopes.len(), 1);
    assert_eq!(result.scopes[0].scope, "prod");
    let got = names(&result.scopes[0].outcome);
    let expected = [
        "cluster", "prod", "prod-default-nginx", "prod-default-nginx-sts", "prod-monitoring-node-exporter", "prod-shop-cart",
        "prod-shop-cart-statefulset", "prod-shop-nightly-report", "workload",
    ];
    assert_eq!(got, expected, "kube-system's coredns is excluded");
    let ScopeOutcome::Full { contributions, complete, .. } = &result.scopes[0].outcome else { unreachable!() };
    assert!(complete);
    let cart = contributions.iter().find(|c| c.document["metadata"]["name"] == "prod-shop-cart").unwrap();
    assert_eq!(cart.location, "k8s:prod:shop/Deployment/cart");
    assert_eq!(cart.document["status"]["facts"]["k8s.hosts"], json!(["api.shop.example.com", "shop.example.com"]));
    assert_eq!(cart.document["spec"]["component"], "cart-service");
    let cluster = contributions.iter().find(|c| c.document["kind"] == "Cluster").unwrap();
    assert_eq!(cluster.document["status"]["facts"]["k8s.namespaces"], json!(["shop", "monitoring", "default"]));
    assert_eq!(cluster.document["spec"]["server"], format!("http://127.0.0.1:{}/", srv.port));
    let log = srv.api.lock().unwrap().log.clone();
    assert!(log.iter().any(|r| r.starts_with("/apis/apps/v1/deployments?") && r.contains("continue=2")), "{log:#?}");
    assert!(log.iter().all(|r| r.contains("limit=500")), "{log:#?}");
}

#[tokio::test]
async fn a_namespace_list_reads_those_namespaces_only() {
    let srv = server().await;
    let dir = tempfile::tempdir().unwrap();
    let mut settings = prod(&srv, dir.path());
    settings["namespaces"] = json!(["shop", "kube-system"]);
    let result = scan(settings, &context(&[srv.port])).await;
    let got = names(&result.scopes[0].outcome);
    assert_eq!(got, ["cluster", "prod", "prod-shop-cart", "prod-shop-cart-statefulset", "prod-shop-nightly-report", "workload"]);
    let log = srv.api.lock().unwrap().log.clone();
    assert!(log.iter().any(|r| r.starts_with("/apis/apps/v1/namespaces/shop/deployments")), "{log:#?}");
    assert!(!log.iter().any(|r| r.starts_with("/api/v1/namespaces?") || r.contains("kube-system")), "{log:#?}");
}

#[tokio::test]
async fn api_errors_fail_the_cluster_naming_the_request() {
    let srv = server().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = prod(&srv, dir.path());
    let status = |code: u16, reason: &str, message: &str| {
        json!({ "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message, "reason": reason, "code": code })
            .to_string()
    };
    let cases = [
        ("/api/v1/namespaces", 401, status(401, "Unauthorized", "Unauthorized"), "HTTP 401 Unauthorized"),
        (
            "/apis/apps/v1/deployments",
            403,
            status(403, "Forbidden", "deployments.apps is forbidden: User \"system:serviceaccount:portico:reader\" cannot list resource \"deployments\" in API group \"apps\" at the cluster scope"),
            "HTTP 403 Forbidden: deployments.apps is forbidden",
        ),
        ("/apis/batch/v1/cronjobs", 500, status(500, "InternalError", "etcdserver: request timed out"), "HTTP 500 InternalError: etcdserver"),
        ("/api/v1/services", 200, "{\"kind\":\"ServiceList\",\"items\":[{\"metadata\":".into(), "malformed response"),
        ("/apis/apps/v1/daemonsets", 200, json!({ "kind": "DaemonSetList", "items": [{ "metadata": { "name": 7 } }] }).to_string(), "malformed response"),
    ];
    for (path, code, body, expected) in cases {
        srv.api.lock().unwrap().faults = HashMap::from([(path.to_owned(), (code, body))]);
        let result = scan(settings.clone(), &context(&[srv.port])).await;
        let message = failure(&result.scopes[0].outcome);
        assert!(message.starts_with("k8s:prod: cluster prod: GET "), "{message}");
        assert!(message.contains(path), "names the request: {message}");
        assert!(message.contains(expected), "{path}: {message}");
    }
}

#[tokio::test]
async fn one_unreachable_cluster_fails_alone() {
    let srv = server().await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &[("prod", srv.port), ("gone", closed)]);
    let settings = json!({ "clusters": [
        { "name": "prod", "kubeconfig": config, "context": "prod" },
        { "name": "gone", "kubeconfig": config, "context": "gone" },
    ] });
    let result = scan(settings, &context(&[srv.port, closed])).await;
    assert_eq!(names(&result.scopes[0].outcome).len(), 9);
    assert_eq!(result.scopes[1].scope, "gone");
    let message = failure(&result.scopes[1].outcome);
    assert!(message.contains("cluster gone: GET /api/v1/namespaces"), "{message}");
    assert!(message.to_lowercase().contains("connection refused"), "{message}");
}

#[tokio::test]
async fn a_scan_narrowed_to_one_cluster_is_not_exhaustive() {
    let srv = server().await;
    let dir = tempfile::tempdir().unwrap();
    let config = kubeconfig(dir.path(), &[("prod", srv.port), ("stage", srv.port)]);
    let settings = json!({ "clusters": [
        { "name": "prod", "kubeconfig": config, "context": "prod" },
        { "name": "stage", "kubeconfig": config, "context": "stage" },
    ] });
    let mut ctx = context(&[srv.port]);
    ctx.only = Some("stage".into());
    let result = scan(settings.clone(), &ctx).await;
    assert!(!result.exhaustive);
    assert_eq!(result.scopes.iter().map(|s| s.scope.as_str()).collect::<Vec<_>>(), ["stage"]);
    ctx.only = Some("nope".into());
    let err = providers::build("kubernetes", &settings).unwrap().scan(&ctx).await.unwrap_err();
    assert!(err.message.contains("\"nope\""), "{err}");
}

#[tokio::test]
async fn an_api_server_off_the_allow_list_is_not_contacted() {
    let srv = server().await;
    let dir = tempfile::tempdir().unwrap();
    let settings = prod(&srv, dir.path());
    let result = scan(settings, &context(&[])).await;
    let message = failure(&result.scopes[0].outcome);
    assert!(message.contains("reading.allow") && message.contains(&format!("127.0.0.1:{}", srv.port)), "{message}");
    assert!(srv.api.lock().unwrap().log.is_empty());
}

#[tokio::test]
async fn bad_kubeconfigs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let result = scan(json!({ "clusters": [{ "name": "a", "kubeconfig": missing }] }), &context(&[])).await;
    let message = failure(&result.scopes[0].outcome);
    assert!(message.contains(&format!("kubeconfig {}", missing.display())), "{message}");

    let config = kubeconfig(dir.path(), &[("prod", 1)]);
    let result = scan(json!({ "clusters": [{ "name": "a", "kubeconfig": config, "context": "nope" }] }), &context(&[])).await;
    let message = failure(&result.scopes[0].outcome);
    assert!(message.contains("context \"nope\""), "{message}");

    let broken = dir.path().join("broken");
    std::fs::write(&broken, "clusters: [ {name: x").unwrap();
    let result = scan(json!({ "clusters": [{ "name": "a", "kubeconfig": broken }] }), &context(&[])).await;
    let message = failure(&result.scopes[0].outcome);
    assert!(message.contains("kubeconfig") && message.contains("broken"), "{message}");
}
