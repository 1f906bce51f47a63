//! The `git` source against real repositories: built with the git CLI, served by a real
//! `git daemon` (git://) and by `git http-backend` behind a small CGI bridge (http://), all on
//! 127.0.0.1.

#[path = "../../testkit/src/repos.rs"]
#[allow(dead_code)]
mod repos;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use portico_discovery::engine::{Contribution, Evidence, Provider, Scan, ScanContext, ScopeOutcome};
use portico_catalog::{Reader, ReaderConfig, SourceError};
use serde_json::{Value, json};

fn provider(settings: Value) -> std::sync::Arc<dyn Provider> {
    portico_discovery::providers::build("git", &settings).unwrap()
}

fn context(cache: &Path, allow: &[String]) -> ScanContext {
    ScanContext::new(Reader::new(ReaderConfig { allow: allow.to_vec(), ..Default::default() }), cache.to_path_buf())
}

async fn scan(p: &dyn Provider, ctx: &mut ScanContext) -> Scan {
    let scan = p.scan(ctx).await.unwrap();
    ctx.previous = scan.state.clone();
    scan
}

fn full(scan: &Scan, i: usize) -> (&[Contribution], &[SourceError], bool) {
    match &scan.scopes[i].outcome {
        ScopeOutcome::Full { contributions, errors, complete } => (contributions, errors, *complete),
        other => panic!("scope {} is not Full: {other:?}", scan.scopes[i].scope),
    }
}

fn failure(scan: &Scan, i: usize) -> String {
    match &scan.scopes[i].outcome {
        ScopeOutcome::Failed { error } => format!("{}: {}", error.location, error.message),
        other => panic!("scope {} did not fail: {other:?}", scan.scopes[i].scope),
    }
}

fn declared<'a>(cs: &'a [Contribution], key: &str) -> &'a Contribution {
    cs.iter().find(|c| c.evidence == Evidence::Declared && c.key().as_deref() == Some(key)).unwrap_or_else(|| {
        panic!("{key} not declared; got {:?}", cs.iter().map(|c| (c.evidence, c.key())).collect::<Vec<_>>())
    })
}

fn annotation<'a>(c: &'a Contribution, name: &str) -> &'a str {
    c.document["metadata"]["annotations"][name].as_str().unwrap_or_else(|| panic!("{name} missing on {}", c.document))
}

fn keys(cs: &[Contribution], evidence: Evidence) -> Vec<String> {
    let mut k: Vec<String> = cs.iter().filter(|c| c.evidence == evidence).filter_map(Contribution::key).collect();
    k.sort();
    k
}

fn descriptor(name: &str) -> String {
    format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_scan_declares_the_monorepo_entities_with_annotations_locations_and_facts() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("shop");
    let mono = repos::monorepo(&dir);
    let p = provider(json!({"repositories": [dir.display().to_string()]}));
    let mut ctx = context(&tmp.path().join("cache"), &[]);
    let scan = scan(&*p, &mut ctx).await;
    assert!(scan.exhaustive);
    let scope = dir.display().to_string();
    assert_eq!(scan.scopes[0].scope, scope);
    assert_eq!(scan.state[&scope], json!(mono.head));
    // The inferred keys are remembered, to report names two repositories both infer.
    assert!(scan.state["#inferred"][&scope].as_array().unwrap().contains(&json!("component:default/cart")), "{}", scan.state);
    let (cs, errors, complete) = full(&scan, 0);
    assert!(complete && errors.is_empty(), "{errors:?}");
    let mut expected: Vec<String> = mono.declared.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(keys(cs, Evidence::Declared), expected);

    let cart = declared(cs, "component:default/cart");
    assert_eq!(cart.location, format!("{scope}@{}:services/cart/catalog-info.yaml", mono.head));
    let file = format!("file:{scope}/services/cart/catalog-info.yaml");
    assert_eq!(annotation(cart, "backstage.io/managed-by-location"), file);
    assert_eq!(annotation(cart, "backstage.io/managed-by-origin-location"), file);
    assert_eq!(annotation(cart, "backstage.io/source-location"), format!("file:{scope}/services/cart/"));
    // Inferred entities of a repository on disk point at their folder with `file:` too.
    for c in cs.iter().filter(|c| c.evidence == Evidence::Inferred) {
        if let Some(source) = c.document.pointer("/metadata/annotations/backstage.io~1source-location").and_then(|v| v.as_str()) {
            assert!(source.starts_with(&format!("file:{scope}/")), "{source}");
        }
    }
    assert!(cs.iter().any(|c| c.evidence == Evidence::Inferred), "the monorepo infers something");
    // A Location's targets are read from the same commit; their origin is the file that led there.
    let team = declared(cs, "group:default/team-cart");
    assert_eq!(annotation(team, "backstage.io/managed-by-location"), format!("file:{scope}/teams.yaml"));
    assert_eq!(annotation(team, "backstage.io/managed-by-origin-location"), format!("file:{scope}/catalog-info.yaml"));
    // `$text` placeholders read the file from the commit.
    let api = declared(cs, "api:default/cart-api");
    assert!(api.document["spec"]["definition"].as_str().unwrap().starts_with("openapi: 3.0.3"), "{}", api.document);

    // Each declared Component gets the repository's facts as an observed contribution.
    assert_eq!(keys(cs, Evidence::Observed), vec!["component:default/billing".to_owned(), "component:default/cart".into()]);
    let facts = &cs.iter().find(|c| c.evidence == Evidence::Observed).unwrap().document["status"]["facts"];
    assert_eq!(facts["git.lastCommitAt"], "2025-03-01T17:45:00Z");
    assert_eq!(facts["git.headCommit"], mono.head.as_str());
    assert_eq!(facts["git.branch"], "main");
    assert_eq!(facts["git.commits90d"], 0, "the monorepo's commits are older than 90 days");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_repository_is_unchanged_and_fast_and_a_new_commit_changes_the_result() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("svc");
    repos::init(&dir);
    repos::commit_files(&dir, "one", &[("catalog-info.yaml", &descriptor("one"))]);
    let p = provider(json!({"repositories": [dir.display().to_string()], "infer": false}));
    let mut ctx = context(&tmp.path().join("cache"), &[]);
    assert_eq!(keys(full(&scan(&*p, &mut ctx).await, 0).0, Evidence::Declared), vec!["component:default/one".to_owned()]);

    let started = Instant::now();
    let again = scan(&*p, &mut ctx).await;
    let elapsed = started.elapsed();
    assert!(matches!(again.scopes[0].outcome, ScopeOutcome::Unchanged), "{:?}", again.scopes[0].outcome);
    assert!(elapsed < Duration::from_millis(200), "an unchanged scan took {elapsed:?}");

    let head = repos::commit_files(&dir, "two", &[("b/catalog-info.yml", &descriptor("two"))]);
    let third = scan(&*p, &mut ctx).await;
    assert_eq!(keys(full(&third, 0).0, Evidence::Declared), vec!["component:default/one".to_owned(), "component:default/two".into()]);
    assert_eq!(third.state[dir.display().to_string()], head.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn activity_facts_count_the_last_90_days_only() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("busy");
    repos::init(&dir);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let days_ago = |d: u64| format!("{} +0000", now - d * 86_400);
    repos::write(&dir, "catalog-info.yaml", &descriptor("busy"));
    repos::commit_all(&dir, "old", "Old Timer <old@example.com>", &days_ago(200));
    for (i, (who, d)) in [("A <a@example.com>", 30), ("B <B@Example.com>", 10), ("A <a@example.com>", 2)].into_iter().enumerate() {
        repos::write(&dir, &format!("f{i}.txt"), "x");
        repos::commit_all(&dir, "recent", who, &days_ago(d));
    }
    let p = provider(json!({"repositories": [{"path": dir.display().to_string(), "branch": "main"}]}));
    let scan = scan(&*p, &mut context(&tmp.path().join("cache"), &[])).await;
    let (cs, _, _) = full(&scan, 0);
    let facts = &cs.iter().find(|c| c.evidence == Evidence::Observed).unwrap().document["status"]["facts"];
    assert_eq!(facts["git.commits90d"], 3);
    assert_eq!(facts["git.contributors90d"], 2);
    assert_eq!(facts["git.branch"], "main");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_descriptors_are_errors_at_file_line_col_and_leave_the_scope_incomplete() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("broken");
    repos::init(&dir);
    let head = repos::commit_files(
        &dir,
        "broken",
        &[
            ("catalog-info.yaml", &descriptor("fine")),
            ("bad/catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: [unclosed\n"),
            ("nameless/catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  title: no name\n"),
        ],
    );
    let p = provider(json!({"repositories": [dir.display().to_string()]}));
    let mut ctx = context(&tmp.path().join("cache"), &[]);
    let first = scan(&*p, &mut ctx).await;
    let (cs, errors, complete) = full(&first, 0);
    assert!(!complete);
    assert_eq!(keys(cs, Evidence::Declared), vec!["component:default/fine".to_owned()]);
    let prefix = format!("{}@{head}:", dir.display());
    let yaml = errors.iter().find(|e| e.location.starts_with(&format!("{prefix}bad/catalog-info.yaml:"))).expect("YAML error");
    assert!(yaml.message.contains("invalid YAML"), "{yaml:?}");
    let (line, col) = yaml.location.rsplit_once(':').map(|(a, c)| (a.rsplit_once(':').unwrap().1, c)).unwrap();
    assert!(line.parse::<u32>().unwrap() >= 4 && col.parse::<u32>().is_ok(), "{yaml:?}");
    let nameless = errors.iter().find(|e| e.location.starts_with(&format!("{prefix}nameless/catalog-info.yaml:"))).expect("no-name error");
    assert!(nameless.message.contains("metadata.name: missing"), "{nameless:?}");
    assert_eq!(nameless.location, format!("{prefix}nameless/catalog-info.yaml:4:3"));
    // An incomplete read is not remembered: the next run reads the commit again.
    assert_eq!(first.state, json!({}));
    assert!(matches!(scan(&*p, &mut ctx).await.scopes[0].outcome, ScopeOutcome::Full { complete: false, .. }));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn symbolic_links_are_never_followed() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("links");
    repos::init(&dir);
    repos::write(&dir, "catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: here\nspec:\n  targets: [./passwd.yaml, ./loop/a.yaml]\n");
    std::fs::create_dir_all(dir.join("etc")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("etc/catalog-info.yaml")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", dir.join("passwd.yaml")).unwrap();
    std::os::unix::fs::symlink(".", dir.join("loop")).unwrap();
    std::os::unix::fs::symlink("b.yaml", dir.join("a.yaml")).unwrap();
    std::os::unix::fs::symlink("a.yaml", dir.join("b.yaml")).unwrap();
    repos::commit_all(&dir, "links", repos::DEFAULT_AUTHOR, repos::DEFAULT_DATE);
    let p = provider(json!({"repositories": [dir.display().to_string()]}));
    let scan = scan(&*p, &mut context(&tmp.path().join("cache"), &[])).await;
    let (cs, errors, complete) = full(&scan, 0);
    assert!(complete, "{errors:?}");
    assert_eq!(keys(cs, Evidence::Declared), vec!["location:default/here".to_owned()]);
    let notes: Vec<&str> = errors.iter().map(|e| e.message.as_str()).collect();
    assert_eq!(notes.len(), 2, "{notes:?}");
    assert!(notes.iter().all(|n| n.contains("is not a file in this commit")), "{notes:?}");
    assert!(!format!("{cs:?}").contains("root:"), "the content of /etc/passwd leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_and_unreadable_repositories_fail_by_name_and_only_narrows_the_scan() {
    let tmp = tempfile::tempdir().unwrap();
    let good = tmp.path().join("good");
    repos::init(&good);
    let head = repos::commit_files(&good, "c", &[("catalog-info.yaml", &descriptor("good"))]);
    let plain = tmp.path().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let empty = tmp.path().join("empty");
    repos::init(&empty);
    let missing = tmp.path().join("missing");
    let other = tmp.path().join("other");
    repos::init(&other);
    repos::commit_files(&other, "c", &[("README.md", "# other\n")]);
    let p = provider(json!({"repositories": [good.display().to_string(), plain.display().to_string(), empty.display().to_string(),
        {"path": missing.display().to_string(), "name": "gone"}, {"path": other.display().to_string(), "branch": "nope"}]}));
    let mut ctx = context(&tmp.path().join("cache"), &[]);
    let all = scan(&*p, &mut ctx).await;
    assert_eq!(all.scopes.len(), 5);
    assert!(full(&all, 0).2);
    let plain_err = failure(&all, 1);
    assert!(plain_err.contains(&plain.display().to_string()) && plain_err.contains("not a readable git repository"), "{plain_err}");
    let empty_err = failure(&all, 2);
    assert!(empty_err.contains(&empty.display().to_string()) && empty_err.contains("no commits"), "{empty_err}");
    let missing_err = failure(&all, 3);
    assert!(missing_err.contains(&missing.display().to_string()) && missing_err.contains("no such directory"), "{missing_err}");
    let branch_err = failure(&all, 4);
    assert!(branch_err.contains("branch `nope` not found (branches: main)"), "{branch_err}");
    assert_eq!(all.state, json!({ good.display().to_string(): head }));

    ctx.only = Some("gone".into());
    let one = scan(&*p, &mut ctx).await;
    assert!(!one.exhaustive);
    assert_eq!(one.scopes.len(), 1);
    assert_eq!(one.scopes[0].scope, missing.display().to_string());
    assert_eq!(one.state, json!({ good.display().to_string(): head }), "a narrowed run keeps the other repositories' state");
}

/// Builds a bare repository `<dir>/served/<name>.git` from a fresh work repository; returns
/// the folder served and the work repository's path (push to update the bare one).
fn served_repo(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let root = dir.join("served");
    std::fs::create_dir_all(&root).unwrap();
    let work = dir.join(format!("{name}-work"));
    repos::init(&work);
    repos::commit_files(&work, "first", &[("catalog-info.yaml", &descriptor("first"))]);
    repos::git(&root, &["clone", "--quiet", "--bare", work.to_str().unwrap(), &format!("{name}.git")]);
    repos::git(&work, &["remote", "add", "origin", root.join(format!("{name}.git")).to_str().unwrap()]);
    (root, work)
}

fn push_second(work: &Path) -> String {
    let head = repos::commit_files(work, "second", &[("two/catalog-info.yaml", &descriptor("second"))]);
    repos::git(work, &["push", "--quiet", "origin", "main"]);
    head
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn wait_for(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nothing listens on 127.0.0.1:{port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn git_daemon(root: &Path, port: u16) -> Daemon {
    // `git daemon` would run git-daemon as a child that outlives a killed `git`: start it directly.
    let exec_path = repos::git(root, &["--exec-path"]);
    let child = Command::new(Path::new(&exec_path).join("git-daemon"))
        .args(["--reuseaddr", "--export-all", "--listen=127.0.0.1", &format!("--port={port}")])
        .arg(format!("--base-path={}", root.display()))
        .arg(root)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("git daemon");
    let daemon = Daemon(child);
    wait_for(port);
    daemon
}

/// Clone, then an incremental fetch, against `url`; then a changed commit is seen.
async fn clone_then_fetch(url: &str, allow: &[String], work: &Path, cache: &Path) {
    let p = provider(json!({"repositories": [url], "infer": false}));
    let mut ctx = context(cache, allow);
    let first = scan(&*p, &mut ctx).await;
    assert_eq!(first.scopes[0].scope, url);
    let (cs, _, _) = full(&first, 0);
    let c = declared(cs, "component:default/first");
    assert_eq!(annotation(c, "backstage.io/managed-by-location"), format!("url:{url}/catalog-info.yaml"));
    let second = scan(&*p, &mut ctx).await;
    assert!(matches!(second.scopes[0].outcome, ScopeOutcome::Unchanged), "{:?}", second.scopes[0].outcome);
    let head = push_second(work);
    let third = scan(&*p, &mut ctx).await;
    assert_eq!(keys(full(&third, 0).0, Evidence::Declared), vec!["component:default/first".to_owned(), "component:default/second".into()]);
    assert_eq!(third.state[url], head.as_str());
    assert_eq!(std::fs::read_dir(cache).unwrap().count(), 1, "one bare clone, fetched into");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn git_daemon_repositories_are_cloned_then_fetched_and_fail_when_the_server_is_down() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, work) = served_repo(tmp.path(), "shop");
    let port = free_port();
    let daemon = git_daemon(&root, port);
    let url = format!("git://127.0.0.1:{port}/shop.git");
    let cache = tmp.path().join("cache");
    clone_then_fetch(&url, &[format!("127.0.0.1:{port}")], &work, &cache).await;
    drop(daemon);
    let p = provider(json!({"repositories": [url.clone()]}));
    let down = scan(&*p, &mut context(&cache, &[format!("127.0.0.1:{port}")])).await;
    let e = failure(&down, 0);
    assert!(e.contains(&format!("fetching {url}")), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hosts_not_on_the_allow_list_fail_naming_the_host() {
    let tmp = tempfile::tempdir().unwrap();
    let p = provider(json!({"repositories": ["git://127.0.0.1:9/x.git", "https://git.example.com/acme/x.git"]}));
    let scan = scan(&*p, &mut context(tmp.path(), &["127.0.0.1:8".into()])).await;
    let e = failure(&scan, 0);
    assert!(e.contains("reading git://127.0.0.1:9/x.git is not allowed: host `127.0.0.1:9`"), "{e}");
    assert!(failure(&scan, 1).contains("host `git.example.com`"));
    assert_eq!(std::fs::read_dir(tmp.path()).unwrap().count(), 0, "nothing was cloned");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_urls_are_cloned_without_an_allow_list_entry() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, _work) = served_repo(tmp.path(), "local");
    let url = format!("file://{}/local.git", root.display());
    let p = provider(json!({"repositories": [url.clone()], "infer": false}));
    let scan = scan(&*p, &mut context(&tmp.path().join("cache"), &[])).await;
    let (cs, _, _) = full(&scan, 0);
    let c = declared(cs, "component:default/first");
    assert_eq!(annotation(c, "backstage.io/managed-by-location"), format!("file:{}/local.git/catalog-info.yaml", root.display()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_repositories_are_cloned_then_fetched_through_git_http_backend() {
    let tmp = tempfile::tempdir().unwrap();
    let (root, work) = served_repo(tmp.path(), "shop");
    let port = serve_http(root.clone());
    let url = format!("http://127.0.0.1:{port}/shop.git");
    clone_then_fetch(&url, &[format!("127.0.0.1:{port}")], &work, &tmp.path().join("cache")).await;
}

/// A minimal HTTP/1.1 server that runs `git http-backend` as CGI for every request.
fn serve_http(root: PathBuf) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let _ = cgi(stream, &root);
            });
        }
    });
    port
}

fn cgi(stream: TcpStream, root: &Path) -> std::io::Result<()> {
    let mut out = stream.try_clone()?;
    let mut input = BufReader::new(stream);
    let mut line = String::new();
    input.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("GET").to_owned(), parts.next().unwrap_or("/").to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if input.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let header = |k: &str| headers.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(n) = header("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        input.read_exact(&mut body)?;
    } else if header("transfer-encoding").is_some_and(|v| v.contains("chunked")) {
        loop {
            let mut size = String::new();
            input.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0; n + 2];
            input.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    }
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let mut cmd = Command::new("git");
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("REQUEST_METHOD", &method)
        .env("PATH_INFO", path)
        .env("QUERY_STRING", query)
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("CONTENT_LENGTH", body.len().to_string())
        .env("CONTENT_TYPE", header("content-type").unwrap_or_default())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    if let Some(p) = header("git-protocol") {
        cmd.env("GIT_PROTOCOL", p);
    }
    if let Some(e) = header("content-encoding") {
        cmd.env("HTTP_CONTENT_ENCODING", e);
    }
    let mut child = cmd.spawn()?;
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(&body));
    let output = child.wait_with_output()?;
    let _ = writer.join();
    let raw = output.stdout;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").map(|i| (i, 4)).or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|i| (i, 2)));
    let (head, payload) = match split {
        Some((i, n)) => (String::from_utf8_lossy(&raw[..i]).into_owned(), &raw[i + n..]),
        None => (String::new(), &raw[..]),
    };
    let mut status = "200 OK".to_owned();
    let mut response = String::new();
    for h in head.lines() {
        match h.split_once(':') {
            Some((k, v)) if k.eq_ignore_ascii_case("status") => status = v.trim().to_owned(),
            Some(_) => response.push_str(&format!("{}\r\n", h.trim_end())),
            None => {}
        }
    }
    write!(out, "HTTP/1.1 {status}\r\n{response}Content-Length: {}\r\nConnection: close\r\n\r\n", payload.len())?;
    out.write_all(payload)?;
    out.flush()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_unchanged_repositories_cost_little() {
    let tmp = tempfile::tempdir().unwrap();
    let template = tmp.path().join("template");
    repos::synthetic_repo(&template, 30);
    let paths: Vec<String> = (0..100)
        .map(|i| {
            let dir = tmp.path().join(format!("r{i:03}"));
            // Shared objects and no hook samples: a hundred small `.git` folders, quick to remove.
            repos::git(tmp.path(), &["clone", "--quiet", "--bare", "--shared", "--template=", template.to_str().unwrap(), dir.to_str().unwrap()]);
            dir.display().to_string()
        })
        .collect();
    let p = provider(json!({"repositories": paths, "infer": false}));
    let mut ctx = context(&tmp.path().join("cache"), &[]);
    assert!(scan(&*p, &mut ctx).await.scopes.iter().all(|s| matches!(s.outcome, ScopeOutcome::Full { complete: true, .. })));
    let started = Instant::now();
    let again = scan(&*p, &mut ctx).await;
    let elapsed = started.elapsed();
    assert!(again.scopes.iter().all(|s| matches!(s.outcome, ScopeOutcome::Unchanged)));
    assert!(elapsed < Duration::from_secs(2), "100 unchanged repositories took {elapsed:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_repositories_inferring_one_name_are_reported_every_run_and_a_namespace_keeps_both() {
    let tmp = tempfile::tempdir().unwrap();
    let service = [("frontend/package.json", r#"{"name":"frontend","private":true,"scripts":{"start":"node ."}}"#), ("frontend/Dockerfile", "FROM node\n")];
    let (a, b) = (tmp.path().join("shop-a"), tmp.path().join("shop-b"));
    for dir in [&a, &b] {
        repos::init(dir);
        repos::commit_files(dir, "one", &service);
    }
    let p = provider(json!({"repositories": [a.display().to_string(), b.display().to_string()]}));
    let mut ctx = context(&tmp.path().join("cache"), &[]);
    for run in 0..2 {
        let s = scan(&*p, &mut ctx).await;
        for i in 0..2 {
            // Read again on the second run too (not `Unchanged`), so the clash is reported.
            let (_, errors, _) = full(&s, i);
            let clash = errors.iter().find(|e| e.key.as_deref() == Some("component:default/frontend"));
            let clash = clash.unwrap_or_else(|| panic!("run {run}, repository {i}: {errors:?}"));
            assert!(clash.message.contains("give one repository its own `namespace`"), "{}", clash.message);
        }
    }
    let p = provider(json!({"repositories": [a.display().to_string(), {"path": b.display().to_string(), "namespace": "shop-b"}]}));
    let mut ctx = context(&tmp.path().join("cache2"), &[]);
    let s = scan(&*p, &mut ctx).await;
    assert!(full(&s, 0).1.is_empty() && full(&s, 1).1.is_empty(), "{:?} {:?}", full(&s, 0).1, full(&s, 1).1);
    assert_eq!(keys(full(&s, 1).0, Evidence::Inferred), vec!["component:shop-b/frontend".to_owned()]);
    let bad = portico_discovery::providers::build("git", &json!({"repositories": [{"path": "/x", "namespace": "Shop B"}]}));
    assert!(bad.err().unwrap().contains("repositories[0]: `namespace` \"Shop B\" is not a valid namespace"));
}
