//! Several replicas on one PostgreSQL database: a change committed by one is visible in the
//! other's read model within a second, through the store's change announcements.

use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_catalog::{Catalog, CatalogOptions, Mutation, Origin, RawEntity};
use portico_store::testing::TestDb;
use portico_store::{PgStore, Store};
use serde_json::json;

fn component(name: &str) -> RawEntity {
    RawEntity {
        value: json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"}}),
        origin: Origin { location: "test.yaml".into(), text: None, document: 0 },
        parent: None,
        degraded: false,
    }
}

async fn eventually(what: &str, check: impl Fn() -> bool) {
    let started = Instant::now();
    while !check() {
        assert!(started.elapsed() < Duration::from_secs(5), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_replica_sees_changes_committed_by_another() {
    let Some(db) = TestDb::postgres().await else { return };
    let second: Arc<dyn Store> = Arc::new(PgStore::open(&db.url).await.unwrap());
    let a = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let b = Catalog::open(second, CatalogOptions::default()).await.unwrap();
    let follower = b.follow().await.unwrap().expect("PostgreSQL announces changes");
    assert_ne!(a.replica(), b.replica());

    let started = Instant::now();
    let full = |names: &[&str]| Mutation::Full {
        source: "s".into(),
        entities: names.iter().map(|n| component(n)).collect(),
        errors: Vec::new(),
        complete: true,
    };
    a.apply(full(&["cart", "pay"])).await.unwrap();
    eventually("the additions", || b.read().len() == 2).await;
    assert!(started.elapsed() < Duration::from_secs(1), "visible in under a second: {:?}", started.elapsed());

    a.apply(full(&["cart"])).await.unwrap();
    eventually("the removal", || b.read().get("component:default/pay").is_none()).await;
    // Relations and indexes follow too.
    let owned: Vec<String> = b.read().relations("group:default/team-a").into_iter().map(|r| r.target_ref).collect();
    assert_eq!(owned, ["component:default/cart"]);
    follower.abort();
}

#[tokio::test]
async fn sqlite_has_no_other_replicas_to_follow() {
    let db = TestDb::sqlite().await;
    let c = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    assert!(c.follow().await.unwrap().is_none());
}
