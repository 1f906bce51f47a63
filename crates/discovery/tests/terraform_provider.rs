//! The `terraform` source end to end: local state files, the HTTP backend served by a real
//! server on 127.0.0.1 (with and without its host allowed, with basic auth, failing), unchanged
//! serials, narrowed runs, and a large synthetic state.

#[path = "../../testkit/src/tfstate.rs"]
mod tfstate;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use portico_discovery::engine::{Provider, Scan, ScanContext, ScopeOutcome};
use portico_discovery::providers::build;
use portico_catalog::{Reader, ReaderConfig};
use serde_json::{Value, json};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/fixtures/terraform")).join(name)
}

fn provider(settings: Value) -> Arc<dyn Provider> {
    build("terraform", &settings).unwrap_or_else(|e| panic!("{e}"))
}

fn context(allow: &[String]) -> ScanContext {
    let reader = Reader::new(ReaderConfig { allow: allow.to_vec(), ..Default::default() });
    ScanContext::new(reader, std::env::temp_dir())
}

fn full(outcome: &ScopeOutcome) -> Vec<&Value> {
    match outcome {
        ScopeOutcome::Full { contributions, errors, complete } => {
            assert!(errors.is_empty() && *complete, "{errors:?}");
            contributions.iter().map(|c| &c.document).collect()
        }
        other => panic!("expected a full scope, got {other:?}"),
    }
}

fn failure(outcome: &ScopeOutcome) -> String {
    match outcome {
        ScopeOutcome::Failed { error } => error.message.clone(),
        other => panic!("expected a failed scope, got {other:?}"),
    }
}

/// Requests seen: path and Authorization header.
type Hits = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A tiny HTTP/1.1 server answering by path, counting requests and keeping the last
/// Authorization header.
struct Backend {
    url: String,
    hits: Hits,
}

impl Backend {
    fn start(state: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits: Hits = Arc::default();
        let seen = hits.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let mut auth = None;
                loop {
                    let mut h = String::new();
                    if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        auth = Some(v.trim().to_owned());
                    }
                }
                seen.lock().unwrap().push((path.clone(), auth.clone()));
                let (status, body) = match path.as_str() {
                    "/state" => ("200 OK", state.clone()),
                    "/auth" if auth.as_deref() == Some(expected_auth().as_str()) => ("200 OK", state.clone()),
                    "/auth" => ("401 Unauthorized", String::new()),
                    "/broken" => ("500 Internal Server Error", "boom".to_owned()),
                    "/garbage" => ("200 OK", "<html>maintenance</html>".to_owned()),
                    _ => ("404 Not Found", String::new()),
                };
                let _ = write!(stream, "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
            }
        });
        Self { url, hits }
    }

    fn host(&self) -> String {
        self.url.trim_start_matches("http://").to_owned()
    }

    fn hits(&self) -> usize {
        self.hits.lock().unwrap().len()
    }
}

/// An environment variable the test process surely has (tests cannot set one safely).
fn password_env() -> (&'static str, String) {
    ["CARGO_MANIFEST_DIR", "PATH", "HOME"]
        .into_iter()
        .find_map(|k| std::env::var(k).ok().map(|v| (k, v)))
        .expect("an environment variable")
}

fn expected_auth() -> String {
    format!("Basic {}", base64(format!("ops:{}", password_env().1).as_bytes()))
}

fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            out.push(if i <= chunk.len() { ABC[(n >> (18 - 6 * i)) as usize & 63] as char } else { '=' });
        }
    }
    out
}

async fn scan(p: &Arc<dyn Provider>, ctx: &ScanContext) -> Scan {
    p.scan(ctx).await.unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_local_state_is_one_full_scope_remembered_by_lineage_and_serial() {
    let path = fixture("driftctl/aws_s3_full.tfstate").display().to_string();
    let p = provider(json!({"states": [path]}));
    let s = scan(&p, &context(&[])).await;
    assert!(s.exhaustive);
    assert_eq!(s.scopes.len(), 1);
    assert_eq!(s.scopes[0].scope, path);
    assert_eq!(full(&s.scopes[0].outcome).len(), 26);
    assert_eq!(s.state, json!({ path: "b4b284a7-9835-6ae1-b6c5-21100080f61e:398" }));
}

#[tokio::test]
async fn an_unchanged_serial_is_answered_unchanged_and_a_new_one_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("terraform.tfstate");
    let text = tfstate::synthetic_state(50);
    std::fs::write(&path, &text).unwrap();
    let p = provider(json!({"states": [{"path": path, "name": "prod"}]}));
    let mut ctx = context(&[]);
    let first = scan(&p, &ctx).await;
    let docs = full(&first.scopes[0].outcome);
    assert_eq!(docs.len(), 50);
    assert!(docs.iter().all(|d| d["metadata"]["name"].as_str().unwrap().starts_with("prod-")));

    ctx.previous = first.state.clone();
    let again = scan(&p, &ctx).await;
    assert!(matches!(again.scopes[0].outcome, ScopeOutcome::Unchanged), "{:?}", again.scopes[0].outcome);
    assert_eq!(again.state, first.state);

    std::fs::write(&path, text.replacen("\"serial\": 1,", "\"serial\": 2,", 1)).unwrap();
    let changed = scan(&p, &ctx).await;
    assert_eq!(full(&changed.scopes[0].outcome).len(), 50);
    assert_eq!(changed.state[path.display().to_string()], "synthetic-50:2");
}

#[tokio::test]
async fn a_missing_or_bad_state_fails_only_its_scope() {
    let good = fixture("driftctl/aws_ec2_instance.tfstate").display().to_string();
    let bad = fixture("driftctl/v4/invalid_version.tfstate").display().to_string();
    let p = provider(json!({"states": [good, "/nonexistent/terraform.tfstate", bad]}));
    let mut ctx = context(&[]);
    ctx.previous = json!({"/nonexistent/terraform.tfstate": "l:1"});
    let s = scan(&p, &ctx).await;
    assert_eq!(full(&s.scopes[0].outcome).len(), 1);
    assert_eq!(failure(&s.scopes[1].outcome), "/nonexistent/terraform.tfstate: file not found");
    let err = failure(&s.scopes[2].outcome);
    assert!(err.contains("invalid_version.tfstate") && err.contains("terraform_version"), "{err}");
    // A failed scope keeps what the engine last knew of it.
    assert_eq!(s.state["/nonexistent/terraform.tfstate"], "l:1");
}

#[tokio::test]
async fn http_backend_states_are_read_only_from_allowed_hosts() {
    let backend = Backend::start(tfstate::synthetic_state(20));
    let url = format!("{}/state", backend.url);
    let p = provider(json!({"states": [url]}));

    let s = scan(&p, &context(&[])).await;
    let err = failure(&s.scopes[0].outcome);
    assert!(err.contains("reading.allow") && err.contains(&backend.host()), "{err}");
    assert_eq!(backend.hits(), 0, "nothing is sent to a host that is not allowed");

    let s = scan(&p, &context(&[backend.host()])).await;
    assert_eq!(s.scopes[0].scope, url);
    assert_eq!(full(&s.scopes[0].outcome).len(), 20);
    assert_eq!(s.state[&url], "synthetic-20:1");
    assert_eq!(backend.hits(), 1);
}

#[tokio::test]
async fn http_errors_and_garbage_fail_the_scope_naming_url_and_status() {
    let backend = Backend::start(tfstate::synthetic_state(5));
    let urls: Vec<String> = ["/missing", "/broken", "/garbage", "/auth"].iter().map(|p| format!("{}{p}", backend.url)).collect();
    let p = provider(json!({"states": urls}));
    let s = scan(&p, &context(&[backend.host()])).await;
    let errors: Vec<String> = s.scopes.iter().map(|sc| failure(&sc.outcome)).collect();
    assert_eq!(errors[0], format!("GET {}: HTTP 404 Not Found", urls[0]));
    assert_eq!(errors[1], format!("GET {}: HTTP 500 Internal Server Error", urls[1]));
    assert!(errors[2].starts_with(&format!("{}:1:1: invalid JSON", urls[2])), "{}", errors[2]);
    assert_eq!(errors[3], format!("GET {}: HTTP 401 Unauthorized", urls[3]));
}

#[tokio::test]
async fn basic_auth_takes_its_password_from_the_environment() {
    let backend = Backend::start(tfstate::synthetic_state(3));
    let url = format!("{}/auth", backend.url);
    let (var, _) = password_env();
    let p = provider(json!({"states": [{"url": url, "username": "ops", "passwordEnv": var}]}));
    let s = scan(&p, &context(&[backend.host()])).await;
    assert_eq!(full(&s.scopes[0].outcome).len(), 3);
    assert_eq!(backend.hits.lock().unwrap()[0].1.as_deref(), Some(expected_auth().as_str()));

    let unset = "PORTICO_TEST_TERRAFORM_PASSWORD_THAT_IS_NOT_SET";
    let p = provider(json!({"states": [{"url": url, "username": "ops", "passwordEnv": unset}]}));
    let s = scan(&p, &context(&[backend.host()])).await;
    let err = failure(&s.scopes[0].outcome);
    assert!(err.contains(unset) && err.contains("not set"), "{err}");
    assert_eq!(backend.hits(), 1, "no request without the password");
}

#[tokio::test]
async fn an_unreachable_backend_fails_its_scope() {
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}/state");
    let p = provider(json!({"states": [url]}));
    let s = scan(&p, &context(&[format!("127.0.0.1:{port}")])).await;
    let err = failure(&s.scopes[0].outcome);
    assert!(err.starts_with(&format!("GET {url}: ")), "{err}");
}

#[tokio::test]
async fn a_narrowed_run_reads_one_state_and_keeps_the_others_serials() {
    let a = fixture("driftctl/azurerm_lb.tfstate").display().to_string();
    let b = fixture("driftctl/github_repository.tfstate").display().to_string();
    let p = provider(json!({"states": [a, b]}));
    let mut ctx = context(&[]);
    ctx.previous = json!({ b.clone(): "old:1" });
    ctx.only = Some(a.clone());
    let s = scan(&p, &ctx).await;
    assert!(!s.exhaustive);
    assert_eq!(s.scopes.len(), 1);
    assert_eq!(s.scopes[0].scope, a);
    assert_eq!(s.state[&b], "old:1");
    assert_eq!(s.state[&a], "9566e18d-6080-4aa8-e9a6-4c38905cf68f:433");
}

#[tokio::test]
async fn ten_thousand_synthetic_resources_become_contributions_in_one_pass() {
    let text = tfstate::synthetic_state(10_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.tfstate");
    std::fs::write(&path, &text).unwrap();
    let p = provider(json!({"states": [path]}));
    let started = Instant::now();
    let s = scan(&p, &context(&[])).await;
    let elapsed = started.elapsed();
    let docs = full(&s.scopes[0].outcome);
    println!("terraform: {} resources ({} MB of state) read into contributions in {elapsed:?}", docs.len(), text.len() / 1_000_000);
    assert_eq!(docs.len(), 10_000);
    let mut names: Vec<&str> = docs.iter().map(|d| d["metadata"]["name"].as_str().unwrap()).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), 10_000, "names are unique");
    let with_deps = docs.iter().filter(|d| d["spec"]["dependsOn"].is_array()).count();
    let owned = docs.iter().filter(|d| d["spec"]["owner"].is_string()).count();
    let in_modules = docs.iter().filter(|d| d["status"]["facts"]["terraform.module"].is_string()).count();
    assert!(with_deps > 1000 && owned > 5000 && in_modules > 3000, "deps {with_deps}, owned {owned}, in modules {in_modules}");
    let providers: std::collections::BTreeSet<&str> =
        docs.iter().map(|d| d["status"]["facts"]["terraform.providerName"].as_str().unwrap()).collect();
    assert_eq!(providers.into_iter().collect::<Vec<_>>(), ["aws", "azurerm", "google", "random"]);
}
