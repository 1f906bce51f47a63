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
