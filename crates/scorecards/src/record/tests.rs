//! Recording events against a real catalog on both backends: facts and DORA reach the read
//! model and the scorecards, retries are idempotent, bad batches record nothing, and another
//! replica sharing PostgreSQL sees the facts.

use std::sync::Arc;

use portico_catalog::{Mutation, Origin, RawEntity};
use portico_catalog::{Catalog, CatalogOptions};
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use super::*;
use crate::Scorecards;

fn raw(v: Value) -> RawEntity {
    RawEntity { value: v, origin: Origin { location: "test.yaml".into(), text: None, document: 0 }, parent: None, degraded: false }
}

fn time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).unwrap().to_rfc3339()
}

async fn catalog(db: &TestDb) -> Arc<Catalog> {
    crate::register();
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let entities = vec![
        raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": "team"}, "spec": {"type": "team", "children": []}})),
        raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "System", "metadata": {"name": "store"}, "spec": {"owner": "team", "domain": "shop"}})),
        raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "cart"}, "spec": {"type": "service", "lifecycle": "production", "owner": "team", "system": "store"}})),
        raw(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": "pay"}, "spec": {"type": "service", "lifecycle": "production", "owner": "team"}})),
        raw(json!({"apiVersion": "portico.dev/v1", "kind": "Scorecard", "metadata": {"name": "delivery"}, "spec": {"filter": "kind == 'Component'", "rules": [
            {"id": "weekly", "level": "Bronze", "expression": "deploys_weekly()"},
            {"id": "fast", "level": "Silver", "expression": "dora.lead_time_hours < 24"},
            {"id": "covered", "level": "Gold", "expression": "fact('coverage') >= 80"}
        ]}})),
    ];
    catalog.apply(Mutation::Full { source: "test".into(), entities, errors: vec![], complete: true }).await.unwrap();
    catalog
}

fn deployments(now: i64) -> Value {
    let h = 3_600_000;
    json!({"events": [
        {"type": "deployment", "id": "cart-1", "entity": "cart", "environment": "production", "version": "1.0.0",
         "commitSha": "a1", "commitTime": time(now - 30 * h), "startedAt": time(now - 26 * h), "finishedAt": time(now - 25 * h), "status": "succeeded"},
        {"type": "deployment", "id": "cart-2", "entity": "component:default/cart", "environment": "production", "version": "1.0.1",
         "commitTime": time(now - 8 * h), "finishedAt": time(now - 5 * h), "status": "succeeded"},
        {"type": "incident", "id": "INC-1", "entity": "cart", "openedAt": time(now - 4 * h), "severity": "sev2"},
        {"type": "fact", "entity": "cart", "name": "coverage", "value": 82.5, "at": time(now - h)}
    ]})
}

#[tokio::test]
async fn events_become_facts_dora_and_levels_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let catalog = catalog(&db).await;
        let cards = Scorecards::new(catalog.graph().clone());
        cards.update();
        let level = |cards: &Scorecards| {
            let card = cards.card("delivery").unwrap();
            let id = cards.graph().read().id_of("component:default/cart").unwrap();
            crate::report::entity_results(&[card], id)[0].level.clone()
        };
        assert_eq!(level(&cards), None, "{b}: nothing recorded yet");

        let recorder = Recorder::new(catalog.clone(), DoraConfig::default());
        let now = portico_catalog::now_ms();
        let done = recorder.record(&deployments(now)).await.unwrap();
        assert_eq!((done.added, done.updated, done.unchanged), (4, 0, 0), "{b}");
        {
            let g = catalog.read();
            let facts = g.recorded_facts("component:default/cart").unwrap();
            assert_eq!(facts["coverage"], json!(82.5), "{b}");
            assert_eq!(facts["incidents.open"], json!(1), "{b}");
            assert_eq!(facts["dora"]["deployments"], json!(2), "{b}");
            assert_eq!(facts["dora"]["lead_time_hours"], json!(4.0), "{b}: median of 5 h and 3 h");
            assert_eq!(facts["dora"]["time_to_restore_hours"], Value::Null, "{b}: not resolved yet");
        }
        // Two deployments in 90 days is not weekly: no level; the facts changed the results.
        cards.update();
        assert_eq!(level(&cards), None, "{b}");

        // The same batch again records nothing; a resolution updates the incident.
        let again = recorder.record(&deployments(now)).await.unwrap();
        assert_eq!((again.added, again.updated, again.unchanged), (0, 0, 4), "{b}");
        let resolved = json!({"type": "incident", "id": "INC-1", "entity": "cart", "openedAt": time(now - 4 * 3_600_000), "resolvedAt": time(now - 3_600_000)});
        let done = recorder.record(&resolved).await.unwrap();
        assert_eq!(done.updated, 1, "{b}");
        assert_eq!(catalog.read().recorded_facts("component:default/cart").unwrap()["incidents.open"], json!(0), "{b}");

        // Thirteen more weekly deployments: deploys weekly, lead time under a day, covered.
        let weekly: Vec<Value> = (0..13)
            .map(|w| {
                let at = now - (w * 7 + 1) * 86_400_000;
                json!({"type": "deployment", "id": format!("cart-w{w}"), "entity": "cart", "environment": "prod",
                       "commitTime": time(at - 3_600_000), "finishedAt": time(at), "status": "succeeded"})
            })
            .collect();
        recorder.record(&Value::Array(weekly)).await.unwrap();
        cards.update();
        assert_eq!(level(&cards).as_deref(), Some("Gold"), "{b}");

        let (dora, weeks) = recorder.entity("component:default/cart", 12).await.unwrap();
        assert_eq!(dora.deployments, 15, "{b}");
        assert_eq!(weeks.len(), 12, "{b}");
        assert!(weeks.iter().all(|w| w.deployments >= 1), "{b}: {weeks:?}");
        let groups = recorder.rollup(GroupBy::System, &|_| true).await.unwrap();
        assert_eq!(groups.iter().map(|g| (g.group.as_str(), g.entities)).collect::<Vec<_>>(), [("system:default/store", 1)], "{b}");
        let domains = recorder.rollup(GroupBy::Domain, &|_| true).await.unwrap();
        assert_eq!(domains[0].group, "domain:default/shop", "{b}");
        assert!(recorder.rollup(GroupBy::Owner, &|_| false).await.unwrap().is_empty(), "{b}: the reader sees none");
    }
}

#[tokio::test]
async fn a_bad_batch_names_each_problem_and_records_nothing_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let catalog = catalog(&db).await;
        let recorder = Recorder::new(catalog.clone(), DoraConfig::default());
        let now = portico_catalog::now_ms();
        let bad = json!([
            {"type": "deployment", "id": "ok", "entity": "cart", "environment": "production", "finishedAt": time(now), "status": "succeeded"},
            {"type": "deployment", "id": "x", "entity": "nope", "environment": "production", "status": "in_progress"},
            {"type": "deployment", "id": "y", "entity": "cart", "environment": "production", "finishedAt": "yesterday", "status": "succeeded"},
            {"type": "deployment", "id": "z", "entity": "cart", "environment": "production", "finishedAt": "1970-01-02T00:00:00Z", "status": "succeeded"},
            {"type": "deployment", "id": "w", "entity": "cart", "environment": 5, "status": "succeeded"},
            {"type": "incident", "id": "i", "entity": "cart", "openedAt": time(now + 86_400_000)},
            {"type": "fact", "entity": "cart", "name": "coverage"},
            {"type": "deploy", "id": "v", "entity": "cart"},
            {"type": "deployment", "id": "u", "entity": "cart", "environment": "production", "status": "succeeded"}
        ]);
        let RecordError::Invalid(errors) = recorder.record(&bad).await.unwrap_err() else { panic!("{b}: not refused as invalid") };
        let messages: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert_eq!(messages.len(), 8, "{b}: {messages:#?}");
        assert!(messages[0].starts_with("events[1]: entity: no entity component:default/nope in the catalog"), "{b}: {}", messages[0]);
        assert!(messages[1].starts_with("events[2]: finishedAt: 'yesterday' is not an RFC 3339 time"), "{b}: {}", messages[1]);
        assert!(messages[2].contains("events[3]: finishedAt: 1970-01-02T00:00:00Z is before 2000"), "{b}: {}", messages[2]);
        assert!(messages[3].starts_with("events[4]: environment: invalid type: integer `5`, expected a string"), "{b}: {}", messages[3]);
        assert!(messages[4].contains("events[5]: openedAt:") && messages[4].contains("is in the future"), "{b}: {}", messages[4]);
        assert!(messages[5].starts_with("events[6]: "), "{b}: {}", messages[5]);
        assert!(messages[5].contains("value"), "{b}: {}", messages[5]);
        assert!(messages[6].starts_with("events[7]: type: unknown event type 'deploy'"), "{b}: {}", messages[6]);
        assert!(messages[7].starts_with("events[8]: finishedAt: required when status is succeeded"), "{b}: {}", messages[7]);
        assert!(db.store.events(&Default::default()).await.unwrap().is_empty(), "{b}: nothing recorded");

        // An id reused for another entity, or another version, refuses its batch.
        recorder.record(&bad[0]).await.unwrap();
        let other = json!({"type": "deployment", "id": "ok", "entity": "pay", "environment": "production", "finishedAt": time(now), "status": "succeeded"});
        let err = recorder.record(&other).await.unwrap_err().to_string();
        assert!(err.contains("id 'ok' was recorded as a deployment of component:default/cart"), "{b}: {err}");
        let version = json!({"type": "deployment", "id": "ok", "entity": "cart", "environment": "production", "version": "2", "finishedAt": time(now), "status": "succeeded"});
        recorder.record(&version).await.unwrap();
        let version3 = json!({"type": "deployment", "id": "ok", "entity": "cart", "environment": "production", "version": "3", "finishedAt": time(now), "status": "succeeded"});
        let err = recorder.record(&version3).await.unwrap_err().to_string();
        assert!(err.contains("id 'ok' was recorded with version \"2\"; this report says \"3\""), "{b}: {err}");
    }
}

#[tokio::test]
async fn reports_out_of_order_keep_the_strongest_status_on_every_backend() {
    for db in TestDb::all().await {
        let b = db.backend();
        let catalog = catalog(&db).await;
        let recorder = Recorder::new(catalog.clone(), DoraConfig::default());
        let now = portico_catalog::now_ms();
        let report = |status: &str| {
            let mut e = json!({"type": "deployment", "id": "d", "entity": "cart", "environment": "production", "startedAt": time(now - 60_000), "status": status});
            if status != "in_progress" {
                e["finishedAt"] = json!(time(now));
            }
            e
        };
        recorder.record(&report("succeeded")).await.unwrap();
        assert_eq!(recorder.record(&report("in_progress")).await.unwrap().unchanged, 1, "{b}: a late start changes nothing");
        assert_eq!(recorder.record(&report("rolled_back")).await.unwrap().updated, 1, "{b}");
        recorder.record(&report("succeeded")).await.unwrap();
        let stored = db.store.events(&Default::default()).await.unwrap();
        assert_eq!(stored[0].body["status"], "rolled_back", "{b}");
        let dora = catalog.read().recorded_facts("component:default/cart").unwrap()["dora"].clone();
        assert_eq!(dora["change_failure_rate"], json!(1.0), "{b}");
    }
}

/// Replicas sharing PostgreSQL: facts recorded by one reach the other's read model.
#[tokio::test]
async fn another_replica_sees_recorded_facts() {
    let Some(db) = TestDb::postgres().await else { return };
    let writer = catalog(&db).await;
    let reader = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let _follow = reader.follow().await.unwrap().expect("PostgreSQL announces changes");
    let mut events = reader.subscribe();
    let recorder = Recorder::new(writer, DoraConfig::default());
    let fact = json!({"type": "fact", "entity": "pay", "name": "coverage", "value": 71});
    recorder.record(&fact).await.unwrap();
    let heard = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        loop {
            let e = events.recv().await.unwrap();
            if e.source == portico_catalog::FACTS_SOURCE {
                return e;
            }
        }
    })
    .await
    .expect("the reader hears the facts within 10 s");
    assert_eq!(heard.changed, ["component:default/pay"]);
    assert_eq!(reader.read().recorded_facts("component:default/pay").unwrap()["coverage"], json!(71));
}

/// One mistake repeated over a large batch is named twenty times, then counted.
#[test]
fn a_long_list_of_problems_is_cut_after_twenty() {
    let problems: Vec<EventError> = (0..25).map(|index| EventError { index, message: "entity: no entity".into() }).collect();
    let text = list(&problems);
    assert!(text.starts_with("events[0]: entity: no entity; events[1]:"), "{text}");
    assert!(text.ends_with("events[19]: entity: no entity; and 5 more"), "{text}");
}

#[test]
fn a_grouping_is_read_from_its_name_and_a_wrong_one_is_named() {
    for by in [GroupBy::System, GroupBy::Owner, GroupBy::Domain] {
        assert_eq!(by.name().parse::<GroupBy>(), Ok(by));
    }
    assert_eq!("team".parse::<GroupBy>(), Err("\"team\" is not system, owner or domain".to_owned()));
}
