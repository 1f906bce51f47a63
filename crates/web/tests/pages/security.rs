//! Regressions of what a hostile descriptor or a hostile site could make the portal do.

use crate::common::{WebApp, plain};

const LINK_TRAP: &str = "\
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: link-trap
  links:
    - url: javascript:alert(document.domain)
      title: Dashboard
    - url: \" JaVaScRiPt:alert(1)\"
    - url: data:text/html,<script>alert(1)</script>
      title: Data
    - url: https://grafana.example.com/d/cart
      title: Grafana
    - url: mailto:team-a@example.com
      title: Mail the team
spec:
  type: service
  lifecycle: production
  owner: team-a
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entity_links_with_javascript_or_data_urls_are_shown_as_text_not_links() {
    let app = WebApp::spawn().await;
    app.import("link-trap", LINK_TRAP).await;

    let (status, html) = app.get("/catalog/default/component/link-trap").await;

    assert_eq!(status, 200);
    let page = plain(&html);
    let lower = page.to_ascii_lowercase();
    assert!(!lower.contains("href=\"javascript:") && !lower.contains("href=\" javascript:"), "a javascript: link became a link");
    assert!(!lower.contains("href=\"data:"), "a data: link became a link");
    let links = page.split("<ul class=\"links\">").nth(1).unwrap().split("</ul>").next().unwrap();
    assert!(links.contains("<code class=\"wrap\">javascript:alert(document.domain)</code>"), "the address is shown as text: {links}");
    assert!(links.contains("Dashboard <code"), "with its title: {links}");
    assert!(links.contains("<a href=\"https://grafana.example.com/d/cart\" rel=\"noopener noreferrer\">Grafana</a>"), "{links}");
    assert!(links.contains("<a href=\"mailto:team-a@example.com\" rel=\"noopener noreferrer\">Mail the team</a>"), "{links}");
    assert_eq!(links.matches("<a ").count(), 2, "only the http(s) and mailto links are links: {links}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_posted_from_another_site_are_refused_with_a_403_page() {
    let app = WebApp::spawn().await;
    let target = app.import_path().display().to_string();
    let import: &[(&str, &str)] = &[("target", &target), ("action", "import")];
    let evil = [("origin", "https://evil.example")];

    let forged = [
        app.post_form_with("/register", import, &evil).await,
        app.post_form_with("/register", import, &[("sec-fetch-site", "cross-site")]).await,
        app.post_form_with("/register", import, &[("origin", "null")]).await,
        app.post_form_with("/discovery/git/run", &[], &evil).await,
        app.post_form_with("/query/save", &[("q", "true"), ("name", "forged")], &evil).await,
    ];

    for (status, body) in &forged {
        let body = plain(body);
        assert_eq!(*status, 403, "{body}");
        assert!(body.contains("class=\"error-page\"") && body.contains("not from Portico's own pages"), "{body}");
    }
    assert!(plain(&forged[0].1).contains("sent from a page of https://evil.example"));
    assert!(app.state.catalog.read().get("component:default/checkout-service").is_none(), "a refused import writes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_posted_from_the_portal_itself_or_without_an_origin_are_accepted() {
    let app = WebApp::spawn().await;
    let target = app.import_path().display().to_string();
    let preview: &[(&str, &str)] = &[("target", &target), ("action", "preview")];

    let (same_origin, _) = app.post_form_with("/register", preview, &[("origin", &app.url), ("sec-fetch-site", "same-origin")]).await;
    let (no_origin, _) = app.post_form("/register", preview).await;

    assert_eq!(same_origin, 200);
    assert_eq!(no_origin, 200, "clients that send no Origin (curl, scripts) are not browsers tricked by a site");
}

/// A link or an image on any site could make every visitor's browser run an expensive query
/// through `/query?q=` and `/query.csv?q=`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queries_in_links_from_other_sites_are_shown_not_run() {
    let app = WebApp::spawn().await;
    let q = "/query?q=kind%20%3D%3D%20%27Component%27";
    let (status, _, html) = app.get_with(q, &[("sec-fetch-site", "cross-site")]).await;
    assert_eq!(status, 200);
    let html = plain(&html);
    assert!(html.contains("This query came from a page of another site"), "{html}");
    assert!(html.contains(">kind == 'Component'</textarea>"), "the query is in the form: {html}");
    assert!(!html.contains("class=\"answer"), "and not run: {html}");
    for headers in [&[("sec-fetch-site", "same-origin")][..], &[("sec-fetch-site", "none")][..], &[][..]] {
        let (_, _, html) = app.get_with(q, headers).await;
        assert!(!plain(&html).contains("came from a page of another site"), "{headers:?}");
    }
    for path in ["/query.csv?q=true", "/query/graph.svg?q=true"] {
        let (status, _, body) = app.get_with(path, &[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(status, 403, "{path}: {body}");
        let (status, _, _) = app.get_with(path, &[("referer", "https://evil.example/")]).await;
        assert_eq!(status, 403, "{path} from an old browser's link");
        let (status, _, _) = app.get_with(path, &[("sec-fetch-site", "same-origin")]).await;
        assert_eq!(status, 200, "{path}");
    }
}

/// A descriptor field is anyone's text; opened in a spreadsheet, a CSV cell starting with `=`
/// runs as a formula.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csv_cells_that_a_spreadsheet_would_run_are_quoted() {
    let app = WebApp::spawn().await;
    app.import("formula", "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: formula\n  description: \"=HYPERLINK(\\\"http://evil.example\\\",\\\"x\\\")\"\nspec:\n  type: \"+service\"\n  lifecycle: production\n  owner: team-a\n").await;
    let (status, _, csv) = app.get_with("/query.csv?q=metadata.name%20%3D%3D%20%27formula%27&fields=metadata.description%0Aspec.type", &[]).await;
    assert_eq!(status, 200, "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "{csv}");
    assert!(csv.contains("'+service"), "{csv}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_may_not_be_framed_and_run_only_their_own_scripts() {
    let app = WebApp::spawn().await;
    for path in ["/", "/catalog", "/register", "/query", "/catalog/default/component/artist-lookup", "/no-such-page", "/static/app.css"] {
        let (_, headers, _) = app.get_with(path, &[]).await;
        let get = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(get("x-frame-options"), "DENY", "{path}");
        assert_eq!(get("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(get("referrer-policy"), "same-origin", "{path}");
        let csp = get("content-security-policy");
        assert!(csp.contains("frame-ancestors 'none'") && csp.contains("script-src 'self'") && csp.contains("form-action 'self'"), "{path}: {csp}");
    }
    // No inline script is left for the policy to block.
    let (_, _, html) = app.get_with("/", &[]).await;
    assert!(!html.contains("<script>"), "an inline script: {html}");
}

/// A saved query that fails or runs out of time shows as a failed panel; the page renders.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboards_show_a_failing_saved_query_as_a_failed_panel() {
    let app = WebApp::spawn().await;
    let mut e = "'x'".to_owned();
    for _ in 0..12 {
        e.push_str(".replace('x', 'xxxxxxxxxx')");
    }
    let query = portico_graph::eval::ExprQuery { expression: format!("size({e}) > 0"), ..Default::default() };
    portico_server::save_query(&app.state, "bomb", Some("Bomb"), "", "group:default/team-a", &query).await.unwrap();
    let started = std::time::Instant::now();
    let (status, html) = app.get("/dashboards").await;
    assert_eq!(status, 200);
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "{:?}", started.elapsed());
    let html = plain(&html);
    assert!(html.contains("Bomb") && html.contains("max_value_bytes"), "the panel says why it failed: {html}");
    // And again after a restart of the page: the server is still up.
    let (status, _) = app.get("/dashboards").await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_forms_pass_the_same_permission_gate_as_the_api_and_are_audited() {
    use portico_server::auth::{NewToken, Principal, create_token};
    let app = WebApp::spawn().await;
    let request = NewToken { name: "t".into(), scopes: vec!["write".into()], expires_in_days: None, service: None, user: Some("user:default/breanna.davison".into()) };
    let (_, secret) = create_token(app.state.catalog.store().as_ref(), &app.state.auth, app.state.catalog.graph(), &Principal::local_admin(), request).await.unwrap();
    let bearer = format!("Bearer {secret}");
    let as_breanna = [("authorization", bearer.as_str())];

    // Breanna's team owns artist-lookup, not podcast-api.
    let (status, html) = app.post_form_with("/catalog/default/component/podcast-api/refresh", &[], &as_breanna).await;
    assert_eq!(status, 403);
    assert!(plain(&html).contains("user:default/breanna.davison may not catalog.entity.refresh: no rule of the policy allows it"), "{html}");
    let (status, _) = app.post_form_with("/catalog/default/component/artist-lookup/refresh", &[], &as_breanna).await;
    assert!(status < 400, "{status}");
    let (status, _, _) = app.get_with("/audit", &as_breanna).await;
    assert_eq!(status, 403, "the audit log is the admins'");

    // The guest of `auth: none` is an admin: it reads the log, which shows both.
    let (status, html) = app.get("/audit?actor=user:default/breanna.davison").await;
    assert_eq!(status, 200);
    let page = plain(&html);
    assert!(page.contains("outcome-denied") && page.contains("outcome-allowed"), "{page}");
    assert!(page.contains("component:default/podcast-api"), "{page}");
    let (status, csv) = app.get("/audit.csv?outcome=denied").await;
    assert_eq!(status, 200);
    assert!(csv.starts_with("id,at,actor,via,action,target,outcome,status,requestId,detail\n"), "{csv}");
    assert_eq!(csv.lines().count(), 3, "the two refusals: {csv}");
    let (status, _) = app.get("/audit?outcome=sometimes").await;
    assert_eq!(status, 400);

    // The entity's history says who acted on it, to those who may read the audit log.
    let (status, html) = app.get("/catalog/default/component/podcast-api/history").await;
    assert_eq!(status, 200);
    let who = plain(&html);
    let section = who.split("Who acted on it").nth(1).expect("the section is there for an admin");
    assert!(section.contains("user:default/breanna.davison") && section.contains("catalog.entity.refresh") && section.contains("outcome-denied"), "{section}");
    let (status, _, html) = app.get_with("/catalog/default/component/podcast-api/history", &as_breanna).await;
    assert_eq!(status, 200);
    assert!(!html.contains("Who acted on it"), "not for those who may not read the audit log");
}

/// Cross-site request forgery against a person signed in: every form of the portal, posted
/// from another site with the victim's session cookie (as a browser would attach it to a
/// top-level form post), is refused, and nothing changes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_form_refuses_another_site_even_with_a_signed_in_session() {
    let app = WebApp::spawn().await;
    let (session, secret) = portico_testkit::oidc::session_for(&app.state, "user:default/breanna.davison", "Breanna").await;
    let cookie = format!("portico_session={secret}");
    let target = app.import_path().display().to_string();
    let entity = "/catalog/default/component/artist-lookup";
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        ("/register".into(), vec![("target", target.as_str()), ("action", "import")]),
        ("/query/save".into(), vec![("q", "true"), ("name", "forged")]),
        ("/discovery/git/run".into(), vec![]),
        (format!("{entity}/refresh"), vec![]),
        (format!("{entity}/unregister"), vec![]),
        (format!("{entity}/star"), vec![("star", "on")]),
        ("/logout".into(), vec![]),
    ];
    for (path, fields) in &forms {
        for how in [("origin", "https://evil.example"), ("sec-fetch-site", "cross-site")] {
            let (status, body) = app.post_form_with(path, fields, &[how, ("cookie", cookie.as_str())]).await;
            assert_eq!(status, 403, "{path} with {how:?}: {body}");
        }
    }
    assert!(app.state.catalog.read().get("component:default/checkout-service").is_none(), "nothing imported");
    assert!(app.state.catalog.read().get("component:default/artist-lookup").is_some(), "nothing unregistered");
    let store = app.state.catalog.store();
    assert!(store.stars("user:default/breanna.davison").await.unwrap().is_empty(), "nothing starred");
    assert!(store.get_saved_query("forged").await.unwrap().is_none(), "no query saved");
    assert!(store.get_session(&session.id).await.unwrap().unwrap().revoked_at.is_none(), "not signed out either");
}
