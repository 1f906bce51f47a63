//! The example queries on a small platform: groups with sub-groups, systems, components
//! that provide and consume APIs and depend on a database, a custom Cluster kind that
//! components are deployed to, an orphaned resource and a component whose owner is missing.

use std::sync::Arc;

use parking_lot::RwLock;
use portico_expr::{ErrorKind, Limits};
use portico_model::{CatalogEntry, Entity, KindRegistry, Validator};
use serde_json::{json, Value as Json};

use super::*;
use crate::CatalogGraph;

fn validator() -> Validator {
    let cluster: Entity = Validator::default()
        .validate(json!({"apiVersion": "portico.dev/v1", "kind": "Kind", "metadata": {"name": "cluster"},
            "spec": {"kind": "Cluster", "schema": {"type": "object", "properties": {"tier": {"type": "string"}}},
                "relations": []}}))
        .unwrap();
    let kinds = KindRegistry::builtin().with_declared([&cluster]).unwrap();
    // Components name their clusters in spec.deployedTo; declared on the Component kind's
    // relations by a custom kind would be the platform's choice, here a Kind relation.
    Validator::new(kinds)
}

fn entry(v: &Validator, doc: Json) -> CatalogEntry {
    let entity: Entity = v.validate(doc.clone()).unwrap_or_else(|e| panic!("{doc}: {e:?}"));
    let key = entity.entity_ref().key();
    CatalogEntry { uid: format!("uid-{key}"), key, entity: Arc::new(entity), hash: String::new(), source: "test".into(), parent: None, orphan: false, version: 1, created_at: 0, updated_at: 0 }
}

fn shared() -> SharedGraph {
    let v = validator();
    let mut g = CatalogGraph::new();
    let docs = [
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "payments"}, "spec": {"type": "department", "children": ["checkout-team"]}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "checkout-team"}, "spec": {"type": "team", "children": []}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "search-team"}, "spec": {"type": "team", "children": []}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System", "metadata": {"name": "checkout"}, "spec": {"owner": "checkout-team"}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System", "metadata": {"name": "search"}, "spec": {"owner": "search-team"}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "cart", "tags": ["java"]},
            "spec": {"type": "service", "lifecycle": "production", "owner": "checkout-team", "system": "checkout",
                "dependsOn": ["component:pricing"], "consumesApis": ["pricing-api"]},
            "status": {"facts": {"git.lastCommitAt": "2026-11-20T00:00:00Z", "deployedTo": ["cluster:staging-eu"]}}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "pricing"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "checkout-team", "system": "checkout",
                "dependsOn": ["resource:orders-db"], "providesApis": ["pricing-api"]}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "indexer"},
            "spec": {"type": "service", "lifecycle": "experimental", "owner": "search-team", "system": "search",
                "dependsOn": ["resource:orders-db"], "consumesApis": ["search-api"]}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "ghost"},
            "spec": {"type": "website", "lifecycle": "production", "owner": "no-such-team"}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "pricing-api"},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "checkout-team", "system": "checkout", "definition": "openapi: 3.0.0"}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "search-api"},
            "spec": {"type": "grpc", "lifecycle": "production", "owner": "search-team", "system": "search", "definition": "syntax = 'proto3';"}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "orders-db"}, "spec": {"type": "database", "owner": "checkout-team"}}),
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "old-bucket"}, "spec": {"type": "s3-bucket", "owner": "nobody"}}),
        json!({"apiVersion": "portico.dev/v1", "kind": "Cluster", "metadata": {"name": "staging-eu"}, "spec": {"tier": "staging"}}),
    ];
    for d in docs {
        g.upsert(entry(&v, d), &v);
    }
    Arc::new(RwLock::new(g))
}

fn now() -> DateTime<FixedOffset> {
    DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z").unwrap()
}

fn query(g: &SharedGraph, q: ExprQuery) -> Result<(Vec<String>, ExprResult), ExprError> {
    let compiled = Compiled::new(&q, &Limits::default())?;
    let r = run(g, &q, &compiled, now())?;
    let graph = g.read();
    Ok((r.ids.iter().map(|id| graph.key_of(*id).to_owned()).collect(), r))
}

fn refs(g: &SharedGraph, expression: &str) -> Vec<String> {
    query(g, ExprQuery { expression: expression.into(), limit: 100, ..Default::default() }).unwrap_or_else(|e| panic!("{expression}: {e}")).0
}

#[test]
fn orphaned_resources() {
    let g = shared();
    // No owner that exists, or nothing depends on it.
    let found = refs(&g, "kind == 'Resource' && (!has_relation('ownedBy') || related('ownedBy').size() == 0 || inverse('dependsOn').size() == 0)");
    assert_eq!(found, ["resource:default/old-bucket"]);
}

#[test]
fn services_deployed_on_the_staging_cluster() {
    let g = shared();
    let found = refs(&g, "kind == 'Component' && spec.type == 'service' && fact('deployedTo').exists(c, entity(c) != null && entity(c).spec.tier == 'staging')");
    assert_eq!(found, ["component:default/cart"]);
}

#[test]
fn everything_that_transitively_depends_on_a_database() {
    let g = shared();
    let found = refs(&g, "reachable('dependsOn').exists(e, e.ref == 'resource:default/orders-db')");
    assert_eq!(found, ["component:default/cart", "component:default/indexer", "component:default/pricing"]);
    // The same from the database's side, in one evaluation.
    let (_, r) = query(&g, ExprQuery {
        expression: "ref == 'resource:default/orders-db'".into(),
        fields: vec!["reachable('dependencyOf').map(e, e.ref)".into()],
        limit: 10,
        ..Default::default()
    })
    .unwrap();
    assert_eq!(r.plan.evaluated, 1, "ref is answered by the index");
    assert_eq!(r.rows[0]["reachable('dependencyOf').map(e, e.ref)"], json!(["component:default/pricing", "component:default/indexer", "component:default/cart"]), "breadth first");
}

#[test]
fn apis_consumed_by_systems_owned_by_a_group_or_its_sub_groups() {
    let g = shared();
    let found = refs(
        &g,
        "kind == 'API' && inverse('consumesApi').exists(c, c.related('partOf').exists(s, s.kind == 'System' && \
         s.related('ownedBy').exists(o, o.ref == 'group:default/payments' || o.reachable('childOf').exists(p, p.ref == 'group:default/payments'))))",
    );
    assert_eq!(found, ["api:default/pricing-api"]);
}

#[test]
fn components_whose_owner_does_not_exist() {
    let g = shared();
    assert_eq!(refs(&g, "kind == 'Component' && related('ownedBy').size() == 0"), ["component:default/ghost"]);
}

#[test]
fn planner_uses_indexes_and_never_loses_a_match() {
    let g = shared();
    let (found, r) = query(&g, ExprQuery { expression: "kind == 'Component' && spec.owner == 'checkout-team'".into(), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(found, ["component:default/cart", "component:default/pricing"]);
    assert_eq!(r.plan.evaluated, 0, "answered by the indexes alone");
    assert_eq!(r.total, 2);
    assert_eq!(r.plan.indexed, ["kind = component", "spec.owner = checkout-team"]);
    assert!(r.plan.native, "indexable parts only: checked without the evaluator");
    let (found, r) = query(&g, ExprQuery { expression: "kind == 'Component' && spec.owner == 'checkout-team' && related('dependsOn').size() > 0".into(), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(found, ["component:default/cart", "component:default/pricing"]);
    assert!(!r.plan.native);
    let (found, _) = query(&g, ExprQuery { expression: "ref == 'component:default/cart' || (kind == 'Resource' && spec.type in ['database'])".into(), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(found, ["component:default/cart", "resource:default/orders-db"]);
    // Case: the index is case-insensitive, the expression is not.
    assert!(refs(&g, "kind == 'component'").is_empty());
    let (found, r) = query(&g, ExprQuery { expression: "kind in ['API', 'Resource'] || has_relation('ownedBy', 'group:search-team')".into(), limit: 20, ..Default::default() }).unwrap();
    assert_eq!(found.len(), 6, "{found:?}");
    assert!(r.plan.evaluated < 14);
    let (_, r) = query(&g, ExprQuery { expression: "metadata.name.startsWith('c')".into(), limit: 20, ..Default::default() }).unwrap();
    assert_eq!(r.plan.evaluated, 14, "not indexable: a full scan");
    assert_eq!(refs(&g, "'java' in metadata.tags"), ["component:default/cart"]);
}

/// The indexes answer equality exactly only where they know the stored string is spelled as
/// asked; other spellings, list items, numbers and differently cased keys are checked one by
/// one. Each condition must find what evaluating it on every entity finds, before and after
/// entities change.
#[test]
fn indexed_equality_is_exact_like_the_evaluator() {
    let v = validator();
    let mut g = CatalogGraph::new();
    let cluster = |name: &str, spec: Json| json!({"apiVersion": "portico.dev/v1", "kind": "Cluster", "metadata": {"name": name}, "spec": spec});
    let docs = [
        cluster("a", json!({"level": "Gold", "zone": "eu", "region": ["us"]})),
        cluster("b", json!({"level": "gold", "zone": ["eu"], "region": "us"})),
        cluster("c", json!({"level": "GOLD", "zone": 3})),
        cluster("d", json!({"Level": "gold", "zone": "3"})),
        cluster("e", json!({"level": ["gold"], "zone": {"eu": "west"}})),
        cluster("f", json!({"level": "Gold", "zone": "EU"})),
    ];
    for d in docs {
        g.upsert(entry(&v, d), &v);
    }
    let g: SharedGraph = Arc::new(RwLock::new(g));
    let conditions = [
        "spec.level == 'Gold'",
        "spec.level == 'gold'",
        "spec.level == 'GOLD'",
        "spec.Level == 'gold'",
        "spec.zone == 'eu'",
        "spec.zone == '3'",
        "spec.zone == 'EU' || spec.level == 'gold'",
        "kind == 'Cluster' && spec.level in ['Gold', 'GOLD']",
        "spec.zone.eu == 'west'",
        "spec.region == 'us'",
        "'gold' == spec.level && true",
    ];
    let check = |g: &SharedGraph, when: &str| {
        for c in conditions {
            let (native, r) = query(g, ExprQuery { expression: c.into(), limit: 100, ..Default::default() }).unwrap();
            assert!(r.plan.native, "{c}");
            let evaluated = refs(g, &format!("({c}) && metadata.name.size() > 0"));
            assert_eq!(native, evaluated, "{c} ({when})");
            assert_eq!(r.total, evaluated.len(), "{c} ({when})");
        }
    };
    check(&g, "as loaded");
    let (found, r) = query(&g, ExprQuery { expression: "spec.level == 'Gold'".into(), limit: 100, ..Default::default() }).unwrap();
    assert_eq!(found, ["cluster:default/a", "cluster:default/f"]);
    assert_eq!(r.plan.evaluated, 4, "only other spellings of the value or the key, and the list, are checked one by one");
    // The entity whose spelling was seen first changes and goes; the others keep their answers.
    g.write().upsert(entry(&v, cluster("a", json!({"level": "gold", "zone": "EU"}))), &v);
    check(&g, "after a change");
    g.write().remove("cluster:default/b");
    check(&g, "after a removal");
    assert_eq!(refs(&g, "spec.level == 'gold'"), ["cluster:default/a"]);
}

#[test]
fn projection_order_paging_and_groups() {
    let g = shared();
    let (found, r) = query(&g, ExprQuery {
        expression: "kind == 'Component'".into(),
        fields: vec!["metadata.name".into(), "spec.lifecycle".into(), "since(fact('git.lastCommitAt')) < days(30)".into()],
        order_by: vec![OrderBy { expression: "spec.lifecycle".into(), desc: true }, OrderBy { expression: "metadata.name".into(), desc: false }],
        group_by: Some("spec.lifecycle".into()),
        offset: 1,
        limit: 2,
    })
    .unwrap();
    assert_eq!(r.total, 4);
    assert_eq!(found, ["component:default/ghost", "component:default/pricing"]);
    assert_eq!(r.rows[0]["metadata.name"], json!("ghost"));
    assert_eq!(r.rows[0]["since(fact('git.lastCommitAt')) < days(30)"], Json::Null, "no fact: null, not an error");
    assert_eq!(r.groups.unwrap(), [Group { key: json!("production"), count: 3 }, Group { key: json!("experimental"), count: 1 }]);
}

#[test]
fn missing_fields_do_not_match_and_typos_are_warned() {
    let g = shared();
    let (found, r) = query(&g, ExprQuery { expression: "spec.ownr == 'checkout-team'".into(), limit: 10, ..Default::default() }).unwrap();
    assert!(found.is_empty());
    assert_eq!(r.warnings, ["no entity has the field 'spec.ownr'"]);
    // Field names are case-sensitive: a lower-cased name reads nothing, and says so.
    let (found, r) = query(&g, ExprQuery { expression: "spec.Owner == 'checkout-team'".into(), limit: 10, ..Default::default() }).unwrap();
    assert!(found.is_empty());
    assert_eq!(r.warnings, ["no entity has the field 'spec.Owner'; the catalog spells it 'spec.owner'"]);
}

#[test]
fn field_paths_are_offered_as_an_expression_reads_them() {
    let g = shared();
    let paths = g.read().field_paths(2000);
    assert!(paths.contains(&"apiVersion".to_owned()) && paths.contains(&"spec.owner".to_owned()), "{paths:?}");
    for p in &paths {
        let plain = p.split_once('[').map_or(p.as_str(), |(before, _)| before);
        assert!(plain.split('.').all(|s| s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')), "{p} is not an expression's path");
    }
}

#[test]
fn bad_expressions_are_refused_with_their_place() {
    let g = shared();
    let e = query(&g, ExprQuery { expression: "kind == 'Component' && spec.type + 1 > 0".into(), limit: 10, ..Default::default() }).unwrap_err();
    assert!(e.message.contains("cannot be applied"), "{e}");
    assert!(e.message.contains("for every entity evaluated"), "{e}");
    let e = query(&g, ExprQuery { expression: "metadata.name".into(), limit: 10, ..Default::default() }).unwrap_err();
    assert!(e.message.contains("must be true or false; it gave a string"), "{e}");
    let e = query(&g, ExprQuery { expression: "kind == 'A'".into(), fields: vec!["spec.(".into()], limit: 10, ..Default::default() }).unwrap_err();
    assert!(e.message.starts_with("field \"spec.(\": syntax error"), "{e}");
}

#[test]
fn repeated_whole_graph_traversals_hit_the_budget() {
    let g = shared();
    let q = ExprQuery { expression: "reachable('dependsOn').all(e, e.reachable('dependencyOf').size() >= 0)".into(), limit: 10, ..Default::default() };
    let compiled = Compiled::new(&q, &Limits { max_steps: 30, ..Limits::default() }).unwrap();
    let e = run(&g, &q, &compiled, now()).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(e.message.contains("more than 30"), "{e}");
}
