//! `GET /entities/by-query` and `GET /entity-facets`.

use std::collections::HashSet;

use portico_store::testing::TestDb;
use serde_json::Value;

use crate::helpers::{TestApp, error, json, names};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_query_filters_projects_and_counts() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let page = json(app.get("/api/catalog/entities/by-query?filter=kind=component,spec.type=website&fields=metadata.name,kind").await, 200).await;

    assert_eq!(page["totalItems"], page["items"].as_array().unwrap().len());
    assert!(page["totalItems"].as_u64().unwrap() >= 1);
    for item in page["items"].as_array().unwrap() {
        let mut keys: Vec<&String> = item.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["kind", "metadata"]);
        assert_eq!(item["kind"], "Component");
        assert_eq!(item["metadata"].as_object().unwrap().len(), 1);
    }
    assert_eq!(page["pageInfo"], serde_json::json!({}));
    // Repeated filters are alternatives.
    let either = json(app.get("/api/catalog/entities/by-query?filter=kind=domain&filter=kind=system&limit=100").await, 200).await;
    assert_eq!(either["totalItems"], 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_page_is_backstages_and_cursors_page_through_everything() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    // Backstage's default page is 200 entities: all of the examples here.
    let first = json(app.get("/api/catalog/entities/by-query").await, 200).await;
    assert_eq!(first["items"].as_array().unwrap().len() as u64, crate::EXAMPLE_ENTITIES);
    assert_eq!(first["totalItems"], crate::EXAMPLE_ENTITIES);
    assert!(first["pageInfo"].get("prevCursor").is_none());

    let mut seen: Vec<(String, String, String)> = Vec::new();
    let mut pages: Vec<Value> = Vec::new();
    let mut next = Some("/api/catalog/entities/by-query?limit=7&orderField=metadata.name,asc&fields=metadata.name,metadata.namespace,kind".to_owned());
    while let Some(url) = next {
        let page = json(app.get(&url).await, 200).await;
        assert_eq!(page["totalItems"], crate::EXAMPLE_ENTITIES);
        let rest = page["items"].as_array().unwrap().iter().map(|e| {
            (e["kind"].as_str().unwrap().to_owned(), e["metadata"]["namespace"].as_str().unwrap().to_owned())
        });
        seen.extend(names(&page["items"]).into_iter().zip(rest).map(|(n, (k, ns))| (n, k, ns)));
        next = page["pageInfo"]["nextCursor"].as_str().map(|c| format!("/api/catalog/entities/by-query?limit=7&cursor={c}"));
        pages.push(page);
    }
    assert_eq!(pages.len() as u64, crate::EXAMPLE_ENTITIES.div_ceil(7));
    assert_eq!(seen.len() as u64, crate::EXAMPLE_ENTITIES);
    assert_eq!(seen.iter().collect::<HashSet<_>>().len() as u64, crate::EXAMPLE_ENTITIES, "no entity twice");
    assert!(seen.windows(2).all(|w| w[0].0.to_lowercase() <= w[1].0.to_lowercase()), "the order holds across pages: {seen:?}");

    // The second page's prevCursor leads back to the first page.
    let prev = pages[1]["pageInfo"]["prevCursor"].as_str().unwrap();
    let back = json(app.get(&format!("/api/catalog/entities/by-query?limit=7&cursor={prev}")).await, 200).await;
    assert_eq!(names(&back["items"]), names(&pages[0]["items"]));
    assert!(pages.last().unwrap()["pageInfo"].get("nextCursor").is_none());
    // Without `limit`, a cursor keeps the page size of the page that made it: the previous page
    // is exactly the previous page (not 200 entities from there).
    let third_prev = pages[3]["pageInfo"]["prevCursor"].as_str().unwrap();
    let back = json(app.get(&format!("/api/catalog/entities/by-query?cursor={third_prev}")).await, 200).await;
    assert_eq!(names(&back["items"]), names(&pages[2]["items"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_fields_sort_descending_and_offset_skips() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let page = json(app.get("/api/catalog/entities/by-query?filter=kind=api&orderField=metadata.name,desc&limit=100").await, 200).await;
    let got = names(&page["items"]);
    let mut want = got.clone();
    want.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert_eq!(got, want);
    assert_eq!(got.len(), 7);

    let skipped = json(app.get("/api/catalog/entities/by-query?filter=kind=api&orderField=metadata.name,desc&offset=5").await, 200).await;
    assert_eq!(names(&skipped["items"]), got[5..]);
    assert!(skipped["pageInfo"]["prevCursor"].is_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_full_text_filter_matches_substrings_of_the_named_fields() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let page = json(app.get("/api/catalog/entities/by-query?fullTextFilterTerm=WAYBACK&fullTextFilterFields=metadata.name&limit=100").await, 200).await;

    let mut got = names(&page["items"]);
    got.sort();
    let wayback = ["wayback-archive", "wayback-archive-ingestion", "wayback-archive-storage", "wayback-search"];
    assert!(wayback.iter().all(|w| got.contains(&(*w).to_owned())), "{got:?}");
    assert!(got.iter().all(|n| n.contains("wayback")), "{got:?}");
    assert_eq!(page["totalItems"], got.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facets_count_values_among_filtered_entities() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let out = json(app.get("/api/catalog/entity-facets?facet=spec.type&facet=kind&filter=kind=component").await, 200).await;

    assert_eq!(out["facets"]["kind"], serde_json::json!([{"value": "Component", "count": 13}]));
    let total: u64 = out["facets"]["spec.type"].as_array().unwrap().iter().map(|v| v["count"].as_u64().unwrap()).sum();
    assert_eq!(total, 13);
    let message = error(app.get("/api/catalog/entity-facets").await, 400, "InputError", "GET").await;
    assert_eq!(message, "Missing or empty facets parameter");
    // Values in Backstage's order: ascending by value.
    let names: Vec<String> = out["facets"]["spec.type"].as_array().unwrap().iter().map(|v| v["value"].as_str().unwrap().to_owned()).collect();
    assert!(names.is_sorted(), "{names:?}");
}

/// As Backstage: with `fullTextFilterFields`, the term matches anywhere in the field, also inside
/// a word, case-insensitively.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_text_filter_on_named_fields_matches_inside_words() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let page = json(app.get("/api/catalog/entities/by-query?fullTextFilterTerm=AYBACK&fullTextFilterFields=metadata.name&filter=kind=component").await, 200).await;
    let mut got = names(&page["items"]);
    got.sort();
    assert_eq!(got, ["playback-order", "playback-sdk", "wayback-archive", "wayback-archive-ingestion", "wayback-archive-storage", "wayback-search"]);
}
