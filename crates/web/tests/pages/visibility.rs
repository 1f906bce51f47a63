//! Visibility in the portal: with a policy that keeps team-b's entities to team-b, Breanna
//! (team-a) finds them on no page — not their own pages, not lists, search, counts, graphs,
//! queries, dashboards or other entities' relations — while an admin still does. A probe per
//! page; each also checks what she may see is there, so none passes by showing nothing.

use portico_server::auth::{AuthConfig, AuthMode};
use portico_store::testing::TestDb;
use serde_json::json;

use crate::common::{WebApp, plain};

const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";

/// What team-b owns, as the pages link and name it.
const HIDDEN: &[&str] = &["podcast-api", "queue-proxy", "starwars-graphql", "/catalog/default/system/podcast\"", "system:default/podcast"];

async fn portal() -> (WebApp, String, String) {
    let policy = json!({"combine": "firstMatch", "rules": [
        {"name": "admins", "effect": "allow", "permissions": ["*"], "when": "user.admin"},
        {"name": "team-b-private", "effect": "deny", "permissions": ["catalog.entity.read"],
         "when": "entity != null && entity.has_relation('ownedBy', 'group:default/team-b') && !('group:default/team-b' in user.groups)"},
        {"name": "read", "effect": "allow", "when": "user.signedIn",
         "permissions": ["catalog.entity.read", "catalog.location.read", "discovery.read", "query.run", "query.saved.read", "analytics.read"]}
    ]});
    let auth = AuthConfig {
        mode: AuthMode::Token,
        bootstrap_token: Some(BOOTSTRAP.into()),
        admin_groups: vec!["group:default/team-b".into()],
        policy: serde_json::from_value(policy).unwrap(),
        ..Default::default()
    };
    let app = WebApp::spawn_with_auth(TestDb::sqlite().await, 0, auth).await;
    let token = |user: &str| {
        let req = app.client.post(format!("{}/api/v1/tokens", app.url)).bearer_auth(BOOTSTRAP).json(&json!({"name": "t", "scopes": ["read"], "user": user}));
        async move { req.send().await.unwrap().json::<serde_json::Value>().await.unwrap()["secret"].as_str().unwrap().to_owned() }
    };
    let breanna = token("user:default/breanna.davison").await;
    let amelia = token("user:default/amelia.park").await;
    (app, breanna, amelia)
}

async fn page(app: &WebApp, token: &str, path: &str) -> (u16, String) {
    let res = app.client.get(format!("{}{path}", app.url)).bearer_auth(token).send().await.unwrap();
    (res.status().as_u16(), plain(&res.text().await.unwrap()))
}

fn assert_hidden(path: &str, html: &str) {
    for h in HIDDEN {
        assert!(!html.contains(h), "{path} shows {h}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hidden_entity_is_on_no_page_of_the_portal() {
    let (app, breanna, amelia) = portal().await;

    // Its own pages answer as a missing entity's do.
    for (hidden, missing) in [
        ("/catalog/default/component/podcast-api", "/catalog/default/component/no-such-api"),
        ("/catalog/default/component/podcast-api/history", "/catalog/default/component/no-such-api/history"),
        ("/catalog/default/component/podcast-api/docs", "/catalog/default/component/no-such-api/docs"),
        ("/catalog/default/component/podcast-api/graph.svg", "/catalog/default/component/no-such-api/graph.svg"),
        ("/catalog/default/component/podcast-api/unregister", "/catalog/default/component/no-such-api/unregister"),
    ] {
        let (status, html) = page(&app, &breanna, hidden).await;
        let (unknown_status, unknown) = page(&app, &breanna, missing).await;
        assert_eq!((status, html.replace("podcast-api", "NAME")), (unknown_status, unknown.replace("no-such-api", "NAME")), "{hidden}");
        assert_eq!(status, 404, "{hidden}");
        assert_eq!(page(&app, &amelia, hidden).await.0, 200, "{hidden} for an admin");
    }

    // Pages that list, count, draw or search: without it, with what she may see.
    let checks: &[(&str, &str)] = &[
        ("/catalog?kind=component", "artist-lookup"),
        ("/catalog/default/group/team-b", "team-b"),
        ("/catalog/default/domain/playback", "audio-playback"),
        ("/search?q=podcast", "results"),
        ("/search?q=artist", "artist-lookup"),
        ("/graph?ref=group:default/team-b&depth=2", "team-b"),
        ("/graph.svg?ref=domain:default/playback&depth=3", "audio-playback"),
        ("/query?q=kind+%3D%3D+%27Component%27", "artist-lookup"),
        ("/query?q=kind+%3D%3D+%27Component%27&view=graph", "artist-lookup"),
        ("/query.csv?q=kind+%3D%3D+%27Component%27", "artist-lookup"),
        ("/me?team=team-b", "Team team-b"),
        ("/", "Component"),
        ("/dashboards", "Entities"),
    ];
    for (path, present) in checks {
        let (status, html) = page(&app, &breanna, path).await;
        assert_eq!(status, 200, "{path}: {html}");
        assert!(html.contains(present), "{path} still shows {present}");
        assert_hidden(path, &html);
        let (_, admin) = page(&app, &amelia, path).await;
        if !path.starts_with("/dashboards") && *path != "/" && !path.starts_with("/search?q=artist") {
            assert!(HIDDEN.iter().any(|h| admin.contains(h)), "{path} shows team-b's entities to an admin: the probe can see them");
        }
    }

    // Counts: 11 of the 13 components, in the catalog's tabs and the query's total.
    let (_, html) = page(&app, &breanna, "/catalog?kind=component").await;
    assert!(html.contains(r#"Component <span class="count">11</span></a>"#) && html.contains(r#"Component <span class="count">11</span></h2>"#), "{html}");
    let (_, html) = page(&app, &breanna, "/query?q=kind+%3D%3D+%27Component%27").await;
    assert!(html.contains("11 matching entities"), "{html}");
}
