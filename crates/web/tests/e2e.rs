//! End-to-end tests in a real browser: Debian's `chromium`, headless, driven through
//! `chromedriver` against the portal on a random loopback port holding Backstage's example
//! catalog. A screenshot of each main page is saved under `$CARGO_TARGET_TMPDIR/e2e-screenshots/`.
//!
//! Without chromium and chromedriver installed the tests skip, saying so; with
//! `PORTICO_TEST_REQUIRE_BROWSER=1` (as `.ci/run` sets) they fail instead.

mod common;
#[path = "e2e/webdriver.rs"]
mod webdriver;

use std::path::PathBuf;

use common::WebApp;
use webdriver::Browser;

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("e2e-screenshots")
}

/// The browser, or `None` (with a message) when the test should skip.
async fn browser() -> Option<Browser> {
    match webdriver::installed() {
        Some((browser, driver)) => Some(Browser::start(&browser, &driver).await),
        None if std::env::var_os("PORTICO_TEST_REQUIRE_BROWSER").is_some_and(|v| v == "1") => {
            panic!("chromium and chromedriver are required (PORTICO_TEST_REQUIRE_BROWSER=1): apt-get install chromium chromium-driver")
        }
        None => {
            eprintln!("skipping browser test: chromium and chromedriver are not installed (apt-get install chromium chromium-driver)");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_browses_filters_opens_an_entity_follows_a_relation_and_clicks_the_graph() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;
    let shots = screenshots();

    // Home.
    b.goto(&app.url).await;
    b.find("svg.chart").await;
    b.screenshot(&shots, "home").await;

    // The catalog, filtered by a facet.
    b.click("nav[aria-label=Main] a[href='/catalog']").await;
    b.wait_for_url("the catalog", |u| u.ends_with("/catalog")).await;
    b.click("[data-facet=owner] a[data-value=team-a]").await;
    b.wait_for_url("the owner filter in the URL", |u| u.contains("owner=team-a")).await;
    let owners = b.script("return [...document.querySelectorAll('.catalog-table tbody tr')].map(r => r.cells[2].innerText);", serde_json::json!([])).await;
    let owners: Vec<&str> = owners.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(!owners.is_empty() && owners.iter().all(|o| *o == "team-a"), "{owners:?}");
    b.screenshot(&shots, "catalog").await;

    // An entity, then one of its relations.
    b.click("a.entity-name[href='/catalog/default/component/artist-lookup']").await;
    b.wait_for_url("the entity page", |u| u.ends_with("/catalog/default/component/artist-lookup")).await;
    assert!(b.text("h1").await.contains("artist-lookup"));
    b.screenshot(&shots, "entity").await;
    b.click("#relations a[href='/catalog/default/system/artist-engagement-portal']").await;
    b.wait_for_url("the system page", |u| u.ends_with("/system/artist-engagement-portal")).await;
    assert!(b.text("h1").await.contains("artist-engagement-portal"));

    // A node of the relation graph leads to its entity.
    b.click("#graph a.node-link[data-ref='component:default/www-artist'] circle").await;
    b.wait_for_url("the clicked node's page", |u| u.ends_with("/component/www-artist")).await;

    // Depth and relation types are switched from the graph's controls.
    b.click("#graph a.chip[data-depth='2']").await;
    b.wait_for_url("depth 2", |u| u.contains("depth=2")).await;
    b.click("#graph a.chip[data-rel='ownedBy']").await;
    b.wait_for_url("the relation filter", |u| u.contains("rel=ownedBy")).await;
    let nodes = b.script("return document.querySelectorAll('#graph .node').length;", serde_json::json!([])).await;
    assert_eq!(nodes.as_u64(), Some(2), "only the owner is reached through ownedBy");

    // The explorer, in the dark theme.
    b.goto(&format!("{}/graph?ref=system:artist-engagement-portal&depth=2", app.url)).await;
    b.find("#graph svg.relation-graph").await;
    b.click("[data-theme-toggle]").await;
    b.screenshot(&shots, "graph-explorer-dark").await;
    b.click("[data-theme-toggle]").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_finds_an_entity_despite_a_typo_as_they_type() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;

    b.goto(&app.url).await;
    b.type_into("#top-q", "/").await; // "/" in a text box is text, not the shortcut
    b.goto(&format!("{}/search", app.url)).await;
    b.type_into("#q", "artst-lookp").await;
    b.wait_for_text("#results", |t| t.contains("artist-lookup")).await;
    b.wait_for_url("the query in the URL", |u| u.contains("q=artst-lookp")).await;
    let first = b.script("return document.querySelector('#results .hit-title').getAttribute('href');", serde_json::json!([])).await;
    assert_eq!(first.as_str(), Some("/catalog/default/component/artist-lookup"), "the misspelt entity comes first");
    b.screenshot(&screenshots(), "search").await;
    b.click("#results .hit-title").await;
    b.wait_for_url("the entity page", |u| u.ends_with("/component/artist-lookup")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_registers_a_location_after_a_dry_run() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;

    b.goto(&format!("{}/register", app.url)).await;
    b.type_into("#target", &app.import_path().display().to_string()).await;
    b.click("button[value=preview]").await;
    b.wait_for_text("#outcome-heading", |t| t.contains("Preview: 2 entities")).await;
    assert!(app.state.catalog.read().get("component:default/checkout-service").is_none(), "a dry run writes nothing");
    b.screenshot(&screenshots(), "register-preview").await;

    b.click("form.inline button[value=import]").await;
    b.wait_for_text("#outcome-heading", |t| t.contains("Imported: 2 entities")).await;
    b.screenshot(&screenshots(), "register-imported").await;
    b.click("a[href='/catalog/default/component/checkout-service']").await;
    b.wait_for_url("the imported entity's page", |u| u.ends_with("/component/checkout-service")).await;
    assert!(b.text("h1").await.contains("checkout-service"));
}
