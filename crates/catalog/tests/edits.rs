//! Edits through the catalog's write path (what `portico:entity:update` does): an edit is
//! checked, stored, applied on top of what the source emits at every read (so a refresh keeps
//! it, and a change of the source elsewhere in the entity still lands), recorded in history as
//! its author, and undone by restoring the edit before it. On both backends.

use portico_catalog::{Catalog, CatalogOptions, LocationService, LocationSpec, Reader, ReaderConfig};
use portico_store::testing::TestDb;
use serde_json::json;

const ENV: &str = "apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: preview-42
  annotations:
    portico.dev/expires-at: '2026-12-10'
spec:
  type: environment
  owner: team-a
";

#[tokio::test]
async fn an_edit_survives_a_refresh_and_is_undone_by_restoring_the_one_before() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env.yaml");
        std::fs::write(&file, ENV).unwrap();
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let locations = LocationService::new(catalog.clone(), Reader::new(ReaderConfig { allowed_roots: vec![dir.path().to_path_buf()], ..Default::default() }));
        let (location, ..) = locations.register(&LocationSpec { kind: "file".into(), target: file.display().to_string() }, false).await.unwrap();
        let key = "resource:default/preview-42";
        let expires = |c: &Catalog| c.read().get(key).and_then(|e| e.entity.annotation("portico.dev/expires-at").map(str::to_owned));

        let first = json!({"metadata": {"annotations": {"portico.dev/expires-at": "2026-12-17"}}});
        let out = locations.edit_entity(key, Some(&first), None, "user:default/ana", Some("run 1")).await.unwrap();
        assert_eq!(out.before["metadata"]["annotations"]["portico.dev/expires-at"], "2026-12-10", "{b}");
        assert_eq!(out.after["metadata"]["annotations"]["portico.dev/expires-at"], "2026-12-17", "{b}");
        assert_eq!(out.previous_patch, None, "{b}");
        let history = db.store.history(key).await.unwrap();
        assert_eq!(history.iter().max_by_key(|v| v.version).and_then(|v| v.actor.as_deref()), Some("user:default/ana"), "{b}: history names who edited");

        // The source is read again, and changed elsewhere: the edit stays, the change lands.
        std::fs::write(&file, ENV.replace("owner: team-a", "owner: team-b")).unwrap();
        locations.refresh(&location.id, &|_, _| {}).await.unwrap();
        assert_eq!(expires(&catalog).as_deref(), Some("2026-12-17"), "{b}");
        assert_eq!(catalog.read().get(key).unwrap().entity.spec_str("owner"), Some("team-b"), "{b}");

        // A second edit; undone, the first is back; undone again, the source's version.
        let second = json!({"metadata": {"annotations": {"portico.dev/expires-at": "2026-12-24"}}});
        let out2 = locations.edit_entity(key, Some(&second), None, "user:default/bo", None).await.unwrap();
        assert_eq!(out2.previous_patch.as_ref(), Some(&first), "{b}");
        assert_eq!(expires(&catalog).as_deref(), Some("2026-12-24"), "{b}");
        locations.edit_entity(key, None, out2.previous_patch.as_ref(), "user:default/bo", None).await.unwrap();
        assert_eq!(expires(&catalog).as_deref(), Some("2026-12-17"), "{b}");
        locations.edit_entity(key, None, None, "user:default/ana", None).await.unwrap();
        assert_eq!(expires(&catalog).as_deref(), Some("2026-12-10"), "{b}");
        assert!(db.store.entity_edits().await.unwrap().is_empty(), "{b}");

        // An edit that would make the entity invalid is refused, nothing stored.
        let bad = json!({"spec": {"owner": null}});
        let e = locations.edit_entity(key, Some(&bad), None, "user:default/ana", None).await.unwrap_err().to_string();
        assert!(e.contains("the edit of resource:default/preview-42 is not valid") && e.contains("owner"), "{b}: {e}");
        assert!(db.store.entity_edits().await.unwrap().is_empty(), "{b}");
        let e = locations.edit_entity("resource:default/nope", Some(&first), None, "user:default/ana", None).await.unwrap_err().to_string();
        assert_eq!(e, "no entity resource:default/nope", "{b}");
    }
}
