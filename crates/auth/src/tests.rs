use std::sync::Arc;

use parking_lot::RwLock;
use portico_graph::CatalogGraph;
use portico_graph::eval::SharedGraph;
use portico_model::{CatalogEntry, Validator};
use serde_json::json;

use super::*;

fn entry(v: serde_json::Value) -> CatalogEntry {
    CatalogEntry::new(Validator::default().validate(v).unwrap(), "test")
}

/// Ada is in team-a, a child of platform (a child of engineering); Bob is in no group. Cart is
/// owned by team-a, billing by platform, search by Bob, and orphan by a group that is not there.
fn catalog() -> SharedGraph {
    let v = Validator::default();
    let mut g = CatalogGraph::new();
    let group = |name: &str, parent: Option<&str>| {
        let mut spec = json!({"type": "team", "children": []});
        if let Some(p) = parent {
            spec["parent"] = json!(p);
        }
        entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": {"name": name}, "spec": spec}))
    };
    let user = |name: &str, groups: &[&str]| entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": {"name": name}, "spec": {"memberOf": groups}}));
    let component = |name: &str, owner: &str| {
        entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": name}, "spec": {"type": "service", "lifecycle": "production", "owner": owner}}))
    };
    g.upsert(group("engineering", None), &v);
    g.upsert(group("platform", Some("engineering")), &v);
    g.upsert(group("team-a", Some("platform")), &v);
    g.upsert(user("ada", &["team-a"]), &v);
    g.upsert(user("bob", &[]), &v);
    g.upsert(component("cart", "team-a"), &v);
    g.upsert(component("billing", "platform"), &v);
    g.upsert(component("search", "user:bob"), &v);
    g.upsert(component("orphan", "ghosts"), &v);
    Arc::new(RwLock::new(g))
}

fn signed_in(graph: &SharedGraph, subject: &str) -> Subject {
    Subject { identity: resolve(&graph.read(), subject), signed_in: true, scopes: Scope::granted_by(&[Scope::Write]), ..Default::default() }
}

fn allowed(policy: &Policy, graph: &SharedGraph, s: &Subject, p: Permission, entity: Option<&str>) -> Decision {
    policy.decide(&Question { subject: s, permission: p, entity, request: None }, graph)
}

#[test]
fn a_user_has_its_groups_and_their_parents() {
    let g = catalog();
    let ada = resolve(&g.read(), "user:default/ada");
    assert!(ada.in_catalog);
    assert_eq!(ada.groups, ["group:default/engineering", "group:default/platform", "group:default/team-a"]);
    assert!(ada.is_or_belongs_to("group:default/platform"));
    let nobody = resolve(&g.read(), "user:default/nobody");
    assert!(!nobody.in_catalog && nobody.groups.is_empty());
    assert_eq!(resolve(&g.read(), "service:deployer").groups, Vec::<String>::new());
}

#[test]
fn the_default_policy_lets_owners_edit_and_everyone_signed_in_read() {
    let g = catalog();
    let policy = Policy::default_policy();
    let ada = signed_in(&g, "user:default/ada");
    let bob = signed_in(&g, "user:default/bob");
    let yes = |s: &Subject, p, e: Option<&str>| allowed(&policy, &g, s, p, e).allowed;

    assert!(yes(&ada, Permission::EntityRead, None));
    assert!(yes(&ada, Permission::SavedQueryCreate, None));
    assert!(!yes(&ada, Permission::LocationCreate, None), "a location can declare Users: admins only");
    assert!(yes(&ada, Permission::EntityDelete, Some("component:default/cart")), "her team owns it");
    assert!(yes(&ada, Permission::EntityRefresh, Some("component:default/billing")), "her team's parent owns it");
    assert!(!yes(&ada, Permission::EntityDelete, Some("component:default/search")), "Bob's");
    assert!(yes(&bob, Permission::EntityDelete, Some("component:default/search")), "a user owner");
    assert!(!yes(&bob, Permission::EntityDelete, Some("component:default/cart")));
    assert!(!yes(&ada, Permission::EntityDelete, Some("component:default/orphan")));
    assert!(!yes(&ada, Permission::EntityDelete, Some("component:default/not-there")), "no entity, no owner");
    assert!(!yes(&ada, Permission::LocationDelete, None), "admins only");
    assert!(!yes(&ada, Permission::AuditRead, None), "admins only");
    assert!(!yes(&ada, Permission::TokenAdmin, None));

    let guest = Subject::default();
    assert!(!yes(&guest, Permission::EntityRead, None), "not signed in");
    let admin = Subject { admin: true, ..Subject::default() };
    assert_eq!(allowed(&policy, &g, &admin, Permission::LocationDelete, None), Decision { allowed: true, rule: Some("admins".into()) });

    let deployer = Subject { identity: resolve(&g.read(), "service:deployer"), signed_in: true, service: true, scopes: Scope::granted_by(&[Scope::Write]), ..Default::default() };
    assert!(yes(&deployer, Permission::DiscoveryRun, None), "a service does what its scopes allow");
    assert!(!yes(&deployer, Permission::TokenAdmin, None), "but not more");
}

fn compile(yaml: &str) -> Result<Policy, String> {
    let config: PolicyConfig = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
    Policy::compile(&config, "auth.policy")
}

#[test]
fn first_match_and_deny_overrides_differ_on_a_late_deny() {
    let g = catalog();
    let ada = signed_in(&g, "user:default/ada");
    let rules = r#"
rules:
  - name: team-a-edits
    effect: allow
    permissions: ["catalog.*"]
    when: "'group:default/team-a' in user.groups"
  - name: no-deletes-in-production
    effect: deny
    permissions: [catalog.entity.delete]
    when: entity != null && entity.spec.lifecycle == 'production'
"#;
    let first = compile(rules).unwrap();
    let d = allowed(&first, &g, &ada, Permission::EntityDelete, Some("component:default/cart"));
    assert_eq!(d, Decision { allowed: true, rule: Some("team-a-edits".into()) });
    let overrides = compile(&format!("combine: denyOverrides\n{rules}")).unwrap();
    let d = allowed(&overrides, &g, &ada, Permission::EntityDelete, Some("component:default/cart"));
    assert_eq!(d, Decision { allowed: false, rule: Some("no-deletes-in-production".into()) });
    assert_eq!(d.reason(), "denied by rule \"no-deletes-in-production\"");
    let d = allowed(&overrides, &g, &ada, Permission::DiscoveryRun, None);
    assert_eq!(d, Decision { allowed: false, rule: None }, "no rule applies: no");
}

#[test]
fn rules_that_fail_to_evaluate_fail_closed() {
    let g = catalog();
    let ada = signed_in(&g, "user:default/ada");
    // `entity` is null for a permission without a resource: reading its fields fails.
    let allow = compile("rules:\n  - {name: a, effect: allow, permissions: [discovery.run], when: \"entity.spec.owner == 'x'\"}\n").unwrap();
    assert!(!allowed(&allow, &g, &ada, Permission::DiscoveryRun, None).allowed);
    let deny = compile(
        "combine: denyOverrides\nrules:\n  - {name: d, effect: deny, permissions: ['*'], when: \"entity.spec.owner == 'x'\"}\n  - {name: a, effect: allow, permissions: ['*']}\n",
    )
    .unwrap();
    assert_eq!(allowed(&deny, &g, &ada, Permission::DiscoveryRun, None).rule.as_deref(), Some("d"));
}

#[test]
fn bad_policies_are_refused_naming_the_rule_and_the_place() {
    let e = compile("rules:\n  - {name: a, effect: allow, permissions: [catalog.entity.remove]}\n").unwrap_err();
    assert!(e.starts_with("auth.policy.rules[0].permissions[0]: \"catalog.entity.remove\" names no permission"), "{e}");
    let e = compile("rules:\n  - {name: a, effect: allow, permissions: ['*'], when: \"usr.admin\"}\n").unwrap_err();
    assert!(e.starts_with("auth.policy.rules[0].when: 1:1:"), "{e}");
    assert!(e.contains("usr"), "{e}");
    let e = compile("rules:\n  - {name: a, effect: allow, permissions: ['*']}\n  - {name: a, effect: deny, permissions: ['*']}\n").unwrap_err();
    assert!(e.starts_with("auth.policy.rules[1].name:"), "{e}");
    let e = compile("rules:\n  - {name: a, effect: allow, permissions: []}\n").unwrap_err();
    assert!(e.starts_with("auth.policy.rules[0].permissions:"), "{e}");
    let e = compile(&format!("rules:\n  - {{name: a, effect: allow, permissions: ['*'], when: \"{}true\"}}\n", "!".repeat(200))).unwrap_err();
    assert!(e.contains("limit"), "{e}");
    assert!(compile("rules:\n  - {name: a, effect: permit, permissions: ['*']}\n").is_err());
}

#[test]
fn the_deepest_rule_accepted_evaluates_on_a_small_stack() {
    // Requests are answered on the runtime's threads, whose stacks are 2 MiB.
    let g = catalog();
    let ada = signed_in(&g, "user:default/ada");
    let deep = format!("{}user.signedIn{}", "(".repeat(45), " && true)".repeat(45));
    let policy = compile(&format!("rules:\n  - {{name: deep, effect: allow, permissions: ['*'], when: \"{deep}\"}}\n")).unwrap();
    let d = std::thread::Builder::new()
        .stack_size(2 << 20)
        .spawn(move || allowed(&policy, &g, &ada, Permission::EntityRead, None))
        .unwrap()
        .join()
        .unwrap();
    assert!(d.allowed);
}

#[test]
fn a_rule_sees_the_user_entity_when_it_reads_it() {
    let g = catalog();
    let ada = signed_in(&g, "user:default/ada");
    let policy = compile("rules:\n  - {name: a, effect: allow, permissions: ['*'], when: \"user.entity.metadata.name == 'ada' && entity == null\"}\n").unwrap();
    assert!(allowed(&policy, &g, &ada, Permission::AuditRead, None).allowed);
    let whole = compile("rules:\n  - {name: a, effect: allow, permissions: ['*'], when: \"has(user.entity.spec) && entity.metadata.name == 'cart'\"}\n").unwrap();
    assert!(allowed(&whole, &g, &ada, Permission::EntityDelete, Some("component:default/cart")).allowed);
}

#[test]
fn a_sign_in_matches_exactly_one_user_by_the_configured_claim() {
    let v = Validator::default();
    let mut g = CatalogGraph::new();
    let user = |name: &str, email: &str, annotation: Option<&str>| {
        let mut metadata = json!({"name": name});
        if let Some(a) = annotation {
            metadata["annotations"] = json!({"portico.dev/oidc-subject": a});
        }
        entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "User", "metadata": metadata, "spec": {"profile": {"email": email}, "memberOf": []}}))
    };
    g.upsert(user("ada", "Ada@Example.com", Some("00u-ada")), &v);
    g.upsert(user("twin-1", "twins@example.com", None), &v);
    g.upsert(user("twin-2", "twins@example.com", None), &v);
    let by = |by: MatchBy, annotation: Option<&str>| UserMatch { by, annotation: annotation.map(str::to_owned), domains: vec!["corp.example".into()], ..UserMatch::default() };
    // A verified email, as providers say it.
    let claims = |mut c: serde_json::Value| {
        if c.get("email").is_some() && c.get("email_verified").is_none() {
            c["email_verified"] = json!(true);
        }
        c
    };

    let email = by(MatchBy::Email, None);
    assert_eq!(email.find(&g, &claims(json!({"email": "ada@example.COM"}))), Ok("user:default/ada".into()), "emails compare case aside");
    assert_eq!(email.find(&g, &claims(json!({"email": "eve@example.com"}))), Err("no User in the catalog has spec.profile.email eve@example.com".into()));
    assert_eq!(
        email.find(&g, &claims(json!({"email": "twins@example.com"}))),
        Err("2 Users have spec.profile.email twins@example.com (user:default/twin-1, user:default/twin-2); a sign-in must match one".into())
    );
    assert_eq!(email.find(&g, &claims(json!({"email": "ada@example.com", "email_verified": false}))), Err("the provider says the email ada@example.com is not verified".into()));
    assert!(email.find(&g, &json!({"email": "ada@example.com"})).unwrap_err().contains("does not say the email ada@example.com is verified"), "a missing claim is not a yes");
    assert_eq!(email.find(&g, &json!({"email": "ada@example.com", "email_verified": "true"})), Ok("user:default/ada".into()), "some providers send it as text");
    let trusting = UserMatch { allow_unverified_email: true, ..email.clone() };
    assert_eq!(trusting.find(&g, &json!({"email": "ada@example.com"})), Ok("user:default/ada".into()));
    assert!(email.find(&g, &claims(json!({"sub": "x"}))).unwrap_err().starts_with("the provider sent no `email` claim"));
    assert_eq!(email.find(&g, &claims(json!({"email": 42}))), Err("the provider's `email` claim is not a text".into()));

    assert_eq!(by(MatchBy::EmailLocalPart, None).find(&g, &claims(json!({"email": "Ada@corp.example"}))), Ok("user:default/ada".into()));
    assert!(by(MatchBy::EmailLocalPart, None).find(&g, &claims(json!({"email": "ada@evil.example"}))).unwrap_err().contains("not of a domain that may sign in"), "ada@anything is not ada");
    assert!(UserMatch { by: MatchBy::EmailLocalPart, ..UserMatch::default() }.validate("at").unwrap_err().starts_with("at.domains"));
    assert_eq!(by(MatchBy::Name, None).find(&g, &claims(json!({"preferred_username": "ada"}))), Ok("user:default/ada".into()), "name compares preferred_username");
    let custom = UserMatch { by: MatchBy::Name, claim: Some("login".into()), ..UserMatch::default() };
    assert_eq!(custom.find(&g, &claims(json!({"login": "twin-2"}))), Ok("user:default/twin-2".into()));
    let annotation = by(MatchBy::Annotation, Some("portico.dev/oidc-subject"));
    let sub = UserMatch { claim: Some("sub".into()), ..annotation.clone() };
    assert_eq!(sub.find(&g, &claims(json!({"sub": "00u-ada"}))), Ok("user:default/ada".into()));
    assert!(sub.find(&g, &claims(json!({"sub": "00U-ADA"}))).is_err(), "annotations compare exactly");

    assert_eq!(annotation.validate("at"), Ok(()));
    assert!(by(MatchBy::Annotation, None).validate("at").unwrap_err().starts_with("at.annotation"));
    assert!(by(MatchBy::Email, Some("x")).validate("at").unwrap_err().contains("only used with"));
}

#[test]
fn the_rules_of_policy_entities_go_ahead_of_the_configured_ones_and_their_mistakes_name_them() {
    let g = catalog();
    let freeze = PolicyEntity {
        reference: "policy:default/freeze".into(),
        rules: vec![RuleConfig { name: "no-deletes".into(), effect: Effect::Deny, permissions: vec!["catalog.entity.delete".into()], when: None }],
    };
    let policy = Policy::with_entities(&PolicyConfig::default(), "auth.policy", std::slice::from_ref(&freeze)).unwrap();
    assert_eq!(policy.rule_names()[0], "policy:default/freeze/no-deletes");
    assert!(policy.rule_names().len() > 1, "the default policy's rules follow");
    let mut admin = signed_in(&g, "user:default/ada");
    admin.admin = true;
    let d = allowed(&policy, &g, &admin, Permission::EntityDelete, Some("component:default/cart"));
    assert!(!d.allowed && d.rule.as_deref() == Some("policy:default/freeze/no-deletes"), "{d:?}");
    assert!(allowed(&policy, &g, &admin, Permission::EntityRefresh, Some("component:default/cart")).allowed, "other permissions as before");

    let broken = PolicyEntity { rules: vec![RuleConfig { when: Some("entity.spec.lifecycle = 'x'".into()), ..freeze.rules[0].clone() }], ..freeze };
    let err = Policy::with_entities(&PolicyConfig::default(), "auth.policy", &[broken]).unwrap_err();
    assert!(err.starts_with("policy:default/freeze spec.rules[0].when: 1:"), "{err}");
}

/// Deciding every entity at once gives, entity by entity, what asking about each one gives,
/// with both combinations, and fails closed where a rule cannot be evaluated.
#[test]
fn every_entity_at_once_is_decided_as_each_alone() {
    let g = catalog();
    let rules = |combine: &str| -> PolicyConfig {
        serde_json::from_value(json!({"combine": combine, "rules": [
            {"name": "not-others-services", "effect": "deny", "permissions": ["catalog.entity.read"],
             "when": "entity != null && entity.kind == 'Component' && !user.owners.exists(o, entity.has_relation('ownedBy', o))"},
            {"name": "broken-for-users", "effect": "deny", "permissions": ["catalog.entity.read"], "when": "entity != null && entity.kind == 'User' && entity.spec.nothing.here"},
            {"name": "read", "effect": "allow", "permissions": ["catalog.entity.read"], "when": "user.signedIn"}
        ]}))
        .unwrap()
    };
    for combine in ["firstMatch", "denyOverrides"] {
        let policy = Policy::compile(&rules(combine), "auth.policy").unwrap();
        assert!(policy.depends_on_entity(Permission::EntityRead) && !policy.depends_on_entity(Permission::EntityDelete));
        let ada = signed_in(&g, "user:default/ada");
        let all = policy.entities_allowed(&ada, Permission::EntityRead, &g);
        let graph = g.read();
        let mut expected = roaring::RoaringBitmap::new();
        for id in graph.present().iter() {
            if allowed(&policy, &g, &ada, Permission::EntityRead, Some(graph.key_of(id))).allowed {
                expected.insert(id);
            }
        }
        assert_eq!(all, expected, "{combine}");
        let keys: Vec<&str> = all.iter().map(|id| graph.key_of(id)).collect();
        // Her team's and her parent groups' services; not Bob's, not the orphan; groups; no
        // user (the rule about users cannot be evaluated: it denies).
        assert!(keys.contains(&"component:default/cart") && keys.contains(&"component:default/billing"), "{combine}: {keys:?}");
        assert!(!keys.contains(&"component:default/search") && !keys.contains(&"component:default/orphan"), "{combine}: {keys:?}");
        assert!(keys.contains(&"group:default/team-a") && !keys.iter().any(|k| k.starts_with("user:")), "{combine}: {keys:?}");
    }
    // The default policy does not look at the entity: one answer for all.
    assert!(!Policy::default_policy().depends_on_entity(Permission::EntityRead));
    // An admin rule ahead of those that read the entity answers for every entity at once.
    let mut config = rules("firstMatch");
    config.rules.insert(0, serde_json::from_value(json!({"name": "admins", "effect": "allow", "permissions": ["*"], "when": "user.admin"})).unwrap());
    let policy = Policy::compile(&config, "auth.policy").unwrap();
    let admin = Subject { admin: true, ..signed_in(&g, "user:default/bob") };
    assert_eq!(policy.same_for_every_entity(&admin, Permission::EntityRead, &g), Some(true));
    assert_eq!(policy.same_for_every_entity(&signed_in(&g, "user:default/ada"), Permission::EntityRead, &g), None);
    let guest = Subject::default();
    assert_eq!(policy.same_for_every_entity(&guest, Permission::EntityRead, &g), None, "a deny rule reading the entity comes before the rest");
    let mut config = rules("denyOverrides");
    config.rules.retain(|r| r.name == "read");
    config.rules.push(serde_json::from_value(json!({"name": "never", "effect": "deny", "permissions": ["catalog.entity.read"], "when": "user.claims.blocked == true"})).unwrap());
    let policy = Policy::compile(&config, "auth.policy").unwrap();
    assert_eq!(policy.same_for_every_entity(&signed_in(&g, "user:default/ada"), Permission::EntityRead, &g), Some(false), "a failing deny denies");
}

/// What deciding every entity costs, per kind of rule, over 100,000 components (run with
/// `cargo test --release -p portico-auth cost -- --ignored --nocapture`; `portico bench catalog`
/// measures it through the server).
#[test]
#[ignore]
fn cost_of_deciding_every_entity() {
    let v = Validator::default();
    let mut g = CatalogGraph::new();
    for i in 0..100_000 {
        g.upsert(entry(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component", "metadata": {"name": format!("svc-{i:05}"), "annotations": {"a": "b", "c": "d"}, "tags": ["x", "y"]}, "spec": {"type": "service", "lifecycle": "production", "owner": format!("team-{}", i % 50)}})), &v);
    }
    let g: SharedGraph = Arc::new(RwLock::new(g));
    let bob = signed_in(&g, "user:default/bob");
    for when in [
        "entity != null && entity.spec.type == 'secret'",
        "entity != null && entity.metadata.name.endsWith('1')",
        "entity != null && entity.metadata.name.matches('[13579]$')",
        "entity != null && !user.owners.exists(o, entity.has_relation('ownedBy', o))",
    ] {
        let config: PolicyConfig = serde_json::from_value(json!({"rules": [
            {"name": "hide", "effect": "deny", "permissions": ["catalog.entity.read"], "when": when},
            {"name": "read", "effect": "allow", "permissions": ["catalog.entity.read"], "when": "user.signedIn"}
        ]}))
        .unwrap();
        let policy = Policy::compile(&config, "auth.policy").unwrap();
        let t = std::time::Instant::now();
        let n = policy.entities_allowed(&bob, Permission::EntityRead, &g).len();
        println!("{:>6} ms  {n:>6} allowed  {when}", t.elapsed().as_millis());
    }
}
