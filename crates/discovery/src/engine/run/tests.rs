//! Engine runs against a real store (SQLite and PostgreSQL). The providers here are scripted:
//! what is under test is the engine (diff, merge, provenance, failure handling), and each
//! real provider has its own tests against real sources.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::engine::drift::{self, DriftKind};
use crate::engine::{
    Contribution, Engine, Evidence, Provider, ProviderError, Scan, ScanContext, ScopeOutcome, ScopeScan, SourceDecl, Trigger,
    provenance,
};
use portico_catalog::SourceError;
use portico_catalog::{Catalog, CatalogOptions, Reader, ReaderConfig};

/// Answers scans from a script, one per run, and records the contexts it was given.
struct Scripted {
    kind: &'static str,
    script: parking_lot::Mutex<VecDeque<Result<Scan, ProviderError>>>,
    seen: parking_lot::Mutex<Vec<(Value, Option<String>)>>,
}

impl Scripted {
    fn new(kind: &'static str, scans: Vec<Result<Scan, ProviderError>>) -> Arc<Self> {
        Arc::new(Self { kind, script: parking_lot::Mutex::new(scans.into()), seen: parking_lot::Mutex::new(Vec::new()) })
    }
}

#[async_trait::async_trait]
impl Provider for Scripted {
    fn kind(&self) -> &'static str {
        self.kind
    }

    async fn scan(&self, ctx: &ScanContext) -> Result<Scan, ProviderError> {
        self.seen.lock().push((ctx.previous.clone(), ctx.only.clone()));
        self.script.lock().pop_front().unwrap_or_else(|| Err(ProviderError::new("script exhausted")))
    }
}

fn decl(name: &str, kind: &str, priority: i32) -> SourceDecl {
    SourceDecl { name: name.into(), kind: kind.into(), interval: None, priority, webhook_secret: None, enabled: true, settings: json!({}) }
}

fn component(name: &str, spec: Value) -> Value {
    json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name}, "spec": spec})
}

fn full(scope: &str, contributions: Vec<Contribution>, state: Value) -> Scan {
    Scan {
        scopes: vec![ScopeScan { scope: scope.into(), outcome: ScopeOutcome::Full { contributions, errors: Vec::new(), complete: true } }],
        exhaustive: true,
        state,
    }
}

fn only(scope: &str, outcome: ScopeOutcome, state: Value) -> Scan {
    Scan { scopes: vec![ScopeScan { scope: scope.into(), outcome }], exhaustive: true, state }
}

async fn engine(db: &TestDb, sources: Vec<(SourceDecl, Arc<dyn Provider>)>) -> Arc<Engine> {
    let catalog = Catalog::open(db.store.clone(), CatalogOptions::default()).await.unwrap();
    let cache = std::env::temp_dir().join(format!("portico-engine-{}", uuid::Uuid::new_v4()));
    Engine::with_providers(catalog, Reader::new(ReaderConfig::default()), cache, sources)
}

fn spec(e: &Engine, key: &str) -> Option<Value> {
    e.catalog().read().get(key).map(|x| serde_json::to_value(&x.entity.spec).unwrap())
}

#[tokio::test]
async fn sources_merge_by_evidence_and_provenance_names_who_set_each_field() {
    for db in TestDb::all().await {
        let b = db.backend();
        let declared = Scripted::new("git", vec![Ok(full(
            "repo",
            vec![Contribution::new(Evidence::Declared, "repo@1:catalog-info.yaml", component("cart", json!({"type": "service", "lifecycle": "production", "owner": "group:default/team-a", "dependsOn": ["resource:default/db"]})))],
            json!({"repo": "c1"}),
        ))]);
        let inferred = Scripted::new("git", vec![Ok(full(
            "repo",
            vec![Contribution::new(Evidence::Inferred, "repo@1:go.mod", json!({"kind": "Component", "metadata": {"name": "cart", "description": "The cart", "tags": ["go"]}, "spec": {"type": "library", "owner": "group:default/team-b"}, "status": {"facts": {"git.hasReadme": true, "discovery.descriptionFrom": "cart/README.md:3", "discovery.nameFrom": "docker-compose.yml:12"}}}))],
            json!({"repo": "c1"}),
        ))]);
        let e = engine(&db, vec![(decl("descriptors", "git", 0), declared), (decl("inference", "git", 0), inferred)]).await;
        let r1 = e.run("descriptors", Trigger::Manual, None, None).await.unwrap();
        assert_eq!((r1.status.as_str(), r1.added), ("ok", 1), "{b}: {r1:?}");
        let r2 = e.run("inference", Trigger::Manual, None, None).await.unwrap();
        assert_eq!((r2.added, r2.updated), (0, 1), "{b}: {r2:?}");
        let key = "component:default/cart";
        let entry = e.catalog().read().get(key).cloned().unwrap();
        assert_eq!(entry.source, "discovery");
        assert_eq!(entry.entity.spec_str("owner"), Some("group:default/team-a"), "{b}: declared wins");
        assert_eq!(entry.entity.spec_str("type"), Some("service"));
        assert_eq!(entry.entity.metadata.description.as_deref(), Some("The cart"), "{b}: inferred fills gaps");
        assert_eq!(entry.entity.annotation("portico.dev/discovered-by"), Some("descriptors, inference"));

        let p = provenance::provenance(e.catalog(), key).await.unwrap().unwrap();
        assert_eq!(p.method, "merge");
        let field = |path: &str| p.fields.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("{b}: no {path} in {:?}", p.fields));
        assert_eq!((field("spec.owner").source.as_str(), field("spec.owner").location.as_str()), ("descriptors", "repo@1:catalog-info.yaml"));
        assert_eq!(field("spec.owner").overridden[0].value, json!("group:default/team-b"));
        assert_eq!(field("metadata.description").source, "inference");
        // Inferred fields name the file and line inside their location; declared ones do not.
        assert_eq!(field("metadata.description").lines, ["cart/README.md:3"], "{b}");
        assert!(field("metadata.name").lines.is_empty(), "{b}: the declared name wins");
        assert_eq!(field("status.facts.git.hasReadme").evidence, Evidence::Inferred);
        assert_eq!(p.sources.iter().map(|s| s.source.as_str()).collect::<Vec<_>>(), ["descriptors", "inference"]);
    }
}

#[tokio::test]
async fn unchanged_scopes_cost_no_writes_and_failures_delete_nothing() {
    for db in TestDb::all().await {
        let b = db.backend();
        let c = |n: &str| Contribution::new(Evidence::Observed, format!("state#{n}"), json!({"kind": "Resource", "metadata": {"name": n}, "spec": {"type": "bucket", "owner": "group:default/ops"}}));
        let failed = SourceError { location: "/states/prod.tfstate".into(), key: None, message: "connection refused".into() };
        let p = Scripted::new("terraform", vec![
            Ok(full("prod", vec![c("logs"), c("assets")], json!({"prod": "l:1"}))),
            Ok(only("prod", ScopeOutcome::Unchanged, json!({"prod": "l:1"}))),
            Ok(only("prod", ScopeOutcome::Failed { error: failed }, json!({}))),
            Err(ProviderError::new("backend unreachable")),
            Ok(Scan { scopes: vec![ScopeScan { scope: "prod".into(), outcome: ScopeOutcome::Full { contributions: vec![c("logs")], errors: Vec::new(), complete: false } }], exhaustive: true, state: json!({"prod": "l:2"}) }),
            Ok(full("prod", vec![c("logs")], json!({"prod": "l:3"}))),
            Ok(Scan { scopes: Vec::new(), exhaustive: true, state: json!({}) }),
        ]);
        let e = engine(&db, vec![(decl("tf", "terraform", 0), p.clone())]).await;
        let count = |e: &Engine| e.catalog().read().entries().filter(|x| x.source == "discovery").count();
        e.run("tf", Trigger::Manual, None, None).await.unwrap();
        assert_eq!(count(&e), 2, "{b}");

        let versions = db.store.history("resource:default/logs").await.unwrap().len();
        let r = e.run("tf", Trigger::Schedule, None, None).await.unwrap();
        assert_eq!((r.unchanged, r.added, r.updated, r.removed), (1, 0, 0, 0), "{b}");
        assert_eq!(db.store.history("resource:default/logs").await.unwrap().len(), versions, "{b}: no new version");

        let r = e.run("tf", Trigger::Schedule, None, None).await.unwrap();
        assert_eq!(r.status, "partial", "{b}");
        assert!(r.errors.to_string().contains("connection refused"), "{b}: {}", r.errors);
        assert_eq!(count(&e), 2, "{b}: a failed scope keeps its entities");
        assert_eq!(db.store.discovery_state("tf").await.unwrap(), Some(json!({"prod": "l:1"})), "{b}: failed scope keeps its state");

        let r = e.run("tf", Trigger::Schedule, None, None).await.unwrap();
        assert_eq!((r.status.as_str(), r.state.is_none()), ("failed", true), "{b}");
        assert!(r.errors.to_string().contains("backend unreachable"));
        assert_eq!(count(&e), 2, "{b}: a failed source keeps everything");

        let r = e.run("tf", Trigger::Schedule, None, None).await.unwrap();
        assert_eq!((r.status.as_str(), r.removed), ("partial", 0), "{b}: an incomplete read removes nothing");

        let r = e.run("tf", Trigger::Schedule, None, None).await.unwrap();
        assert_eq!((r.status.as_str(), r.removed), ("ok", 1), "{b}: a complete read does");
        assert!(e.catalog().read().get("resource:default/assets").is_none());

        let r = e.run("tf", Trigger::Schedule, None, None).await.unwrap();
        assert_eq!(r.removed, 1, "{b}: a scope no longer listed in an exhaustive scan is gone");
        assert_eq!(count(&e), 0, "{b}");

        let runs = e.runs(Some("tf"), 100).await.unwrap();
        assert_eq!(runs.len(), 7, "{b}");
        assert_eq!(runs[0].trigger, "schedule");
        assert!(runs.iter().all(|r| r.finished_at >= r.started_at));
        let sources = db.store.sources().await.unwrap();
        assert!(sources.iter().any(|s| s.name == "discovery:tf"), "{b}: {sources:?}");
    }
}

#[tokio::test]
async fn a_removed_contribution_leaves_what_other_sources_say_and_narrow_runs_keep_other_state() {
    for db in TestDb::all().await {
        let b = db.backend();
        let spec_a = json!({"type": "service", "lifecycle": "production", "owner": "group:default/a"});
        let declared = Scripted::new("git", vec![
            Ok(full("r1", vec![Contribution::new(Evidence::Declared, "r1:catalog-info.yaml", component("svc", spec_a.clone()))], json!({"r1": "x"}))),
            Ok(Scan { scopes: vec![ScopeScan { scope: "r1".into(), outcome: ScopeOutcome::Delta { upserts: Vec::new(), removals: vec!["component:default/svc".into()] } }], exhaustive: false, state: json!({"r1": "y"}) }),
        ]);
        let observed = Scripted::new("kubernetes", vec![Ok(full(
            "prod",
            vec![Contribution::new(Evidence::Observed, "k8s:prod/Deployment/svc", component("svc", json!({"type": "service", "lifecycle": "production", "owner": "group:default/k8s"})))],
            json!({"prod": 1}),
        ))]);
        let e = engine(&db, vec![(decl("repos", "git", 0), declared.clone()), (decl("k8s", "kubernetes", 0), observed)]).await;
        e.run("repos", Trigger::Manual, None, None).await.unwrap();
        e.run("k8s", Trigger::Manual, None, None).await.unwrap();
        assert_eq!(spec(&e, "component:default/svc").unwrap()["owner"], "group:default/a", "{b}");
        let r = e.run("repos", Trigger::Webhook, Some("r1".into()), None).await.unwrap();
        assert_eq!((r.updated, r.removed), (1, 0), "{b}: {r:?}");
        assert_eq!(spec(&e, "component:default/svc").unwrap()["owner"], "group:default/k8s", "{b}: the observed owner shows through");
        assert_eq!(declared.seen.lock()[1], (json!({"r1": "x"}), Some("r1".to_owned())), "{b}: the provider got its state and scope");
    }
}

#[tokio::test]
async fn duplicates_and_nameless_contributions_are_errors_and_invalid_merges_are_reported() {
    for db in TestDb::all().await {
        let b = db.backend();
        let ok = component("a", json!({"type": "service", "lifecycle": "x", "owner": "group:default/t"}));
        let scan = Scan {
            scopes: vec![
                ScopeScan { scope: "one".into(), outcome: ScopeOutcome::Full { contributions: vec![Contribution::new(Evidence::Declared, "one:a.yaml", ok.clone())], errors: Vec::new(), complete: true } },
                ScopeScan { scope: "two".into(), outcome: ScopeOutcome::Full {
                    contributions: vec![
                        Contribution::new(Evidence::Declared, "two:a.yaml", ok.clone()),
                        Contribution::new(Evidence::Declared, "two:b.yaml", json!({"kind": "Component"})),
                        Contribution::new(Evidence::Inferred, "two:c/go.mod", component("c", json!({"type": "service"}))),
                    ],
                    errors: vec![SourceError { location: "two:bad.yaml".into(), key: None, message: "bad YAML at 3:4".into() }],
                    complete: true,
                } },
            ],
            exhaustive: true,
            state: json!({}),
        };
        let e = engine(&db, vec![(decl("s", "git", 0), Scripted::new("git", vec![Ok(scan)]))]).await;
        let r = e.run("s", Trigger::Manual, None, None).await.unwrap();
        let errors = r.errors.to_string();
        assert!(errors.contains("duplicate entity `component:default/a` in source `s` (also found in one)"), "{b}: {errors}");
        assert!(errors.contains("without kind and metadata.name"), "{b}: {errors}");
        assert!(errors.contains("bad YAML at 3:4"), "{b}");
        assert!(errors.contains("component:default/c") && errors.contains("lifecycle"), "{b}: the invalid merge is named: {errors}");
        assert_eq!(r.added, 1, "{b}");
    }
}

#[tokio::test]
async fn drift_compares_declarations_with_what_runs() {
    for db in TestDb::all().await {
        let b = db.backend();
        let declared = Scripted::new("git", vec![Ok(full(
            "repo",
            vec![
                Contribution::new(Evidence::Declared, "repo:cart.yaml", component("cart", json!({"type": "service", "lifecycle": "production", "owner": "group:default/team-a", "dependsOn": ["component:default/payments"]}))),
                Contribution::new(Evidence::Declared, "repo:idle.yaml", component("idle", json!({"type": "service", "lifecycle": "production", "owner": "group:default/ghosts"}))),
                Contribution::new(Evidence::Inferred, "repo:cart/k8s.yaml", json!({"kind": "Component", "metadata": {"name": "cart"}, "spec": {"dependsOn": ["resource:default/redis-cart"]}, "status": {"facts": {"discovery.observedDependsOn": ["resource:default/redis-cart"]}}})),
            ],
            json!({}),
        ))]);
        let running = Scripted::new("kubernetes", vec![Ok(full(
            "prod",
            vec![
                Contribution::new(Evidence::Observed, "k8s:prod/cart", json!({"kind": "Resource", "metadata": {"name": "cart-deploy"}, "spec": {"type": "deployment", "owner": "group:default/team-a", "dependencyOf": ["component:default/cart"]}})),
                Contribution::new(Evidence::Observed, "k8s:prod/stray", json!({"kind": "Resource", "metadata": {"name": "stray"}, "spec": {"type": "deployment"}})),
            ],
            json!({}),
        ))]);
        let e = engine(&db, vec![(decl("repos", "git", 0), declared), (decl("k8s", "kubernetes", 0), running)]).await;
        // Registered locations declare too (regression: only discovered descriptors counted).
        let registered = |name: &str| portico_catalog::RawEntity {
            value: component(name, json!({"type": "service", "lifecycle": "production", "owner": "group:default/team-a"})),
            origin: portico_catalog::Origin { location: "catalog-info.yaml".into(), text: None, document: 0 },
            parent: None,
            degraded: false,
        };
        e.catalog()
            .apply(portico_catalog::Mutation::Full { source: "location:x".into(), entities: vec![registered("legacy"), registered("payments")], errors: Vec::new(), complete: true })
            .await
            .unwrap();
        e.run("repos", Trigger::Manual, None, None).await.unwrap();
        e.run("k8s", Trigger::Manual, None, None).await.unwrap();
        let kinds: HashMap<String, String> = e.sources().map(|d| (d.name.clone(), d.kind.clone())).collect();
        let report = drift::report(e.catalog(), &kinds).await.unwrap();
        let has = |kind: DriftKind, entity: &str, target: Option<&str>| {
            report.items.iter().any(|i| i.kind == kind && i.entity_ref == entity && i.target.as_deref() == target)
        };
        assert!(report.runtime_sources);
        assert!(has(DriftKind::DeclaredNotRunning, "component:default/idle", None), "{b}: {:#?}", report.items);
        assert!(!has(DriftKind::DeclaredNotRunning, "component:default/cart", None), "{b}: cart runs");
        assert!(has(DriftKind::RunningNotDeclared, "resource:default/stray", None), "{b}");
        assert!(has(DriftKind::RunningWithoutOwner, "resource:default/stray", None), "{b}");
        assert!(!has(DriftKind::RunningNotDeclared, "resource:default/cart-deploy", None), "{b}: belongs to cart");
        assert!(has(DriftKind::UndeclaredDependency, "component:default/cart", Some("resource:default/redis-cart")), "{b}: {:#?}", report.items);
        assert!(has(DriftKind::UnobservedDependency, "component:default/cart", Some("component:default/payments")), "{b}");
        assert!(has(DriftKind::MissingOwner, "component:default/idle", Some("group:default/ghosts")), "{b}");
        assert!(has(DriftKind::DeclaredNotRunning, "component:default/legacy", None), "{b}: a registered service nothing runs");
        assert_eq!(report.counts[&DriftKind::MissingOwner], 5, "{b}: team-a is missing too (cart, cart-deploy, legacy, payments): {:#?}", report.items);
    }
}

#[tokio::test]
async fn leases_go_to_one_holder_until_they_expire() {
    for db in TestDb::all().await {
        let s = &db.store;
        let b = db.backend();
        assert!(s.try_lease("discovery:x", "a", 100, 200).await.unwrap(), "{b}");
        assert!(!s.try_lease("discovery:x", "b", 150, 250).await.unwrap(), "{b}: held by a");
        assert!(s.try_lease("discovery:x", "a", 150, 300).await.unwrap(), "{b}: a renews");
        assert!(s.try_lease("discovery:x", "b", 300, 400).await.unwrap(), "{b}: expired, b takes it");
        assert!(s.try_lease("discovery:y", "a", 300, 400).await.unwrap(), "{b}: another name is free");
    }
}
