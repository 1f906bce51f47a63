use serde_json::json;

use super::*;

fn graph() -> SharedGraph {
    let mut g = portico_graph::CatalogGraph::default();
    let v = portico_model::Validator::default();
    for doc in [
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "team-a"}, "spec": {"type": "team", "children": []}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "cart"}, "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}}),
    ] {
        g.upsert(portico_model::CatalogEntry::new(v.validate(doc).unwrap(), "test"), &v);
    }
    std::sync::Arc::new(parking_lot::RwLock::new(g))
}

fn template(policies: serde_json::Value) -> crate::Template {
    crate::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "deploy"},
            "spec": {"type": "deploy", "steps": [], "policies": policies}}))
        .unwrap();
    crate::Template::from_entity(&e).unwrap()
}

const OWNERS_IN_PRODUCTION: &str = "parameters.environment != 'production' || user.owners.exists(o, entity.has_relation('ownedBy', o))";

#[test]
fn policies_read_the_user_the_entity_its_relations_parameters_and_runs() {
    let t = template(json!([
        {"name": "owners-in-production", "allow": OWNERS_IN_PRODUCTION, "message": "Only the owners deploy to production."},
        {"name": "two-at-most", "deny": "runs.completed >= 2", "message": "Twice is enough."},
        {"name": "deploy-only", "allow": "template.type == 'deploy'"}
    ]));
    let g = graph();
    let ana = json!({"ref": "user:default/ana", "groups": ["group:default/team-a"], "owners": ["user:default/ana", "group:default/team-a"]});
    let bo = json!({"ref": "user:default/bo", "groups": [], "owners": ["user:default/bo"]});
    let prod = json!({"environment": "production"});
    let facts = |user, runs: i64, params| Facts { user, template: &t, entity: Some("component:default/cart"), parameters: params, runs: json!({"completed": runs, "total": runs}) };
    let passed = |v: Vec<Verdict>| v.iter().map(|v| v.passed).collect::<Vec<_>>();
    assert_eq!(passed(evaluate(&t.policies, &g, &facts(&ana, 0, &prod))), [true, true, true]);
    let refused = evaluate(&t.policies, &g, &facts(&bo, 0, &prod));
    assert_eq!(passed(refused.clone()), [false, true, true]);
    assert_eq!(refused[0].message.as_deref(), Some("Only the owners deploy to production."));
    let staging = json!({"environment": "staging"});
    assert_eq!(passed(evaluate(&t.policies, &g, &facts(&bo, 0, &staging))), [true, true, true]);
    assert_eq!(passed(evaluate(&t.policies, &g, &facts(&ana, 2, &prod))), [true, false, true]);
}

#[test]
fn a_policy_that_cannot_be_evaluated_refuses() {
    let t = template(json!([{"name": "needs-entity", "allow": "entity.spec.lifecycle == 'production'"}]));
    let facts = Facts { user: &json!({"ref": "guest"}), template: &t, entity: None, parameters: &json!({}), runs: json!({"completed": 0, "total": 0}) };
    let v = evaluate(&t.policies, &graph(), &facts);
    assert!(!v[0].passed);
    assert!(v[0].message.as_deref().unwrap().contains("could not be evaluated"), "{v:?}");
}

#[test]
fn mistakes_are_errors_at_their_field() {
    crate::register();
    let check = |policies: serde_json::Value| {
        portico_model::Validator::default()
            .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template", "metadata": {"name": "x"}, "spec": {"type": "t", "steps": [], "policies": policies}}))
            .unwrap_err()
    };
    let e = check(json!([{"name": "a", "allow": "user.nope =="}]));
    assert_eq!(e[0].path, "spec.policies[0].allow");
    let e = check(json!([{"name": "a", "allow": "true", "deny": "false"}]));
    assert_eq!(e[0].path, "spec.policies[0]");
    let e = check(json!([{"name": "a", "allow": "true"}, {"name": "a", "deny": "false"}]));
    assert_eq!(e[0].path, "spec.policies[1].name");
    let e = check(json!([{"name": "a", "allow": "secrets.x == 1"}]));
    assert!(e[0].message.contains("secrets"), "{e:?}");
    let e = check(json!({"name": "a"}));
    assert_eq!(e[0].path, "spec.policies");
}
