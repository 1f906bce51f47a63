//! `http:request` against a small HTTP server on loopback (the tests never leave this machine):
//! a webhook answered, a host off the allow-list, private addresses refused unless allowed,
//! redirects not followed, errors and oversized answers reported.

use std::sync::Arc;

use portico_actions::{Engine, Registry, Remotes, Request, StepStatus, Template};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Answers every connection with `response` (status line, headers, body), after reading the
/// request, which it sends back on `seen`.
async fn server(response: String) -> (u16, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let mut buf = vec![0u8; 65536];
            let n = socket.read(&mut buf).await.unwrap_or(0);
            let _ = tx.send(String::from_utf8_lossy(&buf[..n]).into_owned());
            let _ = socket.write_all(response.as_bytes()).await;
            let _ = socket.shutdown().await;
        }
    });
    (port, rx)
}

fn template(input: Value) -> Template {
    portico_actions::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "hook"},
            "spec": {"type": "day-2", "steps": [{"id": "call", "action": "http:request", "input": input}]}}))
        .unwrap();
    Template::from_entity(&e).unwrap()
}

async fn call(input: Value, remotes: Remotes) -> portico_actions::StepReport {
    let engine = Arc::new(Engine::new(Registry::builtin()).with_remotes(remotes));
    let ws = tempfile::tempdir().unwrap();
    let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
    let request = Request { parameters: json!({}), secrets: [("HOOK_TOKEN".to_owned(), "hook-s3cr3t".to_owned())].into(), ..Request::default() };
    engine.run(&template(input), &request, &workspace, &mut |_| {}).await.steps.remove(0)
}

fn allowed(port: u16) -> Remotes {
    Remotes { hosts: vec![format!("127.0.0.1:{port}")], private_addresses: true, ..Remotes::default() }
}

#[tokio::test]
async fn a_webhook_is_called_and_its_answer_returned() {
    let (port, mut seen) = server("HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 15\r\nconnection: close\r\n\r\n{\"queued\":true}".into()).await;
    let input = json!({"method": "POST", "url": format!("http://127.0.0.1:{port}/hooks/deploy"), "headers": {"authorization": "Bearer ${{ secrets.HOOK_TOKEN }}"}, "body": {"service": "cart", "version": "1.4.2"}});
    let step = call(input, allowed(port)).await;
    assert_eq!(step.status, StepStatus::Completed, "{step:?}");
    assert_eq!(step.output["code"], 201);
    assert_eq!(step.output["body"], json!({"queued": true}));
    let request = seen.recv().await.unwrap();
    assert!(request.starts_with("POST /hooks/deploy HTTP/1.1"), "{request}");
    assert!(request.contains("authorization: Bearer hook-s3cr3t") && request.contains("{\"service\":\"cart\",\"version\":\"1.4.2\"}"), "{request}");
    assert_eq!(step.input["headers"]["authorization"], "Bearer ***", "secrets are masked in what is shown");
}

#[tokio::test]
async fn hosts_off_the_list_private_addresses_and_redirects_are_refused() {
    let (port, _) = server("HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".into()).await;
    let url = format!("http://127.0.0.1:{port}/x");
    let off_list = call(json!({"url": url}), Remotes::default()).await;
    assert!(off_list.reason.as_deref().unwrap().contains("is not a host actions.remotes.hosts allows"), "{off_list:?}");
    let private = call(json!({"url": url}), Remotes { private_addresses: false, ..allowed(port) }).await;
    assert!(private.reason.as_deref().unwrap().contains("private or local addresses"), "{private:?}");
    let redirect = call(json!({"url": url}), allowed(port)).await;
    assert!(redirect.reason.as_deref().unwrap().contains("a redirect to \"http://169.254.169.254/latest/meta-data\", which is not followed"), "{redirect:?}");
    let scheme = call(json!({"url": "file:///etc/passwd"}), Remotes { roots: vec!["/".into()], ..Remotes::default() }).await;
    assert!(scheme.reason.as_deref().unwrap().contains("only http and https"), "{scheme:?}");
}

#[tokio::test]
async fn errors_and_oversized_answers_fail_the_step() {
    let (port, _) = server("HTTP/1.1 503 Service Unavailable\r\ncontent-length: 4\r\nconnection: close\r\n\r\ndown".into()).await;
    let step = call(json!({"url": format!("http://127.0.0.1:{port}/")}), allowed(port)).await;
    assert_eq!(step.reason.as_deref(), Some("answered 503: down"));
    let big = "x".repeat(2 << 20);
    let (port, _) = server(format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{big}", big.len())).await;
    let step = call(json!({"url": format!("http://127.0.0.1:{port}/")}), allowed(port)).await;
    assert!(step.reason.as_deref().unwrap().contains("larger than"), "{step:?}");
}

#[test]
fn private_addresses_are_recognised() {
    for ip in ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1", "fd00::1", "fe80::1", "::ffff:10.0.0.1"] {
        assert!(portico_actions::builtin_is_private(ip.parse().unwrap()), "{ip}");
    }
    for ip in ["8.8.8.8", "2001:4860:4860::8888", "100.128.0.1"] {
        assert!(!portico_actions::builtin_is_private(ip.parse().unwrap()), "{ip}");
    }
}
