//! Stars: each caller's own, of entities they may read; idempotent; bad and missing targets
//! answered as such.

use portico_server::auth::AuthConfig;
use portico_store::testing::TestDb;
use serde_json::json;

use crate::helpers::{Setup, TestApp, error, json};

const BOOTSTRAP: &str = "bootstrap-token-for-tests-0123456789abcdef";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_caller_stars_what_it_may_read_and_lists_its_own() {
    for db in TestDb::all().await {
        let backend = db.backend();
        let auth = AuthConfig { bootstrap_token: Some(BOOTSTRAP.into()), ..Default::default() };
        let app = TestApp::spawn_setup(db, Setup { examples: true, auth, ..Setup::default() }).await;
        let url = |p: &str| format!("{}{p}", app.url);
        let put = |p: &str| app.client.put(url(p));

        assert_eq!(put("/api/v1/me/stars/component/default/artist-lookup").send().await.unwrap().status(), 201, "{backend}");
        assert_eq!(put("/api/v1/me/stars/component/default/artist-lookup").send().await.unwrap().status(), 200, "{backend}: already starred");
        let res = put("/api/v1/me/stars/API/default/petstore").send().await.unwrap();
        assert_eq!(res.status(), 201, "{backend}: kinds case aside: {}", res.text().await.unwrap());
        let mine = json(app.client.get(url("/api/v1/me/stars")).send().await.unwrap(), 200).await;
        let refs: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|i| i["entityRef"].as_str().unwrap()).collect();
        assert_eq!(refs.len(), 2, "{backend}: {mine}");
        assert!(refs.contains(&"component:default/artist-lookup") && refs.contains(&"api:default/petstore"), "{backend}: {mine}");
        assert_eq!(mine["items"][0]["inCatalog"], true);

        // Another caller (the bootstrap token) has stars of its own.
        let theirs = json(app.client.get(url("/api/v1/me/stars")).bearer_auth(BOOTSTRAP).send().await.unwrap(), 200).await;
        assert_eq!(theirs, json!({"items": []}), "{backend}");

        let missing = error(put("/api/v1/me/stars/component/default/nope").send().await.unwrap(), 404, "NotFoundError", "PUT").await;
        assert!(missing.contains("component:default/nope"), "{missing}");
        assert_eq!(app.client.delete(url("/api/v1/me/stars/component/default/artist-lookup")).send().await.unwrap().status(), 204, "{backend}");
        let again = error(app.client.delete(url("/api/v1/me/stars/component/default/artist-lookup")).send().await.unwrap(), 404, "NotFoundError", "DELETE").await;
        assert!(again.contains("is not starred"), "{again}");
        assert_eq!(app.client.post(url("/api/v1/me/stars/component/default/artist-lookup")).send().await.unwrap().status(), 404, "{backend}: PUT and DELETE only, as the API answers any method it has no route for");
    }
}
