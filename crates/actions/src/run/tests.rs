use std::path::Path;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::action::{Action, ActionError, Context};

/// An action with effects outside the workspace, standing in for `publish:*` in dry runs.
struct Publish;

#[async_trait::async_trait]
impl Action for Publish {
    fn id(&self) -> &'static str {
        "test:publish"
    }
    fn description(&self) -> &'static str {
        "test"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["repoUrl"], "properties": {"repoUrl": {"type": "string"}, "token": {"type": "string"}}})
    }
    fn example(&self) -> &'static str {
        ""
    }
    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        cx.log(format!("pushing with token {}", input["token"].as_str().unwrap_or("")));
        if input["repoUrl"] == "fail" {
            return Err(ActionError::input("repoUrl", "the remote refused the push"));
        }
        Ok(json!({"remoteUrl": format!("https://git.example/{}", input["repoUrl"].as_str().unwrap()), "token": input["token"]}))
    }
}

fn engine() -> Engine {
    let mut r = Registry::builtin();
    r.register(Arc::new(Publish));
    Engine::new(r)
}

fn template(dir: &Path, spec: Value) -> Template {
    crate::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "svc", "annotations": {"backstage.io/managed-by-location": format!("file:{}/template.yaml", dir.display())}},
            "spec": spec}))
        .unwrap();
    Template::from_entity(&e).unwrap()
}

fn skeleton(dir: &Path) {
    let s = dir.join("skeleton");
    std::fs::create_dir_all(s.join("src/${{ values.name }}")).unwrap();
    std::fs::create_dir_all(s.join(".github/workflows")).unwrap();
    std::fs::write(s.join("README.md"), "# ${{ values.name }}\n\nOwned by ${{ values.owner }}.\n").unwrap();
    std::fs::write(s.join("src/${{ values.name }}/main.py"), "print('${{ values.name | upper }}')\n").unwrap();
    std::fs::write(s.join(".github/workflows/ci.yml"), "run: echo ${{ github.sha }}\n").unwrap();
    std::fs::write(s.join("${{ 'optional.txt' if values.extra else '' }}"), "x").unwrap();
    std::fs::write(s.join("logo.png"), [0x89u8, 0x50, 0xff, 0xfe, 0x00]).unwrap();
}

fn spec() -> Value {
    json!({"type": "service",
        "parameters": [{"required": ["name"], "properties": {"name": {"type": "string", "pattern": "^[a-z-]+$"}, "owner": {"type": "string", "default": "group:default/team-a"}, "envs": {"type": "array", "default": ["dev", "prod"]}}}],
        "steps": [
            {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}", "owner": "${{ parameters.owner }}"}, "copyWithoutTemplating": [".github/workflows/*"]}},
            {"id": "rename", "action": "fs:rename", "input": {"files": [{"from": "README.md", "to": "docs/index.md"}]}},
            {"id": "descriptor", "action": "catalog:write", "input": {"entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "${{ parameters.name }}"}, "spec": {"type": "service", "lifecycle": "experimental", "owner": "${{ parameters.owner }}"}}}},
            {"id": "never", "if": "${{ parameters.name === 'nope' }}", "action": "debug:log", "input": {"message": "not me"}},
            {"id": "per-env", "each": "${{ parameters.envs }}", "action": "catalog:write", "input": {"filePath": "envs/${{ each.value }}.yaml", "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "${{ parameters.name }}-${{ each.value }}"}, "spec": {"type": "environment", "owner": "${{ parameters.owner }}"}}}},
            {"id": "publish", "action": "test:publish", "input": {"repoUrl": "${{ parameters.name }}", "token": "${{ secrets.TOKEN }}"}},
            {"id": "log", "action": "debug:log", "input": {"message": "published to ${{ steps.publish.output.remoteUrl }} with ${{ secrets.TOKEN }}", "listWorkspace": true}}
        ],
        "output": {"links": [{"title": "Repository", "url": "${{ steps.publish.output.remoteUrl }}"}, {"title": "Files", "url": "${{ steps['per-env'].output.filePath | join(',') }}"}]}})
}

async fn run(engine: &Engine, t: &Template, params: Value, dry_run: bool) -> (Report, Vec<Event>, tempfile::TempDir) {
    let parameters = engine.prepare(t, &params, dry_run).unwrap();
    let ws = tempfile::tempdir().unwrap();
    let workspace = Workspace::new(ws.path()).unwrap();
    let request = Request { parameters, dry_run, secrets: [("TOKEN".to_owned(), "s3cr3t-token".to_owned())].into(), ..Request::default() };
    let mut events = Vec::new();
    let report = engine.run(t, &request, &workspace, &mut |e| events.push(e)).await;
    (report, events, ws)
}

#[tokio::test]
async fn a_run_renders_the_skeleton_and_chains_outputs() {
    let dir = tempfile::tempdir().unwrap();
    skeleton(dir.path());
    let t = template(dir.path(), spec());
    let engine = engine();
    let (report, events, ws) = run(&engine, &t, json!({"name": "cart"}), false).await;
    assert_eq!(report.status, "completed", "{:#?}", report.steps);
    let read = |p: &str| std::fs::read_to_string(ws.path().join(p)).unwrap();
    assert_eq!(read("docs/index.md"), "# cart\n\nOwned by group:default/team-a.\n");
    assert_eq!(read("src/cart/main.py"), "print('CART')\n");
    assert_eq!(read(".github/workflows/ci.yml"), "run: echo ${{ github.sha }}\n", "copied without templating");
    assert_eq!(std::fs::read(ws.path().join("logo.png")).unwrap(), [0x89u8, 0x50, 0xff, 0xfe, 0x00], "binary files are copied as they are");
    assert!(!ws.path().join("optional.txt").exists(), "a name rendering to nothing leaves the file out");
    assert!(read("catalog-info.yaml").contains("name: cart"));
    assert!(read("envs/prod.yaml").contains("name: cart-prod"));
    let by_id = |id: &str| report.steps.iter().find(|s| s.id == id).unwrap();
    assert_eq!(by_id("never").status, StepStatus::Skipped);
    assert_eq!(by_id("per-env").output, json!({"filePath": ["envs/dev.yaml", "envs/prod.yaml"]}));
    assert_eq!(by_id("per-env").input.as_array().unwrap().len(), 2);
    assert_eq!(report.output["links"][0]["url"], "https://git.example/cart");
    assert_eq!(report.output["links"][1]["url"], "envs/dev.yaml,envs/prod.yaml");
    // Secrets are masked in logs, inputs and outputs; the action itself got the real value.
    let shown = serde_json::to_string(&report).unwrap() + &serde_json::to_string(&events).unwrap();
    assert!(!shown.contains("s3cr3t-token"), "{shown}");
    assert!(by_id("publish").log[0].ends_with("token ***"));
    assert_eq!(by_id("publish").input["token"], "***");
    assert!(by_id("log").log.iter().any(|l| l.starts_with("docs/index.md (")));
    assert!(matches!(&events[0], Event::StepStarted { step, .. } if step == "fetch"));
    assert!(events.iter().any(|e| matches!(e, Event::Log { step, .. } if step == "fetch")));
}

#[tokio::test]
async fn a_dry_run_writes_only_the_workspace_and_lists_its_files() {
    let dir = tempfile::tempdir().unwrap();
    skeleton(dir.path());
    let t = template(dir.path(), spec());
    let (report, _, _ws) = run(&engine(), &t, json!({"name": "cart"}), true).await;
    assert_eq!(report.status, "completed");
    let publish = report.steps.iter().find(|s| s.id == "publish").unwrap();
    assert_eq!(publish.status, StepStatus::Skipped);
    assert!(publish.reason.as_deref().unwrap().contains("outside the run's workspace"));
    assert_eq!(publish.input["repoUrl"], "cart", "the rendered input is shown");
    let paths: Vec<&str> = report.files.iter().map(|f| f.path.as_str()).collect();
    assert!(paths.contains(&"src/cart/main.py") && paths.contains(&"catalog-info.yaml"), "{paths:?}");
    let readme = report.files.iter().find(|f| f.path == "docs/index.md").unwrap();
    assert!(readme.text.as_deref().unwrap().starts_with("# cart"));
    assert_eq!(report.files.iter().find(|f| f.path == "logo.png").unwrap().text, None);
}

#[tokio::test]
async fn a_failed_step_stops_the_run() {
    let dir = tempfile::tempdir().unwrap();
    skeleton(dir.path());
    let t = template(dir.path(), spec());
    let (report, _, _ws) = run(&engine(), &t, json!({"name": "fail"}), false).await;
    assert_eq!(report.status, "failed");
    let publish = report.steps.iter().find(|s| s.id == "publish").unwrap();
    assert_eq!(publish.status, StepStatus::Failed);
    assert_eq!(publish.reason.as_deref(), Some("spec.steps[5].input.repoUrl: the remote refused the push"));
    assert_eq!(report.steps.last().unwrap().status, StepStatus::Pending);
}

#[tokio::test]
async fn bad_parameters_and_inputs_are_named() {
    let dir = tempfile::tempdir().unwrap();
    skeleton(dir.path());
    let engine = engine();
    let t = template(dir.path(), spec());
    let errors = engine.prepare(&t, &json!({"name": "Not Valid"}), false).unwrap_err();
    assert_eq!(errors[0].path, "parameters.name");
    let t = template(dir.path(), json!({"type": "service", "steps": [{"id": "w", "action": "catalog:write", "input": {"filePath": 3}}]}));
    let (report, _, _ws) = run(&engine, &t, json!({}), false).await;
    let reason = report.steps[0].reason.clone().unwrap();
    assert!(reason.contains("spec.steps[0].input.filePath:") && reason.contains("spec.steps[0].input: \"entity\" is a required property"), "{reason}");
    let t = template(dir.path(), json!({"type": "service", "steps": [{"id": "w", "action": "catalog:write", "input": {"entity": {"kind": "Component", "metadata": {"name": "Bad Name!"}}}}]}));
    let (report, _, _ws) = run(&engine, &t, json!({}), false).await;
    assert!(report.steps[0].reason.as_deref().unwrap().contains("catalog would refuse"), "{:?}", report.steps[0].reason);
}

#[tokio::test]
async fn unknown_actions_refuse_a_run_and_are_skipped_in_a_dry_run() {
    let dir = tempfile::tempdir().unwrap();
    let t = template(dir.path(), json!({"type": "service", "steps": [{"id": "x", "action": "fetch:rails", "input": {"a": "${{ parameters.n }}"}}]}));
    let engine = engine();
    let errors = engine.prepare(&t, &json!({}), false).unwrap_err();
    assert_eq!(errors[0].path, "spec.steps[0].action");
    let (report, _, _ws) = run(&engine, &t, json!({"n": "v"}), true).await;
    assert_eq!(report.steps[0].status, StepStatus::Skipped);
    assert!(report.steps[0].reason.as_deref().unwrap().contains("no action \"fetch:rails\""));
}

/// Path traversal and links, in skeletons, file names, `url`s and `fs:*` targets: nothing
/// leaves the workspace (or, for sources, the template's folder).
#[tokio::test]
async fn nothing_leaves_the_workspace() {
    let engine = engine();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"action": "fetch:template", "input": {"url": "../outside"}}), "must stay inside the template's folder"),
        (json!({"action": "fetch:template", "input": {"url": "/etc"}}), "absolute"),
        (json!({"action": "fetch:plain", "input": {"url": "https://example.com/x"}}), "is not a repository's folder"),
        (json!({"action": "fetch:plain", "input": {"url": "https://github.com/acme/t/tree/main/x"}}), "not a host actions.remotes.hosts allows"),
        (json!({"action": "fetch:template", "input": {"url": "./skeleton", "targetPath": "../../x"}}), "leaves the workspace"),
        (json!({"action": "fetch:template", "input": {"url": "./evil"}}), "leaves the workspace"),
        (json!({"action": "fetch:plain", "input": {"url": "./linked"}}), "symbolic link"),
        (json!({"action": "fetch:plain", "input": {"url": "./escape"}}), "outside the template's folder"),
        (json!({"action": "fs:delete", "input": {"files": ["../victim"]}}), "leaves the workspace"),
        (json!({"action": "fs:rename", "input": {"files": [{"from": "a", "to": "/tmp/b"}]}}), "is absolute"),
        (json!({"action": "catalog:write", "input": {"filePath": "../catalog-info.yaml", "entity": {"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "g"}, "spec": {"type": "team", "children": []}}}}), "leaves the workspace"),
    ];
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "top secret").unwrap();
    for (step, want) in cases {
        let dir = tempfile::tempdir().unwrap();
        skeleton(dir.path());
        // Each folder's name renders to `..`: the file would land at ../../x.
        std::fs::create_dir_all(dir.path().join("evil/${{ '..' }}/${{ '..' }}")).unwrap();
        std::fs::write(dir.path().join("evil/${{ '..' }}/${{ '..' }}/x"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("linked")).unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret.txt"), dir.path().join("linked/secret.txt")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("escape")).unwrap();
        let mut step = step;
        step["id"] = json!("s");
        let t = template(dir.path(), json!({"type": "service", "steps": [step]}));
        let (report, _, ws) = run(&engine, &t, json!({}), false).await;
        let reason = report.steps[0].reason.clone().unwrap_or_default();
        assert_eq!(report.status, "failed", "{step}");
        assert!(reason.contains(want), "{step}: {reason}");
        assert!(!ws.path().join("secret.txt").exists() && !ws.path().parent().unwrap().join("x").exists());
    }
}
