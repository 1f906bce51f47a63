//! Bad input to every page: a friendly HTML page with the right status that says what was
//! wrong, never a 500.

use crate::common::{WebApp, plain};
use crate::snapshot::assert_snapshot;

/// (path, status, words the message must contain)
const BAD: &[(&str, u16, &str)] = &[
    ("/catalog?colour=red", 400, "unknown parameter `colour`"),
    ("/catalog?kind=spaceship", 400, "unknown kind \"spaceship\""),
    ("/catalog?page=9999", 400, "past the end"),
    ("/catalog?page=99999999999999999999999", 400, "`page` must be a whole number"),
    ("/catalog?page=0", 400, "`page` must be a whole number"),
    ("/catalog?size=100000", 400, "`size` must be a whole number from 1 to 100"),
    ("/catalog?sort=colour", 400, "cannot sort by \"colour\""),
    ("/catalog?sort=name&dir=sideways", 400, "`dir` must be asc or desc"),
    ("/catalog?owner=group:", 400, "`owner`"),
    ("/catalog?q=a&q=b", 400, "q must be given at most once"),
    ("/catalog/default/component/nothere", 404, "the catalog has no entity component:default/nothere"),
    ("/catalog/default/comp%20onent/x", 400, "is not a valid entity reference"),
    ("/catalog/default/component/-bad-", 400, "is not a valid entity reference"),
    ("/catalog/default/component/artist-lookup?depth=9", 400, "`depth` must be a whole number from 1 to 3"),
    ("/catalog/default/component/artist-lookup?rel=owned%20by", 400, "is not a relation type"),
    ("/catalog/default/component/artist-lookup?color=red", 400, "unknown parameter `color`"),
    ("/catalog/default/component/artist-lookup/history?from=1&to=77", 400, "has no version 77"),
    ("/catalog/default/component/artist-lookup/history?from=x&to=1", 400, "`from` must be a version number"),
    ("/catalog/default/component/artist-lookup/history?from=1", 400, "give both `from` and `to`"),
    ("/catalog/default/component/nothere/history", 404, "the catalog has no entity"),
    ("/catalog/default/component/artist-lookup/graph.svg?depth=0", 400, "`depth`"),
    ("/catalog/default/component/nothere/graph.svg", 404, "the catalog has no entity"),
    ("/search?q=artist&page=500", 400, "past the end"),
    ("/search?q=x&partial=maybe", 400, "partial must be true or false"),
    ("/search?query=x", 400, "unknown parameter `query`"),
    ("/graph?ref=component:", 400, "`ref`"),
    ("/graph?ref=component:nothere", 404, "the catalog has no entity"),
    ("/graph?filter=%3Dx", 400, "`filter`: Invalid filter"),
    ("/graph?ref=artist-lookup&depth=4", 400, "`depth`"),
    ("/graph.svg", 400, "give `ref` (an entity) or `filter`"),
    ("/graph?ref=artist-lookup&filter=kind%3Dsystem", 400, "not both: clear one of the two boxes"),
    ("/graph.svg?ref=artist-lookup&filter=kind%3Dsystem", 400, "not both"),
    ("/register?x=1", 400, "unknown parameter `x`"),
    ("/static/nothing.js", 404, "no asset named"),
    ("/no/such/page", 404, "there is no page at /no/such/page"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_urls_get_friendly_error_pages_with_the_right_status() {
    let app = WebApp::spawn().await;
    for (path, status, words) in BAD {
        let res = app.client.get(format!("{}{path}", app.url)).send().await.unwrap();
        let got = res.status().as_u16();
        let kind = res.headers()["content-type"].to_str().unwrap().to_owned();
        let body = plain(&res.text().await.unwrap());
        assert_eq!(got, *status, "{path}: {body}");
        assert!(kind.starts_with("text/html"), "{path}: {kind}");
        assert!(body.contains("class=\"error-page\""), "{path}: not the error page");
        assert!(body.contains(words), "{path}: {words:?} not in the message: {}", message(&body));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_register_forms_are_shown_again_with_the_problem() {
    let app = WebApp::spawn().await;
    type Form<'a> = &'a [(&'a str, &'a str)];
    let cases: &[(Form, u16, &str)] = &[
        (&[("target", ""), ("action", "preview")], 400, "give a path on the server or an http(s) URL"),
        (&[("target", "/etc/passwd"), ("action", "preview")], 400, "is outside the allowed roots"),
        (&[("target", "ftp://example.com/x.yaml"), ("action", "preview")], 400, "only http and https URLs are supported"),
        (&[("target", "http://127.0.0.1:9/catalog-info.yaml"), ("action", "preview")], 400, "not allowed"),
        (&[("target", &"x".repeat(5000)), ("action", "preview")], 400, "longer than 4096"),
    ];
    for (fields, status, words) in cases {
        let (got, body) = app.post_form("/register", fields).await;
        let body = plain(&body);
        assert_eq!(got, *status, "{fields:?}: {body}");
        assert!(body.contains("role=\"alert\""), "{fields:?}: the form shows the problem");
        assert!(body.contains(words), "{fields:?}: {words:?} not in {}", body.split("role=\"alert\">").nth(1).unwrap_or(""));
    }
    let (status, body) = app.post_form("/register", &[("target", "x"), ("action", "explode")]).await;
    assert_eq!(status, 400);
    assert!(plain(&body).contains("unknown action \"explode\""));
    let res = app.client.delete(format!("{}/catalog", app.url)).send().await.unwrap();
    assert_eq!(res.status(), 405, "pages answer unknown methods with 405");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_error_page_shows_the_status_what_was_wrong_and_where_to_go() {
    let app = WebApp::spawn().await;

    let (status, html) = app.get("/catalog?colour=red").await;

    assert_eq!(status, 400);
    let page = plain(&html);
    assert!(page.contains("<p class=\"status\">400</p>") && page.contains("<h1 id=\"error-heading\">That request did not make sense</h1>"));
    assert!(message(&page).starts_with("unknown parameter `colour`; this page accepts `kind`, "), "{}", message(&page));
    assert_snapshot(&app, "error-unknown-parameter", &html);
}

fn message(body: &str) -> &str {
    body.split("class=\"message\">").nth(1).and_then(|s| s.split('<').next()).unwrap_or(body)
}
