//! Bad descriptor input: each case records an error naming the file (with line and column
//! where there is one) and leaves the previously stored catalog exactly as it was.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_store::testing::TestDb;

const GOOD: &str = "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: cart
spec:
  type: service
  lifecycle: production
  owner: team-a
---
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: cart-api
spec:
  type: openapi
  lifecycle: production
  owner: team-a
  definition:
    $text: ./cart.oas.yaml
";

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
    db: TestDb,
    catalog: Arc<Catalog>,
    locations: LocationService,
    id: String,
}

impl Fixture {
    async fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        std::fs::write(root.join("catalog-info.yaml"), GOOD).unwrap();
        std::fs::write(root.join("cart.oas.yaml"), "openapi: 3.0.0\n").unwrap();
        let db = TestDb::sqlite().await;
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig::default()));
        let spec = LocationSpec { kind: "file".into(), target: root.join("catalog-info.yaml").display().to_string() };
        let (loc, _, _, report) = locations.register(&spec, false).await.unwrap();
        assert_eq!(report.unwrap().added, 3, "the two entities and the location's generated Location");
        Self { _dir: dir, root, db, catalog, locations, id: loc.id }
    }

    fn write(&self, name: &str, text: &str) {
        std::fs::write(self.root.join(name), text).unwrap();
    }

    fn snapshot(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self.catalog.read().entries().map(|e| (e.key.clone(), e.hash.clone())).collect();
        v.sort();
        v
    }

    /// Refreshes and returns the errors recorded; asserts the catalog did not change.
    async fn refresh_unchanged(&self) -> Vec<portico_store::ErrorRecord> {
        let before = self.snapshot();
        let report = self.locations.refresh(&self.id, &|_, _| {}).await.unwrap();
        assert_eq!(self.snapshot(), before, "catalog changed: {report:?}");
        assert_eq!(self.db.store.load_entities().await.unwrap().len(), before.len());
        assert!(!report.errors.is_empty(), "an error is recorded");
        self.db.store.errors(None).await.unwrap()
    }
}

fn file_of(root: &Path) -> String {
    root.join("catalog-info.yaml").canonicalize().unwrap().display().to_string()
}

#[tokio::test]
async fn malformed_yaml_names_the_line() {
    let f = Fixture::new().await;
    f.write("catalog-info.yaml", "apiVersion: backstage.io/v1alpha1\nkind: [unclosed\n");
    let errors = f.refresh_unchanged().await;
    assert!(errors[0].location.starts_with(&format!("{}:", file_of(&f.root))), "{errors:?}");
}

#[tokio::test]
async fn an_alias_bomb_is_bounded() {
    let f = Fixture::new().await;
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..12 {
        let p = i - 1;
        text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
    }
    f.write("catalog-info.yaml", &text);
    let errors = f.refresh_unchanged().await;
    assert!(errors[0].location.contains("catalog-info.yaml"), "{errors:?}");
}

#[tokio::test]
async fn a_file_over_the_size_limit_is_refused() {
    let f = Fixture::new().await;
    f.write("catalog-info.yaml", &format!("# {}\n", "x".repeat(portico_model::yaml::MAX_FILE_BYTES)));
    let errors = f.refresh_unchanged().await;
    assert!(errors[0].message.contains("over the limit"), "{errors:?}");
}

#[tokio::test]
async fn wrong_types_and_invalid_names_name_the_field_and_keep_the_old_version() {
    let f = Fixture::new().await;
    f.write("catalog-info.yaml", &GOOD.replace("owner: team-a\n---", "owner: 42\n---"));
    let errors = f.refresh_unchanged().await;
    assert!(errors.iter().any(|e| e.message.starts_with("spec.owner") && e.location.ends_with("catalog-info.yaml:8:10")), "{errors:?}");
}

#[tokio::test]
async fn an_unknown_kind_is_reported_and_the_rest_is_untouched() {
    let f = Fixture::new().await;
    f.write("catalog-info.yaml", &format!("{GOOD}---\napiVersion: acme.io/v1\nkind: Pipeline\nmetadata:\n  name: build\n"));
    let errors = f.refresh_unchanged().await;
    assert!(errors.iter().any(|e| e.message.contains("unknown kind `Pipeline`")), "{errors:?}");
}

#[tokio::test]
async fn duplicate_refs_in_one_source_keep_the_first() {
    let f = Fixture::new().await;
    let dup = GOOD.split("---").next().unwrap().replace("production", "experimental");
    f.write("catalog-info.yaml", &format!("{GOOD}---\n{dup}"));
    let errors = f.refresh_unchanged().await;
    assert!(errors.iter().any(|e| e.message.contains("duplicate entity `component:default/cart`")), "{errors:?}");
}

#[tokio::test]
async fn a_location_cycle_is_detected() {
    let f = Fixture::new().await;
    let loc = |name: &str, target: &str| {
        format!("apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: {name}\nspec:\n  targets: [{target}]\n")
    };
    f.write("a.yaml", &loc("a", "./b.yaml"));
    f.write("b.yaml", &loc("b", "./a.yaml"));
    f.write("catalog-info.yaml", &format!("{GOOD}---\n{}", loc("root", "./a.yaml")));
    let report = f.locations.refresh(&f.id, &|_, _| {}).await.unwrap();
    assert!(report.errors.iter().any(|e| e.message.contains("location cycle")), "{:?}", report.errors);
    assert_eq!(report.added, 3, "the three Locations are still listed");
}

#[tokio::test]
async fn a_missing_text_file_keeps_the_previous_definition() {
    let f = Fixture::new().await;
    std::fs::remove_file(f.root.join("cart.oas.yaml")).unwrap();
    let errors = f.refresh_unchanged().await;
    let e = errors.iter().find(|e| e.message.contains("cart.oas.yaml")).expect("error names the file");
    assert!(e.message.contains("spec.definition") && e.message.contains("not found"), "{e:?}");
    assert_eq!(e.key.as_deref(), Some("api:default/cart-api"));
}

#[tokio::test]
async fn targets_outside_the_allowed_roots_are_refused() {
    let f = Fixture::new().await;
    std::fs::write(f.root.parent().unwrap().join("secret.yaml"), GOOD.replace("cart", "stolen")).unwrap();
    f.write(
        "catalog-info.yaml",
        &format!("{GOOD}---\napiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: escape\nspec:\n  target: ../secret.yaml\n"),
    );
    let report = f.locations.refresh(&f.id, &|_, _| {}).await.unwrap();
    assert!(report.errors.iter().any(|e| e.message.contains("outside the allowed roots")), "{:?}", report.errors);
    assert!(f.catalog.read().get("component:default/stolen").is_none());
}

#[tokio::test]
async fn a_missing_location_target_deletes_nothing() {
    let f = Fixture::new().await;
    std::fs::remove_file(f.root.join("catalog-info.yaml")).unwrap();
    let errors = f.refresh_unchanged().await;
    assert!(errors[0].message.contains("not found"), "{errors:?}");
}

#[tokio::test]
async fn invalid_names_namespaces_refs_and_label_keys_each_name_the_field() {
    let cases = [
        ("name: cart\n", "name: cart service\n", "metadata.name"),
        ("name: cart\n", "name: cart\n  namespace: Not_Valid\n", "metadata.namespace"),
        ("name: cart\n", "name: cart\n  labels:\n    \"bad key!\": x\n", "metadata.labels.bad key!"),
        ("owner: team-a\n---", "owner: team-a\n  dependsOn: [cart-db]\n---", "spec.dependsOn[0]"),
    ];
    for (from, to, field) in cases {
        let f = Fixture::new().await;
        f.write("catalog-info.yaml", &GOOD.replacen(from, to, 1));
        let errors = f.refresh_unchanged().await;
        assert!(
            errors.iter().any(|e| e.message.starts_with(field) && e.location.contains("catalog-info.yaml:")),
            "{field}: {errors:?}"
        );
    }
}

#[tokio::test]
async fn an_emptied_file_keeps_its_entities_and_shows_an_error() {
    let f = Fixture::new().await;
    f.write("catalog-info.yaml", "");
    let errors = f.refresh_unchanged().await;
    assert!(errors[0].message.contains("the file is empty") && errors[0].message.contains("kept"), "{errors:?}");
    f.write("catalog-info.yaml", "  \n\n");
    f.refresh_unchanged().await;
}

#[tokio::test]
async fn a_file_left_with_only_a_comment_removes_its_entities() {
    let f = Fixture::new().await;
    f.write("catalog-info.yaml", "# no entities\n");
    let report = f.locations.refresh(&f.id, &|_, _| {}).await.unwrap();
    assert_eq!(report.removed, 2);
    let left: Vec<String> = f.catalog.read().entries().map(|e| e.key.clone()).collect();
    assert!(left.len() == 1 && left[0].starts_with("location:default/generated-"), "only the registration's own Location is left: {left:?}");
}

#[tokio::test]
async fn a_fifo_among_the_files_is_refused_without_waiting() {
    let f = Fixture::new().await;
    let dir = f.root.join("more");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(dir.join("catalog-info.yaml")).status().unwrap().success());
    let started = std::time::Instant::now();
    for (target, expected) in [("catalog-info.yaml", "not a regular file"), ("*.yaml", "no catalog files found")] {
        let spec = LocationSpec { kind: "file".into(), target: dir.join(target).display().to_string() };
        let message = match f.locations.register(&spec, true).await {
            Err(e) => e.to_string(),
            Ok((_, o, _, _)) => format!("{:?}", o.errors),
        };
        assert!(message.contains(expected), "{target}: {message}");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(2), "waited on the FIFO");
}

/// Backstage reads generated files of many thousands of documents; 1,024 was the limit.
#[tokio::test]
async fn a_ten_thousand_document_file_ingests() {
    let f = Fixture::new().await;
    let mut text = String::new();
    for i in 0..10_000 {
        text.push_str(&format!("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: gen-{i}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"));
    }
    f.write("generated.yaml", &text);
    let spec = LocationSpec { kind: "file".into(), target: f.root.join("generated.yaml").display().to_string() };
    let (_, outcome, _, report) = f.locations.register(&spec, false).await.unwrap();
    assert!(outcome.errors.is_empty(), "{:?}", outcome.errors);
    assert_eq!(report.unwrap().added, 10_000 + 1, "and the registration's own Location");
    assert!(f.catalog.read().get("component:default/gen-9999").is_some());
}

#[tokio::test]
async fn anchors_that_make_an_entity_huge_are_refused_and_nothing_changes() {
    let f = Fixture::new().await;
    let big = "x".repeat(1 << 20);
    let mut text = format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\n  description: &d {big}\n  tags: [a]\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n  x:\n");
    for _ in 0..60 {
        text.push_str("    - *d\n");
    }
    f.write("catalog-info.yaml", &text);
    let errors = f.refresh_unchanged().await;
    assert!(errors[0].message.contains("maxEntityBytes"), "{errors:?}");
}

/// 200 refresh calls queued 200 full reads of the same location.
#[tokio::test]
async fn concurrent_refreshes_of_a_location_share_reads() {
    let f = Fixture::new().await;
    let reads = std::sync::atomic::AtomicUsize::new(0);
    let progress = |_: usize, _: usize| {
        reads.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    };
    let all = (0..200).map(|_| f.locations.refresh(&f.id, &progress));
    for report in futures::future::join_all(all).await {
        report.unwrap();
    }
    let reads = reads.load(std::sync::atomic::Ordering::Relaxed);
    assert!((1..=3).contains(&reads), "200 refreshes read the location {reads} times");
}
