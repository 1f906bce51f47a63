use portico_model::{CatalogEntry, Validator};
use serde_json::json;

use super::*;
use crate::filter::parse_filter_params;

pub(crate) fn entry(v: serde_json::Value) -> CatalogEntry {
    CatalogEntry::new(Validator::default().validate(v).unwrap(), "test")
}

pub(crate) fn component(name: &str, owner: &str, deps: &[&str]) -> CatalogEntry {
    entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name, "tags": ["java"]},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner, "dependsOn": deps}}))
}

pub(crate) fn group(name: &str, children: &[&str]) -> CatalogEntry {
    entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": name},
        "spec": {"type": "team", "children": children}}))
}

pub(crate) fn graph() -> CatalogGraph {
    let v = Validator::default();
    let mut g = CatalogGraph::new();
    g.upsert(group("team-a", &["team-b"]), &v);
    g.upsert(group("team-b", &[]), &v);
    g.upsert(component("cart", "team-a", &["component:pay"]), &v);
    g.upsert(component("pay", "team-b", &["resource:db"]), &v);
    g
}

fn names(g: &CatalogGraph, filter: &[&str]) -> Vec<String> {
    let filter = parse_filter_params(filter).unwrap();
    let page = g.query(&EntityQuery { filter, ..Default::default() });
    page.ids.iter().map(|id| g.key_of(*id).to_owned()).collect()
}

#[test]
fn filters_by_kind_and_spec_fields_case_insensitively() {
    let g = graph();
    assert_eq!(names(&g, &["kind=component,spec.owner=TEAM-A"]), ["component:default/cart"]);
    assert_eq!(names(&g, &["kind=Group"]), ["group:default/team-a", "group:default/team-b"]);
    assert_eq!(names(&g, &["kind=group", "metadata.name=pay"]).len(), 3);
}

#[test]
fn list_items_are_also_keys() {
    let g = graph();
    assert_eq!(names(&g, &["metadata.tags.java"]).len(), 2);
    assert_eq!(names(&g, &["metadata.tags=java"]).len(), 2);
}

#[test]
fn relations_have_inverses_and_are_filterable() {
    let g = graph();
    let rels: Vec<String> =
        g.relations("group:default/team-a").iter().map(|r| format!("{} {}", r.kind, r.target_ref)).collect();
    assert_eq!(rels, ["ownerOf component:default/cart", "parentOf group:default/team-b"]);
    let rels: Vec<String> =
        g.relations("group:default/team-b").iter().map(|r| format!("{} {}", r.kind, r.target_ref)).collect();
    assert_eq!(rels, ["childOf group:default/team-a", "ownerOf component:default/pay"]);
    assert_eq!(names(&g, &["relations.ownedBy=group:default/team-a"]), ["component:default/cart"]);
    assert_eq!(names(&g, &["relations.dependencyOf=component:default/cart"]), ["component:default/pay"]);
}

#[test]
fn unresolved_relations_are_kept_and_resolve_when_the_target_arrives() {
    let mut g = graph();
    assert_eq!(g.unresolved().len(), 1);
    assert_eq!(g.unresolved()[0].target, "resource:default/db");
    let db = entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Resource", "metadata": {"name": "db"},
        "spec": {"type": "database", "owner": "team-b"}}));
    g.upsert(db, &Validator::default());
    assert!(g.unresolved().is_empty());
    let rels: Vec<String> = g.relations("resource:default/db").iter().map(|r| r.kind.clone()).collect();
    assert_eq!(rels, ["dependencyOf", "ownedBy"]);
}

#[test]
fn removal_takes_entities_out_of_every_index() {
    let mut g = graph();
    assert!(g.remove("component:default/cart"));
    assert!(names(&g, &["relations.ownedBy=group:default/team-a"]).is_empty());
    assert_eq!(g.relations("group:default/team-a").len(), 1);
    assert_eq!(names(&g, &["metadata.tags.java"]), ["component:default/pay"]);
    assert!(!g.remove("component:default/cart"));
}

#[test]
fn replacing_an_entity_replaces_its_relations() {
    let mut g = graph();
    g.upsert(component("cart", "team-b", &[]), &Validator::default());
    assert!(names(&g, &["relations.ownedBy=group:default/team-a"]).is_empty());
    assert_eq!(names(&g, &["spec.owner=team-b"]).len(), 2);
}

#[test]
fn duplicate_relation_statements_survive_removing_one_side() {
    let v = Validator::default();
    let mut g = graph();
    // team-b also names team-a as its parent: the same edge from both sides.
    g.upsert(entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "team-b"},
        "spec": {"type": "team", "parent": "team-a", "children": []}})), &v);
    g.upsert(group("team-a", &[]), &v);
    assert_eq!(names(&g, &["relations.childOf=group:default/team-a"]), ["group:default/team-b"]);
}

#[test]
fn ordering_paging_and_totals() {
    let g = graph();
    let q = EntityQuery {
        order: vec![OrderField { field: "metadata.name".into(), desc: true }],
        offset: 1,
        limit: Some(2),
        ..Default::default()
    };
    let page = g.query(&q);
    assert_eq!(page.total, 4);
    let got: Vec<&str> = page.ids.iter().map(|id| g.key_of(*id)).collect();
    assert_eq!(got, ["group:default/team-a", "component:default/pay"]);
}

#[test]
fn full_text_filter_matches_substrings_in_chosen_fields() {
    let g = graph();
    let q = EntityQuery { text: Some(TextFilter { term: "CAR".into(), fields: vec![] }), ..Default::default() };
    assert_eq!(g.query(&q).total, 1);
    let q = EntityQuery {
        text: Some(TextFilter { term: "team".into(), fields: vec!["metadata.name".into()] }),
        ..Default::default()
    };
    assert_eq!(g.query(&q).total, 2);
}

#[test]
fn facets_count_values_of_the_filtered_set() {
    let g = graph();
    let f = g.facets(&["kind".into(), "spec.owner".into()], None);
    assert_eq!(f[0].values, [FacetValue { value: "Component".into(), count: 2 }, FacetValue { value: "Group".into(), count: 2 }]);
    let filter = parse_filter_params(&["kind=component"]).unwrap();
    let f = g.facets(&["relations.ownedBy".into()], filter.as_ref());
    assert_eq!(f[0].values.len(), 2);
}

#[test]
fn ancestry_follows_parents() {
    let v = Validator::default();
    let mut g = CatalogGraph::new();
    let mut loc = entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Location", "metadata": {"name": "root"}, "spec": {"target": "./x.yaml"}}));
    loc.parent = None;
    g.upsert(loc, &v);
    let mut c = component("cart", "team-a", &[]);
    c.parent = Some("location:default/root".into());
    g.upsert(c, &v);
    let chain: Vec<&str> = g.ancestry("component:default/cart").iter().map(|e| e.key.as_str()).collect();
    assert_eq!(chain, ["component:default/cart", "location:default/root"]);
}

/// Ranks (key order, for paging) are rebuilt only when the set of entities changes: replacing
/// an entity keeps them, adding or removing one starts them over, and the order stays right.
#[test]
fn ranks_survive_updates_and_follow_additions_and_removals() {
    let v = Validator::default();
    let mut g = graph();
    let names = |g: &CatalogGraph| -> Vec<String> { g.query(&EntityQuery::default()).ids.iter().map(|id| g.key_of(*id).to_owned()).collect() };
    let before = names(&g);
    assert!(g.rank.get().is_some());
    g.upsert(component("pay", "team-a", &[]), &v);
    assert!(g.rank.get().is_some(), "an update keeps the ranks");
    assert_eq!(names(&g), before);
    g.upsert(component("aaa", "team-b", &[]), &v);
    assert!(g.rank.get().is_none(), "an addition starts them over");
    assert_eq!(names(&g)[0], "component:default/aaa");
    assert!(g.remove("component:default/aaa"));
    assert_eq!(names(&g), before);
}

#[test]
fn relation_targets_keep_the_capitals_of_their_names_and_lose_them_when_renamed() {
    let v = Validator::default();
    let mut g = graph();
    g.upsert(component("Checkout", "team-a", &["component:cart"]), &v);
    let targets = |g: &CatalogGraph| g.relations("component:default/cart").into_iter().map(|r| r.target_ref).collect::<Vec<_>>();
    assert!(targets(&g).contains(&"component:default/Checkout".to_owned()), "{:?}", targets(&g));
    // The same entity spelled in lower case: its key is unchanged, its reference follows.
    g.upsert(component("checkout", "team-a", &["component:cart"]), &v);
    assert!(targets(&g).contains(&"component:default/checkout".to_owned()), "{:?}", targets(&g));
    g.remove("component:default/checkout");
    assert!(!targets(&g).iter().any(|t| t.ends_with("heckout")), "{:?}", targets(&g));
}

/// A reader who may not see `pay`: it is missing from lookups, lists and counts, from cart's and
/// team-b's relations, from relation filters and facets, and from neighbourhoods; `resource:db`
/// (not in the catalog) is still an unresolved target, not a hidden one.
#[test]
fn a_hidden_entity_is_missing_everywhere_the_reader_looks() {
    let g = graph();
    let pay = g.id_of("component:default/pay").unwrap();
    let mut seen = g.present().clone();
    seen.remove(pay);
    let vis = Visibility::only(seen);
    let v = Visible::new(&g, &vis);
    assert!(v.get("component:default/pay").is_none() && v.id_of("component:default/pay").is_none() && v.entry(pay).is_none());
    assert!(v.get_by_uid(&g.entry(pay).unwrap().uid).is_none());
    assert_eq!((v.len(), g.len()), (3, 4));
    assert!(v.entries().all(|e| e.key != "component:default/pay"));
    let cart = v.relations("component:default/cart");
    assert!(cart.iter().all(|r| !r.target_ref.contains("pay")) && cart.iter().any(|r| r.target_ref == "group:default/team-a"), "{cart:?}");
    assert!(v.relations("group:default/team-b").iter().all(|r| r.kind != "ownerOf"));
    assert!(g.relations("group:default/team-b").iter().any(|r| r.kind == "ownerOf"), "the bare graph still has it");
    let filter = parse_filter_params(&["relations.dependencyof=component:default/pay"]).unwrap();
    assert!(v.query(&EntityQuery { filter: filter.clone(), ..Default::default() }).ids.is_empty());
    let filter = parse_filter_params(&["relations.dependson=component:default/pay"]).unwrap();
    assert!(v.query(&EntityQuery { filter, ..Default::default() }).ids.is_empty(), "cart's dependency on a hidden entity is no relation");
    let page = v.query(&EntityQuery { filter: parse_filter_params(&["kind=component"]).unwrap(), ..Default::default() });
    assert_eq!((page.total, page.ids.len()), (1, 1));
    let facets = v.facets(&["kind".into(), "relations.dependsOn".into(), "relations.ownerOf".into()], None);
    assert_eq!(facets[0].values.iter().find(|f| f.value == "Component").map(|f| f.count), Some(1));
    assert!(facets[1].values.is_empty(), "{facets:?}");
    assert!(facets[2].values.iter().all(|f| !f.value.contains("pay")), "{facets:?}");
    let hood = v.neighbourhood(&[g.id_of("component:default/cart").unwrap()], 3, &[], 100);
    assert!(hood.nodes.iter().all(|(id, _)| *id != pay) && !hood.edges.iter().any(|e| e.to == pay || e.from == pay));
    assert!(v.neighbourhood(&[pay], 2, &[], 100).nodes.is_empty(), "a hidden seed draws nothing");
    // pay's own dependency on resource:db, an unresolved target, is pay's: hidden with it.
    assert!(v.unresolved().is_empty() && !g.unresolved().is_empty());
    assert_eq!(v.matching(None).len(), 3);
}

/// The change log names each changed entity and what it had or has relations with, either way.
#[test]
fn changes_since_a_generation_name_the_changed_entities_and_their_neighbours() {
    let mut g = graph();
    let v = Validator::default();
    let before = g.generation();
    assert_eq!(g.changed_since(before), Some(RoaringBitmap::new()));
    // cart moves from team-a to team-b and stops depending on pay.
    g.upsert(component("cart", "team-b", &[]), &v);
    let keys = |g: &CatalogGraph, ids: RoaringBitmap| ids.iter().map(|id| g.key_of(id).to_owned()).collect::<Vec<_>>();
    let mut changed = keys(&g, g.changed_since(before).unwrap());
    changed.sort();
    assert_eq!(changed, ["component:default/cart", "component:default/pay", "group:default/team-a", "group:default/team-b"]);
    let after = g.generation();
    assert!(after > before && g.changed_since(after).unwrap().is_empty());
    g.remove("component:default/pay");
    let mut changed = keys(&g, g.changed_since(after).unwrap());
    changed.sort();
    assert_eq!(changed, ["component:default/pay", "group:default/team-b", "resource:default/db"]);
}
