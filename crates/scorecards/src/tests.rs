//! Scorecards on a small catalog: levels, scores, validation with field paths, updates after
//! changes (equal to a full evaluation), the gate, and visibility.

use std::sync::Arc;

use portico_graph::eval::SharedGraph;
use portico_graph::{CatalogGraph, Visibility};
use portico_model::{CatalogEntry, Validator};
use serde_json::{json, Value};

use crate::report::{self, Unknown};
use crate::*;

pub(crate) fn validator() -> Validator {
    register();
    Validator::default()
}

pub(crate) fn entry(v: Value) -> CatalogEntry {
    CatalogEntry::new(validator().validate(v).unwrap(), "test")
}

fn component(name: &str, spec: Value, metadata: Value) -> CatalogEntry {
    let mut m = json!({"name": name});
    m.as_object_mut().unwrap().extend(metadata.as_object().unwrap().clone());
    entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": m, "spec": spec}))
}

fn readiness() -> Value {
    json!({"apiVersion": "portico.dev/v1", "kind": "Scorecard", "metadata": {"name": "readiness", "title": "Production readiness"},
        "spec": {"filter": "kind == 'Component'", "rules": [
            {"id": "owner", "title": "Has an owner that exists", "level": "Bronze", "expression": "owner_exists()",
             "remediation": {"text": "Set spec.owner to a group of the catalog", "url": "https://example.com/owners"}},
            {"id": "description", "level": "Bronze", "expression": "has_description()"},
            {"id": "lifecycle", "level": "Silver", "expression": "lifecycle_known()", "weight": 2},
            {"id": "no-deprecated", "level": "Gold", "expression": "no_deprecated_dependencies_transitively()"},
            {"id": "domain", "level": "Gold", "expression": "has_domain()"}
        ]}})
}

pub(crate) fn catalog() -> SharedGraph {
    let v = validator();
    let mut g = CatalogGraph::new();
    for e in [
        entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "team"}, "spec": {"type": "team", "children": []}})),
        entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Domain", "metadata": {"name": "shop"}, "spec": {"owner": "team"}})),
        entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System", "metadata": {"name": "store"}, "spec": {"owner": "team", "domain": "shop"}})),
        // gold: everything
        component("cart", json!({"type": "service", "lifecycle": "production", "owner": "team", "system": "store", "dependsOn": ["component:pay"]}), json!({"description": "The cart"})),
        // silver: no domain (no system)
        component("pay", json!({"type": "service", "lifecycle": "production", "owner": "team", "dependsOn": ["component:ledger"]}), json!({"description": "Payments"})),
        // bronze: lifecycle unknown
        component("ledger", json!({"type": "service", "lifecycle": "beta", "owner": "team"}), json!({"description": "Ledger"})),
        // none: owner does not exist
        component("orphan", json!({"type": "service", "lifecycle": "production", "owner": "nobody"}), json!({})),
        entry(readiness()),
    ] {
        g.upsert(e, &v);
    }
    Arc::new(parking_lot::RwLock::new(g))
}

fn levels(s: &Scorecards) -> Vec<(String, Option<String>, f64)> {
    let card = s.card("readiness").unwrap();
    let g = s.graph().read();
    let (_, rows) = report::entities(&card, &g, &Visibility::all(), None, 0, 100);
    let mut out: Vec<_> = rows.into_iter().map(|r| (r.reference, r.level, r.score)).collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

#[test]
fn an_entity_reaches_a_level_when_it_passes_that_level_and_every_lower_one() {
    let s = Scorecards::new(catalog());
    let u = s.update();
    assert_eq!(u.full, 1);
    assert_eq!(
        levels(&s),
        [
            ("component:default/cart".to_owned(), Some("Gold".to_owned()), 100.0),
            // Bronze: its lifecycle is unknown. Weights 1 + 1 + 2 + 1 + 1 = 6; 3 passed.
            ("component:default/ledger".to_owned(), Some("Bronze".to_owned()), 50.0),
            ("component:default/orphan".to_owned(), None, 50.0),
            // Silver: the domain rule fails (no system).
            ("component:default/pay".to_owned(), Some("Silver".to_owned()), 83.3),
        ]
    );
    let summary = report::summary(&s.card("readiness").unwrap(), &Visibility::all());
    assert_eq!(summary.entities, 4, "the filter keeps Components only");
    let counts: Vec<usize> = summary.distribution.iter().map(|d| d.count).collect();
    assert_eq!(counts, [1, 1, 1, 1]);
    assert_eq!(summary.distribution[0].level, None);
    let owner = &summary.rules[0];
    assert_eq!((owner.passed, owner.failed), (3, 1));
}

#[test]
fn ledger_fails_silver_for_its_lifecycle_and_orphan_fails_bronze_for_its_owner() {
    let s = Scorecards::new(catalog());
    s.update();
    let g = s.graph().read();
    let ledger = report::entity_results(&s.cards(), g.id_of("component:default/ledger").unwrap());
    assert_eq!(ledger.len(), 1);
    assert_eq!(ledger[0].level.as_deref(), Some("Bronze"));
    assert_eq!(ledger[0].next_level.as_deref(), Some("Silver"));
    let failing: Vec<&str> = ledger[0].rules.iter().filter(|r| !r.passed).map(|r| r.id.as_str()).collect();
    assert_eq!(failing, ["lifecycle", "domain"]);
    let group = g.id_of("group:default/team").unwrap();
    assert!(report::entity_results(&s.cards(), group).is_empty(), "the filter leaves groups out");
}

#[test]
fn a_change_scores_again_only_what_it_may_change_and_agrees_with_a_full_evaluation() {
    let shared = catalog();
    let s = Scorecards::new(shared.clone());
    s.update();
    let v = validator();
    // Deprecating ledger changes pay (its dependent) and cart (transitively) at Gold.
    shared.write().upsert(component("ledger", json!({"type": "service", "lifecycle": "deprecated", "owner": "team"}), json!({"description": "Ledger"})), &v);
    let u = s.update();
    assert_eq!(u.full, 0, "an entity changed, not the scorecard");
    assert!(u.rescored >= 3, "ledger, pay and cart: {u:?}");
    // Removing the domain changes cart, two relations away.
    shared.write().remove("domain:default/shop");
    s.update();
    // Orphan gets an owner and a description.
    shared.write().upsert(component("orphan", json!({"type": "service", "lifecycle": "production", "owner": "team"}), json!({"description": "Found"})), &v);
    s.update();
    let fresh = Scorecards::new(shared.clone());
    fresh.update();
    assert_eq!(levels(&s), levels(&fresh));
    assert_eq!(
        levels(&s),
        [
            ("component:default/cart".to_owned(), Some("Silver".to_owned()), 66.7),
            ("component:default/ledger".to_owned(), Some("Silver".to_owned()), 83.3),
            ("component:default/orphan".to_owned(), Some("Silver".to_owned()), 83.3),
            ("component:default/pay".to_owned(), Some("Silver".to_owned()), 66.7),
        ]
    );
    // A removed entity has no result any more.
    shared.write().remove("component:default/orphan");
    s.update();
    assert_eq!(levels(&s).len(), 3);
}

#[test]
fn a_changed_scorecard_is_evaluated_again_in_full() {
    let shared = catalog();
    let s = Scorecards::new(shared.clone());
    s.update();
    let mut card = readiness();
    card["spec"]["levels"] = json!(["Ready"]);
    card["spec"]["rules"] = json!([{"id": "owner", "level": "Ready", "expression": "has_owner()"}]);
    // The catalog tells versions apart by their hash (a hand-made entry has none).
    let mut changed = entry(card);
    changed.hash = "changed".into();
    shared.write().upsert(changed, &validator());
    let u = s.update();
    assert_eq!(u.full, 1);
    let summary = report::summary(&s.card("scorecard:default/readiness").unwrap(), &Visibility::all());
    assert_eq!(summary.levels, ["Ready"]);
    assert_eq!(summary.distribution[1].count, 4);
    shared.write().remove("scorecard:default/readiness");
    s.update();
    assert!(s.cards().is_empty());
}

#[test]
fn mistakes_in_a_scorecard_are_errors_at_their_field() {
    let mut card = readiness();
    card["spec"]["rules"][1]["expression"] = json!("has_descripton()");
    card["spec"]["rules"][2]["level"] = json!("Platinum");
    card["spec"]["rules"][3]["id"] = json!("owner");
    card["spec"]["filter"] = json!("kind ==");
    let errors = validator().validate(card).unwrap_err();
    let got: Vec<(String, bool)> = errors.iter().map(|e| (e.path.clone(), !e.message.is_empty())).collect();
    let paths: Vec<&str> = got.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["spec.filter", "spec.rules[1].expression", "spec.rules[2].level", "spec.rules[3].id"], "{errors:?}");
    let message = |p: &str| errors.iter().find(|e| e.path == p).unwrap().message.clone();
    assert!(message("spec.rules[1].expression").contains("did you mean 'has_description'"), "{errors:?}");
    assert!(message("spec.rules[2].level").contains("Bronze, Silver, Gold"), "{errors:?}");
    assert!(message("spec.rules[3].id").contains("spec.rules[0]"), "{errors:?}");
    // A check called on another entity, or with an argument.
    let mut card = readiness();
    card["spec"]["rules"][0]["expression"] = json!("related('dependsOn').all(d, d.has_owner())");
    card["spec"]["rules"][1]["expression"] = json!("has_owner(1)");
    let errors = validator().validate(card).unwrap_err();
    assert!(errors[0].message.contains("cannot be called on another"), "{errors:?}");
    assert!(errors[1].message.contains("takes no argument"), "{errors:?}");
    // Schema: no rules, a weight of zero.
    let mut card = readiness();
    card["spec"]["rules"][0]["weight"] = json!(0);
    assert!(validator().validate(card).unwrap_err().iter().any(|e| e.path == "spec.rules[0].weight"));
}

#[test]
fn the_gate_passes_at_or_below_the_level_reached_and_fails_closed() {
    let s = Scorecards::new(catalog());
    s.update();
    let card = s.card("readiness").unwrap();
    let g = s.graph().read();
    let pay = g.id_of("component:default/pay");
    let ok = report::gate(&card, "component:default/pay", pay, "silver", Unknown::Fail).unwrap();
    assert!(ok.pass && ok.failing.is_empty(), "{ok:?}");
    let gold = report::gate(&card, "component:default/pay", pay, "Gold", Unknown::Fail).unwrap();
    assert!(!gold.pass);
    assert_eq!(gold.level.as_deref(), Some("Silver"));
    assert_eq!(gold.failing.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["domain"]);
    let orphan = report::gate(&card, "component:default/orphan", g.id_of("component:default/orphan"), "Bronze", Unknown::Fail).unwrap();
    assert!(!orphan.pass);
    assert_eq!(orphan.failing[0].remediation.as_ref().unwrap().url.as_deref(), Some("https://example.com/owners"));
    let unknown = report::gate(&card, "component:default/nope", None, "Bronze", Unknown::Fail).unwrap();
    assert!(!unknown.pass && unknown.reason.as_deref().unwrap().contains("no entity"));
    let no_result = report::gate(&card, "group:default/team", g.id_of("group:default/team"), "Bronze", Unknown::Fail).unwrap();
    assert!(!no_result.pass && no_result.reason.as_deref().unwrap().contains("filter"));
    assert!(report::gate(&card, "group:default/team", g.id_of("group:default/team"), "Bronze", Unknown::Pass).unwrap().pass, "configured to let unknowns through");
    let err = report::gate(&card, "component:default/pay", pay, "Platinum", Unknown::Fail).unwrap_err();
    assert!(err.contains("Bronze, Silver, Gold"), "{err}");
}

#[test]
fn a_reader_counts_only_the_entities_it_may_read() {
    let s = Scorecards::new(catalog());
    s.update();
    let card = s.card("readiness").unwrap();
    let g = s.graph().read();
    let mut only = roaring::RoaringBitmap::new();
    only.insert(g.id_of("component:default/cart").unwrap());
    let vis = Visibility::only(only);
    let summary = report::summary(&card, &vis);
    assert_eq!(summary.entities, 1);
    assert_eq!(summary.distribution.iter().map(|d| d.count).collect::<Vec<_>>(), [0, 0, 0, 1]);
    assert!(summary.rules.iter().all(|r| r.errors.is_none()));
    let (total, rows) = report::entities(&card, &g, &vis, None, 0, 10);
    assert_eq!((total, rows.len()), (1, 1));
}

/// Every built-in check compiles, runs on a real-looking entity without an error, and answers
/// true or false.
#[test]
fn every_built_in_check_runs() {
    assert!(portico_expr::CHECKS.len() >= 40, "{}", portico_expr::CHECKS.len());
    let shared = catalog();
    let v = validator();
    let rules: Vec<Value> = portico_expr::CHECKS.iter().map(|c| json!({"id": c.name, "expression": c.example})).collect();
    shared.write().upsert(
        entry(json!({"apiVersion": "portico.dev/v1", "kind": "Scorecard", "metadata": {"name": "all"}, "spec": {"levels": ["All"], "rules": rules}})),
        &v,
    );
    shared.write().upsert(
        entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": "cart-api"},
            "spec": {"type": "openapi", "lifecycle": "production", "owner": "team", "definition": "openapi: 3.0.0\ninfo: {title: cart}\n"}})),
        &v,
    );
    let s = Scorecards::new(shared.clone());
    s.update();
    assert!(s.broken().is_empty(), "{:?}", s.broken());
    let card = s.card("all").unwrap();
    assert!(card.errors.is_empty(), "{:?}", card.errors.iter().map(|(i, n, m)| format!("{} ({n}): {m}", card.card.rules[*i].id)).collect::<Vec<_>>());
    let g = shared.read();
    let api = *card.scores.get(&g.id_of("api:default/cart-api").unwrap()).unwrap();
    let rule = |name: &str| card.card.rules.iter().position(|r| r.id == name).unwrap();
    assert!(api.passed(rule("api_definition_parseable")));
    assert!(api.passed(rule("k8s_probes")), "no Kubernetes facts: passes");
    assert!(!api.passed(rule("on_kubernetes")));
    let orphan = *card.scores.get(&g.id_of("component:default/orphan").unwrap()).unwrap();
    assert!(!orphan.passed(rule("no_unresolved_relations")));
    assert!(orphan.passed(rule("has_owner")) && !orphan.passed(rule("owner_exists")));
}

/// The reference lists every check, so none is undocumented.
#[test]
fn every_built_in_check_is_in_the_reference() {
    let doc = include_str!("../../../docs/reference/scorecards.md");
    for c in portico_expr::CHECKS {
        assert!(doc.contains(&format!("| `{}()` |", c.name)), "docs/reference/scorecards.md does not list {}()", c.name);
    }
}

/// A change to one entity re-scores what reaches it, not what reaches its neighbours: a
/// component that depends on a hub is changed; the hub's other dependents do not reach it.
#[test]
fn a_transitive_rule_re_scores_what_reaches_the_change_not_its_neighbours() {
    let v = validator();
    let mut g = CatalogGraph::new();
    g.upsert(entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "hub"}, "spec": {"type": "database", "owner": "team"}})), &v);
    for i in 0..10 {
        g.upsert(component(&format!("user-{i}"), json!({"type": "service", "lifecycle": "production", "owner": "team", "dependsOn": ["resource:hub"]}), json!({})), &v);
    }
    g.upsert(component("top", json!({"type": "service", "lifecycle": "production", "owner": "team", "dependsOn": ["component:user-0"]}), json!({})), &v);
    let card = Scorecard::from_entity(
        &v.validate(json!({"apiVersion": "portico.dev/v1", "kind": "Scorecard", "metadata": {"name": "deep"},
            "spec": {"rules": [{"id": "deep", "expression": "no_deprecated_dependencies_transitively()"}]}})).unwrap(),
        "",
    )
    .unwrap();
    let shared: SharedGraph = Arc::new(parking_lot::RwLock::new(g));
    let generation = shared.read().generation();
    shared.write().upsert(component("user-0", json!({"type": "service", "lifecycle": "deprecated", "owner": "team", "dependsOn": ["resource:hub"]}), json!({})), &v);
    let (touched, core) = {
        let g = shared.read();
        (g.changed_since(generation).unwrap(), g.changed_core_since(generation).unwrap())
    };
    let ids = affected(&shared, &card, &touched, &core).unwrap();
    let g = shared.read();
    let mut keys: Vec<&str> = ids.iter().map(|id| g.key_of(id)).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["component:default/top", "component:default/user-0", "group:default/team", "resource:default/hub"], "the hub and the owner are neighbours; user-1…9 do not reach user-0");
    // A relation added: the new target's inverse relations changed, so what reaches it counts.
    drop(g);
    let generation = shared.read().generation();
    shared.write().upsert(component("user-1", json!({"type": "service", "lifecycle": "production", "owner": "team", "dependsOn": ["resource:hub", "component:top"]}), json!({})), &v);
    let core = shared.read().changed_core_since(generation).unwrap();
    let g = shared.read();
    let mut keys: Vec<&str> = core.iter().map(|id| g.key_of(id)).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["component:default/top", "component:default/user-1"]);
}

/// A page does not wait out a long update: past its patience it shows the results before it.
#[test]
fn an_update_that_runs_long_is_not_waited_for_past_the_patience_given() {
    let s = Scorecards::new(catalog());
    let running = s.updating.lock();
    assert!(s.update_within(std::time::Duration::from_millis(20)).is_none());
    assert!(s.cards().is_empty(), "the results before it");
    drop(running);
    assert_eq!(s.update_within(std::time::Duration::from_millis(20)).map(|u| u.full), Some(1));
}

#[test]
fn expressions_read_results_with_scorecard_and_a_scorecard_s_own_rules_may_not() {
    let s = Scorecards::new(catalog());
    s.update();
    let now = chrono::Utc::now().fixed_offset();
    let ask = |source: &str| {
        let e = portico_expr::Expr::compile(source, &portico_expr::Vocabulary::entity(), &portico_expr::Limits::default()).unwrap();
        let ids = portico_graph::eval::matching(s.graph(), &e, now, &portico_expr::Limits::default()).unwrap();
        let g = s.graph().read();
        let mut keys: Vec<String> = ids.into_iter().map(|id| g.key_of(id).to_owned()).collect();
        keys.sort();
        keys
    };
    assert_eq!(ask("scorecard('readiness').level == 'Gold'"), ["component:default/cart"]);
    assert_eq!(ask("scorecard('default/readiness').reached >= 2"), ["component:default/cart", "component:default/pay"]);
    assert_eq!(ask("'lifecycle' in scorecard('readiness').failing"), ["component:default/ledger"]);
    assert_eq!(ask("kind == 'Component' && scorecard('readiness') != null && scorecard('readiness').level == null"), ["component:default/orphan"]);
    // Through relations: what depends on something below Silver.
    assert_eq!(ask("related('dependsOn').exists(d, d.scorecard('readiness').reached < 2)"), ["component:default/pay"]);
    assert!(ask("scorecard('nope') != null").is_empty());
    assert!(ask("kind == 'Group' && scorecard('readiness') != null").is_empty(), "the scorecard does not apply to groups");
    // In a scorecard's own rules or filter: refused at the field.
    let mut card = readiness();
    card["spec"]["rules"][0]["expression"] = json!("scorecard('readiness').reached >= 1");
    let errors = validator().validate(card).unwrap_err();
    assert_eq!(errors[0].path, "spec.rules[0].expression", "{errors:?}");
    assert!(errors[0].message.contains("scorecard()"), "{errors:?}");
}

#[test]
fn a_dependency_with_errors_fails_no_dependencies_with_errors() {
    let graph = catalog();
    let ask = |source: &str| {
        let e = portico_expr::Expr::compile(source, &portico_expr::Vocabulary::entity(), &portico_expr::Limits::default()).unwrap();
        let ids = portico_graph::eval::matching(&graph, &e, chrono::Utc::now().fixed_offset(), &portico_expr::Limits::default()).unwrap();
        let g = graph.read();
        let mut keys: Vec<String> = ids.into_iter().map(|id| g.key_of(id).to_owned()).collect();
        keys.sort();
        keys
    };
    let failing = "kind == 'Component' && !no_dependencies_with_errors()";
    assert!(ask(failing).is_empty());
    graph.write().set_source_errors("location:x", ["component:default/ledger"]);
    assert_eq!(ask(failing), ["component:default/pay"], "pay depends on ledger");
    assert_eq!(ask("kind == 'Component' && !no_errors()"), ["component:default/ledger"]);
    // Two sources report it; one reads cleanly again: it still has errors.
    graph.write().set_source_errors("location:y", ["component:default/ledger"]);
    graph.write().set_source_errors("location:x", std::iter::empty());
    assert_eq!(ask(failing), ["component:default/pay"]);
    graph.write().set_source_errors("location:y", std::iter::empty());
    assert!(ask(failing).is_empty());
}
