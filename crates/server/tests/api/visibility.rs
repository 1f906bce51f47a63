//! Visibility that follows relations: with a policy that hides team-b's entities from everyone
//! outside team-b, Breanna (team-a) meets them nowhere — one probe per read surface, each
//! checking that the hidden entity is absent exactly as one that does not exist is, and that
//! what she may see is still there (so no probe passes by seeing nothing). Amelia (team-b, an
//! admin) still sees everything.

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{Setup, TestApp, json};

const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";
const BREANNA: &str = "user:default/breanna.davison";
const AMELIA: &str = "user:default/amelia.park";

/// team-b owns podcast-api, queue-proxy, the podcast system and the starwars-graphql API.
const HIDDEN: &[&str] = &["component:default/podcast-api", "component:default/queue-proxy", "system:default/podcast", "api:default/starwars-graphql"];

fn policy() -> Value {
    json!({
        "combine": "firstMatch",
        "rules": [
            {"name": "admins", "effect": "allow", "permissions": ["*"], "when": "user.admin"},
            {"name": "team-b-private", "effect": "deny", "permissions": ["catalog.entity.read"],
             "when": "entity != null && entity.has_relation('ownedBy', 'group:default/team-b') && !('group:default/team-b' in user.groups)"},
            {"name": "read", "effect": "allow", "when": "user.signedIn",
             "permissions": ["catalog.entity.read", "catalog.location.read", "discovery.read", "query.run", "query.saved.read", "query.saved.create", "analytics.read", "token.read"]},
            {"name": "owners-edit", "effect": "allow", "permissions": ["catalog.entity.refresh"],
             "when": "entity != null && user.owners.exists(o, entity.has_relation('ownedBy', o))"}
        ]
    })
}

async fn spawn(db: TestDb) -> TestApp {
    spawn_with_roots(db, Vec::new(), policy()).await
}

async fn spawn_with_roots(db: TestDb, roots: Vec<std::path::PathBuf>, policy: Value) -> TestApp {
    let auth = AuthConfig {
        bootstrap_token: Some(BOOTSTRAP.into()),
        admin_groups: vec!["group:default/team-b".into()],
        policy: serde_json::from_value(policy).unwrap(),
        ..Default::default()
    };
    TestApp::spawn_setup(db, Setup { examples: true, roots, auth, ..Setup::default() }).await
}

async fn token_of(app: &TestApp, user: &str) -> String {
    let body = json!({"name": "t", "scopes": ["write"], "user": user});
    let res = app.client.post(format!("{}/api/v1/tokens", app.url)).bearer_auth(BOOTSTRAP).json(&body).send().await.unwrap();
    json(res, 201).await["secret"].as_str().unwrap().to_owned()
}

struct Reader<'a> {
    app: &'a TestApp,
    token: String,
}

impl Reader<'_> {
    async fn get(&self, path: &str) -> reqwest::Response {
        self.app.client.get(format!("{}{path}", self.app.url)).bearer_auth(&self.token).send().await.unwrap()
    }

    async fn get_json(&self, path: &str) -> Value {
        json(self.get(path).await, 200).await
    }

    async fn post(&self, path: &str, body: &Value) -> reqwest::Response {
        self.app.client.post(format!("{}{path}", self.app.url)).bearer_auth(&self.token).json(body).send().await.unwrap()
    }

    async fn post_json(&self, path: &str, body: &Value) -> Value {
        json(self.post(path, body).await, 200).await
    }

    /// Status and message of a refusal, with `name` written as `NAME`: a hidden entity must be
    /// refused in the very words a missing one is.
    async fn refusal(&self, res: reqwest::Response, name: &str) -> (u16, String) {
        let status = res.status().as_u16();
        let body: Value = res.json().await.unwrap_or_default();
        let message = body["error"]["message"].as_str().unwrap_or_default().replace(name, "NAME");
        (status, message)
    }
}

/// Every `entityRef`, `ref`, relation target and string in a JSON answer.
fn mentions(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.to_lowercase()),
        Value::Array(a) => a.iter().for_each(|x| mentions(x, out)),
        Value::Object(o) => o.values().for_each(|x| mentions(x, out)),
        _ => {}
    }
}

fn assert_hidden_from(v: &Value, what: &str) {
    let mut all = Vec::new();
    mentions(v, &mut all);
    for hidden in HIDDEN {
        let name = hidden.rsplit('/').next().unwrap();
        assert!(!all.iter().any(|s| s.contains(hidden) || s == name || s.ends_with(&format!("/{name}"))), "{what} mentions {hidden}: {v}");
    }
}

fn count_of(facets: &Value, key: &str, value: &str) -> u64 {
    facets["facets"][key].as_array().unwrap().iter().find(|f| f["value"] == value).map_or(0, |f| f["count"].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entity_the_policy_hides_is_absent_from_every_read_surface_and_from_other_entities_relations() {
    for db in TestDb::all().await {
        let b = db.backend();
        let app = spawn(db).await;
        let breanna = Reader { app: &app, token: token_of(&app, BREANNA).await };
        let amelia = Reader { app: &app, token: token_of(&app, AMELIA).await };
        let uid = amelia.get_json("/api/catalog/entities/by-name/component/default/podcast-api").await["metadata"]["uid"].as_str().unwrap().to_owned();
        let since = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);

        // One entity: by name, by uid, ancestry, location, history, as of now, provenance.
        for (hidden, missing) in [
            ("/api/catalog/entities/by-name/component/default/podcast-api", "/api/catalog/entities/by-name/component/default/no-such-api"),
            ("/api/catalog/entities/by-name/component/default/podcast-api/ancestry", "/api/catalog/entities/by-name/component/default/no-such-api/ancestry"),
            ("/api/catalog/locations/by-entity/component/default/podcast-api", "/api/catalog/locations/by-entity/component/default/no-such-api"),
            ("/api/v1/entities/component/default/podcast-api", "/api/v1/entities/component/default/no-such-api"),
            ("/api/v1/entities/component/default/podcast-api/history", "/api/v1/entities/component/default/no-such-api/history"),
            ("/api/v1/entities/component/default/podcast-api/provenance", "/api/v1/entities/component/default/no-such-api/provenance"),
        ] {
            let seen = breanna.refusal(breanna.get(hidden).await, "podcast-api").await;
            let unknown = breanna.refusal(breanna.get(missing).await, "no-such-api").await;
            assert_eq!(seen.0, 404, "{b}: {hidden}: {seen:?}");
            assert_eq!(seen, unknown, "{b}: {hidden} answers as a missing entity does");
            assert_eq!(amelia.get(hidden).await.status(), 200, "{b}: {hidden} for an admin");
        }
        let seen = breanna.refusal(breanna.get(&format!("/api/catalog/entities/by-uid/{uid}")).await, &uid).await;
        let unknown = breanna.refusal(breanna.get("/api/catalog/entities/by-uid/00000000-0000-0000-0000-000000000000").await, "00000000-0000-0000-0000-000000000000").await;
        assert_eq!((seen.0, &seen), (404, &unknown), "{b}: by uid");
        // Acting on it: refused as acting on a missing one is, and starring it is a 404.
        let refresh = |r: &str| json!({"entityRef": r});
        let seen = breanna.refusal(breanna.post("/api/catalog/refresh", &refresh("component:default/podcast-api")).await, "podcast-api").await;
        let unknown = breanna.refusal(breanna.post("/api/catalog/refresh", &refresh("component:default/no-such-api")).await, "no-such-api").await;
        assert_eq!(seen, unknown, "{b}: refresh");
        let star = |n: &str| app.client.put(format!("{}/api/v1/me/stars/component/default/{n}", app.url)).bearer_auth(&breanna.token);
        assert_eq!(star("podcast-api").send().await.unwrap().status(), 404, "{b}: star");
        assert_eq!(star("artist-lookup").send().await.unwrap().status(), 201, "{b}: star a visible one");

        // Lists: legacy, by-query (GET and POST, counts included), by-refs.
        let list = breanna.get_json("/api/catalog/entities?filter=kind=component").await;
        assert_eq!(list.as_array().unwrap().len(), 11, "{b}: 13 components, 2 hidden");
        assert_hidden_from(&list, "the list");
        let page = breanna.get_json("/api/catalog/entities/by-query?filter=kind=component&limit=100").await;
        assert_eq!(page["totalItems"], 11, "{b}");
        assert_hidden_from(&page, "by-query");
        let page = breanna.post_json("/api/catalog/entities/by-query", &json!({"query": {"kind": "component"}, "limit": 5})).await;
        assert_eq!(page["totalItems"], 11, "{b}");
        let all = breanna.get_json("/api/catalog/entities/by-query?limit=1000").await;
        assert_eq!(all["totalItems"], crate::EXAMPLE_ENTITIES - 4, "{b}");
        assert_hidden_from(&all["items"], "the whole catalog, with every entity's relations");
        let refs = breanna.post_json("/api/catalog/entities/by-refs", &json!({"entityRefs": ["component:default/podcast-api", "component:default/artist-lookup"]})).await;
        assert_eq!(refs["items"][0], Value::Null, "{b}");
        assert_eq!(refs["items"][1]["metadata"]["name"], "artist-lookup", "{b}");
        let admin = amelia.get_json("/api/catalog/entities/by-query?filter=kind=component").await;
        assert_eq!(admin["totalItems"], 13, "{b}: the admin sees all");

        // Other entities' relations: the owning group, the domain, the system's neighbours.
        let team = breanna.get_json("/api/catalog/entities/by-name/group/default/team-b").await;
        assert_hidden_from(&team["relations"], "team-b's relations");
        let team_admin = amelia.get_json("/api/catalog/entities/by-name/group/default/team-b").await;
        assert!(team_admin["relations"].to_string().contains("component:default/podcast-api"), "{b}: {team_admin}");
        let domain = breanna.get_json("/api/catalog/entities/by-name/domain/default/playback").await;
        assert_hidden_from(&domain["relations"], "playback's relations");
        // Filters on relations to (and from) the hidden ones match nothing.
        for filter in ["relations.ownerof=component:default/podcast-api", "relations.haspart=system:default/podcast", "relations.partof=system:default/podcast"] {
            let matched = breanna.get_json(&format!("/api/catalog/entities?filter={filter}")).await;
            assert_eq!(matched, json!([]), "{b}: {filter}");
            let admin = amelia.get_json(&format!("/api/catalog/entities?filter={filter}")).await;
            assert!(!admin.as_array().unwrap().is_empty(), "{b}: {filter} for an admin");
        }
        let matched = breanna.post_json("/api/catalog/entities/by-query", &json!({"query": {"relations.ownerOf": "component:default/podcast-api"}})).await;
        assert_eq!(matched["totalItems"], 0, "{b}: a predicate on a relation to a hidden entity");

        // Facets, counts included: kinds, owners, and relation values naming a hidden entity.
        let facets = breanna.get_json("/api/catalog/entity-facets?facet=kind&facet=relations.ownedBy&facet=relations.hasPart&facet=spec.system").await;
        assert_eq!(count_of(&facets, "kind", "Component"), 11, "{b}");
        assert_eq!(count_of(&facets, "kind", "System"), 2, "{b}");
        assert_eq!(count_of(&facets, "relations.ownedBy", "group:default/team-b"), 0, "{b}");
        assert_hidden_from(&facets, "facets");
        let facets = breanna.post_json("/api/catalog/entity-facets", &json!({"facets": ["kind"], "query": {"spec.type": "service"}})).await;
        let admin = amelia.post_json("/api/catalog/entity-facets", &json!({"facets": ["kind"], "query": {"spec.type": "service"}})).await;
        assert_eq!(count_of(&facets, "kind", "Component") + 1, count_of(&admin, "kind", "Component"), "{b}: podcast-api is a service");

        // Queries in the expression language, the graph functions, saved queries, asOf.
        let query = |e: &str| json!({"expression": e, "limit": 100});
        let out = breanna.post_json("/api/v1/query", &query("kind == 'Component'")).await;
        assert_eq!(out["totalItems"], 11, "{b}");
        assert_hidden_from(&out["items"], "a query's items");
        let out = breanna.post_json("/api/v1/query", &json!({"expression": "ref == 'group:default/team-b'", "fields": ["size(related('ownerOf'))", "entity('component:default/podcast-api') == null", "size('domain:default/playback'.related('hasPart'))"]})).await;
        let row = &out["items"][0];
        assert_eq!(row["size(related('ownerOf'))"], 0, "{b}: {out}");
        assert_eq!(row["entity('component:default/podcast-api') == null"], true, "{b}: {out}");
        assert_eq!(row["size('domain:default/playback'.related('hasPart'))"], 1, "{b}: audio-playback, not podcast: {out}");
        let out = breanna.post_json("/api/v1/query", &query("has_relation('ownedBy', 'group:default/team-b')")).await;
        assert_eq!(out["totalItems"], 0, "{b}: {out}");
        let out = breanna.post_json("/api/v1/query", &json!({"expression": "kind == 'Component'", "groupBy": "spec.lifecycle", "limit": 0})).await;
        let grouped: u64 = out["groups"].as_array().unwrap().iter().map(|g| g["count"].as_u64().unwrap()).sum();
        assert_eq!(grouped, 11, "{b}: groups count only what she sees: {out}");
        let saved = json!({"title": "Components", "owner": "team-a", "query": {"expression": "kind == 'Component'"}});
        let res = app.client.put(format!("{}/api/v1/queries/components", app.url)).bearer_auth(&breanna.token).json(&saved).send().await.unwrap();
        assert!(res.status().is_success(), "{b}: {}", res.status());
        let run = json(app.client.post(format!("{}/api/v1/queries/components/run", app.url)).bearer_auth(&breanna.token).send().await.unwrap(), 200).await;
        assert_eq!(run["totalItems"], 11, "{b}: a saved query");
        let run = json(app.client.post(format!("{}/api/v1/queries/components/run", app.url)).bearer_auth(&amelia.token).send().await.unwrap(), 200).await;
        assert_eq!(run["totalItems"], 13, "{b}: the same saved query for an admin");
        let past = breanna.post_json("/api/v1/query", &json!({"expression": "kind == 'Component'", "asOf": since})).await;
        assert_eq!(past["totalItems"], 11, "{b}: asOf: {past}");
        assert_hidden_from(&past["items"], "an asOf query");
        let past = breanna.get_json(&format!("/api/catalog/entities/by-query?filter=kind=component&asOf={}", urlencode(&since))).await;
        assert_eq!(past["totalItems"], 11, "{b}: by-query asOf");

        // History and changes, health and analytics counts.
        let changes = breanna.get_json("/api/v1/changes?from=2000-01-01T00:00:00Z").await;
        assert!(!changes["added"].as_array().unwrap().is_empty(), "{b}");
        assert_hidden_from(&changes, "changes");
        let health = breanna.get_json("/api/v1/health/catalog").await;
        assert_eq!(health["entities"], crate::EXAMPLE_ENTITIES - 4, "{b}");
        let series = breanna.get_json("/api/v1/analytics/series?by=kind&points=1").await;
        let components = series["lines"].as_array().unwrap().iter().find(|l| l["name"] == "Component").map(|l| l["values"][0].clone());
        assert_eq!(components, Some(json!(11)), "{b}: {series}");
        assert_hidden_from(&breanna.get_json("/api/v1/me/stars").await, "stars");
    }
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// After a change, what a reader sees follows at once, also when only a neighbour changed: a
/// group marked private hides what it owns; unmarking the group (the components untouched)
/// shows them again; giving a component to team-b hides it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_reader_sees_follows_each_change_to_an_entity_or_its_neighbours() {
    for db in TestDb::all().await {
        let b = db.backend();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        let mut policy = policy();
        policy["rules"].as_array_mut().unwrap().insert(1, json!({"name": "private-teams", "effect": "deny", "permissions": ["catalog.entity.read"],
            "when": "entity != null && entity.related('ownedBy').exists(g, has(g.metadata.labels) && 'private' in g.metadata.labels)"}));
        let app = spawn_with_roots(db, vec![root.clone()], policy).await;
        let breanna = Reader { app: &app, token: token_of(&app, BREANNA).await };
        let amelia = Reader { app: &app, token: token_of(&app, AMELIA).await };
        let write = |private: bool, owner_of_cart: &str| {
            let labels = if private { "\n  labels:\n    private: \"yes\"" } else { "" };
            let yaml = format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: secret-team{labels}\nspec:\n  type: team\n  children: []\n---\n\
                 apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: vault\nspec:\n  type: service\n  lifecycle: production\n  owner: secret-team\n---\n\
                 apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: cart\nspec:\n  type: service\n  lifecycle: production\n  owner: {owner_of_cart}\n  dependsOn: [component:vault]\n"
            );
            std::fs::write(root.join("catalog-info.yaml"), yaml).unwrap();
        };
        let sees = |name: &'static str| {
            let r = &breanna;
            async move { r.get(&format!("/api/catalog/entities/by-name/component/default/{name}")).await.status() == 200 }
        };
        // Read once before the location exists, so what follows is an update of her answer.
        assert_eq!(breanna.get_json("/api/catalog/entities?filter=kind=component").await.as_array().unwrap().len(), 11, "{b}");

        write(true, "team-a");
        let spec = json!({"type": "file", "target": root.join("catalog-info.yaml")});
        json(amelia.post("/api/catalog/locations", &spec).await, 201).await;
        assert!(!sees("vault").await, "{b}: owned by a private group");
        assert!(sees("cart").await, "{b}");
        let cart = breanna.get_json("/api/catalog/entities/by-name/component/default/cart").await;
        assert_hidden_from_names(&cart["relations"], &["vault"], b);
        assert_eq!(breanna.get_json("/api/catalog/entities?filter=kind=component").await.as_array().unwrap().len(), 12, "{b}");

        // Only the group changes: what it owns is decided again.
        write(false, "team-a");
        let res = amelia.post("/api/catalog/refresh", &json!({"entityRef": "group:default/secret-team"})).await;
        assert_eq!(res.status(), 200, "{b}");
        assert!(sees("vault").await, "{b}: its group is no longer private");
        let cart = breanna.get_json("/api/catalog/entities/by-name/component/default/cart").await;
        assert!(cart["relations"].to_string().contains("component:default/vault"), "{b}: {cart}");

        // cart goes to team-b: hidden from her, and from vault's relations.
        write(false, "team-b");
        assert_eq!(amelia.post("/api/catalog/refresh", &json!({"entityRef": "component:default/cart"})).await.status(), 200, "{b}");
        assert!(!sees("cart").await, "{b}");
        let vault = breanna.get_json("/api/catalog/entities/by-name/component/default/vault").await;
        assert_hidden_from_names(&vault["relations"], &["cart"], b);
    }
}

fn assert_hidden_from_names(v: &Value, names: &[&str], backend: &str) {
    for n in names {
        assert!(!v.to_string().contains(&format!("/{n}\"")), "{backend}: {v} mentions {n}");
    }
}
