//! `publish:github`, `publish:gitlab` and `github:actions:dispatch` against a server on loopback
//! that answers as GitHub's and GitLab's REST APIs document (the real ones are out of reach
//! here): the calls made, in order, with the token and the bodies the APIs expect; the workspace
//! pushed to the `clone_url` the API answers (a local bare repository, which `git` serves as a
//! host would); the errors GitHub and GitLab give, named; and a rollback deleting what was made.

use std::path::Path;
use std::sync::{Arc, Mutex};

use portico_actions::{Engine, Registry, Remotes, Request, Template};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};

/// One request as the fake API saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    authorization: String,
    body: Value,
}

type Routes = Arc<dyn Fn(&str, &str) -> (u16, Value) + Send + Sync>;

/// A loopback HTTP server answering each request with `routes(method, path)`; what it saw.
async fn api(routes: Routes) -> (u16, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else { return };
            let (routes, log) = (routes.clone(), log.clone());
            tokio::spawn(async move {
                let mut reader = BufReader::new(socket);
                let mut line = String::new();
                reader.read_line(&mut line).await.unwrap();
                let mut parts = line.split_whitespace();
                let (method, path) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
                let (mut length, mut authorization) = (0usize, String::new());
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).await.unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    let (name, value) = header.split_once(':').unwrap_or((header, ""));
                    match name.to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        "authorization" => authorization = value.trim().to_owned(),
                        _ => {}
                    }
                }
                let mut body = vec![0u8; length];
                reader.read_exact(&mut body).await.unwrap();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push(Seen { method: method.clone(), path: path.clone(), authorization, body });
                let (status, answer) = routes(&method, &path);
                let text = if answer.is_null() { String::new() } else { answer.to_string() };
                let response = format!("HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}", text.len());
                let mut socket = reader.into_inner();
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, seen)
}

fn template(steps: Value) -> Template {
    portico_actions::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "publish"},
            "spec": {"type": "service", "steps": steps}}))
        .unwrap();
    Template::from_entity(&e).unwrap()
}

/// The API at `/api/v3` (GitHub) and `/api/v4` (GitLab) of the fake host, and its local
/// repositories' folder.
fn remotes(port: u16, root: &Path) -> Remotes {
    let host = format!("127.0.0.1:{port}");
    Remotes {
        hosts: vec![host.clone()],
        roots: vec![root.to_path_buf()],
        private_addresses: true,
        api_base_urls: [(host.clone(), format!("http://{host}/api"))].into(),
    }
}

/// Runs `steps` with the secret `GITHUB_TOKEN` (what a step without a token falls back to).
async fn run(steps: Value, remotes: Remotes) -> portico_actions::Report {
    run_with(steps, remotes, &[("GITHUB_TOKEN", "ghp_t0ken")]).await
}

async fn run_with(steps: Value, remotes: Remotes, secrets: &[(&str, &str)]) -> portico_actions::Report {
    let engine = Engine::new(Registry::builtin()).with_remotes(remotes);
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("README.md"), "# cart\n").unwrap();
    let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
    let request = Request { parameters: json!({}), secrets: secrets.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(), ..Request::default() };
    engine.run(&template(steps), &request, &workspace, &mut |_| {}).await
}

fn git_show(bare: &Path, what: &str) -> String {
    let out = std::process::Command::new("git").args(["--git-dir", &bare.display().to_string(), "show", what]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[tokio::test]
async fn publish_github_creates_the_repository_in_the_organisation_and_pushes_to_it() {
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("acme/cart.git");
    let clone_url = format!("file://{}", bare.display());
    let created = Arc::new(Mutex::new(false));
    let routes: Routes = {
        let (clone_url, created) = (clone_url.clone(), created.clone());
        Arc::new(move |method, path| match (method, path) {
            ("GET", "/api/users/acme") => (200, json!({"login": "acme", "type": "Organization"})),
            ("POST", "/api/orgs/acme/repos") if *created.lock().unwrap() => (422, json!({"message": "Repository creation failed.", "errors": [{"resource": "Repository", "code": "custom", "field": "name", "message": "name already exists on this account"}]})),
            ("POST", "/api/orgs/acme/repos") => {
                *created.lock().unwrap() = true;
                (201, json!({"name": "cart", "full_name": "acme/cart", "clone_url": clone_url, "html_url": "https://github.example/acme/cart"}))
            }
            ("PUT", "/api/repos/acme/cart/topics") => (200, json!({"names": ["python"]})),
            ("DELETE", "/api/repos/acme/cart") => (204, Value::Null),
            _ => (404, json!({"message": "Not Found"})),
        })
    };
    let (port, seen) = api(routes).await;
    let step = json!([{"id": "publish", "action": "publish:github", "input": {"repoUrl": format!("127.0.0.1:{port}?owner=acme&repo=cart"), "description": "Carts", "repoVisibility": "internal", "topics": ["python"], "token": "${{ secrets.GITHUB_TOKEN }}"}}]);
    let report = run(step.clone(), remotes(port, root.path())).await;
    assert_eq!(report.status, "completed", "{:?}", report.steps);
    let out = &report.steps[0].output;
    assert_eq!((out["remoteUrl"].as_str(), out["repoContentsUrl"].as_str()), (Some("https://github.example/acme/cart"), Some("https://github.example/acme/cart/blob/main")));
    assert_eq!(git_show(&bare, "main:README.md"), "# cart\n", "pushed to the clone_url");
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.iter().map(|c| format!("{} {}", c.method, c.path)).collect::<Vec<_>>(), ["GET /api/users/acme", "POST /api/orgs/acme/repos", "PUT /api/repos/acme/cart/topics"]);
    assert!(calls.iter().all(|c| c.authorization == "Bearer ghp_t0ken"));
    assert_eq!(calls[1].body, json!({"name": "cart", "private": true, "visibility": "internal", "description": "Carts", "homepage": null}));
    assert_eq!(calls[2].body, json!({"names": ["python"]}));
    assert!(!format!("{report:?}").contains("ghp_t0ken"), "the token is masked");

    // The same repository again: GitHub's 422, said plainly.
    let again = run(step.clone(), remotes(port, root.path())).await;
    assert!(again.steps[0].reason.as_deref().unwrap().contains("acme/cart exists already on 127.0.0.1"), "{:?}", again.steps[0]);

    // A rollback deletes what the run created.
    let engine = Engine::new(Registry::builtin()).with_remotes(remotes(port, root.path()));
    let ws = tempfile::tempdir().unwrap();
    let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
    let request = Request { secrets: [("GITHUB_TOKEN".to_owned(), "ghp_t0ken".to_owned())].into(), ..Request::default() };
    let undone = engine.rollback(&template(step), &request, &workspace, &report.steps, &mut |_| {}).await;
    assert_eq!(undone[0].status, "undone", "{undone:?}");
    assert_eq!(seen.lock().unwrap().last().map(|c| format!("{} {}", c.method, c.path)).as_deref(), Some("DELETE /api/repos/acme/cart"));
}

#[tokio::test]
async fn publish_github_refuses_without_a_token_or_an_allowed_host() {
    let root = tempfile::tempdir().unwrap();
    let (port, seen) = api(Arc::new(|_, _| (200, json!({})))).await;
    // Backstage's templates write `token: ${{ secrets.USER_OAUTH_TOKEN or false }}`.
    let no_token = run_with(json!([{"id": "p", "action": "publish:github", "input": {"repoUrl": format!("127.0.0.1:{port}?owner=acme&repo=cart"), "token": false}}]), remotes(port, root.path()), &[]).await;
    assert!(no_token.steps[0].reason.as_deref().unwrap().contains("input.token: a token for 127.0.0.1"), "{:?}", no_token.steps[0]);
    let off_list = run(json!([{"id": "p", "action": "publish:github", "input": {"repoUrl": format!("127.0.0.1:{port}?owner=acme&repo=cart"), "token": "t"}}]), Remotes::default()).await;
    assert!(off_list.steps[0].reason.as_deref().unwrap().contains("not a host actions.remotes.hosts allows"), "{:?}", off_list.steps[0]);
    let bad = run(json!([{"id": "p", "action": "publish:github", "input": {"repoUrl": format!("127.0.0.1:{port}?owner=acme&repo=../x"), "token": "t"}}]), remotes(port, root.path())).await;
    assert!(bad.steps[0].reason.as_deref().unwrap().contains("is not a repository path"), "{:?}", bad.steps[0]);
    assert!(seen.lock().unwrap().is_empty(), "nothing was asked of the API");
}

#[tokio::test]
async fn publish_gitlab_creates_the_project_in_the_group_and_pushes_to_it() {
    let root = tempfile::tempdir().unwrap();
    let bare = root.path().join("acme/services/cart.git");
    let clone_url = format!("file://{}", bare.display());
    let routes: Routes = {
        let clone_url = clone_url.clone();
        Arc::new(move |method, path| match (method, path) {
            ("GET", "/api/namespaces/acme%2Fservices") => (200, json!({"id": 42, "full_path": "acme/services", "kind": "group"})),
            ("POST", "/api/projects") => (201, json!({"id": 7, "path_with_namespace": "acme/services/cart", "http_url_to_repo": clone_url, "web_url": "https://gitlab.example/acme/services/cart"})),
            ("DELETE", "/api/projects/7") => (202, json!({"message": "202 Accepted"})),
            _ => (404, json!({"message": "404 Not found"})),
        })
    };
    let (port, seen) = api(routes).await;
    let step = json!([{"id": "publish", "action": "publish:gitlab", "input": {"repoUrl": format!("127.0.0.1:{port}?owner=acme/services&repo=cart"), "repoVisibility": "internal", "token": "${{ secrets.GITHUB_TOKEN }}"}}]);
    let report = run(step, remotes(port, root.path())).await;
    assert_eq!(report.status, "completed", "{:?}", report.steps);
    assert_eq!(report.steps[0].output["repoContentsUrl"], "https://gitlab.example/acme/services/cart/-/blob/main");
    assert_eq!(report.steps[0].output["projectId"], 7);
    assert_eq!(git_show(&bare, "main:README.md"), "# cart\n");
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls[1].body["namespace_id"], 42);
    assert_eq!((calls[1].body["path"].as_str(), calls[1].body["visibility"].as_str()), (Some("cart"), Some("internal")));
    let missing = run(json!([{"id": "p", "action": "publish:gitlab", "input": {"repoUrl": format!("127.0.0.1:{port}?owner=nobody&repo=cart"), "token": "t"}}]), remotes(port, root.path())).await;
    assert!(missing.steps[0].reason.as_deref().unwrap().contains("answered 404: 404 Not found"), "{:?}", missing.steps[0]);
}

#[tokio::test]
async fn github_actions_dispatch_starts_the_workflow_with_its_inputs() {
    let root = tempfile::tempdir().unwrap();
    let routes: Routes = Arc::new(|method, path| match (method, path) {
        ("POST", "/api/repos/acme/cart/actions/workflows/deploy.yml/dispatches") => (204, Value::Null),
        _ => (404, json!({"message": "Not Found"})),
    });
    let (port, seen) = api(routes).await;
    let input = |workflow: &str| json!([{"id": "go", "action": "github:actions:dispatch", "input": {"repoUrl": format!("127.0.0.1:{port}?owner=acme&repo=cart"), "workflowId": workflow, "branchOrTagName": "main", "workflowInputs": {"version": "1.4.2", "dryRun": false}}}]);
    let report = run(input("deploy.yml"), remotes(port, root.path())).await;
    assert_eq!(report.status, "completed", "{:?}", report.steps);
    assert_eq!(seen.lock().unwrap()[0].body, json!({"ref": "main", "inputs": {"version": "1.4.2", "dryRun": "false"}}), "inputs go as strings");
    assert_eq!(seen.lock().unwrap()[0].authorization, "Bearer ghp_t0ken", "no token given: the secret GITHUB_TOKEN");
    let missing = run(input("nope.yml"), remotes(port, root.path())).await;
    assert!(missing.steps[0].reason.as_deref().unwrap().contains("input.workflowId: POST"), "{:?}", missing.steps[0]);
}

/// Records what `catalog:register` asks of the catalog. (The real catalog behind this trait is
/// tested over the API, in crates/server/tests/api/catalog_actions.rs; here the descriptor's
/// URL is on a GitHub this test cannot serve files from.)
struct Registrations(Mutex<Vec<String>>);

#[async_trait::async_trait]
impl portico_actions::CatalogPort for Registrations {
    fn entity(&self, _key: &str) -> Option<Value> {
        None
    }
    async fn register(&self, target: &str, _actor: &str) -> Result<portico_actions::Registered, String> {
        self.0.lock().unwrap().push(target.to_owned());
        Ok(portico_actions::Registered { id: "l1".into(), entities: vec!["component:default/web".into()], existed: false })
    }
    async fn unregister(&self, _id: &str, _actor: &str) -> Result<(), String> {
        Ok(())
    }
    async fn update(&self, _key: &str, _patch: &Value, _actor: &str, _reason: &str) -> Result<portico_actions::Edited, String> {
        Err("not here".into())
    }
    async fn restore(&self, _key: &str, _previous: Option<&Value>, _actor: &str) -> Result<(), String> {
        Ok(())
    }
}

/// A value for every required parameter of a fixture template (its repository on "github.com").
fn sample(template: &Template, repo: &str) -> Value {
    let mut out = serde_json::Map::new();
    for page in &template.pages {
        let required: Vec<&str> = page.schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, schema) in page.schema["properties"].as_object().into_iter().flatten().filter(|(n, _)| required.contains(&n.as_str())) {
            let v = match (schema["type"].as_str(), schema["ui:field"].as_str()) {
                (_, Some("RepoUrlPicker")) => json!(format!("github.com?owner=acme&repo={repo}")),
                (_, Some("OwnerPicker")) => json!("group:default/team-a"),
                (Some("boolean"), _) => json!(false),
                (Some("array"), _) => json!([schema["items"]["enum"][0].clone()]),
                (Some("object"), _) => json!({}),
                _ => schema["enum"].get(0).cloned().unwrap_or(json!(repo)),
            };
            out.insert(name.clone(), v);
        }
    }
    Value::Object(out)
}

/// Every template of Backstage's fixture set whose actions Portico has (fetch:template,
/// publish:github with its `allowedHosts`, catalog:register…) run for real: "github.com" is the
/// fake API here (actions.remotes.apiBaseUrls), the token the secret GITHUB_TOKEN, as a Backstage
/// integration's would be; each repository gets what the skeleton made, and the catalog is asked
/// to register its descriptor. (The fixture set ships templates without their skeletons: each
/// gets a one-file skeleton that uses the template's values.)
#[tokio::test]
async fn backstage_templates_run_end_to_end() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/backstage/templates");
    let mut dirs: Vec<_> = std::fs::read_dir(&fixtures).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    let mut ran = Vec::new();
    for fixture in dirs {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        for folder in ["skeleton", "template"] {
            std::fs::create_dir_all(dir.path().join(folder)).unwrap();
            std::fs::write(dir.path().join(folder).join("catalog-info.yaml"), "values: ${{ values | dump }}\n").unwrap();
        }
        let mut doc = portico_model::yaml::parse_documents(&std::fs::read_to_string(fixture.join("template.yaml")).unwrap()).unwrap().remove(0);
        doc["metadata"]["annotations"] = json!({ "backstage.io/managed-by-location": format!("file:{}/template.yaml", dir.path().display()) });
        portico_actions::register();
        let template = Template::from_entity(&portico_model::Validator::default().validate(doc).unwrap()).unwrap();
        let registry = Registry::builtin();
        if !template.unknown_actions(|a| registry.contains(a)).is_empty() {
            continue;
        }
        let root = tempfile::tempdir().unwrap();
        let bare = root.path().join("acme.git");
        let clone_url = format!("file://{}", bare.display());
        let routes: Routes = Arc::new(move |method, path| match (method, path) {
            ("GET", "/api/users/acme") => (200, json!({"login": "acme", "type": "User"})),
            ("POST", "/api/user/repos") => (201, json!({"clone_url": clone_url, "html_url": "https://github.com/acme/new"})),
            _ => (404, json!({"message": "Not Found"})),
        });
        let (port, seen) = api(routes).await;
        let remotes = Remotes { api_base_urls: [("github.com".to_owned(), format!("http://127.0.0.1:{port}/api"))].into(), ..remotes(port, root.path()) };
        let catalog = Arc::new(Registrations(Mutex::new(Vec::new())));
        let engine = Engine::new(registry).with_remotes(remotes).with_catalog(catalog.clone());
        let parameters = engine.prepare(&template, &sample(&template, "new"), false).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let ws = tempfile::tempdir().unwrap();
        let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
        let request = Request { parameters, user: json!({"ref": "user:default/guest"}), secrets: [("GITHUB_TOKEN".to_owned(), "ghp_integration".to_owned())].into(), ..Request::default() };
        let report = engine.run(&template, &request, &workspace, &mut |_| {}).await;
        assert_eq!(report.status, "completed", "{name}: {:#?}", report.steps);
        assert!(git_show(&bare, "main:catalog-info.yaml").starts_with("values: {"), "{name}: the skeleton's file was pushed");
        assert!(seen.lock().unwrap().iter().all(|c| c.authorization == "Bearer ghp_integration"), "{name}");
        if template.steps.iter().any(|s| s.action == "catalog:register") {
            assert_eq!(*catalog.0.lock().unwrap(), ["https://github.com/acme/new/blob/main/catalog-info.yaml"], "{name}");
        }
        ran.push(name);
    }
    assert_eq!(ran, ["clean-architecture-app", "create-react-app", "docs-template", "react-ssr-template", "springboot-grpc-template"]);
}
