//! The query console and the dashboards, black-box over HTTP on Backstage's example catalog.

mod common;

use common::{WebApp, plain};

fn q(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_answers_as_a_table_a_chart_or_a_graph() {
    let app = WebApp::spawn().await;

    let (status, empty) = app.get("/query").await;
    assert_eq!(status, 200);
    assert!(plain(&empty).contains("Start from an example") && plain(&empty).contains("data-complete"));

    let cond = q("kind == 'Component' && spec.type == 'website'");
    let (status, table) = app.get(&format!("/query?q={cond}&fields=spec.owner")).await;
    assert_eq!(status, 200);
    let page = plain(&table);
    assert!(page.contains("matching entities"), "{page}");
    assert!(page.contains("kind = component, spec.type = website"), "the indexes used are shown");
    assert!(page.contains("<code>spec.owner</code>") && page.contains(">team-a<"), "the field is a column");
    assert!(page.contains("href=\"/catalog/default/component/"), "rows link to their entity");

    let (status, chart) = app.get(&format!("/query?q={}&groupBy=spec.owner&view=chart", q("kind == 'Component'"))).await;
    assert_eq!(status, 200);
    let chart = plain(&chart);
    assert!(chart.contains("<figure class=\"bar-chart\" aria-label=\"Count by spec.owner\">"), "{chart}");
    assert!(chart.contains("<span class=\"bar-label\" title=\"team-a\">team-a</span>"), "labels are text at the page's size, whole");
    assert!(chart.contains("href=\"/query?q=%28kind"), "each bar narrows the query to its group");

    let (status, groups) = app.get(&format!("/query?q={}&groupBy=spec.owner", q("kind == 'Component'"))).await;
    assert_eq!(status, 200);
    let groups = plain(&groups);
    assert!(groups.contains("<th scope=\"col\">spec.owner</th>") && groups.contains("class=\"num\">5<"), "team-a's five, in a table");

    let (status, graph) = app.get(&format!("/query?q={}&view=graph", q("kind == 'System'"))).await;
    assert_eq!(status, 200);
    let graph = plain(&graph);
    assert!(graph.contains("data-graph") && graph.contains("<svg"), "the matching entities and their relations are drawn");

    assert!(graph.contains("href=\"/query/graph.svg?q=kind"), "the graph exports as SVG");
    let res = app.client.get(format!("{}/query/graph.svg?q={}", app.url, q("kind == 'System'"))).send().await.unwrap();
    assert_eq!(res.headers()["content-type"], "image/svg+xml; charset=utf-8");
    assert!(res.text().await.unwrap().starts_with("<svg"));

    let (_, csv) = app.get(&format!("/query.csv?q={}&fields=metadata.name", q("kind == 'Domain'"))).await;
    assert_eq!(csv.lines().count(), 4, "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_example_of_the_console_runs_without_error_or_warning() {
    let app = WebApp::spawn().await;
    let (_, page) = app.get("/query").await;
    let page = plain(&page);
    let examples: Vec<String> = page
        .split("<ul class=\"examples\">")
        .nth(1)
        .unwrap()
        .split("</ul>")
        .next()
        .unwrap()
        .split("<a href=\"")
        .skip(1)
        .map(|a| a.split('"').next().unwrap().replace("&amp;", "&"))
        .collect();
    assert_eq!(examples.len(), 5, "{page}");
    for url in examples {
        let (status, html) = app.get(&url).await;
        let html = plain(&html);
        assert_eq!(status, 200, "{url}: {html}");
        assert!(html.contains("matching entit") && !html.contains("class=\"warn\""), "{url} answers without a warning: {html}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mistakes_are_shown_on_the_console_with_their_place() {
    let app = WebApp::spawn().await;
    let (status, html) = app.get(&format!("/query?q={}", q("kind == 'Component' && relatd('x')"))).await;
    assert_eq!(status, 400);
    let page = plain(&html);
    assert!(page.contains("did you mean 'related'?") && page.contains("^^^^^^"), "{page}");
    assert!(page.contains("aria-invalid=\"true\""), "the field is marked invalid");
    for (url, status, needle) in [
        (format!("/query?q=true&asOf={}", q("2999-01-01T00:00:00Z")), 400, "in the future"),
        ("/query?q=true&view=pie".to_owned(), 400, "view"),
        ("/query?q=true&page=99999".to_owned(), 400, "past the end"),
        ("/query?q=true&colour=red".to_owned(), 400, "colour"),
        ("/query?saved=nope".to_owned(), 404, "nope"),
        (format!("/query?q={}", q(&"x".repeat(9000))), 400, "limit"),
    ] {
        let (got, html) = app.get(&url).await;
        assert_eq!(got, status, "{url}: {}", &html[..html.len().min(400)]);
        assert!(plain(&html).contains(needle), "{url}");
        assert!(html.contains("<html"), "{url}: a page, not a bare error");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_saved_query_opens_by_its_link_and_charts_on_the_dashboards() {
    let app = WebApp::spawn().await;
    let form = [
        ("q", "kind == 'Component'"),
        ("fields", ""),
        ("order", ""),
        ("groupBy", "spec.lifecycle"),
        ("name", "components-by-lifecycle"),
        ("title", "Components by lifecycle"),
        ("owner", "team-a"),
        ("description", "How mature our components are"),
    ];
    let (status, html) = app.post_form("/query/save", &form).await;
    assert_eq!(status, 200, "{html}");
    let page = plain(&html);
    assert!(page.contains("Components by lifecycle") && page.contains("saved query <code>components-by-lifecycle</code>"), "the save redirects to its link");
    let (_, opened) = app.get("/query?saved=components-by-lifecycle").await;
    assert!(plain(&opened).contains(">kind == 'Component'</textarea>"));

    let bad = [("q", "kind =="), ("name", "x"), ("owner", "team-a")];
    let (status, html) = app.post_form("/query/save", &bad).await;
    assert_eq!(status, 400);
    assert!(plain(&html).contains("syntax"), "{html}");
    let (status, html) = app.post_form("/query/save", &[("q", "true"), ("name", "Bad Name"), ("owner", "team-a")]).await;
    assert_eq!(status, 400);
    assert!(plain(&html).contains("name"), "{html}");

    let (status, dash) = app.get("/dashboards").await;
    assert_eq!(status, 200);
    let dash = plain(&dash);
    for part in ["Entities by kind", "Entities by owner", "Entities by lifecycle", "Orphaned resources", "Components whose owner does not exist", "Unresolved relations"] {
        assert!(dash.contains(part), "{part}");
    }
    assert!(dash.contains("<polyline"), "counts over time are drawn as lines");
    assert!(dash.contains("Components by lifecycle: count by spec.lifecycle"), "the saved query's groups are a bar chart");
    assert!(dash.contains("href=\"/query?saved=components-by-lifecycle\""));
    let (status, _) = app.get("/dashboards?days=0").await;
    assert_eq!(status, 400);
    let (status, _) = app.get("/dashboards?days=7").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_graph_explorer_draws_the_past_too() {
    let app = WebApp::spawn().await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let now = q(&chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
    let (status, html) = app.get(&format!("/graph?ref=component:default/artist-lookup&asOf={now}")).await;
    assert_eq!(status, 200);
    assert!(plain(&html).contains("artist-lookup") && html.contains("<svg"));
    let (status, _) = app.get("/graph?ref=component:default/artist-lookup&asOf=1999-01-01T00:00:00Z").await;
    assert_eq!(status, 400, "before the history");
    let (status, _) = app.get(&format!("/graph.svg?ref=component:default/artist-lookup&asOf={now}")).await;
    assert_eq!(status, 200);
}
