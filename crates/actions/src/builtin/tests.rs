use std::path::Path;

use serde_json::{Value, json};

use crate::action::{Context, Registry};
use crate::render::Renderer;
use crate::workspace::Workspace;

async fn run(id: &str, template_dir: &Path, ws: &Workspace, input: Value) -> (Result<Value, crate::ActionError>, Vec<String>) {
    let registry = Registry::builtin();
    let renderer = Renderer::new();
    let mut lines = Vec::new();
    let mut sink = |l: String| lines.push(l);
    let remotes = crate::action::Remotes::default();
    let mut cx = Context { workspace: ws, template_dir: Some(template_dir), template_url: None, renderer: &renderer, dry_run: false, remotes: &remotes, user: &serde_json::Value::Null, approval: None, catalog: None, secrets: &Default::default(), log: &mut sink };
    let r = registry.get(id).unwrap().run(&mut cx, input).await;
    (r, lines)
}

#[test]
fn every_action_has_a_schema_and_an_example_that_uses_it() {
    let registry = Registry::builtin();
    assert_eq!(registry.iter().count(), super::all().len(), "ids are unique");
    for a in registry.iter() {
        let steps = portico_model::yaml::parse_documents(a.example()).unwrap_or_else(|e| panic!("{}: {e}", a.id()));
        let step = &steps[0][0];
        assert_eq!(step["action"], a.id(), "{}", a.id());
        assert!(!a.description().is_empty());
        // The example's input (expressions aside) satisfies the schema's shape.
        registry.check_input(a.id(), &step["input"]).unwrap_or_else(|e| panic!("{}: {e:?}", a.id()));
    }
}

#[tokio::test]
async fn fetch_template_options() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("skeleton");
    std::fs::create_dir_all(&s).unwrap();
    std::fs::write(s.join("app.py.njk"), "name = '${{ values.name }}'\n").unwrap();
    std::fs::write(s.join("raw.txt"), "${{ values.name }}\n").unwrap();
    std::fs::write(s.join("mkdocs.yml"), "{% if true %}\nsite_name: {{ cookiecutter.name }}\n{% endif %}\n").unwrap();
    let ws_dir = tempfile::tempdir().unwrap();
    let ws = Workspace::new(ws_dir.path()).unwrap();
    let (r, _) = run("fetch:template", dir.path(), &ws, json!({"url": "./skeleton", "targetPath": "out", "templateFileExtension": true, "values": {"name": "cart"}})).await;
    r.unwrap();
    assert_eq!(std::fs::read_to_string(ws.root().join("out/app.py")).unwrap(), "name = 'cart'\n");
    assert_eq!(std::fs::read_to_string(ws.root().join("out/raw.txt")).unwrap(), "${{ values.name }}\n");
    let (r, _) = run("fetch:template", dir.path(), &ws, json!({"url": "./skeleton", "targetPath": "cc", "cookiecutterCompat": true, "trimBlocks": true, "values": {"name": "docs"}})).await;
    r.unwrap();
    assert_eq!(std::fs::read_to_string(ws.root().join("cc/mkdocs.yml")).unwrap(), "site_name: docs\n");
    // Existing files are kept unless `replace` is set.
    let (_, log) = run("fetch:template", dir.path(), &ws, json!({"url": "./skeleton", "targetPath": "cc", "values": {"name": "other"}})).await;
    assert!(log[0].contains("kept 3 existing"), "{log:?}");
    run("fetch:template", dir.path(), &ws, json!({"url": "./skeleton", "targetPath": "cc", "replace": true, "values": {"name": "other"}})).await.0.unwrap();
    assert_eq!(std::fs::read_to_string(ws.root().join("cc/raw.txt")).unwrap(), "other\n");
    let (r, _) = run("fetch:template", dir.path(), &ws, json!({"url": "./skeleton", "copyWithoutRender": ["a"], "copyWithoutTemplating": ["b"]})).await;
    assert_eq!(r.unwrap_err().field.as_deref(), Some("copyWithoutRender"));
    // A template error names the file and line.
    std::fs::write(s.join("bad.txt"), "ok\n${{ values.name | nosuch }}\n").unwrap();
    let (r, _) = run("fetch:template", dir.path(), &ws, json!({"url": "./skeleton", "targetPath": "bad"})).await;
    let e = r.unwrap_err().to_string();
    assert!(e.contains("bad.txt, line 2") && e.contains("nosuch"), "{e}");
}

#[tokio::test]
async fn fs_rename_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let ws_dir = tempfile::tempdir().unwrap();
    let ws = Workspace::new(ws_dir.path()).unwrap();
    for f in ["a.txt", "b.txt", "keep/c.orig", "keep/d.txt", "gone/e.txt"] {
        let p = ws.root().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, f).unwrap();
    }
    let (r, _) = run("fs:rename", dir.path(), &ws, json!({"files": [{"from": "a.txt", "to": "b.txt"}]})).await;
    assert!(r.unwrap_err().to_string().contains("files[0].to: b.txt exists"));
    run("fs:rename", dir.path(), &ws, json!({"files": [{"from": "a.txt", "to": "b.txt", "overwrite": true}, {"from": "keep", "to": "moved/keep"}]})).await.0.unwrap();
    assert_eq!(std::fs::read_to_string(ws.root().join("b.txt")).unwrap(), "a.txt");
    assert!(ws.root().join("moved/keep/d.txt").exists());
    let (r, _) = run("fs:rename", dir.path(), &ws, json!({"files": [{"from": "nope", "to": "x"}]})).await;
    assert!(r.unwrap_err().to_string().contains("not in the workspace"));
    let (r, log) = run("fs:delete", dir.path(), &ws, json!({"files": ["gone", "**/*.orig"]})).await;
    r.unwrap();
    assert_eq!(log, ["deleted 2 files or folders"]);
    assert!(!ws.root().join("gone").exists() && !ws.root().join("moved/keep/c.orig").exists() && ws.root().join("moved/keep/d.txt").exists());
}

#[tokio::test]
async fn debug_wait_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::new(dir.path()).unwrap();
    let (r, _) = run("debug:wait", dir.path(), &ws, json!({"minutes": 11})).await;
    assert!(r.unwrap_err().message.contains("the most is 600 s"));
    run("debug:wait", dir.path(), &ws, json!({"milliseconds": 5})).await.0.unwrap();
}

/// The catalog actions' refusals, before anything reaches the catalog: without one (a local
/// run), with input that names nothing or tries to rename an entity. (Their work against a real
/// catalog is tested over the API: crates/server/tests/api/catalog_actions.rs.)
#[tokio::test]
async fn catalog_actions_refuse_bad_input_with_the_field_named() {
    let dir = tempfile::tempdir().unwrap();
    let ws = Workspace::new(dir.path()).unwrap();
    for (id, input) in [
        ("catalog:fetch", json!({"entityRef": "group:team-a"})),
        ("catalog:register", json!({"catalogInfoUrl": "https://git.example/x.yaml"})),
        ("portico:entity:update", json!({"entityRef": "resource:env", "patch": {"spec": {}}})),
    ] {
        let e = run(id, dir.path(), &ws, input).await.0.unwrap_err().to_string();
        assert!(e.contains("no catalog"), "{id}: {e}");
    }
    assert!(Registry::builtin().check_input("catalog:fetch", &json!({"entityRef": ""})).is_err());
    assert!(Registry::builtin().check_input("portico:entity:update", &json!({"entityRef": "x", "patch": {"kind": "Group"}})).is_err(), "only metadata and spec are edited");
    let e = Registry::builtin().check_input("approval:wait", &json!({"approvers": "sre", "count": 0})).unwrap_err();
    assert_eq!(e[0].field.as_deref(), Some("count"));
}
