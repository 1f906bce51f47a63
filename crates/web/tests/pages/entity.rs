//! Entity pages of particular kinds and states: a group's and a user's organisation, and an
//! entity nothing records the provenance of.

use portico_catalog::{Mutation, Origin, RawEntity};

use crate::common::{WebApp, plain};
use crate::snapshot::assert_snapshot;

/// The links under an organisation heading (`Parent`, `Members`, …) of an entity page, after
/// checking that the heading's count says as many.
fn org_links(page: &str, heading: &str) -> Vec<String> {
    let section = page.split(&format!("<h3>{heading} <span class=\"count\">")).nth(1).unwrap_or_else(|| panic!("no {heading} heading"));
    let section = section.split("<h3>").next().unwrap();
    let links: Vec<String> = section.split("href=\"").skip(1).map(|s| s.split('"').next().unwrap().to_owned()).collect();
    let count: usize = section.split('<').next().unwrap().parse().unwrap();
    assert_eq!(count, links.len(), "{heading}: the count says {count}: {section}");
    if links.is_empty() {
        assert!(section.contains("None."), "{heading}: an empty list says so");
    }
    links
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_page_lists_its_parent_children_members_and_what_it_owns() {
    let app = WebApp::spawn().await;

    let (status, html) = app.get("/catalog/default/group/team-a").await;
    let (_, backstage) = app.get("/catalog/default/group/backstage").await;

    assert_eq!(status, 200);
    let page = plain(&html);
    assert_eq!(org_links(&page, "Parent"), ["/catalog/default/group/backstage"]);
    assert_eq!(org_links(&page, "Children"), Vec::<String>::new());
    assert_eq!(
        sorted(org_links(&page, "Members")),
        [
            "/catalog/default/user/breanna.davison",
            "/catalog/default/user/guest",
            "/catalog/default/user/janelle.dawe",
            "/catalog/default/user/nigel.manning",
            "/catalog/development/user/guest",
        ]
    );
    assert_eq!(
        sorted(org_links(&page, "Owns")),
        [
            "/catalog/default/airesource/frontend-design",
            "/catalog/default/airesource/use-internal-apis",
            "/catalog/default/api/backstage-mcp-server",
            "/catalog/default/component/artist-lookup",
            "/catalog/default/component/wayback-archive",
            "/catalog/default/component/wayback-archive-storage",
            "/catalog/default/component/wayback-search",
            "/catalog/default/component/www-artist",
            "/catalog/default/domain/artists",
            "/catalog/default/resource/artists-db",
            "/catalog/default/system/artist-engagement-portal",
        ],
        "everything whose spec.owner is team-a in Backstage's examples (but the APIs whose remote definitions cannot be read here)"
    );
    assert_eq!(sorted(org_links(&plain(&backstage), "Children")), ["/catalog/default/group/team-a", "/catalog/default/group/team-b"]);
    assert_snapshot(&app, "group-team-a", &html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_page_lists_the_groups_they_belong_to_and_what_they_own() {
    let app = WebApp::spawn().await;

    let (status, html) = app.get("/catalog/default/user/guest").await;
    let (_, breanna) = app.get("/catalog/default/user/breanna.davison").await;

    assert_eq!(status, 200);
    let page = plain(&html);
    assert_eq!(org_links(&page, "Member of"), ["/catalog/default/group/team-a"]);
    assert_eq!(
        sorted(org_links(&page, "Owns")),
        ["/catalog/default/component/playback-order", "/catalog/default/component/searcher", "/catalog/default/component/shuffle-api"]
    );
    let breanna = plain(&breanna);
    assert_eq!(org_links(&breanna, "Member of"), ["/catalog/default/group/team-a"]);
    assert_eq!(org_links(&breanna, "Owns"), Vec::<String>::new());
    assert!(!page.contains("<h3>Members ") && !page.contains("<h3>Children "), "users have no members or children");
    assert_snapshot(&app, "user-guest", &html);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_without_provenance_shows_no_empty_provenance_section() {
    let app = WebApp::spawn().await;
    // Handed over as the discovery engine would, but without the provenance it stores.
    let value = serde_json::json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": "Component",
        "metadata": {"name": "unexplained"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}
    });
    let raw = RawEntity { value, origin: Origin { location: "test".into(), text: None, document: 0 }, parent: None, degraded: false };
    let mutation = Mutation::Delta { source: portico_discovery::engine::CATALOG_SOURCE.into(), upserts: vec![raw], removals: Vec::new() };
    app.state.catalog.apply(mutation).await.unwrap();

    let (status, html) = app.get("/catalog/default/component/unexplained").await;
    let (_, described) = app.get("/catalog/default/component/artist-lookup").await;

    assert_eq!(status, 200);
    assert!(!html.contains("id=\"provenance\"") && !html.contains("href=\"#provenance\""), "no heading with nothing under it");
    assert!(described.contains("id=\"provenance\"") && described.contains("href=\"#provenance\""), "shown when there is some");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_page_links_its_source_shows_email_targets_schema_and_an_error_banner() {
    let app = WebApp::spawn().await;
    app.import(
        "linked",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: linked\n  annotations:\n    \
         backstage.io/source-location: url:https://git.example.com/shop/tree/main/\n    \
         backstage.io/view-url: https://git.example.com/shop/blob/main/catalog-info.yaml\n    \
         backstage.io/edit-url: javascript:alert(1)\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .await;
    let (status, html) = app.get("/catalog/default/component/linked").await;
    assert_eq!(status, 200);
    let page = plain(&html);
    assert!(page.contains("<a href=\"https://git.example.com/shop/tree/main/\" rel=\"noopener noreferrer\" class=\"wrap\">url:https://git.example.com/shop/tree/main/</a>"), "{page}");
    assert!(page.contains("href=\"https://git.example.com/shop/blob/main/catalog-info.yaml\" rel=\"noopener noreferrer\">View source</a>"));
    assert!(!page.contains(">Edit</a>") && !page.contains("href=\"javascript:"), "an unsafe edit-url is no button");
    assert!(page.contains("action=\"/catalog/default/component/linked/refresh\"") && page.contains("href=\"/catalog/default/component/linked/unregister\""));
    assert!(!page.contains("class=\"banner bad\""), "no errors, no banner");

    // A user's email.
    let (_, user) = app.get("/catalog/default/user/breanna.davison").await;
    assert!(plain(&user).contains("<dt>Email</dt><dd><a href=\"mailto:breanna-davison@example.com\">"), "{}", plain(&user));

    // A Location's targets and what it provided.
    let (_, location) = app.get("/catalog/default/location/example-groups").await;
    let location = plain(&location);
    assert!(location.contains("<h3>Targets</h3>") && location.contains("<code class=\"wrap\">./team-a-group.yaml</code>"), "{location}");
    assert!(location.contains("Provides ") && location.contains("href=\"/catalog/default/group/"), "{location}");

    // A Kind's schema.
    app.import(
        "kind",
        "apiVersion: portico.dev/v1\nkind: Kind\nmetadata:\n  name: environment\nspec:\n  kind: Environment\n  schema:\n    type: object\n    required: [tier]\n    properties:\n      tier: { enum: [staging, production] }\n",
    )
    .await;
    let (_, kind) = app.get("/catalog/default/kind/environment").await;
    let kind = plain(&kind);
    assert!(kind.contains("Schema of <code>spec</code>") && kind.contains("required:") && kind.contains("- tier"), "{kind}");

    // An entity whose source now fails keeps its last version, under a banner.
    let file = app.extra.path().canonicalize().unwrap().join("linked/catalog-info.yaml");
    std::fs::write(&file, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: [broken\n").unwrap();
    let (status, _) = app.post_form("/catalog/default/component/linked/refresh", &[]).await;
    assert_eq!(status, 200, "the refresh leads back to the page");
    let (_, after) = app.get("/catalog/default/component/linked?refreshed=location").await;
    let after = plain(&after);
    assert!(after.contains("Read again from its location"), "{after}");
    assert!(after.contains("class=\"banner bad\" role=\"alert\"") && after.contains("href=\"#errors\""), "{after}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unregistering_shows_what_goes_then_removes_the_location_and_its_entities() {
    let app = WebApp::spawn().await;
    app.import(
        "pair",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: first\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\n\
         apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: second\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    )
    .await;
    let (status, confirm) = app.get("/catalog/default/component/first/unregister").await;
    assert_eq!(status, 200);
    let confirm = plain(&confirm);
    assert!(confirm.contains("Unregister the location and its 3 entities"), "{confirm}");
    assert!(confirm.contains("href=\"/catalog/default/component/first\"") && confirm.contains("href=\"/catalog/default/component/second\""));
    assert_eq!(app.get("/catalog/default/component/second").await.0, 200, "looking removes nothing");

    let (status, _) = app.post_form("/catalog/default/component/first/unregister", &[]).await;
    assert_eq!(status, 200, "back to the catalog");
    assert_eq!(app.get("/catalog/default/component/first").await.0, 404);
    assert_eq!(app.get("/catalog/default/component/second").await.0, 404);
    assert_eq!(app.get("/catalog/default/component/artist-lookup").await.0, 200, "other locations stay");

    // Discovered entities have no location to remove: the page says so and offers no button.
    let value = serde_json::json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "found"},
        "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}});
    let raw = RawEntity { value, origin: Origin { location: "test".into(), text: None, document: 0 }, parent: None, degraded: false };
    app.state
        .catalog
        .apply(Mutation::Delta { source: portico_discovery::engine::CATALOG_SOURCE.into(), upserts: vec![raw], removals: Vec::new() })
        .await
        .unwrap();
    let (_, page) = app.get("/catalog/default/component/found/unregister").await;
    assert!(plain(&page).contains("is discovered") && !plain(&page).contains("action=\"/catalog/default/component/found/unregister\""), "{page}");
    let (status, refused) = app.post_form("/catalog/default/component/found/unregister", &[]).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(app.get("/catalog/default/component/found").await.0, 200);
    assert_eq!(app.post_form("/catalog/default/component/nope/unregister", &[]).await.0, 404);
}
