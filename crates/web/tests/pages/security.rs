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
