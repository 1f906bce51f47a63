//! `publish:git` against real git repositories: a local bare repository (`file://`) and one
//! served by `git daemon` over `git://` on loopback. Remotes off the allow-list are refused.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use portico_actions::{Engine, Registry, Remotes, Request, StepStatus, Template};
use serde_json::json;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git").args(args).current_dir(dir).env("GIT_CONFIG_GLOBAL", "/dev/null").output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn template(dir: &Path, repo_url: &str) -> Template {
    portico_actions::register();
    std::fs::create_dir_all(dir.join("skeleton/src")).unwrap();
    std::fs::write(dir.join("skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
    std::fs::write(dir.join("skeleton/src/main.py"), "print('${{ values.name }}')\n").unwrap();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "svc", "annotations": {"backstage.io/managed-by-location": format!("file:{}/template.yaml", dir.display())}},
            "spec": {"type": "service", "steps": [
                {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "cart"}}},
                {"id": "publish", "action": "publish:git", "input": {"repoUrl": repo_url, "gitCommitMessage": "Scaffold cart", "token": "${{ secrets.GIT_TOKEN }}"}}
            ], "output": {"links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"}]}}}))
        .unwrap();
    Template::from_entity(&e).unwrap()
}

async fn run(t: &Template, remotes: Remotes) -> portico_actions::Report {
    let engine = Arc::new(Engine::new(Registry::builtin()).with_remotes(remotes));
    let ws = tempfile::tempdir().unwrap();
    let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
    let request = Request { parameters: json!({}), secrets: [("GIT_TOKEN".to_owned(), "tok-s3cr3t".to_owned())].into(), ..Request::default() };
    engine.run(t, &request, &workspace, &mut |_| {}).await
}

#[tokio::test]
async fn publishes_to_a_local_bare_repository_once() {
    let (dir, remotes_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bare = remotes_dir.path().join("cart.git");
    git(remotes_dir.path(), &["init", "-q", "--bare", "cart.git"]);
    let url = format!("file://{}", bare.display());
    let t = template(dir.path(), &url);
    let allowed = Remotes { roots: vec![remotes_dir.path().to_path_buf()], ..Remotes::default() };
    let report = run(&t, allowed.clone()).await;
    assert_eq!(report.status, "completed", "{:#?}", report.steps);
    let publish = &report.steps[1];
    assert_eq!(publish.output["branch"], "main");
    assert_eq!(report.output["links"][0]["url"], url.as_str());
    assert!(!serde_json::to_string(&report).unwrap().contains("tok-s3cr3t"));
    // The remote has the commit, its files, its message; no .git of the workspace's.
    assert_eq!(git(&bare, &["log", "--format=%s|%an", "main"]), "Scaffold cart|Portico");
    assert_eq!(git(&bare, &["show", "main:README.md"]), "# cart");
    assert_eq!(git(&bare, &["ls-tree", "-r", "--name-only", "main"]), "README.md\nsrc/main.py");
    assert_eq!(git(&bare, &["rev-parse", "main"]), publish.output["commitHash"].as_str().unwrap());
    // A local repository that does not exist yet, in an allowed folder, is made.
    let new = format!("file://{}/new/cart.git", remotes_dir.path().display());
    let made = run(&template(dir.path(), &new), allowed.clone()).await;
    assert_eq!(made.status, "completed", "{:#?}", made.steps);
    assert!(made.steps[1].log[0].starts_with("created the repository"), "{:?}", made.steps[1].log);
    assert_eq!(git(&remotes_dir.path().join("new/cart.git"), &["show", "main:README.md"]), "# cart");
    // Again: the branch exists, and publish:git never overwrites one.
    let again = run(&t, allowed).await;
    assert_eq!(again.status, "failed");
    assert!(again.steps[1].reason.as_deref().unwrap().contains("already has a branch main"), "{:?}", again.steps[1].reason);
}

#[tokio::test]
async fn remotes_off_the_allow_list_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (url, want) in [
        ("file:///tmp/elsewhere.git", "not inside a folder actions.remotes.roots allows"),
        ("https://github.com/acme/cart.git", "github.com is not a host actions.remotes.hosts allows"),
        ("ext::sh -c touch% /tmp/pwned", "the scheme ext is not supported"),
        ("file:///srv/ok/../../etc", "not inside a folder"),
    ] {
        let t = template(dir.path(), url);
        let report = run(&t, Remotes { roots: vec!["/srv/ok".into()], ..Remotes::default() }).await;
        assert_eq!(report.steps[1].status, StepStatus::Failed, "{url}");
        assert!(report.steps[1].reason.as_deref().unwrap().contains(want), "{url}: {:?}", report.steps[1].reason);
    }
}

/// `git daemon` serves a bare repository over git:// on loopback, accepting pushes.
#[tokio::test]
async fn publishes_over_git_protocol_to_git_daemon() {
    let (dir, base) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    git(base.path(), &["init", "-q", "--bare", "cart.git"]);
    let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut daemon = Command::new("git")
        .args(["daemon", "--reuseaddr", "--export-all", "--enable=receive-pack", "--listen=127.0.0.1", &format!("--port={port}"), &format!("--base-path={}", base.path().display()), &base.path().display().to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("git daemon starts");
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let t = template(dir.path(), &format!("git://127.0.0.1:{port}/cart.git"));
    let report = run(&t, Remotes { hosts: vec![format!("127.0.0.1:{port}")], ..Remotes::default() }).await;
    let _ = daemon.kill();
    let _ = daemon.wait();
    assert_eq!(report.status, "completed", "{:#?}", report.steps);
    assert_eq!(git(&base.path().join("cart.git"), &["show", "main:src/main.py"]), "print('cart')");
}

/// A run that fails after it pushed: with `rollback: automatic`, the branch it pushed is
/// deleted, and the report says per step what was and was not undone.
#[tokio::test]
async fn a_failed_run_deletes_the_branch_it_pushed() {
    let (dir, remotes_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    git(remotes_dir.path(), &["init", "-q", "--bare", "cart.git"]);
    let bare = remotes_dir.path().join("cart.git");
    std::fs::create_dir_all(dir.path().join("skeleton")).unwrap();
    std::fs::write(dir.path().join("skeleton/README.md"), "# cart\n").unwrap();
    portico_actions::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "svc", "annotations": {"backstage.io/managed-by-location": format!("file:{}/template.yaml", dir.path().display())}},
            "spec": {"type": "service", "rollback": "automatic", "steps": [
                {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton"}},
                {"id": "publish", "action": "publish:git", "input": {"repoUrl": format!("file://{}", bare.display())}},
                {"id": "note", "action": "debug:log", "input": {"message": "noted"}, "undo": {"action": "debug:log", "input": {"message": "forget ${{ step.output | dump }}"}}},
                {"id": "break", "action": "fs:rename", "input": {"files": [{"from": "nope", "to": "x"}]}}
            ]}}))
        .unwrap();
    let t = Template::from_entity(&e).unwrap();
    let report = run(&t, Remotes { roots: vec![remotes_dir.path().to_path_buf()], ..Remotes::default() }).await;
    assert_eq!(report.status, "failed");
    let undo: Vec<(&str, &str)> = report.rollback.iter().map(|u| (u.step.as_str(), u.status.as_str())).collect();
    assert_eq!(undo, [("note", "undone"), ("publish", "undone"), ("fetch", "nothing")], "{:#?}", report.rollback);
    assert!(report.rollback[1].message.starts_with("deleted the branch main"));
    let out = Command::new("git").args(["--git-dir", &bare.display().to_string(), "branch", "--list"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "", "the pushed branch is gone");
}
