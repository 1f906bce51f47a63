//! The actions that reach the catalog, over the API on both backends: `catalog:fetch` reads,
//! `portico:entity:update` edits an entity through the write path (kept across a refresh of its
//! location), `catalog:register` registers a descriptor; a failed run with automatic rollback
//! restores the edit and unregisters what it registered.

use portico_store::testing::TestDb;
use serde_json::{Value, json};

use crate::helpers::{TestApp, json};

const CATALOG: &str = r#"
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: { name: extend-ttl, title: Extend the environment's TTL }
spec:
  type: day-2
  target: { kind: Resource, filter: "spec.type == 'environment'" }
  rollback: automatic
  parameters:
    required: [until, descriptor]
    properties:
      until: { type: string }
      descriptor: { type: string }
      fail: { type: boolean, default: false }
  steps:
    - id: owner
      action: catalog:fetch
      input: { entityRef: '${{ entity.spec.owner }}', defaultKind: group }
    - id: extend
      action: portico:entity:update
      input:
        entityRef: 'resource:default/${{ entity.metadata.name }}'
        patch: { metadata: { annotations: { portico.dev/expires-at: '${{ parameters.until }}' } } }
    - id: register
      action: catalog:register
      input: { catalogInfoUrl: '${{ parameters.descriptor }}' }
    - id: break
      if: '${{ parameters.fail }}'
      action: fs:rename
      input: { files: [{ from: nope, to: x }] }
  output:
    text: [{ title: Owner, content: '${{ steps.owner.output.entity.spec.profile.displayName }}' }]
---
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: preview-42
  annotations: { portico.dev/expires-at: '2026-12-10' }
spec: { type: environment, owner: team-a }
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: { name: team-a }
spec: { type: team, profile: { displayName: Team A }, children: [] }
"#;

fn descriptor(name: &str) -> String {
    format!("apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {{ name: {name} }}\nspec: {{ type: service, lifecycle: experimental, owner: team-a }}\n")
}

async fn finished(app: &TestApp, id: &str) -> Value {
    for _ in 0..200 {
        let run = json(app.get(&format!("/api/v1/actions/default/extend-ttl/runs/{id}")).await, 200).await;
        if ["completed", "failed", "cancelled"].contains(&run["status"].as_str().unwrap()) {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("run {id} did not finish");
}

async fn expires(app: &TestApp) -> Value {
    json(app.get("/api/catalog/entities/by-name/resource/default/preview-42").await, 200).await["metadata"]["annotations"]["portico.dev/expires-at"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_2_run_reads_edits_and_registers_through_the_catalog_and_a_rollback_undoes_it() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (app, dir, _file) = TestApp::with_registered_file(db, CATALOG).await;
        app.runs.start();
        let (one, two) = (dir.path().join("svc-one.yaml"), dir.path().join("svc-two.yaml"));
        std::fs::write(&one, descriptor("svc-one")).unwrap();
        std::fs::write(&two, descriptor("svc-two")).unwrap();
        let runs = "/api/v1/actions/default/extend-ttl/runs";

        let run = json(app.post(runs, &json!({"entity": "resource:default/preview-42", "parameters": {"until": "2026-12-24", "descriptor": one}})).await, 202).await;
        let done = finished(&app, run["id"].as_str().unwrap()).await;
        assert_eq!(done["status"], "completed", "{b}: {done}");
        assert_eq!(done["output"]["output"]["text"][0]["content"], "Team A", "{b}: catalog:fetch read the owner");
        assert_eq!(done["steps"][2]["output"]["entityRef"], "component:default/svc-one", "{b}");
        assert_eq!(expires(&app).await, "2026-12-24", "{b}");
        json(app.get("/api/catalog/entities/by-name/component/default/svc-one").await, 200).await;
        // Its location read again: the edit stays.
        assert_eq!(app.post("/api/catalog/refresh", &json!({"entityRef": "resource:default/preview-42"})).await.status(), 200, "{b}");
        assert_eq!(expires(&app).await, "2026-12-24", "{b}: kept across a refresh");
        let history = json(app.get("/api/v1/entities/resource/default/preview-42/history").await, 200).await;
        assert!(history.to_string().contains("guest"), "{b}: history names the run's author: {history}");

        // A run that fails after editing and registering: both undone at once.
        let run = json(app.post(runs, &json!({"entity": "resource:default/preview-42", "parameters": {"until": "2027-01-31", "descriptor": two, "fail": true}})).await, 202).await;
        let failed = finished(&app, run["id"].as_str().unwrap()).await;
        assert_eq!(failed["status"], "failed", "{b}");
        let undone: Vec<(String, String)> = failed["output"]["rollback"].as_array().unwrap().iter().map(|u| (u["step"].as_str().unwrap().to_owned(), u["status"].as_str().unwrap().to_owned())).collect();
        assert_eq!(undone, [("register".into(), "undone".into()), ("extend".into(), "undone".into()), ("owner".into(), "nothing".into())], "{b}: {failed}");
        assert_eq!(expires(&app).await, "2026-12-24", "{b}: the first run's edit is back");
        assert_eq!(app.get("/api/catalog/entities/by-name/component/default/svc-two").await.status(), 404, "{b}: unregistered");
        json(app.get("/api/catalog/entities/by-name/component/default/svc-one").await, 200).await;
    }
}
