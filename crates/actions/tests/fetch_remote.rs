//! Remote skeletons: `fetch:template` and `fetch:plain` with the URL of a repository's folder as
//! GitHub and GitLab show it, cloned with git from a host on the allow-list. The host here is a
//! loopback server serving a bare repository over git's "dumb" HTTP protocol (static files,
//! which a shallow clone cannot use: the fall-back to a whole clone is tested too); hosts off
//! the list and paths that leave the repository are refused.

use std::path::Path;
use std::sync::Arc;

use portico_actions::{Engine, Registry, Remotes, Request, Template};
use serde_json::json;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git").args(args).current_dir(dir).env("GIT_CONFIG_GLOBAL", "/dev/null").output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// `<root>/acme/templates.git`, a bare repository whose branch `main` holds
/// `python/skeleton/{README.md, ${{ values.name }}/app.py}`, ready for dumb HTTP.
fn repository(root: &Path) {
    let work = root.join("work");
    std::fs::create_dir_all(work.join("python/skeleton/${{ values.name }}")).unwrap();
    std::fs::write(work.join("python/skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
    std::fs::write(work.join("python/skeleton/${{ values.name }}/app.py"), "print('${{ values.name }}')\n").unwrap();
    git(&work, &["init", "-q", "-b", "main"]);
    git(&work, &["add", "-A"]);
    git(&work, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "skeletons"]);
    let bare = root.join("acme/templates.git");
    std::fs::create_dir_all(bare.parent().unwrap()).unwrap();
    git(root, &["clone", "-q", "--bare", &work.display().to_string(), &bare.display().to_string()]);
    git(&bare, &["update-server-info"]);
}

/// Serves the files under `root` (GET only): git's dumb HTTP protocol.
async fn files(root: std::path::PathBuf) -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let root = root.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(socket);
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).await.unwrap();
                    if header.trim_end().is_empty() {
                        break;
                    }
                }
                let path = line.split_whitespace().nth(1).unwrap_or("/").split('?').next().unwrap_or("/").to_owned();
                let file = root.join(path.trim_start_matches('/'));
                let (status, body) = match (path.contains(".."), std::fs::read(&file)) {
                    (false, Ok(b)) if file.is_file() => ("200 OK", b),
                    _ => ("404 Not Found", Vec::new()),
                };
                let mut socket = reader.into_inner();
                let _ = socket.write_all(format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len()).as_bytes()).await;
                let _ = socket.write_all(&body).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    port
}

async fn run(steps: serde_json::Value, remotes: Remotes) -> (portico_actions::Report, tempfile::TempDir) {
    portico_actions::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "remote"}, "spec": {"type": "service", "steps": steps}}))
        .unwrap();
    let template = Template::from_entity(&e).unwrap();
    let engine = Arc::new(Engine::new(Registry::builtin()).with_remotes(remotes));
    let ws = tempfile::tempdir().unwrap();
    let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
    let report = engine.run(&template, &Request::default(), &workspace, &mut |_| {}).await;
    (report, ws)
}

#[tokio::test]
async fn a_skeleton_in_a_repository_folder_is_cloned_and_rendered() {
    let root = tempfile::tempdir().unwrap();
    repository(root.path());
    let port = files(root.path().to_path_buf()).await;
    let remotes = Remotes { hosts: vec![format!("127.0.0.1:{port}")], ..Remotes::default() };
    let url = format!("http://127.0.0.1:{port}/acme/templates/tree/main/python/skeleton");
    let (report, ws) = run(json!([
        {"id": "fetch", "action": "fetch:template", "input": {"url": url, "values": {"name": "cart"}}},
        {"id": "raw", "action": "fetch:plain", "input": {"url": url, "targetPath": "raw"}}
    ]), remotes.clone()).await;
    assert_eq!(report.status, "completed", "{:#?}", report.steps);
    assert_eq!(std::fs::read_to_string(ws.path().join("README.md")).unwrap(), "# cart\n");
    assert_eq!(std::fs::read_to_string(ws.path().join("cart/app.py")).unwrap(), "print('cart')\n");
    assert_eq!(std::fs::read_to_string(ws.path().join("raw/README.md")).unwrap(), "# ${{ values.name }}\n");
    assert!(!ws.path().join(".git").exists() && !ws.path().join("raw/.git").exists());

    // Off the list, a folder the repository lacks, a path out of it: refused, naming the field.
    let (off, _) = run(json!([{"id": "fetch", "action": "fetch:template", "input": {"url": url}}]), Remotes::default()).await;
    assert!(off.steps[0].reason.as_deref().unwrap().contains("not a host actions.remotes.hosts allows"), "{:?}", off.steps[0]);
    let (missing, _) = run(json!([{"id": "fetch", "action": "fetch:template", "input": {"url": format!("http://127.0.0.1:{port}/acme/templates/tree/main/nope")}}]), remotes.clone()).await;
    assert!(missing.steps[0].reason.as_deref().unwrap().contains("the repository has no nope on main"), "{:?}", missing.steps[0]);
    let (escape, _) = run(json!([{"id": "fetch", "action": "fetch:template", "input": {"url": format!("http://127.0.0.1:{port}/acme/templates/tree/main/../../etc")}}]), remotes.clone()).await;
    assert!(escape.steps[0].reason.as_deref().unwrap().contains("input.url"), "{:?}", escape.steps[0]);
    let (branch, _) = run(json!([{"id": "fetch", "action": "fetch:template", "input": {"url": format!("http://127.0.0.1:{port}/acme/templates/tree/nope/python")}}]), remotes).await;
    assert!(branch.steps[0].reason.as_deref().unwrap().contains("input.url: git clone failed"), "{:?}", branch.steps[0]);
}

/// A template read from a URL location (Backstage's usual case): its `./skeleton` is the folder
/// beside it in the same repository.
#[tokio::test]
async fn a_template_read_from_a_repository_fetches_its_relative_skeleton_from_there() {
    let root = tempfile::tempdir().unwrap();
    repository(root.path());
    let port = files(root.path().to_path_buf()).await;
    portico_actions::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "remote", "annotations": {"backstage.io/managed-by-location": format!("url:http://127.0.0.1:{port}/acme/templates/blob/main/python/template.yaml")}},
            "spec": {"type": "service", "steps": [{"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "web"}}}]}}))
        .unwrap();
    let template = Template::from_entity(&e).unwrap();
    assert_eq!(template.base_url().as_deref(), Some(format!("http://127.0.0.1:{port}/acme/templates/tree/main/python").as_str()));
    let engine = Engine::new(Registry::builtin()).with_remotes(Remotes { hosts: vec![format!("127.0.0.1:{port}")], ..Remotes::default() });
    let ws = tempfile::tempdir().unwrap();
    let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
    let report = engine.run(&template, &Request::default(), &workspace, &mut |_| {}).await;
    assert_eq!(report.status, "completed", "{:#?}", report.steps);
    assert_eq!(std::fs::read_to_string(ws.path().join("web/app.py")).unwrap(), "print('web')\n");
}
