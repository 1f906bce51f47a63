//! Conformance with Backstage's own data: its scaffolder filters' documented examples
//! (`fixtures/backstage/scaffolder-filters.json`), and every template of
//! `fixtures/backstage/templates/`: each parses, shows its form, validates parameters and
//! dry-runs. The fixture set ships the `template.yaml` files without their skeleton folders;
//! the dry runs give each a copy with an empty `skeleton/` where it has none.

use std::path::{Path, PathBuf};

use portico_actions::{Engine, Registry, Request, StepStatus, Template};
use serde_json::{Value, json};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/backstage")
}

#[test]
fn scaffolder_filters_match_backstage() {
    let cases: Vec<Value> = serde_json::from_str(&std::fs::read_to_string(fixtures().join("scaffolder-filters.json")).unwrap()).unwrap();
    assert!(cases.len() >= 5);
    let renderer = portico_actions::Renderer::new();
    for case in cases {
        let expression = case["expression"].as_str().unwrap();
        // Each case feeds `input` to its filter: as `parameters.<field>`, or (for `pick`,
        // whose input is parseEntityRef's output) through the chain the expression writes.
        let field = if expression.contains("parameters.owner") { "owner" } else { "repoUrl" };
        let input = if case["filter"] == "pick" { json!("Group:default/techdocs") } else { case["input"].clone() };
        let context = portico_actions::render::context(&json!({ "parameters": { field: input } }));
        let got = renderer.render_string(expression, &context).unwrap_or_else(|e| panic!("{expression}: {e}"));
        assert_eq!(got, Some(case["output"].clone()), "{}: {}", case["filter"], case["description"]);
    }
}

fn load(path: &Path) -> Template {
    let text = std::fs::read_to_string(path).unwrap();
    let mut doc = portico_model::yaml::parse_documents(&text).unwrap().remove(0);
    doc["metadata"]["annotations"] = json!({ "backstage.io/managed-by-location": format!("file:{}", path.display()) });
    portico_actions::register();
    let entity = portico_model::Validator::default().validate(doc).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()));
    Template::from_entity(&entity).unwrap_or_else(|e| panic!("{}: {e:?}", path.display()))
}

/// A value for every required parameter that its schema accepts.
fn sample(template: &Template) -> Value {
    let mut out = serde_json::Map::new();
    for page in &template.pages {
        let required: Vec<&str> = page.schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        for (name, schema) in page.schema["properties"].as_object().into_iter().flatten() {
            if !required.contains(&name.as_str()) {
                continue;
            }
            let v = match (schema["type"].as_str(), schema["ui:field"].as_str()) {
                (_, Some("RepoUrlPicker")) => json!("github.com?owner=acme&repo=new-service"),
                (_, Some("OwnerPicker")) => json!("group:default/team-a"),
                (Some("boolean"), _) => json!(false),
                (Some("array"), _) => json!([schema["items"]["enum"][0].clone()]),
                (Some("object"), _) => json!({}),
                _ => schema["enum"].get(0).cloned().unwrap_or(json!("example-name")),
            };
            out.insert(name.clone(), v);
        }
    }
    Value::Object(out)
}

#[tokio::test]
async fn every_fixture_template_parses_validates_and_dry_runs() {
    let engine = Engine::new(Registry::builtin());
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixtures().join("templates")).unwrap().map(|e| e.unwrap().path()).collect();
    dirs.sort();
    assert_eq!(dirs.len(), 10);
    for dir in dirs {
        let copy = tempfile::tempdir().unwrap();
        for (rel, path) in portico_actions::workspace::walk(&dir).unwrap() {
            let to = copy.path().join(&rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(path, to).unwrap();
        }
        for folder in ["skeleton", "template"] {
            std::fs::create_dir_all(copy.path().join(folder)).unwrap();
        }
        let template = load(&copy.path().join("template.yaml"));
        let name = template.name.clone();
        assert!(!template.pages.is_empty() && !template.steps.is_empty(), "{name}");
        // Its form: every page has a schema with properties.
        assert!(template.pages.iter().all(|p| p.schema["properties"].is_object()), "{name}");
        // Parameters: nothing is refused with a clear error naming the field; a sample passes.
        let errors = engine.prepare(&template, &json!({}), true).unwrap_err();
        assert!(errors.iter().all(|e| e.path == "parameters" && e.message.contains("required")), "{name}: {errors:?}");
        let parameters = engine.prepare(&template, &sample(&template), true).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        // A real run is refused when an action is unknown (github:pages:enable, fetch:cookiecutter…).
        let unknown = template.unknown_actions(|a| engine.registry().contains(a));
        assert_eq!(engine.prepare(&template, &parameters, false).is_err(), !unknown.is_empty(), "{name}");
        let ws = tempfile::tempdir().unwrap();
        let workspace = portico_actions::workspace::Workspace::new(ws.path()).unwrap();
        let request = Request { parameters, user: json!({"ref": "user:default/guest"}), dry_run: true, ..Request::default() };
        let mut events = 0;
        let report = engine.run(&template, &request, &workspace, &mut |_| events += 1).await;
        assert_eq!(report.status, "completed", "{name}: {:#?}", report.steps);
        assert!(report.steps.iter().all(|s| matches!(s.status, StepStatus::Completed | StepStatus::Skipped)), "{name}");
        assert!(events >= 2 * report.steps.len(), "{name}");
        // Steps not run still show their rendered input.
        for s in report.steps.iter().filter(|s| s.status == StepStatus::Skipped) {
            assert!(s.reason.is_some(), "{name}/{}", s.id);
        }
    }
}
