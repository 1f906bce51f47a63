//! The history writer on both backends: first levels, a change, an entity no longer scored,
//! nothing written when nothing changed, and the lease that keeps a second writer out.

use portico_catalog::{CatalogOptions, Mutation, Origin, RawEntity};
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use super::*;

fn raw(v: Value) -> RawEntity {
    RawEntity { value: v, origin: Origin { location: "test.yaml".into(), text: None, document: 0 }, parent: None, degraded: false }
}

fn component(name: &str, description: Option<&str>) -> RawEntity {
    let mut metadata = json!({"name": name});
    if let Some(d) = description {
        metadata["description"] = json!(d);
    }
    raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": metadata, "spec": {"type": "service", "lifecycle": "production", "owner": "team"}}))
}

fn card() -> RawEntity {
    raw(json!({"apiVersion": "portico.dev/v1", "kind": "Scorecard", "metadata": {"name": "docs"}, "spec": {"filter": "kind == 'Component'", "levels": ["Documented"], "rules": [
        {"id": "description", "level": "Documented", "expression": "has_description()"}
    ]}}))
}

#[tokio::test]
async fn level_changes_are_stored_once_by_the_replica_holding_the_lease_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        crate::register();
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let apply = |entities: Vec<RawEntity>| catalog.apply(Mutation::Full { source: "test".into(), entities, errors: vec![], complete: true });
        apply(vec![card(), component("cart", Some("The cart")), component("pay", None), component("ledger", None)]).await.unwrap();
        let cards = Scorecards::new(catalog.graph().clone());
        cards.update();
        let history = History::new(catalog.clone(), cards.clone());
        assert_eq!(history.record_once(1_000).await.unwrap(), 3, "{b}: every entity's first level");
        assert_eq!(history.record_once(2_000).await.unwrap(), 0, "{b}: nothing changed");

        // pay gets a description; ledger is gone.
        apply(vec![card(), component("cart", Some("The cart")), component("pay", Some("Payments"))]).await.unwrap();
        cards.update();
        assert_eq!(history.record_once(3_000).await.unwrap(), 2, "{b}");
        let store = catalog.store();
        let at = |t: i64| async move {
            store.levels_at("scorecard:default/docs", t).await.unwrap().into_iter().map(|r| (r.entity_key, r.level, r.level_name)).collect::<Vec<_>>()
        };
        let before = at(1_500).await;
        assert_eq!(before.iter().filter(|r| r.1 == 1).count(), 1, "{b}: only cart documented then: {before:?}");
        let after = at(3_000).await;
        assert!(after.contains(&("component:default/pay".into(), 1, Some("Documented".into()))), "{b}: {after:?}");
        assert!(after.contains(&("component:default/ledger".into(), -1, None)), "{b}: no longer scored: {after:?}");
        assert_eq!(distribution(&store.levels_at("scorecard:default/docs", 3_000).await.unwrap(), 1, |_| true), [0, 2], "{b}");

        // A second replica cannot write while the first holds the lease.
        let other = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let second = History::new(other.clone(), Scorecards::new(other.graph().clone()));
        assert_eq!(second.record_once(3_500).await.unwrap(), 0, "{b}: the lease is held");
        // Once it expires, the second takes over from what is stored: nothing new to write.
        second.scorecards.update();
        assert_eq!(second.record_once(3_000 + LEASE_MS + 1).await.unwrap(), 0, "{b}: it knows what is stored");
    }
}

fn initiative() -> RawEntity {
    raw(json!({"apiVersion": "portico.dev/v1", "kind": "Initiative", "metadata": {"name": "describe-all"},
        "spec": {"scorecard": "docs", "level": "Documented", "deadline": "2999-12-31"}}))
}

#[tokio::test]
async fn initiative_progress_is_stored_per_owner_when_it_changes_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        crate::register();
        let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let apply = |entities: Vec<RawEntity>| catalog.apply(Mutation::Full { source: "test".into(), entities, errors: vec![], complete: true });
        apply(vec![card(), initiative(), component("cart", Some("The cart")), component("pay", None)]).await.unwrap();
        let cards = Scorecards::new(catalog.graph().clone());
        cards.update();
        let history = History::new(catalog.clone(), cards.clone());
        // Two first levels, and the initiative's progress: for the whole and for team.
        assert_eq!(history.record_once(1_000).await.unwrap(), 4, "{b}");
        assert_eq!(history.record_once(2_000).await.unwrap(), 0, "{b}: nothing changed");
        apply(vec![card(), initiative(), component("cart", Some("The cart")), component("pay", Some("Payments"))]).await.unwrap();
        cards.update();
        assert_eq!(history.record_once(3_000).await.unwrap(), 3, "{b}: pay's level, and the two progress rows");
        let rows = catalog.store().progress("initiative:default/describe-all", 0, 10_000).await.unwrap();
        let whole: Vec<(i64, i32, i32)> = rows.iter().filter(|r| r.owner.is_empty()).map(|r| (r.at, r.done, r.total)).collect();
        assert_eq!(whole, [(1_000, 1, 2), (3_000, 2, 2)], "{b}");
        assert!(rows.iter().any(|r| r.owner == "group:default/team" && r.done == 2), "{b}: {rows:?}");
        // A replica taking over knows what is stored: nothing new to write.
        let other = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
        let second = History::new(other.clone(), Scorecards::new(other.graph().clone()));
        second.scorecards.update();
        assert_eq!(second.record_once(3_000 + LEASE_MS + 1).await.unwrap(), 0, "{b}");
    }
}
