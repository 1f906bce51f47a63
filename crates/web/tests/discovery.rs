//! The discovery pages over real sources: a git monorepo the test builds (with the `git` CLI)
//! and a Terraform state on disk. Discovery page, drift page, the Docs tab and provenance on
//! entity pages, and their bad inputs.

mod common;

use common::{WebApp, plain};
use portico_discovery::engine::Trigger;
use serde_json::json;

async fn discovered() -> (WebApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("shop");
    portico_testkit::repos::monorepo(&repo);
    let state = dir.path().join("prod.tfstate");
    std::fs::write(&state, portico_testkit::tfstate::synthetic_state(20)).unwrap();
    let app = WebApp::spawn_with_sources(&[
        json!({"name": "repos", "type": "git", "interval": "10m", "repositories": [repo.display().to_string()]}),
        json!({"name": "infra", "type": "terraform", "states": [state.display().to_string()]}),
    ])
    .await;
    for source in ["repos", "infra"] {
        let run = app.state.discovery.run(source, Trigger::Manual, None, None).await.unwrap();
        assert_ne!(run.status, "failed", "{run:?}");
    }
    app.wait_for_search().await;
    (app, dir)
}

#[tokio::test]
async fn the_discovery_page_shows_sources_runs_and_a_run_button() {
    let (app, _dir) = discovered().await;
    let (status, html) = app.get("/discovery").await;
    let html = plain(&html);
    assert_eq!(status, 200);
    assert!(html.contains("repos") && html.contains("infra") && html.contains("terraform"), "{html}");
    assert!(html.contains("every 10m"), "the schedule is shown");
    assert!(html.contains("entities changed per run"), "a chart of the runs");
    assert!(html.contains("action=\"/discovery/repos/run\""), "a run-now button");
    let (status, _) = app.post_form("/discovery/repos/run", &[]).await;
    assert_eq!(status, 200, "the button starts a run and comes back to the page");
}

#[tokio::test]
async fn entity_pages_show_provenance_and_docs() {
    let (app, _dir) = discovered().await;
    let (status, html) = app.get("/catalog/default/component/cart").await;
    let html = plain(&html);
    assert_eq!(status, 200);
    assert!(html.contains("id=\"provenance\""), "{html}");
    assert!(html.contains("repos · declared"), "the descriptor's source and evidence: {html}");
    assert!(html.contains("/catalog/default/component/cart/docs"), "a Docs tab");

    // An inferred entity's provenance names the file and line inside the repository that set
    // a field (its name: the manifest or the deployment line that named it).
    let search = app.state.catalog.read().get("component:default/search").cloned().expect("search is inferred");
    let name_from = search.entity.status.as_ref().and_then(|s| s.pointer("/facts/discovery.nameFrom")).and_then(|v| v.as_str()).unwrap().to_owned();
    let (_, html) = app.get("/catalog/default/component/search").await;
    assert!(html.contains(&format!("<small class=\"muted\"><code>{name_from}</code></small>")), "{name_from} in {html}");

    let (status, docs) = app.get("/catalog/default/component/cart/docs").await;
    assert_eq!(status, 200);
    assert!(plain(&docs).contains("<h1>Cart</h1>"), "the README is rendered: {docs}");
    let (status, _) = app.get("/catalog/default/component/cart/docs?path=nope.md").await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/catalog/default/component/nope/docs").await;
    assert_eq!(status, 404);
    let (status, _) = app.get("/catalog/default/component/cart/docs?bogus=1").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn the_drift_page_groups_items_with_links() {
    let (app, _dir) = discovered().await;
    let (status, html) = app.get("/drift").await;
    let html = plain(&html);
    assert_eq!(status, 200);
    assert!(html.contains("Drift by kind"), "a chart");
    assert!(html.contains("Owner does not exist"), "{html}");
    assert!(html.contains("id=\"missingOwner\""));
    let (status, _) = app.get("/drift?bogus=1").await;
    assert_eq!(status, 400);
    let (status, _) = app.post_form("/discovery/nope/run", &[]).await;
    assert_eq!(status, 404);
    let (_, dashboards) = app.get("/dashboards").await;
    assert!(plain(&dashboards).contains("/drift#"), "dashboards link the drift counts");
}

#[tokio::test]
async fn search_finds_words_of_discovered_docs() {
    let (app, _dir) = discovered().await;
    let (_, html) = app.get("/search?q=keeps").await;
    assert!(plain(&html).contains("/catalog/default/component/cart"), "{html}");
}

/// The portal's Run now button was a way around a source's webhook secret.
#[tokio::test]
async fn run_now_on_a_source_with_a_webhook_secret_asks_for_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("prod.tfstate");
    std::fs::write(&state, portico_testkit::tfstate::synthetic_state(3)).unwrap();
    let app = WebApp::spawn_with_sources(&[json!({"name": "infra", "type": "terraform", "webhookSecret": "s3cret", "states": [state.display().to_string()]})]).await;
    let (_, html) = app.get("/discovery").await;
    assert!(html.contains("name=\"secret\" type=\"password\""), "the form asks for it");
    let (status, html) = app.post_form("/discovery/infra/run", &[]).await;
    assert_eq!(status, 403, "{html}");
    let (status, _) = app.post_form("/discovery/infra/run", &[("secret", "wrong")]).await;
    assert_eq!(status, 403);
    assert!(app.state.discovery.runs(Some("infra"), 10).await.unwrap().is_empty(), "nothing ran");
    let (status, _) = app.post_form("/discovery/infra/run", &[("secret", "s3cret")]).await;
    assert_eq!(status, 200);
}
