use std::sync::atomic::{AtomicUsize, Ordering};

use portico_store::testing::TestDb;
use serde_json::json;

use super::*;
use crate::action::{Action, ActionError, Context, Registry};

/// Counts its runs: an action with effects outside the workspace (as `publish:*`).
struct Push(Arc<AtomicUsize>);

#[async_trait::async_trait]
impl Action for Push {
    fn id(&self) -> &'static str {
        "test:push"
    }
    fn description(&self) -> &'static str {
        "test"
    }
    fn input_schema(&self) -> Value {
        json!({"type": "object"})
    }
    fn example(&self) -> &'static str {
        ""
    }
    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        self.0.fetch_add(1, Ordering::SeqCst);
        cx.log(format!("pushing with {}", input["token"].as_str().unwrap_or("")));
        Ok(json!({"remoteUrl": "https://git.example/cart"}))
    }
}

fn template(dir: &std::path::Path) -> Template {
    crate::register();
    std::fs::create_dir_all(dir.join("skeleton")).unwrap();
    std::fs::write(dir.join("skeleton/README.md"), "# ${{ values.name }}\n").unwrap();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "svc", "annotations": {"backstage.io/managed-by-location": format!("file:{}/template.yaml", dir.display())}},
            "spec": {"type": "service",
                "parameters": {"required": ["name"], "properties": {"name": {"type": "string"}, "wait": {"type": "integer", "default": 0}}},
                "steps": [
                    {"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}},
                    {"id": "push", "action": "test:push", "input": {"token": "${{ secrets.GIT_TOKEN }}"}},
                    {"id": "wait", "action": "debug:wait", "input": {"milliseconds": "${{ parameters.wait }}"}},
                    {"id": "list", "action": "debug:log", "input": {"listWorkspace": true}}
                ],
                "output": {"links": [{"title": "Repository", "url": "${{ steps.push.output.remoteUrl }}"}]}}}))
        .unwrap();
    Template::from_entity(&e).unwrap()
}

fn runs(db: &TestDb, root: &std::path::Path, pushes: &Arc<AtomicUsize>, config: RunsConfig) -> Arc<Runs> {
    let mut registry = Registry::builtin();
    registry.register(Arc::new(Push(pushes.clone())));
    Runs::new(db.store.clone(), Default::default(), Arc::new(Engine::new(registry)), root.to_path_buf(), config)
}

fn config() -> RunsConfig {
    RunsConfig { secrets: [("GIT_TOKEN".to_owned(), "ghp_s3cr3t".to_owned())].into(), lease: Duration::from_millis(600), ..RunsConfig::default() }
}

async fn wait_finished(store: &Arc<dyn Store>, id: &str) -> RunView {
    for _ in 0..200 {
        let r = RunView::from_record(&store.run(id).await.unwrap().unwrap());
        if r.finished() {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} did not finish");
}

#[tokio::test]
async fn a_stored_run_is_executed_by_a_worker_with_its_log_saved() {
    for db in TestDb::all().await {
        let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let pushes = Arc::new(AtomicUsize::new(0));
        let runs = runs(&db, root.path(), &pushes, config());
        runs.start();
        let t = template(dir.path());
        let view = runs.submit(&t, &json!({"name": "cart"}), "user:default/ana", json!({"ref": "user:default/ana"}), None).await.unwrap();
        assert_eq!(view.status, "queued");
        let done = wait_finished(&db.store, &view.id).await;
        assert_eq!(done.status, "completed", "{}: {:?}", db.backend(), done.steps);
        assert_eq!(done.attempts, 1);
        assert_eq!(done.output["output"]["links"][0]["url"], "https://git.example/cart");
        assert_eq!(done.parameters, json!({"name": "cart", "wait": 0}), "defaults are stored with the run");
        let log = db.store.run_log(&view.id, 0, 1000).await.unwrap();
        assert!(log.iter().any(|l| l.step == "list" && l.line.starts_with("README.md")), "{log:?}");
        let stored = format!("{:?}{log:?}{:?}", db.store.run(&view.id).await.unwrap(), done.steps);
        assert!(!stored.contains("ghp_s3cr3t") && log.iter().any(|l| l.line == "pushing with ***"), "secrets are masked in what is stored");
        assert!(!root.path().join(&view.id).exists(), "the workspace is removed");
        assert_eq!(db.store.runs(&portico_store::RunFilter { actor: Some("user:default/ana".into()), ..Default::default() }, 10).await.unwrap().len(), 1);
        // Bad parameters are refused before anything is stored.
        let Err(SubmitError::Invalid(errors)) = runs.submit(&t, &json!({}), "user:default/ana", json!({}), None).await else { panic!() };
        assert_eq!(errors[0].path, "parameters");
    }
}

#[tokio::test]
async fn limits_per_template_and_person() {
    let db = TestDb::sqlite().await;
    let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pushes = Arc::new(AtomicUsize::new(0));
    // No workers: runs stay queued.
    let runs = runs(&db, root.path(), &pushes, RunsConfig { per_user: 2, per_template: 3, ..config() });
    let t = template(dir.path());
    for actor in ["a", "a"] {
        runs.submit(&t, &json!({"name": "x"}), actor, json!({}), None).await.unwrap();
    }
    let Err(SubmitError::Busy(why)) = runs.submit(&t, &json!({"name": "x"}), "a", json!({}), None).await else { panic!() };
    assert!(why.contains("a already has 2 runs"), "{why}");
    runs.submit(&t, &json!({"name": "x"}), "b", json!({}), None).await.unwrap();
    let Err(SubmitError::Busy(why)) = runs.submit(&t, &json!({"name": "x"}), "c", json!({}), None).await else { panic!() };
    assert!(why.contains("template:default/svc already has 3 runs"), "{why}");
}

/// A worker that stopped mid-run (as after kill -9): its lease expires and another takes the
/// run up from its last finished step, without running the push again.
#[tokio::test]
async fn a_run_whose_worker_died_is_taken_up_without_running_a_push_twice() {
    for db in TestDb::all().await {
        let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let pushes = Arc::new(AtomicUsize::new(0));
        let t = template(dir.path());
        let first = runs(&db, root.path(), &pushes, config());
        let view = first.submit(&t, &json!({"name": "cart", "wait": 60000}), "ana", json!({}), None).await.unwrap();
        // The first worker runs until the wait, then dies (its task is dropped, its lease
        // not renewed, its workspace lost with its machine).
        let claimed = db.store.claim_run("dying", now_ms(), now_ms() + 300).await.unwrap().unwrap();
        let dying = Arc::new(Runs { holder: "dying".into(), ..Arc::try_unwrap(runs(&db, root.path(), &pushes, config())).ok().unwrap() });
        let task = tokio::spawn({
            let dying = dying.clone();
            async move { dying.execute(claimed).await }
        });
        for _ in 0..100 {
            let r = RunView::from_record(&db.store.run(&view.id).await.unwrap().unwrap());
            if r.steps.get(2).is_some_and(|s| s.status == StepStatus::Running) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        task.abort();
        let _ = task.await;
        std::fs::remove_dir_all(root.path().join(&view.id)).unwrap();
        assert_eq!(pushes.load(Ordering::SeqCst), 1);
        // Shorten the wait the run asked for so the test ends: the stored parameters are what
        // the next worker reads. (A wait is workspace-only, so it runs again.)
        let second = runs(&db, root.path(), &pushes, config());
        second.start();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let done = wait_for_attempts(&db.store, &view.id).await;
        assert_eq!(done.attempts, 2, "{}", db.backend());
        assert_eq!(pushes.load(Ordering::SeqCst), 1, "{}: the push ran once", db.backend());
        assert_eq!(done.steps[0].status, StepStatus::Completed);
        let _ = second.cancel(&view.id).await;
        let done = wait_finished(&db.store, &view.id).await;
        assert_eq!(done.status, "cancelled", "{}: {:?}", db.backend(), done.steps);
        let log = db.store.run_log(&view.id, 0, 1000).await.unwrap();
        assert!(log.iter().any(|l| l.step == "fetch" && l.seq > 1 << 32), "{}: the lost workspace was rebuilt by running fetch again: {log:?}", db.backend());
    }
}

async fn wait_for_attempts(store: &Arc<dyn Store>, id: &str) -> RunView {
    for _ in 0..100 {
        let r = RunView::from_record(&store.run(id).await.unwrap().unwrap());
        if r.attempts >= 2 && r.steps.get(2).is_some_and(|s| s.status == StepStatus::Running) {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} was not taken up");
}

#[tokio::test]
async fn an_interrupted_push_is_not_run_again() {
    let db = TestDb::sqlite().await;
    let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pushes = Arc::new(AtomicUsize::new(0));
    let t = template(dir.path());
    let runs = runs(&db, root.path(), &pushes, config());
    let view = runs.submit(&t, &json!({"name": "cart"}), "ana", json!({}), None).await.unwrap();
    // As a worker would have left it: fetch done, push started, then the worker gone.
    db.store.claim_run("gone", now_ms(), now_ms() - 1).await.unwrap().unwrap();
    let steps = json!([
        {"id": "fetch", "name": "fetch", "action": "fetch:template", "status": "completed", "log": [], "durationMs": 1},
        {"id": "push", "name": "push", "action": "test:push", "status": "running", "log": [], "durationMs": 0}
    ]);
    let progress = RunProgress { status: "running", steps: &steps.to_string(), output: None, error: None, finished_at: None };
    assert!(db.store.save_run(&view.id, "gone", &progress).await.unwrap());
    runs.start();
    let done = wait_finished(&db.store, &view.id).await;
    assert_eq!(done.status, "failed");
    assert!(done.error.as_deref().unwrap().contains("not run a second time"), "{:?}", done.error);
    assert_eq!(pushes.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_dry_run_is_not_stored() {
    let db = TestDb::sqlite().await;
    let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pushes = Arc::new(AtomicUsize::new(0));
    let runs = runs(&db, root.path(), &pushes, config());
    let report = runs.dry_run(&template(dir.path()), &json!({"name": "cart"}), json!({}), None).await.unwrap();
    assert_eq!(report.status, "completed");
    assert_eq!(report.files[0].path, "README.md");
    assert_eq!(report.steps[1].status, StepStatus::Skipped);
    assert_eq!(pushes.load(Ordering::SeqCst), 0);
    assert!(db.store.runs(&Default::default(), 10).await.unwrap().is_empty());
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0, "the scratch workspace is removed");
}

#[tokio::test]
async fn a_failed_run_is_rolled_back_on_request_once() {
    let db = TestDb::sqlite().await;
    let root = tempfile::tempdir().unwrap();
    crate::register();
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "svc"},
            "spec": {"type": "service", "steps": [
                {"id": "note", "action": "debug:log", "input": {"message": "noted"}, "undo": {"action": "debug:log", "input": {"message": "undo of ${{ step.input.message }}"}}},
                {"id": "break", "action": "fs:rename", "input": {"files": [{"from": "nope", "to": "x"}]}}
            ]}}))
        .unwrap();
    let t = Template::from_entity(&e).unwrap();
    let pushes = Arc::new(AtomicUsize::new(0));
    let runs = runs(&db, root.path(), &pushes, config());
    runs.start();
    let view = runs.submit(&t, &json!({}), "ana", json!({}), None).await.unwrap();
    let done = wait_finished(&db.store, &view.id).await;
    assert_eq!(done.status, "failed");
    assert!(done.output.get("rollback").is_none(), "manual: nothing undone yet");
    let undone = runs.rollback(&view.id).await.unwrap();
    assert_eq!(undone, [crate::run::UndoReport { step: "note".into(), status: "undone".into(), message: "ran its undo (debug:log)".into() }]);
    let stored = RunView::from_record(&db.store.run(&view.id).await.unwrap().unwrap());
    assert_eq!(stored.output["rollback"][0]["status"], "undone");
    let log = db.store.run_log(&view.id, 0, 100).await.unwrap();
    assert!(log.iter().any(|l| l.line == "↶ undo of noted"), "{log:?}");
    let Err(SubmitError::Busy(why)) = runs.rollback(&view.id).await else { panic!() };
    assert!(why.contains("rolled back already"), "{why}");
}
