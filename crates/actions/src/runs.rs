//! Stored runs and the workers that execute them. A run asked for through the API is checked
//! (its parameters against the form, its actions known, the concurrency limits), stored as
//! `queued`, and taken by a worker on any replica with a lease it renews while it runs. After
//! every step's start and end the worker saves the steps' state; log lines are appended as they
//! come. A run whose worker dies (kill -9, a lost machine) is taken over by another worker once
//! the lease expires, from its last finished step ([`crate::Engine::resume`]): nothing is lost,
//! and no action with effects outside the workspace runs twice.
//!
//! Dry runs are not stored: they run in the request, in a scratch workspace.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use portico_model::FieldError;
use portico_store::{ApprovalFilter, ApprovalRecord, Decided, Decision, RunLogLine, RunProgress, RunRecord, Store};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::{Notify, watch};

use crate::run::{Engine, Event, Observer, Report, Request, StepReport, StepStatus};
use crate::template::Template;
use crate::workspace::Workspace;

/// How a replica runs templates.
#[derive(Clone, Debug)]
pub struct RunsConfig {
    /// Runs one replica executes at once.
    pub concurrency: usize,
    /// Queued and running runs of one template, across replicas.
    pub per_template: i64,
    /// Queued and running runs of one person.
    pub per_user: i64,
    /// A whole run's time limit.
    pub run_timeout: Duration,
    /// How long a worker's claim on a run lasts without renewal (renewed every third of it).
    pub lease: Duration,
    /// Secrets templates read as `secrets.NAME`, by name (their values from the configuration).
    pub secrets: BTreeMap<String, String>,
    /// What actions may reach outside the workspace.
    pub remotes: crate::action::Remotes,
}

impl Default for RunsConfig {
    fn default() -> Self {
        Self { concurrency: 4, per_template: 20, per_user: 5, run_timeout: Duration::from_secs(3600), lease: Duration::from_secs(30), secrets: BTreeMap::new(), remotes: crate::action::Remotes::default() }
    }
}

/// What a stored run carries besides its parameters: the template as it was asked for, and who
/// and what it runs for.
#[derive(Serialize, Deserialize)]
struct RunSpec {
    template: Template,
    user: Value,
    entity: Option<Value>,
}

/// Why a run was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<FieldError>),
    #[error("{0}")]
    Busy(String),
    /// A policy of the template refuses the run.
    #[error("{}", .0.iter().filter(|v| v.refuses()).map(|v| format!("{}: {}", v.name, v.message.as_deref().unwrap_or("refused"))).collect::<Vec<_>>().join("; "))]
    Refused(Vec<crate::policy::Verdict>),
    /// Who asks may not decide this approval (they asked for the run, or are not in its group).
    #[error("{0}")]
    NotAllowed(String),
    /// The approval is settled, or this approver decided already.
    #[error("{0}")]
    Decision(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] portico_store::StoreError),
}

/// A run as the API shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunView {
    pub id: String,
    pub template: String,
    pub title: String,
    pub status: String,
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    pub parameters: Value,
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<i64>,
    /// More than 1: a worker took it up after another stopped.
    pub attempts: i32,
    pub steps: Vec<StepReport>,
    pub output: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub cancel_requested: bool,
    /// The approvals it asked for (filled by [`Runs::view`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub approvals: Vec<ApprovalRecord>,
}

impl RunView {
    pub fn from_record(r: &RunRecord) -> Self {
        let spec: Option<RunSpec> = serde_json::from_str(&r.spec).ok();
        RunView {
            id: r.id.clone(),
            template: r.template.clone(),
            title: spec.as_ref().map_or_else(|| r.template.clone(), |s| s.template.title.clone()),
            status: r.status.clone(),
            actor: r.actor.clone(),
            entity: r.entity_key.clone(),
            parameters: serde_json::from_str(&r.parameters).unwrap_or(Value::Null),
            created_at: r.created_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            attempts: r.attempts,
            steps: serde_json::from_str(&r.steps).unwrap_or_default(),
            output: r.output.as_deref().and_then(|o| serde_json::from_str(o).ok()).unwrap_or(Value::Null),
            error: r.error.clone(),
            cancel_requested: r.cancel_requested,
            approvals: Vec::new(),
        }
    }

    pub fn finished(&self) -> bool {
        matches!(self.status.as_str(), "completed" | "failed" | "cancelled")
    }

    /// Waits for an approval (no worker holds it).
    pub fn waiting(&self) -> bool {
        self.status == "waiting"
    }
}

/// The runs service of one replica.
pub struct Runs {
    store: Arc<dyn Store>,
    /// The read model policies ask (`entity.related(…)`, `entity.scorecard(…)`).
    graph: portico_graph::eval::SharedGraph,
    engine: Arc<Engine>,
    holder: String,
    root: PathBuf,
    config: RunsConfig,
    wake: Notify,
    /// Signalled when a run executing here saved something (log lines, a step): live views
    /// wake at once instead of at their next poll.
    progress: parking_lot::Mutex<HashMap<String, Arc<Notify>>>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

impl Runs {
    /// `root`: where run workspaces live (a folder per run, removed when it ends).
    pub fn new(store: Arc<dyn Store>, graph: portico_graph::eval::SharedGraph, engine: Arc<Engine>, root: PathBuf, config: RunsConfig) -> Arc<Self> {
        Arc::new(Self { store, graph, engine, holder: uuid::Uuid::new_v4().to_string(), root, config, wake: Notify::new(), progress: parking_lot::Mutex::new(HashMap::new()) })
    }

    /// Writes a run's event to the audit log (`action.run`, `action.approve`), beside the
    /// gate's record of the request: which run, on what, and how it went. A failure to write is
    /// logged; the run goes on.
    async fn audit(&self, actor: &str, via: &str, action: &str, target: &str, outcome: &str, detail: String) {
        let event = portico_store::AuditEvent::of(actor, via, action, Some(target.to_owned()), outcome).with(None, None, detail.chars().take(2000).collect::<String>());
        if let Err(e) = self.store.append_audit(&event).await {
            tracing::error!(error = %e, action, actor, "could not write the audit log");
        }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    fn request(&self, parameters: Value, user: Value, entity: Option<Value>, dry_run: bool) -> Request {
        Request { parameters, user, entity, secrets: self.config.secrets.clone(), dry_run, cancel: None, deadline: Some(Instant::now() + self.config.run_timeout), approvals: BTreeMap::new() }
    }

    /// Whether `template` may run on `entity` (its key): a day-2 template needs an entity its
    /// target selects; any other runs on none.
    pub fn check_target(&self, template: &Template, entity: Option<&str>) -> Result<(), FieldError> {
        match (&template.target, entity) {
            (None, None) => Ok(()),
            (None, Some(e)) => Err(FieldError::new("entity", format!("{} is not a day-2 template (it has no spec.target), so it does not run on {e}", template.key))),
            (Some(_), None) => Err(FieldError::new("entity", format!("{} runs on an entity (spec.target): give one", template.key))),
            (Some(_), Some(e)) if template.applies_to(&self.graph, e) => Ok(()),
            (Some(_), Some(e)) => Err(FieldError::new("entity", format!("{} does not run on {e}: its spec.target does not select it", template.key))),
        }
    }

    /// Runs `template` as a dry run, now, in a scratch workspace (removed after).
    pub async fn dry_run(&self, template: &Template, parameters: &Value, user: Value, entity: Option<(String, Value)>) -> Result<Report, Vec<FieldError>> {
        self.check_target(template, entity.as_ref().map(|(k, _)| k.as_str())).map_err(|e| vec![e])?;
        let entity = entity.map(|(_, v)| v);
        let parameters = self.engine.prepare(template, parameters, true)?;
        let dir = self.root.join(format!("dry-{}", uuid::Uuid::new_v4()));
        let workspace = Workspace::new(&dir).map_err(|e| vec![FieldError::new("", format!("creating the run's workspace: {e}"))])?;
        let request = self.request(parameters, user, entity, true);
        let report = self.engine.run(template, &request, &workspace, &mut |_| {}).await;
        let _ = std::fs::remove_dir_all(&dir);
        Ok(report)
    }

    /// Every policy's answer for a run: of `actor`, on `entity` (its key) if any.
    pub async fn policies(&self, template: &Template, parameters: &Value, actor: &str, user: &Value, entity: Option<&str>) -> Result<Vec<crate::policy::Verdict>, portico_store::StoreError> {
        if template.policies.is_empty() {
            return Ok(Vec::new());
        }
        let runs = earlier_runs(&*self.store, &template.key, entity, actor).await?;
        let parameters = crate::params::with_defaults(&template.pages, parameters);
        let facts = crate::policy::Facts { user, template, entity, parameters: &parameters, runs };
        let graph = self.graph.clone();
        let policies = template.policies.clone();
        // Bounded (100 ms each at most) and on a thread of their own with a deep stack.
        Ok(crate::policy::evaluate(&policies, &graph, &facts))
    }

    /// Checks and stores a run; a worker takes it up.
    pub async fn submit(&self, template: &Template, parameters: &Value, actor: &str, user: Value, entity: Option<(String, Value)>) -> Result<RunView, SubmitError> {
        self.check_target(template, entity.as_ref().map(|(k, _)| k.as_str())).map_err(|e| SubmitError::Invalid(vec![e]))?;
        let parameters = self.engine.prepare(template, parameters, false).map_err(SubmitError::Invalid)?;
        let verdicts = self.policies(template, &parameters, actor, &user, entity.as_ref().map(|(k, _)| k.as_str())).await?;
        if verdicts.iter().any(|v| v.refuses()) {
            let refused: Vec<String> = verdicts.iter().filter(|v| v.refuses()).map(|v| format!("{}: {}", v.name, v.message.as_deref().unwrap_or("refused"))).collect();
            let on = entity.as_ref().map(|(k, _)| format!(" on {k}")).unwrap_or_default();
            self.audit(actor, "run", "action.run", &template.key, "denied", format!("refused by its policies{on}: {}", refused.join("; "))).await;
            return Err(SubmitError::Refused(verdicts));
        }
        let by_template = self.store.active_runs(Some(&template.key), None).await?;
        if by_template >= self.config.per_template {
            return Err(SubmitError::Busy(format!("{} already has {by_template} runs queued or running (the limit is {}); try again when one ends", template.key, self.config.per_template)));
        }
        let by_user = self.store.active_runs(None, Some(actor)).await?;
        if by_user >= self.config.per_user {
            return Err(SubmitError::Busy(format!("{actor} already has {by_user} runs queued or running (the limit is {}); try again when one ends", self.config.per_user)));
        }
        let title = entity.as_ref().map_or_else(|| template.title.clone(), |(k, _)| format!("{} on {k}", template.title));
        let (entity_key, entity_value) = entity.map_or((None, None), |(k, v)| (Some(k), Some(v)));
        let spec = RunSpec { template: template.clone(), user, entity: entity_value };
        let spec = serde_json::to_string(&spec).map_err(|e| SubmitError::Busy(e.to_string()))?;
        let queued = RunRecord::queued(uuid::Uuid::new_v4().to_string(), template.key.clone(), spec, parameters.to_string(), actor.to_owned(), now_ms());
        let record = RunRecord { entity_key, ..queued };
        // Policies that would refuse it but take an approval instead: the run waits for them
        // before its first step.
        let asks: Vec<ApprovalRecord> = verdicts
            .iter()
            .filter_map(|v| v.approval.as_ref().filter(|_| !v.passed).map(|a| (v, a)))
            .map(|(v, a)| {
                let ask = json!({ "approvers": a.approvers, "count": a.count, "message": format!("{title}: {}", v.message.as_deref().unwrap_or("a policy asks for approval")), "timeoutSeconds": a.timeout_seconds });
                approval_record(&record, &format!("policy:{}", v.name), &ask)
            })
            .collect();
        let mut view = RunView::from_record(&record);
        if asks.is_empty() {
            self.store.create_run(&record).await?;
            self.wake.notify_one();
        } else {
            self.store.create_waiting_run(&record, &asks).await?;
            view.status = "waiting".into();
            view.approvals = asks;
        }
        let on = view.entity.as_ref().map(|k| format!(" on {k}")).unwrap_or_default();
        let waits = view.approvals.iter().map(|a| format!("{} of {} ({})", a.required, a.approvers, a.step)).collect::<Vec<_>>().join(", ");
        let detail = if waits.is_empty() { format!("run {} {}{on} with {}", view.id, view.status, view.parameters) } else { format!("run {} waits for approvals{on}: {waits}; with {}", view.id, view.parameters) };
        self.audit(actor, "run", "action.run", &template.key, "allowed", detail).await;
        Ok(view)
    }

    /// A run with the approvals it asked for.
    pub async fn view(&self, id: &str) -> Result<Option<RunView>, portico_store::StoreError> {
        let Some(record) = self.store.run(id).await? else { return Ok(None) };
        let mut view = RunView::from_record(&record);
        view.approvals = self.store.approvals(&ApprovalFilter { run_id: Some(id.to_owned()), ..Default::default() }, 100).await?;
        view.approvals.reverse();
        Ok(Some(view))
    }

    /// Records `approver`'s decision (`approve` or `reject`, with an optional comment) on an
    /// approval. Only a member of its group decides (`groups`: the approver's groups, inherited
    /// ones included), never the person who asked for the run, once.
    pub async fn decide(&self, id: &str, approver: &str, groups: &[String], approve: bool, comment: Option<String>) -> Result<ApprovalRecord, SubmitError> {
        let approval = self.store.approval(id).await?.ok_or_else(|| SubmitError::NotFound(format!("no approval {id}")))?;
        if approval.requester == approver {
            return Err(SubmitError::NotAllowed(format!("{approver} asked for this run; another member of {} decides", approval.approvers)));
        }
        if !groups.iter().any(|g| g.eq_ignore_ascii_case(&approval.approvers)) {
            return Err(SubmitError::NotAllowed(format!("{approver} is not a member of {}, whose members decide", approval.approvers)));
        }
        let comment = comment.map(|c| c.trim().chars().take(2000).collect::<String>()).filter(|c| !c.is_empty());
        let decision = Decision { approver: approver.to_owned(), decision: if approve { "approve" } else { "reject" }.to_owned(), comment, at: now_ms() };
        match self.store.decide_approval(id, &decision).await? {
            Decided::Recorded(record) => {
                let said = decision.comment.as_deref().map(|c| format!(": {c}")).unwrap_or_default();
                self.audit(approver, "run", "action.approve", &format!("run:{}", record.run_id), "allowed", format!("{} {} ({} of {}, {}), now {}{said}", if approve { "approved" } else { "rejected" }, record.step, record.required, record.approvers, record.template, record.status)).await;
                if record.status != "pending" {
                    self.wake.notify_one();
                }
                self.notifier(&record.run_id).notify_waiters();
                Ok(*record)
            }
            Decided::Closed(status) => Err(SubmitError::Decision(format!("the approval is {status} already"))),
            Decided::AlreadyDecided => Err(SubmitError::Decision(format!("{approver} decided already"))),
            Decided::Missing => Err(SubmitError::NotFound(format!("no approval {id}"))),
        }
    }

    /// What waits for `user`'s decision: pending approvals of the groups they are in, of runs
    /// others asked for, that they have not decided.
    pub async fn inbox(&self, user: &str, groups: &[String]) -> Result<Vec<ApprovalRecord>, portico_store::StoreError> {
        let filter = ApprovalFilter { status: Some("pending".into()), approvers: Some(groups.iter().map(|g| g.to_ascii_lowercase()).collect()), ..Default::default() };
        let all = self.store.approvals(&filter, 500).await?;
        Ok(all.into_iter().filter(|a| may_decide(a, user, groups)).collect())
    }

    /// Ends the wait of approvals whose time ran out (their runs fail, saying so).
    pub async fn expire_approvals(&self) -> Result<usize, portico_store::StoreError> {
        let runs = self.store.expire_approvals(now_ms()).await?;
        if !runs.is_empty() {
            self.wake.notify_one();
        }
        for run in &runs {
            self.notifier(run).notify_waiters();
        }
        Ok(runs.len())
    }

    /// Undoes a failed or cancelled run's completed steps, last first, and stores what was and
    /// was not undone with the run. Refused (`Err` with why) for a run that has not finished,
    /// completed, or was rolled back already.
    pub async fn rollback(&self, id: &str) -> Result<Vec<crate::run::UndoReport>, SubmitError> {
        let record = self.store.run(id).await?.ok_or_else(|| SubmitError::Busy(format!("no run {id}")))?;
        let view = RunView::from_record(&record);
        if !matches!(view.status.as_str(), "failed" | "cancelled") {
            return Err(SubmitError::Busy(format!("run {id} is {}: only a failed or cancelled run is rolled back", view.status)));
        }
        if view.output.get("rollback").is_some() {
            return Err(SubmitError::Busy(format!("run {id} was rolled back already")));
        }
        let spec: RunSpec = serde_json::from_str(&record.spec).map_err(|e| SubmitError::Busy(format!("the stored run does not read: {e}")))?;
        let dir = self.root.join(format!("rollback-{id}"));
        let workspace = Workspace::new(&dir).map_err(|e| SubmitError::Busy(format!("a workspace for the rollback: {e}")))?;
        let request = self.request(view.parameters.clone(), spec.user.clone(), spec.entity.clone(), false);
        let mut lines = Vec::new();
        let mut seq = (i64::from(record.attempts) + 64) << 32;
        let mut observer = |e: Event| {
            if let Event::Log { step, line } = e {
                seq += 1;
                lines.push(RunLogLine { seq, step, at: now_ms(), line });
            }
        };
        let undone = self.engine.rollback(&spec.template, &request, &workspace, &view.steps, &mut observer).await;
        let _ = std::fs::remove_dir_all(&dir);
        self.store.append_run_log(id, &lines).await?;
        let mut output = view.output.clone();
        if !output.is_object() {
            output = json!({});
        }
        output["rollback"] = serde_json::to_value(&undone).unwrap_or_default();
        self.store.set_run_output(id, &output.to_string()).await?;
        let what = undone.iter().map(|u| format!("{} {}", u.step, u.status)).collect::<Vec<_>>().join(", ");
        self.audit(&record.actor, "run", "action.run", &record.template, "allowed", format!("run {id} rolled back: {what}")).await;
        self.notifier(id).notify_waiters();
        Ok(undone)
    }

    /// Asks a run to stop (on whichever replica runs it).
    pub async fn cancel(&self, id: &str) -> Result<bool, portico_store::StoreError> {
        let done = self.store.cancel_run(id, now_ms()).await?;
        self.notifier(id).notify_waiters();
        Ok(done)
    }

    /// What wakes a live view of run `id` on this replica.
    pub fn notifier(&self, id: &str) -> Arc<Notify> {
        self.progress.lock().entry(id.to_owned()).or_insert_with(|| Arc::new(Notify::new())).clone()
    }

    /// Starts this replica's workers: each takes the oldest waiting run (or one whose worker
    /// stopped), runs it, and looks again; idle, they look every second and at once when a run
    /// is asked for here.
    pub fn start(self: &Arc<Self>) {
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(15)).await;
                if let Err(e) = me.expire_approvals().await {
                    tracing::warn!(error = %e, "ending approvals past their deadline failed");
                }
            }
        });
        for _ in 0..self.config.concurrency.max(1) {
            let me = self.clone();
            tokio::spawn(async move {
                loop {
                    match me.store.claim_run(&me.holder, now_ms(), now_ms() + me.config.lease.as_millis() as i64).await {
                        Ok(Some(record)) => me.execute(record).await,
                        Ok(None) => {
                            let _ = tokio::time::timeout(Duration::from_secs(1), me.wake.notified()).await;
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "claiming a run failed");
                            tokio::time::sleep(Duration::from_secs(5)).await;
                        }
                    }
                }
            });
        }
    }

    /// Runs (or takes up) one claimed run to its end.
    pub async fn execute(&self, record: RunRecord) {
        let id = record.id.clone();
        let spec: RunSpec = match serde_json::from_str(&record.spec) {
            Ok(s) => s,
            Err(e) => return self.finish(&id, "failed", "[]", None, Some(&format!("the stored run does not read: {e}"))).await,
        };
        let prior: Vec<StepReport> = serde_json::from_str(&record.steps).unwrap_or_default();
        let dir = self.root.join(&id);
        let fresh = !dir.exists();
        let workspace = match Workspace::new(&dir) {
            Ok(w) => w,
            Err(e) => return self.finish(&id, "failed", &record.steps, None, Some(&format!("creating the run's workspace: {e}"))).await,
        };
        let parameters: Value = serde_json::from_str(&record.parameters).unwrap_or(Value::Null);
        let approvals = match self.store.approvals(&ApprovalFilter { run_id: Some(id.clone()), ..Default::default() }, 100).await {
            Ok(a) => a,
            Err(e) => return self.finish(&id, "failed", &record.steps, None, Some(&format!("reading the run's approvals: {e}"))).await,
        };
        // A policy's approval comes before any step: without it, nothing runs.
        if let Some(a) = approvals.iter().find(|a| a.step.starts_with("policy:") && a.status != "approved") {
            let by = a.decisions.iter().filter(|d| d.decision == "reject").map(|d| format!("{}{}", d.approver, d.comment.as_deref().map(|c| format!(" ({c})")).unwrap_or_default())).collect::<Vec<_>>().join(", ");
            let why = match a.status.as_str() {
                "rejected" => format!("{} was rejected by {by}", a.step),
                "expired" => format!("{} was not approved in time by {}", a.step, a.approvers),
                other => format!("{} is {other}", a.step),
            };
            let _ = std::fs::remove_dir_all(&dir);
            self.audit(&record.actor, "worker", "action.run", &record.template, "failed", format!("run {id} failed before its first step: {why}")).await;
            return self.finish(&id, "failed", &record.steps, None, Some(&why)).await;
        }
        let (cancel_tx, cancel_rx) = watch::channel(record.cancel_requested);
        let mut request = self.request(parameters, spec.user.clone(), spec.entity.clone(), false);
        request.cancel = Some(cancel_rx);
        request.approvals = approvals.iter().filter(|a| !a.step.starts_with("policy:")).map(|a| (a.step.clone(), serde_json::to_value(a).unwrap_or_default())).collect();
        let notify = self.notifier(&id);
        let buffer = Arc::new(parking_lot::Mutex::new(Vec::<RunLogLine>::new()));
        // Renews the lease, hears cancellations asked on any replica, flushes the log. Stopped
        // and awaited at the end (never aborted mid-write: lines it took would be lost), and
        // aborted only if this worker itself is dropped.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let mut keeper = AbortOnDrop({
            let (store, holder, lease, id, buffer, notify, stop) = (self.store.clone(), self.holder.clone(), self.config.lease, id.clone(), buffer.clone(), notify.clone(), stop.clone());
            tokio::spawn(async move {
                let mut last_renew = Instant::now();
                while !stop.load(std::sync::atomic::Ordering::Acquire) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    flush(&*store, &id, &buffer, &notify).await;
                    if last_renew.elapsed() >= lease / 3 {
                        last_renew = Instant::now();
                        let kept = store.renew_run(&id, &holder, now_ms(), now_ms() + lease.as_millis() as i64).await.unwrap_or(true);
                        let cancel = store.run(&id).await.ok().flatten().is_some_and(|r| r.cancel_requested);
                        if !kept || cancel {
                            let _ = cancel_tx.send(true);
                        }
                    }
                }
            })
        });
        let mut observer = StoreObserver { runs: self, id: id.clone(), buffer: buffer.clone(), seq: i64::from(record.attempts) << 32, notify: notify.clone() };
        // A workspace lost with the worker is rebuilt by running its workspace-only steps again.
        let replay = fresh && record.attempts > 1;
        let report = self.engine.resume(&spec.template, &request, &workspace, &prior, replay, &mut observer).await;
        stop.store(true, std::sync::atomic::Ordering::Release);
        let _ = (&mut keeper.0).await;
        flush(&*self.store, &id, &buffer, &notify).await;
        let steps = serde_json::to_string(&report.steps).unwrap_or_else(|_| "[]".into());
        if report.status == "waiting" {
            // Parked: no worker holds it until the approval is decided; its workspace is rebuilt
            // by whichever worker takes it up.
            let asks: Vec<ApprovalRecord> = report.steps.iter().filter(|s| s.status == StepStatus::Waiting).map(|s| approval_record(&record, &s.id, &s.output)).collect();
            match self.store.park_run(&id, &self.holder, &steps, &asks).await {
                Ok(true) => tracing::info!(run = %id, "run waits for an approval"),
                Ok(false) => tracing::warn!(run = %id, "this worker lost the run's lease before parking it; another takes it up"),
                Err(e) => tracing::warn!(run = %id, error = %e, "parking a run failed; another worker takes it up"),
            }
            let _ = std::fs::remove_dir_all(&dir);
            self.wake.notify_one();
            self.notifier(&id).notify_waiters();
            return;
        }
        let output = if report.rollback.is_empty() { json!({ "output": report.output }) } else { json!({ "output": report.output, "rollback": report.rollback }) }.to_string();
        let error = report.steps.iter().find(|s| s.status == StepStatus::Failed).and_then(|s| s.reason.as_ref().map(|r| format!("{}: {r}", s.id)));
        // The workspace goes before the run is seen finished: whoever reads `completed` finds
        // no leftover folder.
        let _ = std::fs::remove_dir_all(&dir);
        self.finish(&id, report.status, &steps, Some(&output), error.as_deref()).await;
        let outcome = if report.status == "completed" { "allowed" } else { "failed" };
        let rolled = if report.rollback.is_empty() { String::new() } else { format!("; rolled back: {}", report.rollback.iter().map(|u| format!("{} {}", u.step, u.status)).collect::<Vec<_>>().join(", ")) };
        self.audit(&record.actor, "worker", "action.run", &record.template, outcome, format!("run {id} {}{}{rolled}", report.status, error.as_deref().map(|e| format!(": {e}")).unwrap_or_default())).await;
        tracing::info!(run = %id, template = %spec.template.key, status = report.status, "run finished");
    }

    async fn finish(&self, id: &str, status: &str, steps: &str, output: Option<&str>, error: Option<&str>) {
        let progress = RunProgress { status, steps, output, error, finished_at: Some(now_ms()) };
        if let Err(e) = self.store.save_run(id, &self.holder, &progress).await {
            tracing::warn!(run = %id, error = %e, "saving a finished run failed; another worker will take it up");
        }
        self.notifier(id).notify_waiters();
        self.progress.lock().remove(id);
    }
}

/// Whether `user` (in `groups`, inherited ones included) may decide `approval` now: it is
/// pending, of a group of theirs, of a run someone else asked for, and they have not decided it.
pub fn may_decide(approval: &ApprovalRecord, user: &str, groups: &[String]) -> bool {
    approval.status == "pending"
        && approval.requester != user
        && groups.iter().any(|g| g.eq_ignore_ascii_case(&approval.approvers))
        && !approval.decisions.iter().any(|d| d.approver == user)
}

/// `runs` as policies read it: the stored runs of `template` on `entity` (without one, by
/// `actor`): `{completed, total}`.
pub async fn earlier_runs(store: &dyn Store, template: &str, entity: Option<&str>, actor: &str) -> Result<Value, portico_store::StoreError> {
    let filter = portico_store::RunFilter { template: Some(template.to_owned()), entity_key: entity.map(str::to_owned), actor: entity.is_none().then(|| actor.to_owned()), status: None };
    let earlier = store.runs(&filter, 10_000).await?;
    Ok(json!({ "completed": earlier.iter().filter(|r| r.status == "completed").count(), "total": earlier.len() }))
}

/// The approval a step (or a policy: `policy:<name>`) of `run` asks for: `ask` is
/// `{approvers, count, message, timeoutSeconds}`.
fn approval_record(run: &RunRecord, step: &str, ask: &Value) -> ApprovalRecord {
    let now = now_ms();
    let timeout = ask.get("timeoutSeconds").and_then(Value::as_u64).unwrap_or(crate::builtin::approval::wait::DEFAULT_TIMEOUT_SECONDS);
    ApprovalRecord {
        id: uuid::Uuid::new_v4().to_string(),
        run_id: run.id.clone(),
        step: step.to_owned(),
        approvers: ask.get("approvers").and_then(Value::as_str).map(|g| crate::builtin::approval::wait::group_key(g).unwrap_or_else(|_| g.to_owned())).unwrap_or_default(),
        required: ask.get("count").and_then(Value::as_i64).unwrap_or(1).clamp(1, 20) as i32,
        requester: run.actor.clone(),
        template: run.template.clone(),
        entity_key: run.entity_key.clone(),
        message: ask.get("message").and_then(Value::as_str).map(str::to_owned),
        status: "pending".into(),
        created_at: now,
        deadline: now.saturating_add((timeout as i64).saturating_mul(1000)),
        decided_at: None,
        decisions: Vec::new(),
    }
}

/// Stops a task when dropped: the keeper of a run ends with the run's worker, also when the
/// worker itself is stopped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

async fn flush(store: &dyn Store, id: &str, buffer: &parking_lot::Mutex<Vec<RunLogLine>>, notify: &Notify) {
    let lines = std::mem::take(&mut *buffer.lock());
    if lines.is_empty() {
        return;
    }
    if let Err(e) = store.append_run_log(id, &lines).await {
        tracing::warn!(run = %id, error = %e, "saving log lines failed");
    }
    notify.notify_waiters();
}

/// Saves a run as it goes: log lines into the buffer the keeper flushes, the steps' state at
/// each step's start and end (waited for, so that a step's end is stored before the next
/// starts).
struct StoreObserver<'a> {
    runs: &'a Runs,
    id: String,
    buffer: Arc<parking_lot::Mutex<Vec<RunLogLine>>>,
    seq: i64,
    notify: Arc<Notify>,
}

#[async_trait::async_trait]
impl Observer for StoreObserver<'_> {
    fn event(&mut self, event: &Event) {
        let (step, line) = match event {
            Event::Log { step, line } => (step.clone(), line.clone()),
            Event::StepStarted { step, name } => (step.clone(), format!("▶ {name}")),
            Event::StepFinished { step, status: StepStatus::Waiting, .. } => (step.clone(), "⏸ the run waits here until the approval is decided".to_owned()),
            Event::StepFinished { step, status, duration_ms, reason } => {
                (step.clone(), format!("{} in {duration_ms} ms{}", status.name(), reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()))
            }
        };
        self.seq += 1;
        self.buffer.lock().push(RunLogLine { seq: self.seq, step, at: now_ms(), line });
    }

    async fn checkpoint(&mut self, steps: &[StepReport]) {
        flush(&*self.runs.store, &self.id, &self.buffer, &self.notify).await;
        let json = serde_json::to_string(steps).unwrap_or_else(|_| "[]".into());
        let progress = RunProgress { status: "running", steps: &json, output: None, error: None, finished_at: None };
        match self.runs.store.save_run(&self.id, &self.runs.holder, &progress).await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(run = %self.id, "this worker lost the run's lease; another takes it up"),
            Err(e) => tracing::warn!(run = %self.id, error = %e, "saving the run's progress failed"),
        }
        self.notify.notify_waiters();
    }
}

#[cfg(test)]
mod tests;
