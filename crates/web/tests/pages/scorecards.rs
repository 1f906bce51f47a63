//! Scorecard pages on Backstage's example catalog with the demo's three scorecards: the list
//! with a chart per scorecard, one scorecard (distribution, rules, entities by level, paging),
//! the entity page's card, and bad parameters.

use crate::common::{WebApp, plain};

pub const DEMO_SCORECARDS: &str = include_str!("../../../cli/demo/scorecards.yaml");

async fn portal() -> WebApp {
    let app = WebApp::spawn().await;
    app.import("scorecards", DEMO_SCORECARDS).await;
    app
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scorecards_page_charts_each_scorecard_by_level() {
    let app = portal().await;
    let (status, html) = app.get("/scorecards").await;
    assert_eq!(status, 200, "{html}");
    let text = plain(&html);
    for title in ["Production readiness", "Documentation", "Security"] {
        assert!(text.contains(title), "{title}: {text}");
    }
    assert!(html.contains(r#"aria-label="Production readiness: entities per level""#), "a chart per scorecard");
    assert!(html.contains(r#"href="/scorecards/default/readiness?level=Bronze""#), "each bar lists its level's entities");
    assert!(html.contains(r#"href="/scorecards/default/readiness?level=none""#));
    assert!(html.contains(r#"aria-current="page">Scorecards"#), "in the main navigation");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scorecard_shows_its_rules_and_its_entities_lowest_level_first() {
    let app = portal().await;
    let (status, html) = app.get("/scorecards/default/readiness").await;
    assert_eq!(status, 200, "{html}");
    let text = plain(&html);
    assert!(text.contains("Owned by a team of the catalog") && text.contains("owner_exists()"), "rules with their expressions");
    assert!(text.contains("Set spec.owner to a Group of the catalog."), "remediation");
    assert!(html.contains(r#"href="https://backstage.io/docs/features/software-catalog/descriptor-format#specowner-required""#), "a safe link");
    assert!(text.contains("Entities, lowest level first"));
    assert!(html.contains(r#"href="/catalog/default/component/artist-lookup""#), "entities link to their pages");
    assert!(text.contains("--scorecard readiness --level Gold"), "how to gate on it");

    // Narrowed to a level: only that level's entities, each with the badge of that level.
    let api: serde_json::Value = serde_json::from_str(&app.get("/api/v1/scorecards/default/readiness?level=Bronze").await.1).unwrap();
    let (status, html) = app.get("/scorecards/default/readiness?level=bronze").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(r#"Entities at Bronze <span class="count">{}</span>"#, api["totalItems"])), "{html}");
    assert!(!html.contains("badge level rank-none") && !html.contains("badge level rank-top\">Gold"), "only Bronze is listed");

    assert_eq!(app.get("/scorecards/default/readiness?level=Platinum").await.0, 400);
    assert_eq!(app.get("/scorecards/default/readiness?offset=many").await.0, 400);
    assert_eq!(app.get("/scorecards/default/readiness?sort=x").await.0, 400, "unknown parameters are named");
    let (status, html) = app.get("/scorecards/default/nope").await;
    assert_eq!(status, 404);
    assert!(plain(&html).contains("scorecard:default/nope"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_page_shows_its_levels_and_what_to_fix() {
    let app = portal().await;
    let (status, html) = app.get("/catalog/default/component/artist-lookup").await;
    assert_eq!(status, 200);
    let text = plain(&html);
    assert!(html.contains(r#"id="scorecards""#), "the card");
    assert!(html.contains(r##"<a href="#scorecards">Scorecards</a>"##), "in the page's sections");
    assert!(text.contains("Production readiness") && text.contains("Documentation") && text.contains("Security"), "{text}");
    // artist-lookup is part of a system, owned by team-a (with members), and its lifecycle is
    // experimental: Silver at most, with the runbook rule to fix.
    let results: serde_json::Value = serde_json::from_str(&app.get("/api/v1/entities/component/default/artist-lookup/scorecards").await.1).unwrap();
    let readiness = results["items"].as_array().unwrap().iter().find(|r| r["scorecard"] == "scorecard:default/readiness").unwrap();
    let level = readiness["level"].as_str().unwrap_or("No level");
    assert!(html.contains(&format!("\">{level}</a>")), "the header's badge: {level}");
    for rule in readiness["rules"].as_array().unwrap().iter().filter(|r| r["passed"] == false) {
        assert!(text.contains(rule["title"].as_str().unwrap()), "failing rule {rule} listed");
    }
    // A kind no scorecard applies to has no card.
    let (_, html) = app.get("/catalog/default/group/team-a").await;
    assert!(!html.contains(r#"id="scorecards""#));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_team_shows_how_what_it_owns_fares_on_each_scorecard() {
    let app = portal().await;
    let (status, html) = app.get("/me?team=team-a").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h3>Scorecards</h3>"), "{html}");
    assert!(html.contains(r#"aria-label="Production readiness: their entities per level""#), "a chart per scorecard over what team-a owns");
    assert!(html.contains(r#"<th scope="col">Levels</th>"#));
    assert!(html.contains(r#"<span class="badge level rank-1" title="Documentation">Documentation: Bronze</span>"#), "each row has its levels");
    assert!(html.contains(r#"title="Production readiness">"#), "the long titles shortened, whole in the tooltip");
}

/// The entity page's DORA card: the four keys with their bands and the weekly chart, from
/// deployments and incidents recorded about it; none on an entity with nothing recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_with_deployments_shows_its_dora_metrics() {
    let app = portal().await;
    let time = |hours_ago: i64| (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
    let mut events: Vec<serde_json::Value> = (0..14)
        .map(|d| serde_json::json!({"type": "deployment", "id": format!("d{d}"), "entity": "artist-lookup", "environment": "production",
            "commitTime": time(d * 24 + 30), "finishedAt": time(d * 24), "status": if d == 3 { "failed" } else { "succeeded" }}))
        .collect();
    events.push(serde_json::json!({"type": "incident", "id": "INC-1", "entity": "artist-lookup", "openedAt": time(5)}));
    app.state.recorder.record(&serde_json::Value::Array(events)).await.unwrap();

    let (status, html) = app.get("/catalog/default/component/artist-lookup").await;
    assert_eq!(status, 200, "{html}");
    let text = words(&plain(&html));
    let card = &text[text.find("DORA metrics").expect("the card")..];
    let card = &card[..card.len().min(600)];
    assert!(card.contains("Last 90 days"), "{card}");
    assert!(card.contains("Last 90 days: 14 production deployments, 1 open incident"), "{card}");
    // 13 reached production in 90 days: about one a week; lead time 30 h; 1 of 14 failed.
    assert!(card.contains("Deployment frequency 1.01 a week high"), "{card}");
    assert!(card.contains("Lead time for changes 30 h high"), "{card}");
    assert!(card.contains("Change failure rate 7% high"), "{card}");
    assert!(card.contains("Time to restore not measured"), "{card}");
    assert!(html.contains(r#"href="/api/v1/dora/component/default/artist-lookup""#), "the same as JSON");
    assert!(html.contains("Production deployments per week"), "the weekly chart");
    assert!(html.contains(r##"<a href="#dora">DORA</a>"##), "in the page's sections");

    let (_, other) = app.get("/catalog/default/component/podcast-api").await;
    assert!(!plain(&other).contains("DORA metrics"), "nothing recorded, no card");
}

/// The text of HTML: tags left out, spaces collapsed.
fn words(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ").replace(" .", ".").replace(" ,", ",")
}

/// `/dora`: the four keys per system, team or domain, with a chart of deployments and the
/// monthly cost of each group from an imported billing export.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dora_page_rolls_delivery_and_cost_up_per_team() {
    let app = portal().await;
    let (_, empty) = app.get("/dora").await;
    assert!(words(&plain(&empty)).contains("No deployments or incidents recorded"), "{empty}");
    let time = |hours_ago: i64| (chrono::Utc::now() - chrono::Duration::hours(hours_ago)).to_rfc3339();
    let events: Vec<serde_json::Value> = (0..6)
        .map(|d| serde_json::json!({"type": "deployment", "id": format!("d{d}"), "entity": if d % 2 == 0 { "artist-lookup" } else { "podcast-api" },
            "environment": "production", "commitTime": time(d * 24 + 2), "finishedAt": time(d * 24), "status": "succeeded"}))
        .collect();
    app.state.recorder.record(&serde_json::Value::Array(events)).await.unwrap();
    let billing = b"resource,cost,month,entity\ni-1,120,2026-11,artist-lookup\ni-2,80,2026-11,podcast-api\n";
    app.state.recorder.import(portico_scorecards::import::Format::Billing, billing, None).await.unwrap();

    let (status, html) = app.get("/dora?groupBy=owner").await;
    assert_eq!(status, 200, "{html}");
    let text = words(&plain(&html));
    assert!(text.contains("Per owner 2"), "{text}");
    assert!(text.contains("team-a 1 entity, 3 deployments"), "{text}");
    assert!(text.contains("Lead time for changes"), "{text}");
    assert!(text.contains("2 h elite"), "lead time with its band: {text}");
    assert!(html.contains(r#"aria-label="Production deployments per owner, last 90 days""#), "a chart of deployments");
    assert!(html.contains(r#"aria-label="Monthly cost per owner""#), "a chart of costs");
    assert!(text.contains("120.00"), "{text}");
    assert!(html.contains(r#"<strong aria-current="page">owner</strong>"#));
    assert_eq!(app.get("/dora?groupBy=team").await.0, 400);
    let (_, scorecards) = app.get("/scorecards").await;
    assert!(scorecards.contains(r#"href="/dora""#), "linked from the scorecards page");
}

/// The catalog table shows each entity's level on a scorecard and filters by level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_shows_levels_and_filters_by_them() {
    let app = portal().await;
    let (status, html) = app.get("/catalog?kind=component").await;
    assert_eq!(status, 200, "{html}");
    let text = words(&plain(&html));
    assert!(text.contains("Levels on Documentation · Production readiness · Security · hide"), "{text}");
    assert!(html.contains(r#"data-facet="level""#), "a Level facet");
    assert!(html.contains(r#"class="badge level rank-"#), "badges in the table");

    let api: serde_json::Value = serde_json::from_str(&app.get("/api/v1/scorecards/default/readiness?level=Bronze").await.1).unwrap();
    let bronze = api["totalItems"].as_u64().unwrap();
    let (status, html) = app.get("/catalog?kind=component&scorecard=readiness&level=Bronze").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&format!(r#"Component <span class="count">{bronze}</span>"#)), "only the Bronze components: {bronze}");
    assert!(!html.contains(r#"class="badge level rank-none""#) && !html.contains(r#"class="badge level rank-top""#), "only Bronze badges");
    assert!(words(&plain(&html)).contains("Levels on Production readiness"));

    let (_, hidden) = app.get("/catalog?kind=component&scorecard=none").await;
    assert!(!hidden.contains(r#"data-facet="level""#), "hidden on request");
    assert_eq!(app.get("/catalog?kind=component&scorecard=readiness&level=Platinum").await.0, 400);
    assert_eq!(app.get("/catalog?kind=component&scorecard=nope").await.0, 400);
}

/// A scorecard's page draws its levels day by day once the level history has any.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scorecard_page_draws_the_trend_of_its_levels() {
    let app = portal().await;
    let history = portico_scorecards::History::new(app.state.catalog.clone(), app.state.scorecards.clone());
    app.state.scorecards.update();
    history.record_once(portico_catalog::now_ms()).await.unwrap();
    let (status, html) = app.get("/scorecards/default/readiness").await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("Over the last 4 weeks"), "{html}");
    assert!(html.contains("Entities per level, day by day"), "the trend chart");
}

/// Initiatives: the list, one with its burn-down, progress per owner and to-do list (narrowed
/// to one owner), the entity page's card, the team page's section, and bad parameters.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initiatives_show_progress_a_burndown_and_each_team_s_to_do_list() {
    let app = portal().await;
    let (status, html) = app.get("/initiatives").await;
    assert_eq!(status, 200, "{html}");
    let text = plain(&html);
    assert!(text.contains("Production services at Silver") && text.contains("TechDocs for every component and API"), "{text}");
    assert!(html.contains(r#"href="/initiatives/default/production-at-silver""#));
    assert!(text.contains("rule docs") && text.contains("overdue"), "the target in words; the docs initiative's deadline has passed: {text}");
    assert!(app.get("/scorecards").await.1.contains(r#"href="/initiatives""#), "linked from the scorecards page");

    // Progress as the history writer stores it, so that the burn-down has a line.
    let history = portico_scorecards::History::new(app.state.catalog.clone(), app.state.scorecards.clone());
    app.state.scorecards.update();
    history.record_once(portico_catalog::now_ms()).await.unwrap();
    let api: serde_json::Value = serde_json::from_str(&app.get("/api/v1/initiatives/default/production-at-silver?owner=team-a").await.1).unwrap();
    let (status, html) = app.get("/initiatives/default/production-at-silver").await;
    assert_eq!(status, 200, "{html}");
    let text = plain(&html);
    assert!(text.contains(&format!("{} of {}", api["done"], api["total"])), "{text}");
    assert!(html.contains(r#"aria-labelledby="burndown-title""#) && html.contains("class=\"line ideal\""), "the burn-down against the ideal line");
    assert!(html.contains(r#"aria-labelledby="owners-title""#) && html.contains("Per owner over time"), "the largest owners' progress over time");
    assert!(html.contains(r#"href="/initiatives/default/production-at-silver?owner=group%3Adefault%2Fteam-a#todo""#), "each owner links to its list");
    assert!(text.contains("Part of a system") && text.contains("Set spec.system to the System it belongs to."), "the to-do list with remediation");
    let (status, html) = app.get("/initiatives/default/production-at-silver?owner=team-a").await;
    assert_eq!(status, 200);
    assert!(html.contains(&format!(r#"To do for team-a <span class="count">{}</span>"#, api["totalItems"])), "{html}");
    assert!(html.contains(r#"href="/catalog/default/component/wayback-archive""#));

    // The entity page's card and the team page's section.
    let (_, entity) = app.get("/catalog/default/component/wayback-archive").await;
    assert!(entity.contains(r#"id="initiatives""#) && plain(&entity).contains("Production services at Silver"), "{entity}");
    let (_, team) = app.get("/me?team=team-a").await;
    assert!(team.contains(r#"id="initiatives""#) && plain(&team).contains("wayback-archive"), "{team}");
    let (_, group) = app.get("/catalog/default/group/team-a").await;
    assert!(group.contains(r#"href="/me?team=group%3Adefault/team-a""#), "a group's page links to its team page");

    for path in ["/initiatives/default/production-at-silver?owner=group:", "/initiatives/default/production-at-silver?sort=x"] {
        assert_eq!(app.get(path).await.0, 400, "{path}");
    }
    let (status, html) = app.get("/initiatives/default/nope").await;
    assert_eq!(status, 404);
    assert!(plain(&html).contains("initiative:default/nope"));
}
