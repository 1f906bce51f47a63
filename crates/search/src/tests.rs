use portico_graph::CatalogGraph;
use portico_model::{CatalogEntry, Validator};
use serde_json::{Value, json};

use super::*;

fn entry(v: Value) -> CatalogEntry {
    CatalogEntry::new(Validator::default().validate(v).unwrap(), "test")
}

fn component(name: &str, description: &str) -> CatalogEntry {
    entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
        "metadata": {"name": name, "description": description, "tags": ["java"],
            "annotations": {"github.com/project-slug": format!("acme/{name}")}},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}}))
}

fn api(name: &str, definition: &str) -> CatalogEntry {
    entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "API", "metadata": {"name": name},
        "spec": {"type": "openapi", "lifecycle": "production", "owner": "team-a", "definition": definition}}))
}

fn index_of(entries: Vec<CatalogEntry>) -> (CatalogGraph, SearchIndex) {
    let v = Validator::default();
    let mut g = CatalogGraph::new();
    for e in entries {
        g.upsert(e, &v);
    }
    let index = SearchIndex::new().unwrap();
    index.rebuild(&g).unwrap();
    (g, index)
}

fn found(g: &CatalogGraph, index: &SearchIndex, text: &str) -> Vec<String> {
    let req = SearchRequest { text: text.into(), limit: 10, typing: true, ..Default::default() };
    index.search(&req).unwrap().hits.iter().map(|h| g.key_of(h.id).to_owned()).collect()
}

fn catalog() -> (CatalogGraph, SearchIndex) {
    index_of(vec![
        component("artist-lookup", "Looks up artists by name"),
        component("playback-order", "Orders playback of tracks; talks to artist-lookup"),
        component("wayback-archive", "Archives old pages"),
        api("streetlights", "paths:\n  /lights/{id}/dim:\n    post:\n      summary: Dim a streetlight"),
    ])
}

#[test]
fn names_outrank_descriptions() {
    let (g, index) = catalog();
    let got = found(&g, &index, "artist");
    assert_eq!(got, ["component:default/artist-lookup", "component:default/playback-order"]);
}

#[test]
fn typos_and_unfinished_words_still_find_the_entity() {
    let (g, index) = catalog();
    assert_eq!(found(&g, &index, "artst lookup")[0], "component:default/artist-lookup");
    assert_eq!(found(&g, &index, "wayb")[0], "component:default/wayback-archive");
    assert_eq!(found(&g, &index, "waybak-archiv")[0], "component:default/wayback-archive");
    assert!(found(&g, &index, "zzzzzz").is_empty());
}

#[test]
fn api_definitions_and_annotations_are_searched() {
    let (g, index) = catalog();
    assert_eq!(found(&g, &index, "streetlight dim"), ["api:default/streetlights"]);
    assert_eq!(found(&g, &index, "acme/wayback"), ["component:default/wayback-archive"]);
}

#[test]
fn kinds_are_counted_for_every_match_and_filter_the_page() {
    let (_, index) = catalog();
    let mut req = SearchRequest { text: "team-a".into(), limit: 10, ..Default::default() };
    let all = index.search(&req).unwrap();
    assert_eq!(all.kinds, [("Component".to_owned(), 3), ("API".to_owned(), 1)]);
    req.kinds = vec!["api".into()];
    let apis = index.search(&req).unwrap();
    assert_eq!((apis.total, apis.hits.len()), (1, 1));
    assert_eq!(apis.kinds, all.kinds);
}

#[test]
fn updates_replace_and_remove_documents() {
    let v = Validator::default();
    let (mut g, index) = catalog();
    g.upsert(component("artist-lookup", "Renamed in spirit: finds musicians"), &v);
    g.remove("component:default/wayback-archive");
    index
        .update(&g, &["component:default/artist-lookup".into()], &["component:default/wayback-archive".into()])
        .unwrap();
    assert_eq!(found(&g, &index, "musicians"), ["component:default/artist-lookup"]);
    assert!(found(&g, &index, "wayback").is_empty());
    assert_eq!(index.len(), 3);
}

#[test]
fn candidates_are_entities_with_words_starting_with_the_term() {
    let (g, index) = catalog();
    let keys = |term: &str| -> Vec<String> {
        let mut k: Vec<String> = index.candidates(term).unwrap().iter().map(|id| g.key_of(id).to_owned()).collect();
        k.sort();
        k
    };
    assert_eq!(keys("WAYBACK"), ["component:default/wayback-archive"]);
    assert_eq!(keys("artist-look"), ["component:default/artist-lookup", "component:default/playback-order"]);
    assert!(keys("ayback").is_empty(), "a term starting inside a word is not a word prefix");
    assert_eq!(index.candidates("--"), None, "no words: the caller scans");
}

#[test]
fn an_index_that_is_not_built_says_so() {
    let index = SearchIndex::new().unwrap();
    assert!(!index.is_ready());
    assert!(matches!(index.search(&SearchRequest { text: "x".into(), limit: 1, ..Default::default() }), Err(SearchError::NotReady)));
    assert_eq!(index.candidates("x"), None);
}
