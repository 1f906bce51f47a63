//! Black-box tests of the pages: the real portal on a random port over Backstage's example
//! catalog, asked over HTTP. Large, stable pages are compared with HTML snapshots in
//! `tests/snapshots/` (volatile parts normalized; `PORTICO_UPDATE_SNAPSHOTS=1` rewrites them).

mod common;
#[path = "pages/snapshot.rs"]
mod snapshot;
#[path = "pages/bad_input.rs"]
mod bad_input;
#[path = "pages/security.rs"]
mod security;
#[path = "pages/entity.rs"]
mod entity;
#[path = "pages/me.rs"]
mod me;
#[path = "pages/scorecards.rs"]
mod scorecards;
#[path = "pages/visibility.rs"]
mod visibility;

use common::{WebApp, plain};
use snapshot::assert_snapshot;

/// While the server's first read of its locations runs, every page says so (and still answers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_say_when_the_catalog_is_still_being_read() {
    let app = WebApp::spawn().await;
    const BANNER: &str = "Portico is still reading the catalog";
    let _ = app.state.clone().loading();
    for path in ["/", "/catalog?kind=component", "/catalog/default/component/artist-lookup", "/search?q=artist"] {
        let (status, html) = app.get(path).await;
        assert_eq!(status, 200, "{path}");
        assert!(html.contains(BANNER), "{path}");
    }
    app.state.startup.finish();
    let (_, html) = app.get("/").await;
    assert!(!html.contains(BANNER));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_shows_counts_by_kind_health_and_recent_changes() {
    let app = WebApp::spawn().await;

    let (status, html) = app.get("/").await;

    assert_eq!(status, 200);
    let page = plain(&html);
    assert!(page.contains("<svg") && page.contains("href=\"/catalog?kind=component\""), "the chart links each kind");
    assert!(page.contains("Unresolved relations") && page.contains("Recently changed"));
    assert_snapshot(&app, "home", &html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_home_page_ignores_parameters_such_as_campaign_tags() {
    let app = WebApp::spawn().await;

    let (status, html) = app.get("/?utm_source=newsletter&utm_medium=email&x=1").await;

    assert_eq!(status, 200);
    assert!(plain(&html).contains("Recently changed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_filters_by_facets_kept_in_the_url() {
    let app = WebApp::spawn().await;

    let (status, all) = app.get("/catalog?kind=component").await;
    let (_, owned) = app.get("/catalog?kind=component&owner=team-a").await;
    let (_, two) = app.get("/catalog?kind=component&owner=team-a&owner=team-b&lifecycle=production").await;

    assert_eq!(status, 200);
    assert_snapshot(&app, "catalog-components", &all);
    let rows = |html: &str| plain(html).matches("class=\"entity-name\"").count();
    assert_eq!(rows(&all), 13);
    assert_eq!(rows(&owned), 5, "team-a owns five of the example components");
    let owned = plain(&owned);
    assert!(owned.contains("aria-checked=\"true\" data-value=\"team-a\""), "the chosen owner is checked");
    assert!(owned.contains("href=\"/catalog?kind=component\" class=\"clear\""), "one link clears every filter");
    assert!(rows(&two) >= 1 && rows(&two) < 13);
    assert!(plain(&two).contains("owner=team-a&owner=team-b&lifecycle=production"), "links keep every filter");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn catalog_columns_sort_both_ways_and_text_filters_use_the_index() {
    let app = WebApp::spawn().await;

    let (_, asc) = app.get("/catalog?kind=component&sort=name").await;
    let (_, desc) = app.get("/catalog?kind=component&sort=name&dir=desc").await;
    let (_, text) = app.get("/catalog?kind=component&q=wayback").await;

    let names = |html: &str| -> Vec<String> {
        plain(html)
            .split("class=\"entity-name\">")
            .skip(1)
            .map(|s| s.split('<').next().unwrap().to_owned())
            .collect()
    };
    let mut reversed = names(&asc);
    reversed.reverse();
    assert_eq!(names(&desc), reversed);
    assert!(plain(&desc).contains("aria-sort=\"descending\""));
    assert_eq!(names(&text).len(), 4, "{:?}", names(&text));
    assert!(names(&text).iter().all(|n| n.starts_with("wayback")));
    let team_a = plain(&text).split("data-value=\"team-a\">").nth(1).unwrap().split("</a>").next().unwrap().to_owned();
    assert!(team_a.contains("<span class=\"count\">3</span>"), "facets count the text matches only: {team_a}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_pages_show_header_about_relations_graph_descriptor_and_history() {
    let app = WebApp::spawn().await;

    let (status, html) = app.get("/catalog/default/component/artist-lookup").await;

    assert_eq!(status, 200);
    let page = plain(&html);
    for part in ["id=\"about\"", "id=\"relations\"", "id=\"graph\"", "id=\"descriptor\"", "id=\"history\"", "id=\"errors\""] {
        assert!(page.contains(part), "{part}");
    }
    assert!(page.contains("href=\"/catalog/default/group/team-a\""), "the owner links to its page");
    assert!(page.contains("href=\"/catalog/default/system/artist-engagement-portal\""), "the system links to its page");
    assert!(page.contains("href=\"/catalog/default/domain/artists\""), "the domain comes from the system");
    assert!(page.contains("apiVersion: backstage.io/v1alpha1"), "the descriptor is shown as YAML");
    assert!(page.contains("class=\"node-link\""), "graph nodes are links");
    assert_snapshot(&app, "entity-artist-lookup", &html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_follows_depth_and_relation_types() {
    let app = WebApp::spawn().await;

    let (_, one) = app.get("/catalog/default/component/artist-lookup?depth=1").await;
    let (_, three) = app.get("/catalog/default/component/artist-lookup?depth=3").await;
    let (_, owners) = app.get("/catalog/default/component/artist-lookup?depth=2&rel=ownedBy").await;

    let nodes = |html: &str| html.matches("class=\"node kind-").count();
    assert!(nodes(&three) > nodes(&one));
    let owners = plain(&owners);
    assert_eq!(nodes(&owners), 2, "only the owner is reached through ownedBy");
    assert!(owners.contains("aria-checked=\"true\" data-rel=\"ownedBy\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_pages_list_openapi_operations_and_highlight_other_definitions() {
    let app = WebApp::spawn().await;

    let (_, openapi) = app.get("/catalog/default/api/petstore").await;
    let (_, graphql) = app.get("/catalog/default/api/starwars-graphql").await;

    let page = plain(&openapi);
    assert!(page.contains("<span class=\"method method-get\">GET</span></td><td><code>/pet/findByStatus</code>"), "operations are listed");
    assert!(plain(&graphql).contains("<span class=\"tok-keyword\">type</span>"), "GraphQL is highlighted");
    let (_, asyncapi) = app.get("/catalog/default/api/streetlights").await;
    assert!(plain(&asyncapi).contains("<span class=\"tok-key\">asyncapi</span>"), "AsyncAPI is highlighted as YAML");
    let (_, grpc) = app.get("/catalog/default/api/hello-world").await;
    let grpc = plain(&grpc);
    assert!(grpc.contains("<span class=\"tok-keyword\">service</span>"), "gRPC keywords are highlighted");
    assert!(grpc.contains("<span class=\"tok-comment\">// Copyright 2015 gRPC authors.</span>"), "and comments");
    assert_snapshot(&app, "api-petstore", &openapi);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_forgives_typos_ranks_names_first_and_counts_kinds() {
    let app = WebApp::spawn().await;

    let (status, html) = app.get("/search?q=artst-lookp").await;
    let (_, partial) = app.get("/search?q=wayback&partial=1").await;
    let (_, apis) = app.get("/search?q=petstore&kind=api").await;

    assert_eq!(status, 200);
    let page = plain(&html);
    let first = page.split("<li class=\"hit\">").nth(1).expect("a hit");
    assert!(first.contains("href=\"/catalog/default/component/artist-lookup\" class=\"hit-title\""), "the misspelt entity comes first");
    assert_snapshot(&app, "search-typo", &html);
    assert!(!partial.contains("<html"), "the partial is only the results");
    assert!(plain(&partial).contains("data-kind=\"Component\""));
    let apis = plain(&apis);
    assert!(apis.contains("aria-checked=\"true\" data-kind=\"API\""));
    assert!(apis.split("class=\"hit\"").skip(1).all(|h| h.contains("/catalog/default/api/")), "only APIs are listed");
    assert!(apis.contains("/catalog/default/api/petstore"), "{apis}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_explorer_draws_from_an_entity_or_a_filter_and_exports_svg() {
    let app = WebApp::spawn().await;

    let (_, from_ref) = app.get("/graph?ref=system:artist-engagement-portal&depth=1").await;
    let (_, from_filter) = app.get("/graph?filter=kind%3Ddomain").await;
    let res = app.client.get(format!("{}/graph.svg?filter=kind%3Ddomain&depth=1", app.url)).send().await.unwrap();

    assert!(plain(&from_ref).contains("href=\"/catalog/default/component/artist-lookup\""));
    assert!(from_filter.matches("class=\"node kind-domain seed\"").count() == 3, "every domain is a start");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml; charset=utf-8");
    assert!(res.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"));
    assert!(res.text().await.unwrap().starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    let (status, svg) = app.get("/catalog/default/component/artist-lookup/graph.svg?depth=2").await;
    assert_eq!(status, 200);
    assert!(svg.contains("<title id=\"graph-title\">"));
    assert_snapshot(&app, "graph-explorer", &from_ref);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_explorer_form_offers_relation_types_and_keeps_rel_depth_and_as_of() {
    let app = WebApp::spawn().await;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);

    let (status, html) = app.get(&format!("/graph?ref=system:artist-engagement-portal&depth=3&rel=hasPart&rel=ownedBy&asOf={now}")).await;
    let (_, empty) = app.get("/graph").await;

    assert_eq!(status, 200);
    let page = plain(&html);
    let form = page.split("class=\"card explorer-form\">").nth(1).unwrap().split("</form>").next().unwrap();
    for chosen in ["hasPart", "ownedBy"] {
        assert!(form.contains(&format!("name=\"rel\" value=\"{chosen}\" checked>")), "{chosen} is checked: {form}");
    }
    assert!(form.contains("name=\"rel\" value=\"dependsOn\">"), "every relation type is offered: {form}");
    assert!(form.contains("<option value=\"3\" selected>"), "the depth is kept");
    assert!(form.contains(&format!("name=\"asOf\" value=\"{now}\"")), "asOf is kept");
    let depth_one = page.split("data-depth=\"1\"").next().unwrap().rsplit("href=\"").next().unwrap();
    assert!(depth_one.contains("rel=hasPart") && depth_one.contains("asOf="), "the graph's links keep them too: {depth_one}");
    let empty = plain(&empty);
    let refs = empty.split("<datalist id=\"g-examples\">").nth(1).unwrap().split("</datalist>").next().unwrap();
    assert!(refs.contains("<option value=\"component:default/") && refs.contains("<option value=\"system:default/"), "{refs}");
    assert!(empty.contains("<datalist id=\"g-filter-examples\"><option value=\"kind="), "filters are suggested too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_previews_without_writing_then_imports_and_history_shows_changes() {
    let app = WebApp::spawn().await;
    let target = app.import_path().display().to_string();

    let (status, preview) = app.post_form("/register", &[("target", &target), ("action", "preview")]).await;
    assert_eq!(status, 200);
    assert!(plain(&preview).contains("Preview: 3 entities would be added"), "{preview}");
    assert_snapshot(&app, "register-preview", &preview);
    assert!(app.state.catalog.read().get("component:default/checkout-service").is_none(), "a preview writes nothing");

    let (status, imported) = app.post_form("/register", &[("target", &target), ("action", "import")]).await;
    assert_eq!(status, 201);
    assert!(plain(&imported).contains("href=\"/catalog/default/component/checkout-service\""));
    let (status, again) = app.post_form("/register", &[("target", &target), ("action", "import")]).await;
    assert_eq!(status, 409, "importing twice is refused");
    assert!(plain(&again).contains("already exists"));
    app.wait_for_search().await;
    let (_, found) = app.get("/search?q=checkout").await;
    assert!(plain(&found).contains("href=\"/catalog/default/component/checkout-service\""), "the index follows the import");

    // A second version, then the history compares them.
    std::fs::write(app.import_path(), common::TO_IMPORT.replace("Takes orders and payments", "Takes orders")).unwrap();
    app.state.locations.refresh_all().await.unwrap();
    let (status, html) = app.get("/catalog/default/component/checkout-service/history?from=1&to=2").await;
    assert_eq!(status, 200);
    let history = plain(&html);
    assert!(history.contains("<code>metadata.description</code>"), "{history}");
    assert!(history.contains("<del>Takes orders and payments</del>") && history.contains("<ins>Takes orders</ins>"));
    assert_snapshot(&app, "history-diff", &html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_still_answers_json_beside_the_pages() {
    let app = WebApp::spawn().await;

    let res = app.client.get(format!("{}/api/catalog/entities/by-query?filter=kind=component&limit=1", app.url)).send().await.unwrap();
    let missing = app.client.get(format!("{}/api/nope", app.url)).send().await.unwrap();
    let page = app.client.get(format!("{}/nope", app.url)).send().await.unwrap();

    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    assert_eq!(missing.status(), 404);
    assert!(missing.headers()["content-type"].to_str().unwrap().starts_with("application/json"), "API paths keep the JSON error shape");
    assert_eq!(page.status(), 404);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"), "other paths get an HTML page");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_embedded_and_cached() {
    let app = WebApp::spawn().await;

    let res = app.client.get(format!("{}/static/app.css", app.url)).send().await.unwrap();

    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["cache-control"], "public, max-age=31536000, immutable");
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/css"));
    let etag = res.headers()["etag"].clone();
    let again = app.client.get(format!("{}/static/app.css", app.url)).header("if-none-match", etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
}
