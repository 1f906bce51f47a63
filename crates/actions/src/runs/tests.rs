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

async fn wait_status(store: &Arc<dyn Store>, id: &str, status: &str) -> RunView {
    for _ in 0..200 {
        let r = RunView::from_record(&store.run(id).await.unwrap().unwrap());
        if r.status == status {
            return r;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("run {id} did not become {status}");
}

fn approval_template(dir: &std::path::Path, policies: Value, middle: Value) -> Template {
    template(dir); // the skeleton
    let mut steps = vec![json!({"id": "fetch", "action": "fetch:template", "input": {"url": "./skeleton", "values": {"name": "${{ parameters.name }}"}}})];
    steps.extend(middle.as_array().cloned().unwrap_or_default());
    steps.push(json!({"id": "push", "action": "test:push", "input": {"by": "${{ steps.approve.output.approvedBy | default([]) | join(',') }}"}}));
    steps.push(json!({"id": "list", "action": "debug:log", "input": {"listWorkspace": true}}));
    let e = portico_model::Validator::default()
        .validate(json!({"apiVersion": "scaffolder.backstage.io/v1beta3", "kind": "Template",
            "metadata": {"name": "deploy", "annotations": {"backstage.io/managed-by-location": format!("file:{}/template.yaml", dir.display())}},
            "spec": {"type": "service", "policies": policies,
                "parameters": {"properties": {"name": {"type": "string", "default": "cart"}}},
                "steps": steps}}))
        .unwrap();
    Template::from_entity(&e).unwrap()
}

/// `approval:wait` parks the run (no worker held) until a member of the group, not the person
/// who asked, approves it; the run then goes on from that step, its workspace rebuilt.
#[tokio::test]
async fn a_step_waits_for_an_approval_from_the_group_then_goes_on() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let pushes = Arc::new(AtomicUsize::new(0));
        let runs = runs(&db, root.path(), &pushes, config());
        runs.start();
        let approve = json!([{"id": "approve", "action": "approval:wait", "input": {"approvers": "sre", "message": "Deploy ${{ parameters.name }}", "timeoutSeconds": 3600}}]);
        let t = approval_template(dir.path(), Value::Null, approve);
        let view = runs.submit(&t, &json!({}), "user:default/ana", json!({"ref": "user:default/ana"}), None).await.unwrap();
        let parked = wait_status(&db.store, &view.id, "waiting").await;
        assert_eq!(parked.steps[1].status, StepStatus::Waiting, "{b}");
        assert_eq!(pushes.load(Ordering::SeqCst), 0, "{b}");
        let stored = runs.view(&view.id).await.unwrap().unwrap();
        let a = &stored.approvals[0];
        assert_eq!((a.approvers.as_str(), a.required, a.message.as_deref(), a.step.as_str()), ("group:default/sre", 1, Some("Deploy cart"), "approve"), "{b}");
        assert!(a.deadline - a.created_at == 3_600_000, "{b}");

        // The inbox of a member; the requester and outsiders cannot decide.
        let sre = vec!["group:default/sre".to_owned()];
        assert_eq!(runs.inbox("user:default/bo", &sre).await.unwrap().len(), 1, "{b}");
        assert!(runs.inbox("user:default/ana", &sre).await.unwrap().is_empty(), "{b}: not one's own run");
        let Err(SubmitError::NotAllowed(why)) = runs.decide(&a.id, "user:default/ana", &sre, true, None).await else { panic!("{b}") };
        assert!(why.contains("asked for this run"), "{why}");
        let Err(SubmitError::NotAllowed(why)) = runs.decide(&a.id, "user:default/cy", &["group:default/web".to_owned()], true, None).await else { panic!("{b}") };
        assert!(why.contains("not a member of group:default/sre"), "{why}");
        let decided = runs.decide(&a.id, "user:default/bo", &sre, true, Some("  looks good ".into())).await.unwrap();
        assert_eq!((decided.status.as_str(), decided.decisions[0].comment.as_deref()), ("approved", Some("looks good")), "{b}");

        let done = wait_finished(&db.store, &view.id).await;
        assert_eq!(done.status, "completed", "{b}: {:?}", done.steps);
        assert_eq!(done.steps[1].output, json!({"approvedBy": ["user:default/bo"], "comments": ["looks good"]}), "{b}");
        assert_eq!(pushes.load(Ordering::SeqCst), 1, "{b}");
        assert_eq!(done.steps[2].input["by"], "user:default/bo", "{b}: later steps read the approval's output");
        let log = db.store.run_log(&view.id, 0, 1000).await.unwrap();
        assert!(log.iter().any(|l| l.step == "list" && l.line.starts_with("README.md")), "{b}: the workspace was rebuilt: {log:?}");
        assert!(runs.inbox("user:default/bo", &sre).await.unwrap().is_empty(), "{b}");
    }
}

/// A policy with an `approval` does not refuse: the run waits before its first step; a
/// rejection fails it without running anything, naming who rejected and why.
#[tokio::test]
async fn a_policy_asks_for_approval_instead_of_refusing_and_a_rejection_fails_the_run() {
    for db in TestDb::all().await {
        let b = db.backend();
        let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let pushes = Arc::new(AtomicUsize::new(0));
        let runs = runs(&db, root.path(), &pushes, config());
        runs.start();
        let policies = json!([{"name": "prod", "allow": "parameters.name != 'cart'", "message": "cart is production", "approval": {"approvers": "group:default/sre", "count": 2}}]);
        let t = approval_template(dir.path(), policies, json!([]));
        let verdicts = runs.policies(&t, &json!({"name": "cart"}), "user:default/ana", &json!({}), None).await.unwrap();
        assert!(!verdicts[0].passed && !verdicts[0].refuses(), "{b}");
        let view = runs.submit(&t, &json!({"name": "cart"}), "user:default/ana", json!({}), None).await.unwrap();
        assert_eq!((view.status.as_str(), view.approvals.len(), view.approvals[0].required), ("waiting", 1, 2), "{b}");
        assert_eq!(view.approvals[0].step, "policy:prod");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(runs.view(&view.id).await.unwrap().unwrap().status, "waiting", "{b}: no worker takes it");
        let sre = vec!["group:default/sre".to_owned()];
        runs.decide(&view.approvals[0].id, "user:default/bo", &sre, true, None).await.unwrap();
        let rejected = runs.decide(&view.approvals[0].id, "user:default/cy", &sre, false, Some("freeze this week".into())).await.unwrap();
        assert_eq!(rejected.status, "rejected");
        let done = wait_finished(&db.store, &view.id).await;
        assert_eq!(done.status, "failed", "{b}");
        assert_eq!(done.error.as_deref(), Some("policy:prod was rejected by user:default/cy (freeze this week)"), "{b}");
        assert_eq!(pushes.load(Ordering::SeqCst), 0, "{b}");
        // Other values pass the policy and start at once.
        let free = runs.submit(&t, &json!({"name": "web"}), "user:default/ana", json!({}), None).await.unwrap();
        assert_eq!(free.status, "queued", "{b}");
    }
}

/// No decision in time: the step fails, saying so, and an automatic rollback would follow.
#[tokio::test]
async fn an_approval_not_decided_in_time_fails_the_step() {
    let db = TestDb::sqlite().await;
    let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pushes = Arc::new(AtomicUsize::new(0));
    let runs = runs(&db, root.path(), &pushes, config());
    runs.start();
    let t = approval_template(dir.path(), Value::Null, json!([{"id": "approve", "action": "approval:wait", "input": {"approvers": "group:default/sre", "count": 2}}]));
    let view = runs.submit(&t, &json!({}), "user:default/ana", json!({}), None).await.unwrap();
    wait_status(&db.store, &view.id, "waiting").await;
    runs.decide(&runs.view(&view.id).await.unwrap().unwrap().approvals[0].id, "user:default/bo", &["group:default/sre".to_owned()], true, None).await.unwrap();
    // Three days pass.
    assert_eq!(db.store.expire_approvals(now_ms() + 4 * 24 * 3600 * 1000).await.unwrap().len(), 1);
    let done = wait_finished(&db.store, &view.id).await;
    assert_eq!(done.status, "failed");
    assert_eq!(done.error.as_deref(), Some("approve: not decided in time: 2 approval(s) from group:default/sre were needed, 1 came"));
    assert_eq!(pushes.load(Ordering::SeqCst), 0);
}

/// Every run, approval and denial in the audit log, with what a request's record lacks: which
/// run, on what, with which values, and how it ended.
#[tokio::test]
async fn runs_approvals_and_denials_are_in_the_audit_log() {
    let db = TestDb::sqlite().await;
    let (dir, root) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let pushes = Arc::new(AtomicUsize::new(0));
    let runs = runs(&db, root.path(), &pushes, config());
    runs.start();
    let policies = json!([{"name": "not-cart", "deny": "parameters.name == 'cart'", "message": "cart is frozen"}]);
    let t = approval_template(dir.path(), policies, json!([{"id": "approve", "action": "approval:wait", "input": {"approvers": "sre"}}]));
    let Err(SubmitError::Refused(_)) = runs.submit(&t, &json!({"name": "cart"}), "user:default/ana", json!({}), None).await else { panic!() };
    let view = runs.submit(&t, &json!({"name": "web"}), "user:default/ana", json!({}), None).await.unwrap();
    wait_status(&db.store, &view.id, "waiting").await;
    let approval = runs.view(&view.id).await.unwrap().unwrap().approvals[0].id.clone();
    runs.decide(&approval, "user:default/bo", &["group:default/sre".to_owned()], false, Some("not now".into())).await.unwrap();
    wait_finished(&db.store, &view.id).await;
    let events = db.store.list_audit(&portico_store::AuditFilter { action: Some("action.".into()), limit: 20, ..Default::default() }).await.unwrap();
    let lines: Vec<String> = events.iter().rev().map(|e| format!("{} {} {} {} {}", e.actor, e.action, e.target.as_deref().unwrap_or(""), e.outcome, e.detail.as_deref().unwrap_or(""))).collect();
    assert!(lines[0].starts_with("user:default/ana action.run template:default/deploy denied refused by its policies: not-cart: cart is frozen"), "{lines:#?}");
    assert!(lines[1].starts_with(&format!("user:default/ana action.run template:default/deploy allowed run {} queued with", view.id)), "{lines:#?}");
    assert_eq!(lines[2], format!("user:default/bo action.approve run:{} allowed rejected approve (1 of group:default/sre, template:default/deploy), now rejected: not now", view.id));
    assert!(lines[3].starts_with(&format!("user:default/ana action.run template:default/deploy failed run {} failed: approve: rejected by user:default/bo (not now)", view.id)), "{lines:#?}");
}
