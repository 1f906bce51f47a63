use std::sync::Arc;

use portico_model::{CatalogEntry, Entity, Validator};
use serde_json::json;

use crate::testing::TestDb;
use crate::*;

fn write(name: &str, owner: &str, version: i64) -> EntityWrite {
    let entity: Entity = Validator::default()
        .validate(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name},
            "spec": {"type": "service", "lifecycle": "production", "owner": owner}}))
        .unwrap();
    let key = entity.entity_ref().key();
    EntityWrite {
        relations: vec![RelationRow { source_key: key.clone(), relation: "ownedBy".into(), target_key: format!("group:default/{owner}") }],
        entry: CatalogEntry {
            uid: format!("uid-{name}"),
            hash: portico_model::hash::content_hash(&entity),
            key,
            entity: Arc::new(entity),
            source: "test".into(),
            parent: None,
            orphan: false,
            version,
            created_at: 1,
            updated_at: 1,
        },
    }
}

#[tokio::test]
async fn applies_adds_updates_and_removals_with_history_on_every_backend() {
    for db in TestDb::all().await {
        let s = &db.store;
        let stats = s
            .apply(&ChangeSet { source: "test".into(), at: 10, added: vec![write("a", "t1", 1), write("b", "t1", 1)], ..Default::default() })
            .await
            .unwrap();
        assert!(stats.rows_written >= 6, "{}: {stats:?}", db.backend());
        s.apply(&ChangeSet { source: "test".into(), at: 20, updated: vec![write("a", "t2", 2)], ..Default::default() })
            .await
            .unwrap();
        s.apply(&ChangeSet {
            source: "test".into(),
            at: 30,
            removed: vec![EntityGone { key: "component:default/b".into(), uid: "uid-b".into(), version: 2 }],
            ..Default::default()
        })
        .await
        .unwrap();

        let loaded = s.load_entities().await.unwrap();
        assert_eq!(loaded.len(), 1, "{}", db.backend());
        assert_eq!(loaded[0].entity.spec_str("owner"), Some("t2"));

        let h = s.history("component:default/a").await.unwrap();
        let changes: Vec<(&str, i64, i64)> = h.iter().map(|v| (v.change.as_str(), v.version, v.at)).collect();
        assert_eq!(changes, [("added", 1, 10), ("updated", 2, 20)], "{}", db.backend());
        let h = s.history("component:default/b").await.unwrap();
        assert_eq!(h.last().unwrap().change, "removed");
        assert!(h.last().unwrap().body.is_none());
    }
}

#[tokio::test]
async fn a_failed_transaction_leaves_nothing_behind() {
    for db in TestDb::all().await {
        let s = &db.store;
        s.apply(&ChangeSet { source: "test".into(), at: 1, added: vec![write("a", "t1", 1)], ..Default::default() })
            .await
            .unwrap();
        // Adding the same key again violates the primary key half-way through the change set.
        let err = s
            .apply(&ChangeSet { source: "test".into(), at: 2, added: vec![write("c", "t1", 1), write("a", "t1", 1)], ..Default::default() })
            .await;
        assert!(err.is_err(), "{}", db.backend());
        let keys: Vec<String> = s.load_entities().await.unwrap().into_iter().map(|e| e.key).collect();
        assert_eq!(keys, ["component:default/a"], "{}", db.backend());
        assert_eq!(s.history("component:default/c").await.unwrap().len(), 0);
    }
}

#[tokio::test]
async fn errors_are_replaced_per_source_and_orphans_are_marked() {
    for db in TestDb::all().await {
        let s = &db.store;
        let err = |m: &str| ErrorRecord { source: "test".into(), location: "f.yaml:1:1".into(), key: Some("component:default/a".into()), message: m.into(), at: 1 };
        s.apply(&ChangeSet { source: "test".into(), at: 1, added: vec![write("a", "t1", 1)], errors: Some(vec![err("one"), err("two")]), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(s.errors(None).await.unwrap().len(), 2);
        s.apply(&ChangeSet {
            source: "test".into(),
            at: 2,
            orphaned: vec![EntityGone { key: "component:default/a".into(), uid: "uid-a".into(), version: 2 }],
            errors: Some(vec![err("three")]),
            ..Default::default()
        })
        .await
        .unwrap();
        let errors = s.errors(Some("component:default/a")).await.unwrap();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "three");
        assert!(s.load_entities().await.unwrap()[0].orphan, "{}", db.backend());
    }
}

#[tokio::test]
async fn locations_are_unique_by_type_and_target() {
    for db in TestDb::all().await {
        let s = &db.store;
        let l = LocationRecord { id: "l1".into(), kind: "file".into(), target: "/x/catalog-info.yaml".into(), created_at: 1 };
        assert!(!s.add_location(&l).await.unwrap().1);
        let again = LocationRecord { id: "l2".into(), ..l.clone() };
        let (existing, exists) = s.add_location(&again).await.unwrap();
        assert!(exists);
        assert_eq!(existing.id, "l1");
        assert_eq!(s.list_locations().await.unwrap().len(), 1);
        s.delete_location("l1").await.unwrap();
        assert!(matches!(s.delete_location("l1").await, Err(StoreError::LocationNotFound(_))));
    }
}

#[tokio::test]
async fn source_runs_are_recorded() {
    for db in TestDb::all().await {
        let s = &db.store;
        let run = SourceRecord { name: "files".into(), last_run_at: Some(5), last_status: Some("ok".into()), last_error: None, entity_count: 3 };
        s.record_source_run(&run).await.unwrap();
        s.record_source_run(&SourceRecord { entity_count: 4, ..run }).await.unwrap();
        let sources = s.sources().await.unwrap();
        assert_eq!(sources.len(), 1);
        assert_eq!(sources[0].entity_count, 4);
    }
}

#[tokio::test]
async fn bad_urls_are_rejected() {
    assert!(matches!(crate::open("mysql://x").await, Err(StoreError::BadUrl(_))));
}

#[tokio::test]
async fn reads_entities_as_of_a_time_and_lists_changes_between_times() {
    for db in TestDb::all().await {
        let s = &db.store;
        let key = "component:default/a";
        let gone = |version| EntityGone { key: key.into(), uid: "uid-a".into(), version };
        s.apply(&ChangeSet { source: "test".into(), at: 10, added: vec![write("a", "t1", 1)], ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet { source: "test".into(), at: 20, updated: vec![write("a", "t2", 2)], ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet { source: "test".into(), at: 30, orphaned: vec![gone(3)], ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet { source: "test".into(), at: 40, removed: vec![gone(4)], ..Default::default() }).await.unwrap();

        let owner_at = |v: Option<VersionRecord>| v.and_then(|v| v.body).map(|b| b["spec"]["owner"].clone());
        assert!(s.entity_at(key, 9).await.unwrap().is_none(), "{}: not yet added", db.backend());
        assert_eq!(owner_at(s.entity_at(key, 10).await.unwrap()), Some(json!("t1")));
        assert_eq!(owner_at(s.entity_at(key, 25).await.unwrap()), Some(json!("t2")));
        let orphaned = s.entity_at(key, 35).await.unwrap().unwrap();
        assert_eq!((orphaned.change.as_str(), orphaned.version), ("orphaned", 3));
        assert_eq!(orphaned.body.unwrap()["spec"]["owner"], json!("t2"), "an orphan keeps its descriptor");
        assert!(s.entity_at(key, 40).await.unwrap().is_none(), "removed");

        let window: Vec<(i64, String)> = s.changes_between(10, 30).await.unwrap().into_iter().map(|v| (v.version, v.change)).collect();
        assert_eq!(window, [(3, "orphaned".to_owned())], "{}", db.backend());
        assert!(s.changes_between(40, 50).await.unwrap().is_empty());
    }
}

#[tokio::test]
async fn the_whole_catalog_as_of_a_time() {
    for db in TestDb::all().await {
        let s = &db.store;
        let gone = |name: &str, version| EntityGone { key: format!("component:default/{name}"), uid: format!("uid-{name}"), version };
        assert_eq!(s.history_start().await.unwrap(), None);
        s.apply(&ChangeSet { source: "test".into(), at: 10, added: vec![write("a", "t1", 1), write("b", "t1", 1)], ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet { source: "test".into(), at: 20, updated: vec![write("a", "t2", 2)], removed: vec![gone("b", 2)], ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet { source: "test".into(), at: 30, orphaned: vec![gone("a", 3)], added: vec![write("c", "t3", 1)], ..Default::default() }).await.unwrap();

        let at = |t| async move {
            let mut v: Vec<(String, String, bool, i64)> = s
                .entities_at(t)
                .await
                .unwrap()
                .into_iter()
                .map(|e| (e.entity.metadata.name.clone(), e.entity.spec_str("owner").unwrap().to_owned(), e.orphan, e.version))
                .collect();
            v.sort();
            v
        };
        let b = db.backend();
        assert!(at(9).await.is_empty(), "{b}");
        assert_eq!(at(10).await, [("a".into(), "t1".into(), false, 1), ("b".into(), "t1".into(), false, 1)], "{b}");
        assert_eq!(at(25).await, [("a".into(), "t2".into(), false, 2)], "{b}: b removed");
        assert_eq!(at(30).await, [("a".into(), "t2".into(), true, 3), ("c".into(), "t3".into(), false, 1)], "{b}: an orphan keeps its descriptor");
        let first = s.entities_at(30).await.unwrap().into_iter().find(|e| e.entity.metadata.name == "a").unwrap();
        assert_eq!((first.created_at, first.updated_at), (10, 30), "{b}");

        assert_eq!(s.history_marker(25).await.unwrap(), s.history_marker(29).await.unwrap(), "{b}: same history, same marker");
        assert_ne!(s.history_marker(25).await.unwrap(), s.history_marker(30).await.unwrap(), "{b}");
        assert_eq!(s.history_start().await.unwrap(), Some(10));
    }
}

#[tokio::test]
async fn saved_queries_are_created_replaced_listed_and_deleted() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let q = SavedQuery {
            name: "orphans".into(),
            title: "Orphaned resources".into(),
            description: "Resources nobody owns or uses".into(),
            owner: "group:default/platform".into(),
            query: json!({"expression": "kind == 'Resource' && inverse('dependsOn').size() == 0"}),
            created_at: 10,
            updated_at: 10,
        };
        assert!(s.put_saved_query(&q).await.unwrap(), "{b}: created");
        let changed = SavedQuery { title: "Orphans".into(), created_at: 99, updated_at: 20, ..q.clone() };
        assert!(!s.put_saved_query(&changed).await.unwrap(), "{b}: replaced");
        let got = s.get_saved_query("orphans").await.unwrap().unwrap();
        assert_eq!((got.title.as_str(), got.created_at, got.updated_at), ("Orphans", 10, 20), "{b}: created_at kept");
        assert_eq!(got.query, q.query);
        s.put_saved_query(&SavedQuery { name: "a-first".into(), ..q.clone() }).await.unwrap();
        let names: Vec<String> = s.list_saved_queries().await.unwrap().into_iter().map(|q| q.name).collect();
        assert_eq!(names, ["a-first", "orphans"], "{b}");
        assert!(s.delete_saved_query("orphans").await.unwrap());
        assert!(!s.delete_saved_query("orphans").await.unwrap(), "{b}: already gone");
        assert!(s.get_saved_query("orphans").await.unwrap().is_none());
    }
}

#[tokio::test]
async fn api_tokens_are_found_by_hash_listed_touched_and_revoked() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let token = ApiToken {
            id: "t1".into(),
            name: "ci".into(),
            owner: "user:default/ada".into(),
            kind: "personal".into(),
            scopes: vec!["read".into(), "locations:write".into()],
            created_at: 10,
            created_by: "user:default/ada".into(),
            expires_at: Some(1_000_000),
            last_used_at: None,
            revoked_at: None,
        };
        s.create_token(&token, "hash-1").await.unwrap();
        s.create_token(&ApiToken { id: "t2".into(), owner: "service:deployer".into(), kind: "service".into(), created_at: 20, ..token.clone() }, "hash-2").await.unwrap();
        assert!(s.create_token(&ApiToken { id: "t3".into(), ..token.clone() }, "hash-1").await.is_err(), "{b}: a secret hash is unique");

        assert_eq!(s.token_by_hash("hash-1").await.unwrap(), Some(token.clone()), "{b}");
        assert_eq!(s.token_by_hash("nope").await.unwrap(), None, "{b}");
        let ids: Vec<String> = s.list_tokens(None).await.unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(ids, ["t2", "t1"], "{b}: newest first");
        let ids: Vec<String> = s.list_tokens(Some("user:default/ada")).await.unwrap().into_iter().map(|t| t.id).collect();
        assert_eq!(ids, ["t1"], "{b}");

        s.touch_token("t1", 100_000).await.unwrap();
        s.touch_token("t1", 100_500).await.unwrap();
        assert_eq!(s.get_token("t1").await.unwrap().unwrap().last_used_at, Some(100_000), "{b}: not rewritten within a minute");
        s.touch_token("t1", 200_000).await.unwrap();
        assert_eq!(s.get_token("t1").await.unwrap().unwrap().last_used_at, Some(200_000), "{b}");

        assert!(s.revoke_token("t1", 300_000).await.unwrap(), "{b}");
        assert!(!s.revoke_token("t1", 400_000).await.unwrap(), "{b}: already revoked");
        assert!(!s.revoke_token("nope", 400_000).await.unwrap(), "{b}");
        assert_eq!(s.token_by_hash("hash-1").await.unwrap().unwrap().revoked_at, Some(300_000), "{b}: the first revocation's time");
    }
}

#[tokio::test]
async fn version_summaries_carry_owner_and_lifecycle() {
    for db in TestDb::all().await {
        let s = &db.store;
        s.apply(&ChangeSet { source: "test".into(), at: 10, added: vec![write("a", "t1", 1)], ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet { source: "test".into(), at: 20, updated: vec![write("a", "t2", 2)], ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet {
            source: "test".into(),
            at: 30,
            removed: vec![EntityGone { key: "component:default/a".into(), uid: "uid-a".into(), version: 3 }],
            ..Default::default()
        })
        .await
        .unwrap();
        let got: Vec<(i64, String, Option<String>, Option<String>)> =
            s.version_summaries().await.unwrap().into_iter().map(|v| (v.at, v.change, v.owner, v.lifecycle)).collect();
        let p = Some("production".to_owned());
        assert_eq!(
            got,
            [(10, "added".into(), Some("t1".into()), p.clone()), (20, "updated".into(), Some("t2".into()), p), (30, "removed".into(), None, None)],
            "{}",
            db.backend()
        );
    }
}

#[tokio::test]
async fn the_audit_log_appends_filters_pages_and_prunes() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let event = |at: i64, actor: &str, action: &str, outcome: &str| AuditEvent {
            id: 0,
            at,
            actor: actor.into(),
            via: "token".into(),
            action: action.into(),
            target: Some("component:default/a".into()),
            outcome: outcome.into(),
            status: Some(200),
            request_id: Some("r".into()),
            detail: None,
        };
        let first = s.append_audit(&event(10, "user:default/ada", "catalog.location.create", "allowed")).await.unwrap();
        let second = s.append_audit(&event(20, "user:default/bob", "catalog.entity.delete", "denied")).await.unwrap();
        s.append_audit(&event(30, "user:default/ada", "discovery.run", "allowed")).await.unwrap();
        assert!(second > first, "{b}: ids increase");

        let all = s.list_audit(&AuditFilter { limit: 10, ..Default::default() }).await.unwrap();
        assert_eq!(all.iter().map(|e| e.at).collect::<Vec<_>>(), [30, 20, 10], "{b}: newest first");
        assert_eq!(all[2], AuditEvent { id: first, ..event(10, "user:default/ada", "catalog.location.create", "allowed") }, "{b}: every field kept");

        let by = |f: AuditFilter| async move { s.list_audit(&AuditFilter { limit: 10, ..f }).await.unwrap().into_iter().map(|e| e.at).collect::<Vec<_>>() };
        assert_eq!(by(AuditFilter { actor: Some("user:default/ada".into()), ..Default::default() }).await, [30, 10], "{b}");
        assert_eq!(by(AuditFilter { action: Some("catalog.".into()), ..Default::default() }).await, [20, 10], "{b}: an action prefix");
        assert_eq!(by(AuditFilter { outcome: Some("denied".into()), ..Default::default() }).await, [20], "{b}");
        assert_eq!(by(AuditFilter { since: Some(20), until: Some(30), ..Default::default() }).await, [20], "{b}: since inclusive, until exclusive");
        assert_eq!(by(AuditFilter { before: Some(second), ..Default::default() }).await, [10], "{b}: the next page");
        assert_eq!(s.list_audit(&AuditFilter { limit: 1, ..Default::default() }).await.unwrap().len(), 1, "{b}");

        assert_eq!(s.prune_audit(25).await.unwrap(), 2, "{b}");
        assert_eq!(by(AuditFilter::default()).await, [30], "{b}: only the recent one is left");
    }
}

#[tokio::test]
async fn sessions_are_found_by_hash_touched_refreshed_revoked_and_pruned() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let session = |id: &str, subject: &str, created_at: i64| Session {
            id: id.into(),
            subject: subject.into(),
            claims: r#"{"sub":"ada"}"#.into(),
            created_at,
            last_seen_at: created_at,
            expires_at: created_at + 1_000_000,
            refresh_token: Some("rt".into()),
            id_token: Some("it".into()),
            refresh_at: Some(created_at + 3_600_000),
            address: Some("127.0.0.1".into()),
            user_agent: Some("test".into()),
            revoked_at: None,
        };
        s.create_session(&session("s1", "user:default/ada", 1_000), "hash-1").await.unwrap();
        s.create_session(&session("s2", "user:default/ada", 2_000), "hash-2").await.unwrap();
        s.create_session(&session("s3", "user:default/bob", 3_000), "hash-3").await.unwrap();
        assert!(s.create_session(&session("s4", "user:default/bob", 3_000), "hash-3").await.is_err(), "{b}: a secret's hash is unique");

        assert_eq!(s.session_by_hash("hash-1").await.unwrap(), Some(session("s1", "user:default/ada", 1_000)), "{b}: every field kept");
        assert_eq!(s.session_by_hash("nope").await.unwrap(), None, "{b}");
        let ids = |v: Vec<Session>| v.into_iter().map(|s| s.id).collect::<Vec<_>>();
        assert_eq!(ids(s.list_sessions(None, 5_000, 0).await.unwrap()), ["s3", "s2", "s1"], "{b}: newest first");
        assert_eq!(ids(s.list_sessions(Some("user:default/ada"), 5_000, 0).await.unwrap()), ["s2", "s1"], "{b}: one subject's");
        assert_eq!(ids(s.list_sessions(None, 1_001_500, 0).await.unwrap()), ["s3", "s2"], "{b}: expired ones are not listed");

        assert_eq!(ids(s.list_sessions(None, 5_000, 1_500).await.unwrap()), ["s3", "s2"], "{b}: unused since before the idle bound: not open");
        s.touch_session("s1", 30_000, 30_000 - 60_000).await.unwrap();
        assert_eq!(s.get_session("s1").await.unwrap().unwrap().last_seen_at, 1_000, "{b}: less than a minute later, no write");
        s.touch_session("s1", 90_000, 90_000 - 60_000).await.unwrap();
        assert_eq!(s.get_session("s1").await.unwrap().unwrap().last_seen_at, 90_000, "{b}");

        assert!(s.claim_refresh("s1", 1_000 + 3_600_000, 95_000).await.unwrap(), "{b}: the first claim of a due refresh wins");
        assert!(!s.claim_refresh("s1", 1_000 + 3_600_000, 96_000).await.unwrap(), "{b}: a second one does not");
        let refreshed = RefreshedSession { claims: r#"{"sub":"ada","name":"Ada"}"#.into(), refresh_token: Some("rt2".into()), id_token: Some("it2".into()), refresh_at: Some(99) };
        s.refresh_session("s1", &refreshed).await.unwrap();
        let got = s.get_session("s1").await.unwrap().unwrap();
        assert_eq!((got.claims.as_str(), got.refresh_token.as_deref(), got.id_token.as_deref(), got.refresh_at), (r#"{"sub":"ada","name":"Ada"}"#, Some("rt2"), Some("it2"), Some(99)), "{b}");

        assert!(s.revoke_session("s1", 100_000).await.unwrap(), "{b}");
        assert!(!s.revoke_session("s1", 100_001).await.unwrap(), "{b}: already revoked");
        assert!(!s.revoke_session("missing", 100_001).await.unwrap(), "{b}");
        let revoked = s.session_by_hash("hash-1").await.unwrap().unwrap();
        assert_eq!((revoked.revoked_at, revoked.refresh_token), (Some(100_000), None), "{b}: a revoked session forgets the provider's refresh token");
        assert_eq!(ids(s.list_sessions(None, 5_000, 0).await.unwrap()), ["s3", "s2"], "{b}: revoked ones are not listed");

        assert_eq!(s.prune_sessions(1_002_500).await.unwrap(), 2, "{b}: the revoked one and an expired one");
        assert_eq!(ids(s.list_sessions(None, 5_000, 0).await.unwrap()), ["s3"], "{b}");
    }
}

#[tokio::test]
async fn a_sign_in_under_way_is_taken_once_and_stale_ones_go() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let attempt = |state: &str, at: i64| SignInAttempt { state: state.into(), nonce: "n".into(), pkce_verifier: "v".into(), return_to: "/catalog".into(), created_at: at };
        s.put_sign_in(&attempt("old", 1_000), 0).await.unwrap();
        s.put_sign_in(&attempt("new", 700_000), 100_000).await.unwrap();
        assert_eq!(s.take_sign_in("old").await.unwrap(), None, "{b}: removed as stale when the next one came");
        assert_eq!(s.take_sign_in("new").await.unwrap(), Some(attempt("new", 700_000)), "{b}");
        assert_eq!(s.take_sign_in("new").await.unwrap(), None, "{b}: a callback finishes a sign-in once");
    }
}

#[tokio::test]
async fn stars_are_per_person_newest_first_and_idempotent() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        assert!(s.star("user:default/ada", "component:default/a", 10).await.unwrap(), "{b}");
        assert!(!s.star("user:default/ada", "component:default/a", 11).await.unwrap(), "{b}: starred once");
        assert!(s.star("user:default/ada", "api:default/b", 20).await.unwrap(), "{b}");
        assert!(s.star("user:default/bob", "component:default/a", 30).await.unwrap(), "{b}");
        let keys = |v: Vec<Star>| v.into_iter().map(|s| (s.entity_key, s.created_at)).collect::<Vec<_>>();
        assert_eq!(keys(s.stars("user:default/ada").await.unwrap()), [("api:default/b".to_owned(), 20), ("component:default/a".to_owned(), 10)], "{b}");
        assert!(s.unstar("user:default/ada", "component:default/a").await.unwrap(), "{b}");
        assert!(!s.unstar("user:default/ada", "component:default/a").await.unwrap(), "{b}: nothing to remove");
        assert_eq!(keys(s.stars("user:default/ada").await.unwrap()).len(), 1, "{b}");
        assert_eq!(keys(s.stars("user:default/bob").await.unwrap()).len(), 1, "{b}: Bob's star is his");
    }
}

#[tokio::test]
async fn a_version_keeps_who_made_it() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        s.apply(&ChangeSet { source: "test".into(), at: 10, added: vec![write("a", "t1", 1)], actor: Some("user:default/ada".into()), ..Default::default() }).await.unwrap();
        s.apply(&ChangeSet { source: "test".into(), at: 20, updated: vec![write("a", "t2", 2)], ..Default::default() }).await.unwrap();
        let actors: Vec<Option<String>> = s.history("component:default/a").await.unwrap().into_iter().map(|v| v.actor).collect();
        assert_eq!(actors, [Some("user:default/ada".to_owned()), None], "{b}: a person's change, then the system's own read");
        assert_eq!(s.entity_at("component:default/a", 15).await.unwrap().unwrap().actor.as_deref(), Some("user:default/ada"), "{b}");
    }
}

fn event(id: &str, entity: &str, at: i64, body: serde_json::Value) -> EventRow {
    EventRow { id: id.into(), kind: "deployment".into(), entity_key: entity.into(), at, body, recorded_at: 1, updated_at: 1 }
}

/// Merges as the scorecards crate does in spirit: fields of the new report fill the stored
/// body; a different entity is refused.
fn merge(old: &EventRow, new: &EventRow) -> Result<Option<EventRow>, String> {
    if old.entity_key != new.entity_key {
        return Err(format!("event {} is about {}", old.id, old.entity_key));
    }
    let mut body = old.body.clone();
    for (k, v) in new.body.as_object().unwrap() {
        body[k] = v.clone();
    }
    Ok((body != old.body).then(|| EventRow { body, updated_at: new.updated_at, ..old.clone() }))
}

#[tokio::test]
async fn events_are_recorded_once_merged_by_id_and_a_refused_batch_writes_nothing_on_every_backend() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let first = vec![event("d1", "component:default/a", 100, json!({"status": "running"})), event("d2", "component:default/a", 200, json!({}))];
        let out = s.record_events(first.clone(), &merge).await.unwrap().unwrap();
        assert_eq!(out, [EventOutcome::Added, EventOutcome::Added], "{b}");
        // A retry changes nothing; a later report adds to the stored event.
        assert_eq!(s.record_events(first, &merge).await.unwrap().unwrap(), [EventOutcome::Unchanged, EventOutcome::Unchanged], "{b}");
        let later = vec![event("d1", "component:default/a", 100, json!({"status": "succeeded"}))];
        assert_eq!(s.record_events(later, &merge).await.unwrap().unwrap(), [EventOutcome::Updated], "{b}");
        // One refused event refuses its batch: d3 is not written either.
        let bad = vec![event("d3", "component:default/b", 300, json!({})), event("d1", "component:default/b", 100, json!({}))];
        let refused = s.record_events(bad, &merge).await.unwrap().unwrap_err();
        assert_eq!(refused, [(1, "event d1 is about component:default/a".to_owned())], "{b}");

        let all = s.events(&EventFilter::default()).await.unwrap();
        let ids: Vec<&str> = all.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["d1", "d2"], "{b}: oldest first, nothing of the refused batch");
        assert_eq!(all[0].body["status"], "succeeded", "{b}");
        let newest = s.events(&EventFilter { limit: 1, ..Default::default() }).await.unwrap();
        assert_eq!(newest[0].id, "d2", "{b}");
        let window = s.events(&EventFilter { since: Some(150), until: Some(250), kinds: vec!["deployment".into()], ..Default::default() }).await.unwrap();
        assert_eq!(window.len(), 1, "{b}");
        let none = s.events(&EventFilter { entity_keys: Some(vec!["component:default/b".into()]), ..Default::default() }).await.unwrap();
        assert!(none.is_empty(), "{b}");
    }
}

#[tokio::test]
async fn a_late_fact_never_replaces_a_newer_one_on_every_backend() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let fact = |value: serde_json::Value, at: i64| FactRow {
            entity_key: "component:default/a".into(),
            name: "coverage".into(),
            value,
            at,
            source: "test".into(),
            recorded_at: 1,
        };
        assert_eq!(s.put_facts("r", &[fact(json!(80.5), 200)]).await.unwrap(), [true], "{b}");
        assert_eq!(s.put_facts("r", &[fact(json!(10), 100)]).await.unwrap(), [false], "{b}: older than the stored value");
        assert_eq!(s.put_facts("r", &[fact(json!({"critical": 0}), 300)]).await.unwrap(), [true], "{b}");
        let stored = s.facts_of("component:default/a").await.unwrap();
        assert_eq!(stored.len(), 1, "{b}");
        assert_eq!((stored[0].value.clone(), stored[0].at), (json!({"critical": 0}), 300), "{b}");
        assert_eq!(s.load_facts().await.unwrap(), stored, "{b}");
    }
}

#[tokio::test]
async fn level_history_answers_changes_and_levels_as_of_a_time_on_every_backend() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let row = |entity: &str, at: i64, level: i32| LevelRow {
            scorecard: "scorecard:default/readiness".into(),
            entity_key: entity.into(),
            at,
            level,
            level_name: (level > 0).then(|| ["Bronze", "Silver", "Gold"][level as usize - 1].to_owned()),
            score: level as f32 * 30.0,
        };
        s.append_levels(&[row("component:default/a", 100, 1), row("component:default/b", 100, 0)]).await.unwrap();
        s.append_levels(&[row("component:default/a", 200, 2), row("component:default/b", 300, -1)]).await.unwrap();
        let at = |t: i64| async move {
            s.levels_at("scorecard:default/readiness", t).await.unwrap().into_iter().map(|r| (r.entity_key, r.level)).collect::<Vec<_>>()
        };
        assert_eq!(at(50).await, Vec::<(String, i32)>::new(), "{b}");
        assert_eq!(at(150).await, [("component:default/a".to_owned(), 1), ("component:default/b".to_owned(), 0)], "{b}");
        assert_eq!(at(300).await, [("component:default/a".to_owned(), 2), ("component:default/b".to_owned(), -1)], "{b}");
        let changes = s.level_changes("scorecard:default/readiness", Some("component:default/a"), None, None, 10).await.unwrap();
        assert_eq!(changes.iter().map(|r| (r.at, r.level_name.as_deref())).collect::<Vec<_>>(), [(200, Some("Silver")), (100, Some("Bronze"))], "{b}");
        let window = s.level_changes("scorecard:default/readiness", None, Some(150), Some(300), 10).await.unwrap();
        assert_eq!(window.len(), 1, "{b}");
        assert!(s.level_changes("scorecard:default/other", None, None, None, 10).await.unwrap().is_empty(), "{b}");
    }
}

#[tokio::test]
async fn initiative_progress_reads_a_window_with_what_held_when_it_opened_on_every_backend() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        let row = |owner: &str, at: i64, done: i32| ProgressRow { initiative: "initiative:default/ready".into(), owner: owner.into(), at, done, total: 4 };
        s.append_progress(&[row("", 100, 0), row("group:default/a", 100, 0)]).await.unwrap();
        s.append_progress(&[row("", 200, 1), row("group:default/a", 200, 1)]).await.unwrap();
        s.append_progress(&[row("", 300, 3)]).await.unwrap();
        s.append_progress(&[ProgressRow { initiative: "initiative:default/other".into(), ..row("", 250, 4) }]).await.unwrap();
        let got = |since: i64, until: i64| async move {
            s.progress("initiative:default/ready", since, until).await.unwrap().into_iter().map(|r| (r.owner, r.at, r.done)).collect::<Vec<_>>()
        };
        assert_eq!(got(0, 1000).await.len(), 5, "{b}");
        // The window opens after the second rows: they come first, as what held at its start.
        assert_eq!(
            got(250, 1000).await,
            [("".to_owned(), 200, 1), ("group:default/a".to_owned(), 200, 1), ("".to_owned(), 300, 3)],
            "{b}"
        );
        assert_eq!(got(0, 150).await, [("".to_owned(), 100, 0), ("group:default/a".to_owned(), 100, 0)], "{b}");
        assert!(s.progress("initiative:default/none", 0, 1000).await.unwrap().is_empty(), "{b}");
    }
}
