//! "My team" and stars, as the demo's guest (no sign-in, so no "me": a team is picked). The
//! signed-in view is in `sign_in.rs`.

use crate::common::{WebApp, plain};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_team_shows_what_it_owns_with_errors_and_a_chart_and_the_guest_is_told_there_is_no_me() {
    let app = WebApp::spawn().await;
    let (status, html) = app.get("/me").await;
    assert_eq!(status, 200);
    let text = plain(&html);
    assert!(text.contains("Nobody is signed in"), "{text}");
    assert!(text.contains("Nothing starred yet"));

    let (status, html) = app.get("/me?team=team-a").await;
    assert_eq!(status, 200, "{html}");
    let text = plain(&html);
    assert!(text.contains("Team team-a"), "a team named without its kind is a group");
    let owned = app.get("/api/catalog/entities?filter=relations.ownedBy=group:default/team-a&fields=kind").await.1;
    let owned = serde_json::from_str::<serde_json::Value>(&owned).unwrap().as_array().unwrap().len();
    assert!(owned > 5, "the example catalog gives team-a things to own");
    assert!(text.contains(&format!("{owned} entities")), "every entity team-a owns: {text}");
    assert!(text.contains(r#"href="/catalog/default/component/artist-lookup""#), "{text}");
    assert!(text.contains("What it owns, by kind") && text.contains("/catalog?kind=component&owner=group%3Adefault%2Fteam-a"), "a bar per kind, linked to the catalog filtered");

    let (status, html) = app.get("/me?team=group:default/nobody-here").await;
    assert_eq!(status, 404);
    assert!(plain(&html).contains("there is no group group:default/nobody-here"));
    assert_eq!(app.get("/me?team=a:b:c/d").await.0, 400);
    assert_eq!(app.get("/me?teams=x").await.0, 400, "unknown parameters are named");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_star_from_an_entity_page_shows_on_my_team_and_comes_off_again() {
    let app = WebApp::spawn().await;
    let (_, html) = app.get("/catalog/default/component/artist-lookup").await;
    assert!(html.contains("☆ Star") && html.contains(r#"value="on""#), "not starred yet");
    let (status, _) = app.post_form("/catalog/default/component/artist-lookup/star", &[("star", "on")]).await;
    assert_eq!(status, 200, "a 303 back to the entity, followed");
    let (_, html) = app.get("/catalog/default/component/artist-lookup").await;
    assert!(html.contains("★ Starred") && html.contains(r#"aria-pressed="true""#));
    let (_, html) = app.get("/me").await;
    assert!(plain(&html).contains(r#"href="/catalog/default/component/artist-lookup""#), "listed under Starred");

    app.post_form("/catalog/default/component/artist-lookup/star", &[("star", "off")]).await;
    let (_, html) = app.get("/me").await;
    assert!(plain(&html).contains("Nothing starred yet"));
    assert_eq!(app.post_form("/catalog/default/component/artist-lookup/star", &[("star", "maybe")]).await.0, 400);
    assert_eq!(app.post_form("/catalog/default/component/nope/star", &[("star", "on")]).await.0, 404);
}
