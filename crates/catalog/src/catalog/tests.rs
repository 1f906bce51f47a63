use portico_store::testing::TestDb;
use serde_json::{Value, json};

use super::*;
use crate::Origin;

fn raw(v: Value) -> RawEntity {
    RawEntity { value: v, origin: Origin { location: "test.yaml".into(), text: None, document: 0 }, parent: None, degraded: false }
}

fn component(name: &str, owner: &str) -> RawEntity {
    raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name},
        "spec": {"type": "service", "lifecycle": "production", "owner": owner}}))
}

fn full(source: &str, entities: Vec<RawEntity>) -> Mutation {
    Mutation::Full { source: source.into(), entities, errors: Vec::new(), complete: true }
}

async fn catalog(db: &TestDb, strategy: OrphanStrategy) -> Arc<Catalog> {
    Catalog::open(db.store.clone(), CatalogOptions { orphan_strategy: strategy, ..Default::default() }).await.unwrap()
}

fn keys(c: &Catalog) -> Vec<String> {
    let mut k: Vec<String> = c.read().entries().map(|e| e.key.clone()).collect();
    k.sort();
    k
}

#[tokio::test]
async fn full_mutations_add_update_and_remove_and_record_history() {
    for db in TestDb::all().await {
        let c = catalog(&db, OrphanStrategy::Delete).await;
        let r = c.apply(full("s", vec![component("a", "t"), component("b", "t")])).await.unwrap();
        assert_eq!((r.added, r.updated, r.removed), (2, 0, 0));
        let r = c.apply(full("s", vec![component("a", "t2")])).await.unwrap();
        assert_eq!((r.added, r.updated, r.removed, r.unchanged), (0, 1, 1, 0));
        assert_eq!(keys(&c), ["component:default/a"]);
        let h = db.store.history("component:default/a").await.unwrap();
        assert_eq!(h.iter().map(|v| v.version).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(c.read().get("component:default/a").unwrap().version, 2);
        // A fresh catalog over the same store sees the same state.
        let again = catalog(&db, OrphanStrategy::Delete).await;
        assert_eq!(keys(&again), ["component:default/a"], "{}", db.backend());
    }
}

#[tokio::test]
async fn nothing_changed_means_nothing_written() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    c.apply(full("s", vec![component("a", "t")])).await.unwrap();
    let r = c.apply(full("s", vec![component("a", "t")])).await.unwrap();
    assert_eq!((r.unchanged, r.rows_written), (1, 0));
}

#[tokio::test]
async fn orphans_are_kept_and_marked_with_the_keep_strategy() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Keep).await;
    c.apply(full("s", vec![component("a", "t"), component("b", "t")])).await.unwrap();
    let r = c.apply(full("s", vec![component("a", "t")])).await.unwrap();
    assert_eq!((r.orphaned, r.removed), (1, 0));
    assert!(c.read().get("component:default/b").unwrap().orphan);
    // Emitted again: no longer an orphan.
    c.apply(full("s", vec![component("a", "t"), component("b", "t")])).await.unwrap();
    assert!(!c.read().get("component:default/b").unwrap().orphan);
}

#[tokio::test]
async fn an_incomplete_read_removes_nothing() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    c.apply(full("s", vec![component("a", "t"), component("b", "t")])).await.unwrap();
    let m = Mutation::Full {
        source: "s".into(),
        entities: vec![],
        errors: vec![SourceError { location: "x.yaml".into(), key: None, message: "unreadable".into() }],
        complete: false,
    };
    let r = c.apply(m).await.unwrap();
    assert_eq!(r.removed, 0);
    assert_eq!(keys(&c).len(), 2);
    assert_eq!(db.store.errors(None).await.unwrap()[0].message, "unreadable");
    assert_eq!(db.store.sources().await.unwrap()[0].last_status.as_deref(), Some("partial"));
}

#[tokio::test]
async fn an_invalid_new_version_keeps_the_last_good_one() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    c.apply(full("s", vec![component("a", "t")])).await.unwrap();
    let mut bad = component("a", "t");
    bad.value["spec"]["owner"] = json!(42);
    let r = c.apply(full("s", vec![bad])).await.unwrap();
    assert_eq!(r.removed, 0);
    assert_eq!(c.read().get("component:default/a").unwrap().entity.spec_str("owner"), Some("t"));
    assert!(r.errors[0].message.contains("spec.owner"), "{:?}", r.errors);
    assert_eq!(r.errors[0].key.as_deref(), Some("component:default/a"));
}

#[tokio::test]
async fn conflicts_between_sources_keep_the_first_claim() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    c.apply(full("first", vec![component("a", "t")])).await.unwrap();
    let r = c.apply(full("second", vec![component("a", "other")])).await.unwrap();
    assert_eq!(r.added, 0);
    assert!(r.errors[0].message.contains("already provided by source `first`"), "{:?}", r.errors);
    assert_eq!(c.read().get("component:default/a").unwrap().source, "first");
}

#[tokio::test]
async fn duplicates_within_a_source_keep_the_first() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    let r = c.apply(full("s", vec![component("a", "t"), component("a", "u")])).await.unwrap();
    assert_eq!(r.added, 1);
    assert!(r.errors[0].message.contains("duplicate entity `component:default/a`"), "{:?}", r.errors);
    assert_eq!(c.read().get("component:default/a").unwrap().entity.spec_str("owner"), Some("t"));
}

#[tokio::test]
async fn deltas_upsert_and_remove_only_what_they_name() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    c.apply(full("s", vec![component("a", "t"), component("b", "t")])).await.unwrap();
    let r = c
        .apply(Mutation::Delta { source: "s".into(), upserts: vec![component("c", "t")], removals: vec!["component:default/a".into()] })
        .await
        .unwrap();
    assert_eq!((r.added, r.removed), (1, 1));
    assert_eq!(keys(&c), ["component:default/b", "component:default/c"]);
}

#[tokio::test]
async fn custom_kinds_declared_in_a_batch_validate_the_rest_of_it() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    let kind = raw(json!({"apiVersion": "portico.dev/v1", "kind": "Kind", "metadata": {"name": "environment"},
        "spec": {"kind": "Environment", "schema": {"type": "object", "required": ["tier"]},
            "relations": [{"field": "spec.owner", "type": "ownedBy", "inverse": "ownerOf", "targetKind": "Group"}]}}));
    let env = raw(json!({"apiVersion": "portico.dev/v1", "kind": "Environment", "metadata": {"name": "prod"}, "spec": {"tier": "prod", "owner": "ops"}}));
    let r = c.apply(full("s", vec![env.clone(), kind])).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.added, 2);
    let rels = c.read().relations("environment:default/prod");
    assert_eq!(rels[0].target_ref, "group:default/ops");
    // The declaration persists: a later batch (and a restarted catalog) still knows the kind.
    let c2 = catalog(&db, OrphanStrategy::Delete).await;
    assert!(c2.validate(&[env])[0].is_ok());
}

#[tokio::test]
async fn events_announce_committed_changes() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    let mut rx = c.subscribe();
    c.apply(full("s", vec![component("a", "t")])).await.unwrap();
    let ev = rx.recv().await.unwrap();
    assert_eq!(ev.changed, ["component:default/a"]);
}

#[tokio::test]
async fn previews_use_kinds_declared_in_the_same_batch() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    let kind = raw(json!({"apiVersion": "portico.dev/v1", "kind": "Kind", "metadata": {"name": "cluster"},
        "spec": {"kind": "Cluster", "relations": [{"field": "spec.owner", "type": "ownedBy", "inverse": "ownerOf", "targetKind": "Group"}]}}));
    let cluster = raw(json!({"apiVersion": "portico.dev/v1", "kind": "Cluster", "metadata": {"name": "eu-1"}, "spec": {"owner": "ops"}}));
    let preview = c.preview(&[kind, cluster]);
    let (_, relations) = preview[1].as_ref().unwrap();
    assert_eq!(relations[0].target_ref, "group:default/ops");
    assert!(c.read().is_empty(), "a preview writes nothing");
}

#[tokio::test]
async fn chunked_ingest_applies_kinds_declared_in_a_later_chunk() {
    let db = TestDb::sqlite().await;
    let c = catalog(&db, OrphanStrategy::Delete).await;
    let env = raw(json!({"apiVersion": "portico.dev/v1", "kind": "Environment", "metadata": {"name": "prod"}, "spec": {"tier": "prod"}}));
    let kind = raw(json!({"apiVersion": "portico.dev/v1", "kind": "Kind", "metadata": {"name": "environment"},
        "spec": {"kind": "Environment", "schema": {"type": "object", "required": ["tier"]}}}));
    let mut ingest = c.begin("s");
    c.add(&mut ingest, vec![env, component("a", "t")]);
    c.add(&mut ingest, vec![kind]);
    assert_eq!(ingest.len(), 3);
    let r = c.finish(ingest, Vec::new(), true).await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.added, 3);
    assert!(c.read().get("environment:default/prod").is_some());
}

/// Re-adding a removed entity collided with the history of its first life (same version).
#[tokio::test]
async fn a_removed_entity_can_come_back_and_its_history_continues() {
    for db in TestDb::all().await {
        let c = catalog(&db, OrphanStrategy::Delete).await;
        c.apply(full("s", vec![component("a", "t")])).await.unwrap();
        c.apply(full("s", vec![])).await.unwrap();
        c.apply(full("s", vec![component("a", "u")])).await.unwrap();
        // And again after a restart, when only the store remembers the removal.
        c.apply(full("s", vec![])).await.unwrap();
        let restarted = catalog(&db, OrphanStrategy::Delete).await;
        restarted.apply(full("s", vec![component("a", "v")])).await.unwrap();
        let h = db.store.history("component:default/a").await.unwrap();
        let changes: Vec<(i64, &str)> = h.iter().map(|v| (v.version, v.change.as_str())).collect();
        assert_eq!(changes, [(1, "added"), (2, "removed"), (3, "added"), (4, "removed"), (5, "added")], "{}", db.backend());
        assert_eq!(restarted.read().get("component:default/a").unwrap().version, 5);
    }
}

#[tokio::test]
async fn spec_keys_keep_the_descriptors_order_also_after_a_restart_and_order_alone_is_no_change() {
    for db in TestDb::all().await {
        let c = catalog(&db, OrphanStrategy::Delete).await;
        let written = raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "ordered"},
            "spec": {"type": "service", "owner": "t", "lifecycle": "production", "zeta": 1, "alpha": {"y": 1, "b": 2}}}));
        c.apply(full("s", vec![written])).await.unwrap();
        let keys = |c: &Catalog| {
            let e = c.read().get("component:default/ordered").unwrap().entity.clone();
            let spec = e.spec.as_ref().unwrap();
            (spec.keys().cloned().collect::<Vec<_>>(), spec["alpha"].as_object().unwrap().keys().cloned().collect::<Vec<_>>())
        };
        let want = (vec!["type".to_owned(), "owner".into(), "lifecycle".into(), "zeta".into(), "alpha".into()], vec!["y".to_owned(), "b".into()]);
        assert_eq!(keys(&c), want, "{}", db.backend());
        let restarted = catalog(&db, OrphanStrategy::Delete).await;
        assert_eq!(keys(&restarted), want, "read back from {}", db.backend());
        // The same descriptor with its keys in another order is no new version.
        let reordered = raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "ordered"},
            "spec": {"alpha": {"b": 2, "y": 1}, "zeta": 1, "lifecycle": "production", "owner": "t", "type": "service"}}));
        let report = restarted.apply(full("s", vec![reordered])).await.unwrap();
        assert_eq!((report.added, report.updated), (0, 0), "{}", db.backend());
    }
}

#[tokio::test]
async fn an_owner_counts_once_however_it_is_written() {
    for db in TestDb::all().await {
        let c = catalog(&db, OrphanStrategy::Delete).await;
        let written = ["platform", "Platform", "group:default/platform", "default/platform", "user:jane"];
        let entities = written.iter().enumerate().map(|(i, o)| component(&format!("c{i}"), o)).collect();
        c.apply(full("s", entities)).await.unwrap();
        let s = c.series(analytics::SeriesBy::Owner, 0, crate::now_ms(), 1, 8, &|_| true).await.unwrap();
        let lines: Vec<(&str, u64)> = s.lines.iter().map(|l| (l.name.as_str(), l.values[0])).collect();
        assert_eq!(lines, [("platform", 4), ("user:jane", 1)], "{}", db.backend());
    }
}

#[tokio::test]
async fn counts_over_time_per_kind_and_owner() {
    for db in TestDb::all().await {
        let c = catalog(&db, OrphanStrategy::Delete).await;
        let t0 = crate::now_ms();
        c.apply(full("s", vec![component("a", "t1"), component("b", "t1")])).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let t1 = crate::now_ms();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        c.apply(full("s", vec![component("a", "t2")])).await.unwrap();
        let t2 = crate::now_ms();
        let by_owner = c.series(analytics::SeriesBy::Owner, t0 - 10, t2, 1, 8, &|_| true).await.unwrap();
        assert_eq!(by_owner.lines, [analytics::Line { name: "t2".into(), values: vec![1] }], "{}", db.backend());
        let s = c.series(analytics::SeriesBy::Owner, t0 - 10, t1, 2, 8, &|_| true).await.unwrap();
        assert_eq!(s.lines, [analytics::Line { name: "t1".into(), values: vec![0, 2] }]);
        let s = c.series(analytics::SeriesBy::Kind, t1, t2, 2, 1, &|_| true).await.unwrap();
        assert_eq!(s.lines, [analytics::Line { name: "Component".into(), values: vec![2, 1] }], "kinds by their names");
        assert!(c.series(analytics::SeriesBy::Kind, t2, t1, 2, 1, &|_| true).await.is_err());
        assert!(c.series(analytics::SeriesBy::Kind, t1, t2, 0, 1, &|_| true).await.is_err());
    }
}

/// The read model knows which entities have errors (for `has_errors()`): set on commit, read
/// back at open (another replica, or a restart), cleared when the source reads cleanly again.
#[tokio::test]
async fn entities_with_errors_are_known_to_the_read_model_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let c = catalog(&db, OrphanStrategy::Delete).await;
        c.apply(full("s", vec![component("a", "t"), component("b", "t")])).await.unwrap();
        let count = |c: &Catalog, key: &str| {
            let g = c.read();
            g.id_of(key).map_or(0, |id| g.error_count(id))
        };
        assert_eq!(count(&c, "component:default/a"), 0, "{b}");
        let mut bad = component("a", "t");
        bad.value["spec"]["owner"] = json!(42);
        let generation = c.read().generation();
        c.apply(full("s", vec![bad, component("b", "t")])).await.unwrap();
        assert_eq!(count(&c, "component:default/a"), 1, "{b}");
        assert_eq!(count(&c, "component:default/b"), 0, "{b}");
        {
            let g = c.read();
            let core = g.changed_core_since(generation).unwrap();
            assert!(core.contains(g.id_of("component:default/a").unwrap()), "{b}: logged as a change of the entity itself");
        }
        let other = catalog(&db, OrphanStrategy::Delete).await;
        assert_eq!(count(&other, "component:default/a"), 1, "{b}: read back at open");
        c.apply(full("s", vec![component("a", "t"), component("b", "t")])).await.unwrap();
        assert_eq!(count(&c, "component:default/a"), 0, "{b}: read cleanly again");
        other.sync_all().await.unwrap();
        assert_eq!(count(&other, "component:default/a"), 0, "{b}: another replica follows");
    }
}
