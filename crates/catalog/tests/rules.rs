//! `catalog.rules`: a registered location holds only the kinds the rules allow it; a User that
//! an untrusted file declares is refused with an error naming the file and line, while the
//! org file the rules name brings its Users in.

use portico_catalog::{Catalog, CatalogOptions, CatalogRule, CatalogRules, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_store::testing::TestDb;

const TEAM: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: mallory
spec:
  memberOf: [admins]
---
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: org
spec:
  target: ./org.yaml
";

const ORG: &str = "apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: ada
spec:
  memberOf: [admins]
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_location_holds_only_the_kinds_the_rules_allow_it() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("catalog-info.yaml"), TEAM).unwrap();
        std::fs::write(root.join("org.yaml"), ORG).unwrap();
        let rules: Vec<CatalogRule> = serde_json::from_value(serde_json::json!([
            {"allow": ["Component", "API"]},
            {"allow": ["User", "Group"], "locations": [{"type": "file", "target": root.join("org.yaml")}]}
        ]))
        .unwrap();
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let reader = Reader::new(ReaderConfig { allowed_roots: vec![root.clone()], ..Default::default() });
        let locations = LocationService::new(catalog.clone(), reader).with_rules(CatalogRules::compile(&rules).unwrap());
        let spec = LocationSpec { kind: "file".into(), target: root.join("catalog-info.yaml").display().to_string() };

        // A dry run says so too.
        let (_, preview, _, _) = locations.register(&spec, true).await.unwrap();
        assert!(preview.entities.iter().all(|e| e.value["metadata"]["name"] != "mallory"), "{b}");
        assert!(preview.errors.iter().any(|e| e.message.contains("kind User is not allowed")), "{b}: {:?}", preview.errors);

        let (_, _, _, report) = locations.register(&spec, false).await.unwrap();
        let report = report.unwrap();
        {
            let g = catalog.read();
            assert!(g.get("component:default/cart").is_some(), "{b}");
            assert!(g.get("user:default/ada").is_some(), "{b}: from the file the rules name");
            assert!(g.get("user:default/mallory").is_none(), "{b}: refused");
        }
        let refusal = report.errors.iter().find(|e| e.message.contains("mallory") || e.message.contains("kind User")).unwrap_or_else(|| panic!("{b}: {:?}", report.errors));
        assert_eq!(refusal.location, format!("{}:11:7", root.join("catalog-info.yaml").display()), "{b}: the file and the place of `kind`");
        assert_eq!(refusal.message, format!("an entity of kind User is not allowed from {} (catalog.rules)", root.join("catalog-info.yaml").display()), "{b}");
        let stored = db.store.errors(None).await.unwrap();
        assert!(stored.iter().any(|e| e.message.contains("kind User is not allowed")), "{b}: kept with the location's errors");
    }
}
