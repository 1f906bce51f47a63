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
use serde_json::json;
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
    b.find(".bar-chart").await;
    b.screenshot(&shots, "home").await;

    // The catalog, filtered by a facet.
    b.click("nav[aria-label=Main] a[href='/catalog']").await;
    b.wait_for_url("the catalog", |u| u.ends_with("/catalog")).await;
    b.click("[data-facet=owner] a[data-value=team-a]").await;
    b.wait_for_url("the owner filter in the URL", |u| u.contains("owner=team-a")).await;
    let owners = b.script("return [...document.querySelectorAll('.catalog-table tbody tr')].map(r => r.cells[2].innerText);", json!([])).await;
    let owners: Vec<&str> = owners.as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert!(!owners.is_empty() && owners.iter().all(|o| *o == "team-a"), "{owners:?}");
    b.screenshot(&shots, "catalog").await;
    // A facet chip is a checkbox to the keyboard too: Space unchecks it.
    b.focus("[data-facet=owner] a[data-value=team-a][aria-checked=true]").await;
    b.press(" ").await;
    b.wait_for_url("the owner filter gone", |u| !u.contains("owner=")).await;
    let checked = b.script("return document.querySelector('[data-facet=owner] a[data-value=team-a]').getAttribute('aria-checked');", json!([])).await;
    assert_eq!(checked.as_str(), Some("false"));

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
    let nodes = b.script("return document.querySelectorAll('#graph .node').length;", json!([])).await;
    assert_eq!(nodes.as_u64(), Some(2), "only the owner is reached through ownedBy");

    // The explorer: its graph fits the box from the keyboard, then the dark theme.
    b.goto(&format!("{}/graph?ref=system:artist-engagement-portal&depth=2", app.url)).await;
    b.find("#graph svg.relation-graph").await;
    b.focus("#graph [data-graph-fit]").await;
    b.press("\u{E007}").await; // Enter
    let fit = b.script("return [document.querySelector('#graph svg').classList.contains('fit'), document.querySelector('[data-graph-fit]').getAttribute('aria-pressed')];", json!([])).await;
    assert_eq!(fit, json!([true, "true"]), "the button fits the graph and says so");
    // Zoom: + makes the drawing larger than its full size and says by how much; dragging pans.
    let width = "return [document.querySelector('#graph svg').getBoundingClientRect().width, Number(document.querySelector('#graph svg').getAttribute('width'))];";
    b.click("#graph [data-graph-zoom=in]").await;
    b.click("#graph [data-graph-zoom=in]").await;
    let zoomed = b.script(width, json!([])).await;
    let (shown, full) = (zoomed[0].as_f64().unwrap(), zoomed[1].as_f64().unwrap());
    assert!((shown / full - 1.5625).abs() < 0.01, "two steps of 25%: {zoomed}");
    assert_eq!(b.text("#graph [data-graph-zoom-level]").await, "156%");
    let pan = r#"const c = document.querySelector('#graph .graph-canvas'); const before = c.scrollLeft;
        const at = (type, x) => c.dispatchEvent(new PointerEvent(type, {clientX: x, clientY: 300, button: 0, bubbles: true}));
        at('pointerdown', 400); at('pointermove', 300); at('pointerup', 300); return c.scrollLeft - before;"#;
    assert_eq!(b.script(pan, json!([])).await.as_f64(), Some(100.0), "dragging 100 px left shows 100 px more to the right");
    let theme = "return [document.documentElement.dataset.theme || null, document.querySelector('[data-theme-toggle]').getAttribute('aria-pressed')];";
    assert_eq!(b.script(theme, json!([])).await, json!([null, "false"]), "light, as the system is");
    b.click("[data-theme-toggle]").await;
    assert_eq!(b.script(theme, json!([])).await, json!(["dark", "true"]));
    b.screenshot(&shots, "graph-explorer-dark").await;
    b.click("[data-theme-toggle]").await;
    assert_eq!(b.script(theme, json!([])).await, json!(["light", "false"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_finds_an_entity_despite_a_typo_as_they_type() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;

    // "/" anywhere focuses the search box; in the box, it is text.
    b.goto(&format!("{}/catalog", app.url)).await;
    b.find("#top-q").await;
    b.press("/").await;
    let focused = "return [document.activeElement.id, document.activeElement.value];";
    assert_eq!(b.script(focused, json!([])).await, json!(["top-q", ""]), "the shortcut focuses the box and types nothing");
    b.press("/").await;
    assert_eq!(b.script(focused, json!([])).await, json!(["top-q", "/"]));

    b.goto(&format!("{}/search", app.url)).await;
    b.type_into("#q", "artst-lookp").await;
    b.wait_for_text("#results", |t| t.contains("artist-lookup")).await;
    b.wait_for_url("the query in the URL", |u| u.contains("q=artst-lookp")).await;
    let first = b.script("return document.querySelector('#results .hit-title').getAttribute('href');", json!([])).await;
    assert_eq!(first.as_str(), Some("/catalog/default/component/artist-lookup"), "the misspelt entity comes first");
    b.screenshot(&screenshots(), "search").await;

    // A failing request leaves the results and says why, in one line.
    b.script(
        "window.fetch = () => Promise.resolve(new Response('<section class=\"error-page\"><p class=\"message\">the index is on fire</p></section>', {status: 500}));",
        json!([]),
    )
    .await;
    b.type_into("#q", "u").await;
    let notice = b.wait_for_text("#search-error", |t| !t.is_empty()).await;
    assert!(notice.contains("the index is on fire"), "{notice}");
    assert!(b.text("#results").await.contains("artist-lookup"), "the last results stay");
    assert!(!b.text("#results").await.contains("on fire"), "the error page is not pasted into the results");

    b.click("#results .hit-title").await;
    b.wait_for_url("the entity page", |u| u.ends_with("/component/artist-lookup")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_systems_dark_setting_colours_code_and_http_methods_too() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;
    b.cdp("Emulation.setEmulatedMedia", json!({"features": [{"name": "prefers-color-scheme", "value": "dark"}]})).await;

    b.goto(&format!("{}/catalog/default/api/petstore", app.url)).await;
    let method = b.script("return getComputedStyle(document.querySelector('.method-get')).color;", json!([])).await;
    let pressed = b.script("return document.querySelector('[data-theme-toggle]').getAttribute('aria-pressed');", json!([])).await;
    b.goto(&format!("{}/catalog/default/api/starwars-graphql", app.url)).await;
    let keyword = b.script("return getComputedStyle(document.querySelector('.tok-keyword')).color;", json!([])).await;

    assert_eq!(method.as_str(), Some("rgb(105, 219, 124)"), "GET in the dark theme's green");
    assert_eq!(keyword.as_str(), Some("rgb(229, 153, 247)"), "keywords in the dark theme's purple");
    assert_eq!(pressed.as_str(), Some("true"), "the theme toggle says the page is dark");
    b.screenshot(&screenshots(), "api-system-dark").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_registers_a_location_after_a_dry_run() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;

    b.goto(&format!("{}/register", app.url)).await;
    b.type_into("#target", &app.import_path().display().to_string()).await;
    b.click("button[value=preview]").await;
    b.wait_for_text("#outcome-heading", |t| t.contains("Preview: 3 entities")).await;
    assert!(app.state.catalog.read().get("component:default/checkout-service").is_none(), "a dry run writes nothing");
    b.screenshot(&screenshots(), "register-preview").await;

    b.click("form.inline button[value=import]").await;
    b.wait_for_text("#outcome-heading", |t| t.contains("Imported: 3 entities")).await;
    b.screenshot(&screenshots(), "register-imported").await;
    b.click("a[href='/catalog/default/component/checkout-service']").await;
    b.wait_for_url("the imported entity's page", |u| u.ends_with("/component/checkout-service")).await;
    assert!(b.text("h1").await.contains("checkout-service"));

    // A second version, and its history compares the last two.
    std::fs::write(app.import_path(), common::TO_IMPORT.replace("Takes orders and payments", "Takes orders")).unwrap();
    app.state.locations.refresh_all().await.unwrap();
    b.click("a[href='/catalog/default/component/checkout-service/history']").await;
    b.wait_for_text("#diff-heading", |t| t.contains("From v1 to v2")).await;
    assert!(b.text(".diff ins").await.contains("Takes orders"));
    b.screenshot(&screenshots(), "history").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_developer_scaffolds_a_service_into_a_git_repository() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;
    app.import_demo_template("python-service").await;
    app.import_demo_template("add-runbook").await;
    let dir = screenshots();
    let mut problems = Vec::new();
    let mut check = async |name: &str| {
        for width in [1366, 360] {
            b.emulate_width(width).await;
            let out = b.script(OVERFLOWS, json!([])).await;
            problems.extend(out.as_array().unwrap().iter().map(|o| format!("{name} at {width}px: {}", o.as_str().unwrap())));
            b.screenshot_at(&dir, name, width).await;
        }
        b.reset_width().await;
    };

    b.goto(&format!("{}/", app.url)).await;
    b.click("a[href='/create']").await;
    b.wait_for_text("h1", |t| t == "Create").await;
    check("create").await;
    b.click("a.button[href='/create/default/python-service']").await;
    b.wait_for_text("h1", |t| t.contains("Python service")).await;
    check("create-form").await;

    // A form of two pages, one at a time. A name the form refuses, and no owner: each problem
    // at its field as the page is left, and Next goes nowhere.
    const NEXT: &str = "fieldset.form-page:not([hidden]) .page-nav button:not(.secondary)";
    assert!(b.script("return document.querySelector('#page-2').hidden && document.querySelector('button[value=review]').closest('[hidden]') !== null", json!([])).await == json!(true), "page 2 and the buttons wait");
    b.type_into("#p-name", "Billing").await;
    b.click(NEXT).await;
    b.wait_for_text("#p-name-error", |t| t.contains("does not match")).await;
    assert!(b.text("#p-owner-error").await.contains("required"));
    assert_eq!(b.script("return document.querySelector('#page-1').hidden", json!([])).await, json!(false), "still on page 1");
    check("create-form-errors").await;

    b.script("document.querySelector('#p-name').value = 'billing'; document.querySelector('#p-owner').value = 'group:default/team-a';", json!([])).await;
    b.click(NEXT).await;
    b.wait_for_text("fieldset.form-page:not([hidden]) legend", |t| t.contains("How it runs")).await;
    check("create-form-page-2").await;
    b.click("button[value=review]").await;
    b.wait_for_text("#review-heading", |t| t.contains("completed")).await;
    let review = b.text("main").await;
    assert!(review.contains("src/billing/__main__.py") && review.contains("a dry run does not run publish:git"), "{review}");
    assert!(!app.extra.path().join("git/billing.git").exists(), "a review publishes nothing");
    check("create-review").await;

    b.click("button[value=run]").await;
    b.wait_for_url("the run's page", |u| u.contains("/create/runs/")).await;
    b.wait_for_text("[data-run-status]", |t| t == "completed").await;
    let page = b.text("main").await;
    assert!(page.contains("pushed") && page.contains("Repository"), "{page}");
    check("create-run").await;
    let bare = app.extra.path().join("git/billing.git");
    let out = std::process::Command::new("git").args(["--git-dir", &bare.display().to_string(), "show", "main:catalog-info.yaml"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("owner: group:default/team-a"), "{}", String::from_utf8_lossy(&out.stderr));

    // A day-2 action from an entity's page: its Actions card, the form on that entity, a run.
    b.goto(&format!("{}/catalog/default/component/artist-lookup", app.url)).await;
    b.click("#actions a.button").await;
    b.wait_for_text("main .banner", |t| t.contains("component:default/artist-lookup")).await;
    check("create-day-2").await;
    b.click("button[value=run]").await;
    b.wait_for_url("the run's page", |u| u.contains("/create/runs/")).await;
    b.wait_for_text("[data-run-status]", |t| t == "completed").await;
    b.goto(&format!("{}/catalog/default/component/artist-lookup", app.url)).await;
    assert!(b.text("#actions").await.contains("completed"), "the entity's run history");
    let runbook = app.extra.path().join("git/artist-lookup-runbook.git");
    let out = std::process::Command::new("git").args(["--git-dir", &runbook.display().to_string(), "show", "add-runbook:docs/runbook.md"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("# Runbook: artist-lookup"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(problems.is_empty(), "what sticks out (screenshots in {}):\n{}", dir.display(), problems.join("\n"));
}

/// An approver's day: a run Breanna asked for waits for team-a; Janelle (team-a) finds it in
/// her approvals inbox, approves it with a comment, and the run goes on. (Janelle is signed in
/// with an API token the browser sends, since this server runs without sign-in.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approver_approves_a_waiting_run_from_the_inbox() {
    use portico_server::auth::{NewToken, Principal, create_token};
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;
    app.import("approved-deploy", "apiVersion: scaffolder.backstage.io/v1beta3\nkind: Template\nmetadata: { name: approved-deploy, title: Deploy with approval }\nspec:\n  type: deploy\n  steps:\n    - id: approve\n      name: Team A approves\n      action: approval:wait\n      input: { approvers: team-a, message: 'Deploy artist-lookup 2.4.0 to production: the release notes are in the change ticket' }\n    - id: deploy\n      name: Deploy\n      action: debug:log\n      input: { message: 'deploying, approved by ${{ steps.approve.output.approvedBy | join(\", \") }}' }\n").await;
    let t = portico_actions::template::find(&app.state.catalog.read(), "approved-deploy").unwrap();
    let run = app.state.runs.submit(&t, &json!({}), "user:default/breanna.davison", json!({"ref": "user:default/breanna.davison"}), None).await.unwrap();
    for _ in 0..200 {
        if app.state.runs.view(&run.id).await.unwrap().unwrap().status == "waiting" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let request = NewToken { name: "t".into(), scopes: vec!["write".into()], expires_in_days: None, service: None, user: Some("user:default/janelle.dawe".into()) };
    let (_, secret) = create_token(app.state.catalog.store().as_ref(), &app.state.auth, app.state.catalog.graph(), &Principal::local_admin(), request).await.unwrap();
    b.cdp("Network.enable", json!({})).await;
    b.cdp("Network.setExtraHTTPHeaders", json!({"headers": {"Authorization": format!("Bearer {secret}")}})).await;
    let dir = screenshots();
    let mut problems = Vec::new();

    b.goto(&format!("{}/create", app.url)).await;
    b.click("a[href='/create/approvals']").await;
    b.wait_for_text("h1", |t| t == "Approvals").await;
    let inbox = b.text("main").await;
    assert!(inbox.contains("Deploy artist-lookup 2.4.0") && inbox.contains("user:default/breanna.davison") && inbox.contains("1 of group:default/team-a"), "{inbox}");
    for width in [1366, 360] {
        b.emulate_width(width).await;
        let out = b.script(OVERFLOWS, json!([])).await;
        problems.extend(out.as_array().unwrap().iter().map(|o| format!("approvals at {width}px: {}", o.as_str().unwrap())));
        b.screenshot_at(&dir, "approvals", width).await;
    }
    b.reset_width().await;
    b.type_into("main textarea[name=comment]", "Release notes read; go ahead.").await;
    b.click("main button[value=approve]").await;
    b.wait_for_url("the run's page", |u| u.contains(&format!("/create/runs/{}", run.id))).await;
    b.wait_for_text("[data-run-status]", |t| t == "completed").await;
    let page = b.text("main").await;
    assert!(page.contains("approved") && page.contains("user:default/janelle.dawe") && page.contains("Release notes read; go ahead."), "{page}");
    for width in [1366, 360] {
        b.emulate_width(width).await;
        let out = b.script(OVERFLOWS, json!([])).await;
        problems.extend(out.as_array().unwrap().iter().map(|o| format!("approved run at {width}px: {}", o.as_str().unwrap())));
        b.screenshot_at(&dir, "approved-run", width).await;
    }
    b.reset_width().await;
    let log = app.state.runs.store().run_log(&run.id, 0, 100).await.unwrap();
    assert!(log.iter().any(|l| l.line == "deploying, approved by user:default/janelle.dawe"), "{log:?}");
    b.cdp("Network.setExtraHTTPHeaders", json!({"headers": {}})).await;
    assert!(problems.is_empty(), "what sticks out (screenshots in {}):\n{}", dir.display(), problems.join("\n"));
}

/// What sticks out at the current width, with every folded section unfolded: the page wider
/// than the screen, an element reaching past the card that holds it (scrolling boxes such as
/// tables and code excepted), or, on a phone, a table meant to show its rows as cards there
/// that still scrolls sideways.
const OVERFLOWS: &str = r#"
for (const d of document.querySelectorAll('main details')) d.open = true;
const width = document.documentElement.clientWidth;
const out = [];
const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\s+/).join('.') : '');
if (document.documentElement.scrollWidth > width + 1) out.push('the page is ' + document.documentElement.scrollWidth + 'px wide on a ' + width + 'px screen');
if (width < 600) for (const t of document.querySelectorAll('main table.cards-on-phone')) {
  const wrap = t.closest('.table-wrap') || t.parentElement;
  if (wrap.scrollWidth <= wrap.clientWidth + 1) continue;
  const widest = [...t.querySelectorAll('*')].reduce((a, el) => (!a || el.getBoundingClientRect().right > a.getBoundingClientRect().right ? el : a), null);
  out.push(name(t) + ' scrolls sideways (' + wrap.scrollWidth + 'px in ' + wrap.clientWidth + 'px) instead of showing cards; widest: ' + name(widest) + ' ' + JSON.stringify((widest.textContent || '').slice(0, 60)));
}
for (const el of document.querySelectorAll('main *')) {
  if (el.closest('.table-wrap, pre, .graph-canvas, .completion, .visually-hidden, svg')) continue;
  const r = el.getBoundingClientRect();
  if (r.width === 0 || r.height === 0) continue;
  const card = el.parentElement && el.parentElement.closest('.card');
  if (r.right > width + 1) { out.push(name(el) + ' ends at ' + Math.round(r.right) + 'px, past the screen'); continue; }
  if (card) {
    const c = card.getBoundingClientRect();
    if (r.right > c.right + 1) out.push(name(el) + ' ends at ' + Math.round(r.right) + 'px, past its card at ' + Math.round(c.right) + 'px');
  }
  if (out.length > 12) break;
}
return out;
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_fits_a_desktop_and_a_phone_screen() {
    let Some(b) = browser().await else { return };
    let app = WebApp::spawn().await;
    seed_audit(&app).await;
    app.import("scorecards", include_str!("../../cli/demo/scorecards.yaml")).await;
    // Signed in, with a long name, and a star: every page's top bar carries the name and its
    // "Sign out" button, which must fit a phone too.
    let (_, secret) = portico_testkit::oidc::session_for(&app.state, "user:default/breanna.davison", "Breanna Davison-Montgomery").await;
    b.cdp("Network.setCookie", json!({"name": "portico_session", "value": secret, "url": app.url, "httpOnly": true, "sameSite": "Lax"})).await;
    app.state.catalog.store().star("user:default/breanna.davison", "component:default/artist-lookup", portico_catalog::now_ms()).await.unwrap();
    // Delivery history, so that the entity page's DORA card and /dora are drawn.
    let time = |hours_ago: i64| (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
    let events: Vec<serde_json::Value> = (0..40)
        .map(|d| json!({"type": "deployment", "id": format!("e2e-{d}"), "entity": if d % 3 == 0 { "podcast-api" } else { "artist-lookup" },
            "environment": "production", "commitTime": time(d * 40 + 5 + d % 7), "finishedAt": time(d * 40), "status": if d % 9 == 4 { "rolled_back" } else { "succeeded" }}))
        .chain([json!({"type": "incident", "id": "e2e-inc", "entity": "artist-lookup", "openedAt": time(30), "resolvedAt": time(28)})])
        .collect();
    app.state.recorder.record(&serde_json::Value::Array(events)).await.unwrap();
    let q = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let pages = [
        ("home", "/".to_owned()),
        ("catalog", "/catalog?kind=component".to_owned()),
        ("catalog-users", "/catalog?kind=user".to_owned()),
        ("entity-component", "/catalog/default/component/artist-lookup".to_owned()),
        ("entity-api", "/catalog/default/api/petstore".to_owned()),
        ("entity-group", "/catalog/default/group/team-a".to_owned()),
        ("entity-location", "/catalog/default/location/example-groups".to_owned()),
        ("unregister", "/catalog/default/component/artist-lookup/unregister".to_owned()),
        ("history", "/catalog/default/component/artist-lookup/history".to_owned()),
        ("search", "/search?q=artist".to_owned()),
        ("graph-explorer", "/graph?ref=system:artist-engagement-portal&depth=2".to_owned()),
        ("query-table", format!("/query?q={}&fields=spec.owner%0Aspec.lifecycle", q("kind == 'Component'"))),
        ("query-chart", format!("/query?q={}&groupBy=spec.owner&view=chart", q("kind == 'Component'"))),
        ("query-console", "/query".to_owned()),
        ("dashboards", "/dashboards".to_owned()),
        ("scorecards", "/scorecards".to_owned()),
        ("scorecard", "/scorecards/default/readiness".to_owned()),
        ("dora", "/dora?groupBy=owner".to_owned()),
        ("initiatives", "/initiatives".to_owned()),
        ("initiative", "/initiatives/default/production-at-silver".to_owned()),
        ("team-page", "/me?team=team-a".to_owned()),
        ("discovery", "/discovery".to_owned()),
        ("drift", "/drift".to_owned()),
        ("register", "/register".to_owned()),
        ("audit", "/audit".to_owned()),
        ("my-team", "/me".to_owned()),
        ("login", "/login?signedOut=1".to_owned()),
        ("not-found", "/catalog/default/component/nope".to_owned()),
    ];
    let dir = screenshots();
    let mut problems = Vec::new();
    for width in [1366, 360] {
        b.emulate_width(width).await;
        for (name, path) in &pages {
            b.goto(&format!("{}{path}", app.url)).await;
            b.find("main").await;
            let out = b.script(OVERFLOWS, json!([])).await;
            for o in out.as_array().unwrap() {
                problems.push(format!("{name} at {width}px: {}", o.as_str().unwrap()));
            }
            b.screenshot_at(&dir, name, width).await;
        }
    }
    b.reset_width().await;
    assert!(problems.is_empty(), "what sticks out (screenshots in {}):\n{}", dir.display(), problems.join("\n"));
}

/// A few audit events with long values, as a real log has.
async fn seed_audit(app: &WebApp) {
    let store = app.state.catalog.store();
    for (i, (actor, action, outcome)) in [
        ("user:default/breanna.davison", "catalog.entity.refresh", "allowed"),
        ("user:default/breanna.davison", "catalog.location.delete", "denied"),
        ("service:deployment-pipeline-for-the-payments-platform", "query.saved.update", "failed"),
    ]
    .into_iter()
    .enumerate()
    {
        let event = portico_store::AuditEvent {
            id: 0,
            at: portico_catalog::now_ms() - i as i64 * 60_000,
            actor: actor.into(),
            via: "token".into(),
            action: action.into(),
            target: Some("location:default/generated-0123456789abcdef0123456789abcdef01234567".into()),
            outcome: outcome.into(),
            status: Some(if outcome == "denied" { 403 } else { 200 }),
            request_id: None,
            detail: Some(format!("DELETE /api/catalog/locations/0c1d2e3f-4a5b-6c7d-8e9f-0a1b2c3d4e5f: {actor} may not {action}: no rule of the policy allows it")),
        };
        store.append_audit(&event).await.unwrap();
    }
}
