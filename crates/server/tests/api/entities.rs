//! Single-entity routes: by name, by uid, by refs, ancestry, deletion, history.

use portico_store::testing::TestDb;
use serde_json::json;

use crate::helpers::{TestApp, error, json, names};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_name_returns_the_entity_with_its_computed_relations() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let e = json(app.get("/api/catalog/entities/by-name/Component/default/artist-lookup").await, 200).await;

    assert_eq!(e["apiVersion"], "backstage.io/v1alpha1");
    assert_eq!(e["kind"], "Component");
    assert_eq!(e["spec"]["owner"], "team-a");
    assert!(e["metadata"]["uid"].is_string());
    // `spec` keeps the descriptor's key order, as Backstage serves it.
    let keys: Vec<&str> = e["spec"].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys, ["type", "lifecycle", "owner", "system", "dependsOn", "apiConsumedBy"]);
    let rels: Vec<(String, String)> = e["relations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["type"].as_str().unwrap().to_owned(), r["targetRef"].as_str().unwrap().to_owned()))
        .collect();
    assert!(rels.contains(&("ownedBy".into(), "group:default/team-a".into())), "{rels:?}");
    assert!(rels.contains(&("dependsOn".into(), "resource:default/artists-db".into())), "{rels:?}");
    assert!(rels.contains(&("partOf".into(), "system:default/artist-engagement-portal".into())), "{rels:?}");
    // An inverse: the group's side of ownership is computed too.
    let group = json(app.get("/api/catalog/entities/by-name/group/default/team-a").await, 200).await;
    assert!(group["relations"].as_array().unwrap().iter().any(|r| r["type"] == "ownerOf" && r["targetRef"] == "component:default/artist-lookup"));
    // As Backstage answers: `type` and `targetRef` only (no deprecated `target` object).
    for r in e["relations"].as_array().unwrap().iter().chain(group["relations"].as_array().unwrap()) {
        assert!(r.as_object().unwrap().keys().eq(["targetRef", "type"]) || r.as_object().unwrap().keys().eq(["type", "targetRef"]), "{r}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_name_is_a_backstage_not_found_error() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let res = app.get("/api/catalog/entities/by-name/component/default/nope").await;

    let message = error(res, 404, "NotFoundError", "GET").await;
    assert_eq!(message, "No entity named 'nope' found, with kind 'component' in namespace 'default'");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_uid_finds_the_entity_and_delete_removes_it() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let e = json(app.get("/api/catalog/entities/by-name/api/default/petstore").await, 200).await;
    let uid = e["metadata"]["uid"].as_str().unwrap().to_owned();

    let same = json(app.get(&format!("/api/catalog/entities/by-uid/{uid}")).await, 200).await;
    assert_eq!(same, e);
    assert_eq!(app.delete(&format!("/api/catalog/entities/by-uid/{uid}")).await.status(), 204);

    error(app.get("/api/catalog/entities/by-name/api/default/petstore").await, 404, "NotFoundError", "GET").await;
    let message = error(app.get(&format!("/api/catalog/entities/by-uid/{uid}")).await, 404, "NotFoundError", "GET").await;
    assert_eq!(message, format!("No entity with uid {uid}"));
    error(app.delete(&format!("/api/catalog/entities/by-uid/{uid}")).await, 404, "NotFoundError", "DELETE").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_refs_keeps_the_order_asked_and_answers_null_for_unknown_refs() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let body = json!({"entityRefs": ["group:default/team-a", "component:default/nope", "Component:default/Artist-Lookup"],
                      "fields": ["kind", "metadata.name"]});

    let out = json(app.post("/api/catalog/entities/by-refs", &body).await, 200).await;

    assert_eq!(out, json!({"items": [
        {"kind": "Group", "metadata": {"name": "team-a"}},
        null,
        {"kind": "Component", "metadata": {"name": "artist-lookup"}},
    ]}));
    let filtered = json!({"entityRefs": ["group:default/team-a", "component:default/artist-lookup"], "filter": "kind=group"});
    let out = json(app.post("/api/catalog/entities/by-refs?fields=metadata.name", &filtered).await, 200).await;
    assert_eq!(out, json!({"items": [{"metadata": {"name": "team-a"}}, null]}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_refs_rejects_bad_references_and_too_many() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    // As Backstage: references are looked up in full form only; anything else is null.
    let res = app.post("/api/catalog/entities/by-refs", &json!({"entityRefs": ["component:default/artist-lookup", "justaname", "component:artist-lookup", "a::b"]})).await;
    let items = json(res, 200).await["items"].as_array().unwrap().clone();
    assert!(items[0].is_object() && items[1..].iter().all(serde_json::Value::is_null), "{items:?}");

    let res = app.post("/api/catalog/entities/by-refs", &json!({"entityRefs": ["component:default/x", 3]})).await;
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("invalid type: integer `3`, expected a string"), "{message}");

    let many: Vec<String> = (0..1001).map(|i| format!("component:default/c{i}")).collect();
    let res = app.post("/api/catalog/entities/by-refs", &json!({"entityRefs": many})).await;
    let message = error(res, 400, "InputError", "POST").await;
    assert!(message.contains("at most 1000"), "{message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ancestry_walks_from_the_entity_up_to_the_registered_location() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let out = json(app.get("/api/catalog/entities/by-name/component/default/artist-lookup/ancestry").await, 200).await;

    assert_eq!(out["rootEntityRef"], "component:default/artist-lookup");
    let chain: Vec<(String, Vec<String>)> = out["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let e = &i["entity"];
            let r = format!("{}:default/{}", e["kind"].as_str().unwrap().to_lowercase(), e["metadata"]["name"].as_str().unwrap());
            (r, serde_json::from_value(i["parentEntityRefs"].clone()).unwrap())
        })
        .collect();
    // The root is the Location Backstage generates for the registration: `generated-` and the
    // SHA-1 of `file:<target>`.
    let generated = format!("location:default/{}", portico_catalog::location::generated_location(&portico_catalog::LocationService::normalize(&portico_catalog::LocationSpec { kind: "file".into(), target: crate::helpers::ALL.into() }).unwrap()).value["metadata"]["name"].as_str().unwrap());
    assert_eq!(chain, vec![
        ("component:default/artist-lookup".to_owned(), vec!["location:default/example-components".to_owned()]),
        ("location:default/example-components".to_owned(), vec!["location:default/example-all".to_owned()]),
        ("location:default/example-all".to_owned(), vec![generated.clone()]),
        (generated, vec![]),
    ]);
    error(app.get("/api/catalog/entities/by-name/component/default/nope/ancestry").await, 404, "NotFoundError", "GET").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn history_errors_and_catalog_health_are_served_under_v1() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let history = json(app.get("/api/v1/entities/component/default/artist-lookup/history").await, 200).await;
    let items = history["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["change"], "added");
    assert_eq!(items[0]["version"], 1);
    error(app.get("/api/v1/entities/component/default/nope/history").await, 404, "NotFoundError", "GET").await;

    // The examples' OpenAPI placeholders point at github.com, which the reader may not fetch.
    let errors = json(app.get("/api/v1/errors").await, 200).await;
    let items = errors["items"].as_array().unwrap();
    assert_eq!(items.len(), 3);
    assert!(items.iter().all(|e| e["message"].as_str().unwrap().contains("cannot resolve placeholder")), "{errors}");
    let spotify = json(app.get("/api/v1/errors?entityRef=api:default/spotify").await, 200).await;
    assert_eq!(spotify["items"].as_array().unwrap().len(), 1);
    error(app.get("/api/v1/errors?entityRef=nokind").await, 400, "InputError", "GET").await;

    let health = json(app.get("/api/v1/health/catalog").await, 200).await;
    assert_eq!(health["entities"], crate::EXAMPLE_ENTITIES);
    assert_eq!(health["errors"], 3);
    let unresolved = health["unresolvedRelations"].as_array().unwrap();
    assert!(unresolved.iter().all(|u| u["source"].is_string() && u["type"].is_string() && u["target"].is_string()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_legacy_list_is_a_bare_array_with_a_link_to_the_next_page() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;

    let all = json(app.get("/api/catalog/entities?filter=kind=domain").await, 200).await;
    assert_eq!(names(&all).len(), 3);

    let res = app.get("/api/catalog/entities?filter=kind=api&limit=4&fields=metadata.name&order=desc:metadata.name").await;
    let link = res.headers()["link"].to_str().unwrap().to_owned();
    let first = json(res, 200).await;
    assert_eq!(first.as_array().unwrap().len(), 4);
    assert!(first[0].as_object().unwrap().keys().eq(["metadata"]));
    let next = link.strip_prefix('<').and_then(|l| l.strip_suffix(">; rel=\"next\"")).unwrap();
    assert!(next.starts_with("/api/catalog/entities?") && next.contains("after="), "{link}");
    let second = json(app.get(next).await, 200).await;
    let mut seen = names(&first);
    seen.extend(names(&second));
    let mut sorted = seen.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(seen, sorted, "pages continue the order");
    assert_eq!(seen.len(), 7);
}

/// Lists larger than a thousand entities are streamed (a full list of 100,000 was built whole
/// in memory): the answer is the same JSON, entity for entity, as pages that are not.
#[tokio::test]
async fn large_lists_are_streamed_and_answer_as_small_pages_do() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2500 {
        text.push_str(&format!("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: gen-{i:04}\n  tags: [a]\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  dependsOn: [component:gen-{:04}]\n", (i + 1) % 2500));
    }
    std::fs::write(dir.path().join("generated.yaml"), text).unwrap();
    let app = TestApp::spawn_with_roots(TestDb::sqlite().await, vec![dir.path().canonicalize().unwrap()], false).await;
    let spec = serde_json::json!({"type": "file", "target": dir.path().canonicalize().unwrap().join("generated.yaml").display().to_string()});
    json(app.post("/api/catalog/locations", &spec).await, 201).await;

    let all = json(app.get("/api/catalog/entities").await, 200).await;
    assert_eq!(all.as_array().unwrap().len(), 2500 + 1, "and the registration's generated Location");
    let streamed = json(app.get("/api/catalog/entities/by-query?filter=kind=component&limit=2000&fields=metadata.name,relations").await, 200).await;
    assert_eq!(streamed["totalItems"], 2500);
    assert_eq!(streamed["items"].as_array().unwrap().len(), 2000);
    let mut paged = Vec::new();
    for offset in [0, 1000] {
        let page = json(app.get(&format!("/api/catalog/entities/by-query?filter=kind=component&limit=1000&offset={offset}&fields=metadata.name,relations")).await, 200).await;
        paged.extend(page["items"].as_array().unwrap().iter().cloned());
    }
    assert_eq!(streamed["items"].as_array().unwrap(), &paged);
    assert!(streamed["pageInfo"]["nextCursor"].is_string(), "{}", streamed["pageInfo"]);
    let first = &streamed["items"][0];
    assert_eq!(first["metadata"]["name"], "gen-0000");
    assert!(first["relations"].as_array().unwrap().iter().any(|r| r["targetRef"] == "component:default/gen-0001"), "{first}");
}
