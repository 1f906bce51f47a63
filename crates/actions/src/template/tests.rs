use serde_json::json;

use super::*;

fn entity(spec: serde_json::Value) -> Result<Entity, Vec<FieldError>> {
    crate::register();
    portico_model::Validator::default().validate(json!({
        "apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
        "metadata": {"name": "svc", "annotations": {"backstage.io/managed-by-location": "file:/srv/templates/svc/template.yaml"}},
        "spec": spec,
    }))
}

#[test]
fn reads_pages_steps_and_output() {
    let e = entity(json!({"type": "service", "owner": "group:platform",
        "parameters": {"properties": {"name": {"type": "string"}}},
        "steps": [{"action": "debug:log", "input": {"message": "hi"}}, {"id": "w", "name": "Write", "action": "catalog:write", "if": "${{ true }}"}],
        "output": {"links": [{"title": "Repo", "url": "${{ steps.w.output.filePath }}"}]}})).unwrap();
    let t = Template::from_entity(&e).unwrap();
    assert_eq!(t.key, "template:default/svc");
    assert_eq!(t.pages.len(), 1, "one object is one page");
    assert_eq!((t.steps[0].id.as_str(), t.steps[0].name.as_str()), ("step-1", "step-1"));
    assert_eq!(t.steps[1].condition, Some(json!("${{ true }}")));
    assert_eq!(t.steps[1].input, json!({}));
    assert_eq!(t.base_dir(), Some(PathBuf::from("/srv/templates/svc")));
    assert_eq!(t.template_type.as_deref(), Some("service"));
    let unknown = t.unknown_actions(|a| a == "debug:log");
    assert_eq!(unknown.len(), 1);
    assert_eq!(unknown[0].path, "spec.steps[1].action");
    assert!(unknown[0].message.contains("\"catalog:write\""));
}

#[test]
fn mistakes_are_errors_at_their_field() {
    let errors = entity(json!({"type": "service", "steps": [
        {"id": "a", "action": "debug:log", "input": {"message": "one\ntwo ${{ parameters.x | }}"}},
        {"id": "a", "action": "debug:log"},
        {"id": "b", "action": "debug:log", "if": "${{ parameters.x === }}"}
    ], "output": {"text": [{"content": "${{ steps.a.output"}]}})).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|e| e.starts_with("spec.steps[1].id:") && e.contains("earlier step")), "{text:?}");
    assert!(text.iter().any(|e| e.starts_with("spec.steps[0].input.message:")), "every problem, not the first: {text:?}");
    let errors = entity(json!({"type": "service", "steps": [
        {"id": "a", "action": "debug:log", "input": {"message": "one\ntwo ${{ parameters.x | }}"}},
        {"id": "b", "action": "debug:log", "if": "${{ parameters.x === }}"}
    ], "output": {"text": [{"content": "${{ steps.a.output"}]}})).unwrap_err();
    let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert!(text.iter().any(|e| e.starts_with("spec.steps[0].input.message:") && e.contains("line 2")), "{text:?}");
    assert!(text.iter().any(|e| e.starts_with("spec.steps[1].if:")), "{text:?}");
    assert!(text.iter().any(|e| e.starts_with("spec.output.text[0].content:")), "{text:?}");
    let errors = entity(json!({"type": "service", "steps": [], "parameters": [{"properties": {"n": {"type": "nonsense"}}}]})).unwrap_err();
    assert!(errors.iter().any(|e| e.path == "spec.parameters[0]" && e.message.contains("JSON Schema")), "{errors:?}");
}
