use serde_json::{Value, json};

use super::*;

fn component(spec: Value) -> Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "cart"}, "spec": spec})
}

fn errors(v: Value) -> Vec<FieldError> {
    Validator::default().validate(v).unwrap_err()
}

#[test]
fn a_valid_component_passes_and_gets_the_default_namespace() {
    let e = Validator::default()
        .validate(component(json!({"type": "service", "lifecycle": "production", "owner": "team-a"})))
        .unwrap();
    assert_eq!(e.metadata.namespace, "default");
    assert_eq!(e.entity_ref().to_string(), "component:default/cart");
}

#[test]
fn wrong_types_name_the_field() {
    let errs = errors(component(json!({"type": "service", "lifecycle": "production", "owner": 42})));
    assert!(errs.iter().any(|e| e.path == "spec.owner" && e.message.contains("string")), "{errs:?}");
}

#[test]
fn missing_required_spec_fields_are_reported() {
    let errs = errors(component(json!({"type": "service"})));
    assert!(errs.iter().any(|e| e.message.contains("lifecycle")), "{errs:?}");
}

#[test]
fn invalid_names_tags_and_label_keys_are_rejected() {
    let mut v = component(json!({"type": "service", "lifecycle": "production", "owner": "team-a"}));
    v["metadata"] = json!({"name": "invalid component", "tags": ["go 1.15.3"], "labels": {"Bad Key": "x"}});
    let errs = errors(v);
    let paths: Vec<_> = errs.iter().map(|e| e.path.as_str()).collect();
    assert!(paths.contains(&"metadata.name"), "{errs:?}");
    assert!(paths.contains(&"metadata.tags[0]"), "{errs:?}");
    assert!(paths.contains(&"metadata.labels.Bad Key"), "{errs:?}");
}

#[test]
fn invalid_namespace_is_rejected() {
    let mut v = component(json!({"type": "service", "lifecycle": "production", "owner": "team-a"}));
    v["metadata"]["namespace"] = json!("Not_Valid");
    assert!(errors(v).iter().any(|e| e.path == "metadata.namespace"));
}

#[test]
fn unknown_kinds_say_how_to_declare_them() {
    let errs = errors(json!({"apiVersion": "acme.io/v1", "kind": "Environment", "metadata": {"name": "prod"}}));
    assert_eq!(errs[0].path, "kind");
    assert!(errs[0].message.contains("unknown kind `Environment`"));
    assert!(errs[0].message.contains("`Kind`"));
}

#[test]
fn kind_case_mismatch_suggests_the_declared_spelling() {
    let errs = errors(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "component", "metadata": {"name": "x"}, "spec": {}}));
    assert!(errs[0].message.contains("did you mean `Component`"), "{errs:?}");
}

#[test]
fn bad_references_name_the_field_and_index() {
    let errs = errors(component(
        json!({"type": "service", "lifecycle": "production", "owner": "team-a", "dependsOn": ["resource:db", "db"]}),
    ));
    assert!(errs.iter().any(|e| e.path == "spec.dependsOn[1]" && e.message.contains("missing kind")), "{errs:?}");
}

#[test]
fn relations_follow_backstage_defaults() {
    let v = Validator::default();
    let e = v
        .validate(component(json!({
            "type": "service", "lifecycle": "production", "owner": "user:jdoe", "system": "shop",
            "providesApis": ["cart-api"], "consumesApis": ["other/pay-api"], "dependsOn": ["resource:db"]
        })))
        .unwrap();
    let rels: Vec<String> =
        v.outgoing_relations(&e).into_iter().map(|(t, i, r)| format!("{t}/{i} {r}")).collect();
    assert_eq!(
        rels,
        [
            "ownedBy/ownerOf user:default/jdoe",
            "providesApi/apiProvidedBy api:default/cart-api",
            "consumesApi/apiConsumedBy api:other/pay-api",
            "dependsOn/dependencyOf resource:default/db",
            "partOf/hasPart system:default/shop",
        ]
    );
}

fn environment_kind() -> Value {
    json!({
        "apiVersion": "portico.dev/v1", "kind": "Kind", "metadata": {"name": "environment"},
        "spec": {
            "kind": "Environment",
            "schema": {"type": "object", "required": ["tier"], "properties": {"tier": {"enum": ["dev", "prod"]}, "owner": {"type": "string"}, "clusters": {"type": "array", "items": {"type": "string"}}}},
            "relations": [
                {"field": "spec.owner", "type": "ownedBy", "inverse": "ownerOf", "targetKind": "Group"},
                {"field": "spec.clusters", "type": "hasPart", "inverse": "partOf", "targetKind": "Cluster"}
            ]
        }
    })
}

#[test]
fn custom_kinds_validate_their_spec_and_create_relations() {
    let kind = Validator::default().validate(environment_kind()).unwrap();
    let v = Validator::new(KindRegistry::builtin().with_declared([&kind]).unwrap());
    let env = json!({"apiVersion": "portico.dev/v1", "kind": "Environment", "metadata": {"name": "prod"},
        "spec": {"tier": "prod", "owner": "platform", "clusters": ["eu-1"]}});
    let e = v.validate(env.clone()).unwrap();
    let rels: Vec<String> = v.outgoing_relations(&e).into_iter().map(|(t, _, r)| format!("{t} {r}")).collect();
    assert_eq!(rels, ["ownedBy group:default/platform", "hasPart cluster:default/eu-1"]);

    let mut bad = env;
    bad["spec"]["tier"] = json!("staging");
    let errs = v.validate(bad).unwrap_err();
    assert_eq!(errs[0].path, "spec.tier", "{errs:?}");
}

#[test]
fn kind_declarations_with_broken_schemas_are_rejected() {
    let mut k = environment_kind();
    k["spec"]["schema"] = json!({"type": "no-such-type"});
    let errs = errors(k);
    assert!(errs[0].path.starts_with("spec"), "{errs:?}");
}

#[test]
fn builtin_kinds_cannot_be_redeclared() {
    let mut k = environment_kind();
    k["spec"]["kind"] = json!("Component");
    let kind = Validator::default().validate(k).unwrap();
    assert!(KindRegistry::builtin().with_declared([&kind]).is_err());
}

#[test]
fn mcp_server_apis_use_their_variant_schema() {
    let api = json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "mcp"},
        "spec": {"type": "mcp-server", "lifecycle": "experimental", "owner": "team-a", "remotes": [{"type": "streamable-http", "url": "http://localhost/mcp"}]}});
    Validator::default().validate(api).unwrap();
}

#[test]
fn non_mappings_are_rejected() {
    assert!(errors(json!([1, 2]))[0].message.contains("a list"));
}

#[test]
fn pointers_become_dotted_paths() {
    assert_eq!(pointer_to_path("/spec/tags/1"), "spec.tags[1]");
    assert_eq!(pointer_to_path("/metadata/annotations/backstage.io~1x"), "metadata.annotations.backstage.io/x");
    assert_eq!(pointer_to_path(""), "");
}
