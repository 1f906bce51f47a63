//! One run of a source: scan, diff with the source's stored contributions, re-merge the
//! entities touched, write the contributions and the merged entities, record the run.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use portico_store::{ContributionRow, ContributionWrite, DiscoveryRun, SourceRecord};
use serde_json::{Value, json};

use super::merge::{self, FieldProvenance, Part};
use super::{CATALOG_SOURCE, Contribution, Engine, EngineError, Evidence, LiveStatus, ProgressFn, ScanContext, ScopeOutcome};
use portico_catalog::coalesce::Joined;
use portico_catalog::{Mutation, Origin, RawEntity, SourceError};
use portico_catalog::now_ms;

/// Why a run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Schedule,
    Manual,
    Webhook,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
            Trigger::Webhook => "webhook",
        }
    }
}

/// What a scan means for the stored contributions of its source.
#[derive(Default)]
struct Diff {
    upserts: Vec<ContributionRow>,
    removals: Vec<Id>,
    errors: Vec<SourceError>,
    unchanged: i64,
    /// Contributions of the source after the run (it is counted on its runs).
    count: i64,
    partial: bool,
    failed_scopes: Vec<String>,
}

impl Engine {
    /// Runs a source in the background (a webhook, a button); failures are logged and
    /// recorded on the source's runs.
    pub fn spawn_run(self: &Arc<Self>, name: String, trigger: Trigger, only: Option<String>) -> tokio::task::JoinHandle<()> {
        let engine = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(e) = engine.run(&name, trigger, only, None).await {
                tracing::warn!(source = %name, error = %e, "discovery run failed");
            }
        })
    }

    /// Runs a source now. `only` narrows it to one scope (a repository named by a webhook).
    /// A provider that fails records a failed run and changes nothing.
    ///
    /// Requests coalesce: while a run of the same source and scope is going, every new request
    /// waits for the next run, which starts after it and answers all of them (200 webhooks
    /// during a run make two runs, not 200).
    pub async fn run(
        &self,
        name: &str,
        trigger: Trigger,
        only: Option<String>,
        progress: Option<ProgressFn>,
    ) -> Result<DiscoveryRun, EngineError> {
        self.source(name)?;
        let key = format!("{name}\u{0}{}", only.as_deref().unwrap_or_default());
        match self.coalesce.run(&key, || self.run_now(name, trigger, only, progress)).await {
            Joined::Ran(result) => result,
            Joined::Shared(result) => result.map_err(EngineError::Shared),
        }
    }

    async fn run_now(
        &self,
        name: &str,
        trigger: Trigger,
        only: Option<String>,
        progress: Option<ProgressFn>,
    ) -> Result<DiscoveryRun, EngineError> {
        let source = self.source(name)?.clone();
        let _one_at_a_time = source.running.lock().await;
        let started_at = now_ms();
        self.live.write().insert(name.to_owned(), LiveStatus { running: true, started_at: Some(started_at), progress: None });
        let result = self.run_inner(&source.decl.name, &*source.provider, trigger, only, progress, started_at).await;
        self.live.write().insert(name.to_owned(), LiveStatus::default());
        let run = result?;
        tracing::info!(source = name, trigger = trigger.as_str(), status = %run.status, added = run.added, updated = run.updated,
            removed = run.removed, unchanged_scopes = run.unchanged, errors = run.errors.as_array().map_or(0, Vec::len),
            ms = run.finished_at - run.started_at, "discovery run");
        Ok(run)
    }

    async fn run_inner(
        &self,
        name: &str,
        provider: &dyn super::Provider,
        trigger: Trigger,
        only: Option<String>,
        progress: Option<ProgressFn>,
        started_at: i64,
    ) -> Result<DiscoveryRun, EngineError> {
        let store = self.catalog.store().clone();
        let previous_state = store.discovery_state(name).await?.unwrap_or(Value::Null);
        let live_name = name.to_owned();
        let live = Arc::downgrade(&self.live);
        let ctx = ScanContext {
            previous: previous_state.clone(),
            only: only.clone(),
            reader: self.reader.clone(),
            cache_dir: self.cache_root.join(name),
            progress: Arc::new(move |p| {
                if let Some(f) = &progress {
                    f(p.clone());
                }
                if let Some(l) = live.upgrade() {
                    l.write().entry(live_name.clone()).or_default().progress = Some(p);
                }
            }),
        };
        let mut run = DiscoveryRun {
            id: 0,
            source: name.to_owned(),
            trigger: trigger.as_str().to_owned(),
            started_at,
            finished_at: started_at,
            status: "ok".into(),
            added: 0,
            updated: 0,
            removed: 0,
            unchanged: 0,
            errors: json!([]),
            state: None,
        };
        let scan = match provider.scan(&ctx).await {
            Ok(scan) => scan,
            Err(e) => {
                run.status = "failed".into();
                run.errors = json!([{ "location": name, "message": e.message }]);
                let count = store.contributions_of(name).await?.len() as i64;
                return self.finish_run(run, None, count).await;
            }
        };

        let existing = store.contributions_of(name).await?;
        let diff = diff(name, existing, scan.scopes, scan.exhaustive, started_at);
        run.unchanged = diff.unchanged;
        let state = next_state(&previous_state, scan.state, scan.exhaustive, &diff.failed_scopes);
        let mut errors = diff.errors;

        let touched: Vec<String> = {
            let mut keys: Vec<String> = diff.upserts.iter().map(|r| r.key.clone()).chain(diff.removals.iter().map(|id| id.0.clone())).collect();
            keys.sort();
            keys.dedup();
            keys
        };
        if !touched.is_empty() {
            let (write, mutation) = self.merge_touched(name, &touched, diff.upserts, diff.removals, started_at).await?;
            store.write_contributions(&write).await?;
            let report = self.catalog.apply(mutation).await?;
            run.added = report.added as i64;
            run.updated = report.updated as i64;
            run.removed = report.removed as i64;
            let touched: HashSet<&String> = touched.iter().collect();
            errors.extend(
                report
                    .errors
                    .into_iter()
                    .filter(|e| e.key.as_ref().is_some_and(|k| touched.contains(k)))
                    .map(|e| SourceError { location: e.location, key: e.key, message: e.message }),
            );
        }
        if diff.partial {
            run.status = "partial".into();
        }
        run.errors = Value::Array(errors.iter().map(error_json).collect());
        self.finish_run(run, Some(state), diff.count).await
    }

    /// Re-merges the touched entities from every source's contributions, this source's
    /// replaced by its new ones.
    async fn merge_touched(
        &self,
        name: &str,
        touched: &[String],
        upserts: Vec<ContributionRow>,
        removals: Vec<Id>,
        now: i64,
    ) -> Result<(ContributionWrite, Mutation), EngineError> {
        let store = self.catalog.store();
        let mut by_key: HashMap<String, Vec<ContributionRow>> = HashMap::new();
        let removed: HashSet<&Id> = removals.iter().collect();
        let mut own: HashMap<Id, ContributionRow> = HashMap::new();
        for row in store.contributions_to(touched).await? {
            let id = (row.key.clone(), row.evidence.clone());
            if row.source != name {
                by_key.entry(row.key.clone()).or_default().push(row);
            } else if !removed.contains(&id) {
                own.insert(id, row);
            }
        }
        for row in &upserts {
            own.insert((row.key.clone(), row.evidence.clone()), row.clone());
        }
        for ((key, _), row) in own {
            by_key.entry(key).or_default().push(row);
        }
        let previous: HashMap<String, Vec<FieldProvenance>> = store
            .provenance_of(touched)
            .await?
            .into_iter()
            .map(|(k, v)| (k, serde_json::from_value(v).unwrap_or_default()))
            .collect();

        let mut provenance = Vec::with_capacity(touched.len());
        let mut raws = Vec::new();
        let mut gone = Vec::new();
        for key in touched {
            let rows = by_key.get(key).map(Vec::as_slice).unwrap_or_default();
            if rows.is_empty() {
                provenance.push((key.clone(), None));
                gone.push(key.clone());
                continue;
            }
            let evidence: Vec<Evidence> = rows.iter().map(|r| Evidence::parse(&r.evidence)).collect();
            let mut parts: Vec<Part<'_>> = rows
                .iter()
                .zip(&evidence)
                .map(|(r, e)| Part {
                    source: &r.source,
                    priority: self.priority(&r.source),
                    evidence: *e,
                    location: &r.location,
                    updated_at: r.updated_at,
                    document: &r.document,
                })
                .collect();
            merge::rank(&mut parts);
            let (mut doc, fields) = merge::merge(&parts, previous.get(key).map(Vec::as_slice).unwrap_or_default(), now);
            let mut sources: Vec<&str> = parts.iter().map(|p| p.source).collect();
            sources.dedup();
            annotate(&mut doc, &sources.join(", "));
            provenance.push((key.clone(), Some(serde_json::to_value(&fields).unwrap_or_default())));
            let origin = Origin { location: parts[0].location.to_owned(), text: None, document: 0 };
            raws.push(RawEntity { value: doc, origin, parent: None, degraded: false });
        }
        let write = ContributionWrite { source: name.to_owned(), upserts, removals, provenance, at: now };
        Ok((write, Mutation::Delta { source: CATALOG_SOURCE.to_owned(), upserts: raws, removals: gone }))
    }

    async fn finish_run(&self, mut run: DiscoveryRun, state: Option<Value>, count: i64) -> Result<DiscoveryRun, EngineError> {
        let store = self.catalog.store();
        run.finished_at = now_ms();
        run.state = state;
        run.id = store.record_discovery_run(&run).await?;
        let last_error = run.errors.as_array().and_then(|a| a.first()).map(|e| {
            format!("{}: {}", e["location"].as_str().unwrap_or_default(), e["message"].as_str().unwrap_or_default())
        });
        store
            .record_source_run(&SourceRecord {
                name: format!("{CATALOG_SOURCE}:{}", run.source),
                last_run_at: Some(run.finished_at),
                last_status: Some(run.status.clone()),
                last_error,
                entity_count: count,
            })
            .await?;
        Ok(run)
    }
}

/// Kinds whose Backstage schema requires `spec.owner`.
const OWNED_KINDS: &[&str] = &["Component", "Resource", "API", "System", "Domain"];

/// Marks a merged entity with the sources that describe it; a document no source gave an
/// `apiVersion` gets Backstage's.
fn annotate(doc: &mut Value, sources: &str) {
    if let Some(obj) = doc.as_object_mut() {
        obj.entry("apiVersion").or_insert_with(|| json!("backstage.io/v1alpha1"));
    }
    let needs_owner = doc.get("kind").and_then(Value::as_str).is_some_and(|k| OWNED_KINDS.contains(&k));
    let mut unowned = false;
    if needs_owner
        && let Some(obj) = doc.as_object_mut()
    {
        let spec = obj.entry("spec").or_insert_with(|| json!({}));
        if let Some(spec) = spec.as_object_mut()
            && spec.get("owner").and_then(Value::as_str).is_none_or(str::is_empty)
        {
            spec.insert("owner".into(), json!(super::UNOWNED));
            unowned = true;
        }
    }
    if let Some(meta) = doc.get_mut("metadata").and_then(Value::as_object_mut) {
        let annotations = meta.entry("annotations").or_insert_with(|| json!({}));
        if let Some(a) = annotations.as_object_mut() {
            a.insert("portico.dev/discovered-by".into(), Value::String(sources.to_owned()));
            if unowned {
                a.insert(super::ANNOTATION_NO_OWNER.into(), json!("true"));
            }
        }
    }
}

fn error_json(e: &SourceError) -> Value {
    let mut v = json!({ "location": e.location, "message": e.message });
    if let Some(k) = &e.key {
        v["key"] = json!(k);
    }
    v
}

fn to_row(source: &str, scope: &str, key: String, c: Contribution, at: i64) -> ContributionRow {
    let docs = serde_json::to_value(&c.docs).unwrap_or_else(|_| json!([]));
    let hash = portico_model::hash::content_hash(&(portico_model::hash::Sorted(&c.document), c.evidence, portico_model::hash::Sorted(&docs)));
    ContributionRow {
        source: source.to_owned(),
        key,
        scope: scope.to_owned(),
        evidence: c.evidence.as_str().to_owned(),
        location: c.location,
        document: c.document,
        docs,
        hash,
        updated_at: at,
    }
}

/// A contribution's identity within its source: one per entity and evidence class (a
/// repository may both declare and imply the same component).
type Id = (String, String);

/// Compares a scan with the source's stored contributions.
fn diff(name: &str, existing: Vec<ContributionRow>, scopes: Vec<super::ScopeScan>, exhaustive: bool, at: i64) -> Diff {
    let mut out = Diff::default();
    let mut by_scope: HashMap<String, Vec<Id>> = HashMap::new();
    let mut stored: HashMap<Id, (String, String)> = HashMap::new();
    for row in existing {
        let id = (row.key, row.evidence);
        by_scope.entry(row.scope.clone()).or_default().push(id.clone());
        stored.insert(id, (row.scope, row.hash));
    }
    // Contributions claimed in this run, and where: one per entity and evidence per source.
    let mut claimed: HashMap<Id, String> = HashMap::new();
    let mut listed: HashSet<String> = HashSet::new();
    for s in &scopes {
        if matches!(s.outcome, ScopeOutcome::Unchanged | ScopeOutcome::Failed { .. }) {
            for id in by_scope.get(&s.scope).into_iter().flatten() {
                claimed.insert(id.clone(), s.scope.clone());
            }
        }
    }
    let mut take = |scope: &str, c: Contribution, out: &mut Diff, present: &mut HashSet<Id>| {
        let Some(key) = c.key() else {
            out.errors.push(SourceError {
                location: c.location.clone(),
                key: None,
                message: format!("source `{name}` produced an entity without kind and metadata.name; ignored"),
            });
            return;
        };
        let id = (key.clone(), c.evidence.as_str().to_owned());
        if let Some(first) = claimed.get(&id)
            && (first != scope || present.contains(&id))
        {
            out.errors.push(SourceError {
                location: c.location.clone(),
                key: Some(key.clone()),
                message: format!("duplicate entity `{key}` in source `{name}` (also found in {first}); this one is ignored"),
            });
            return;
        }
        claimed.insert(id.clone(), scope.to_owned());
        present.insert(id.clone());
        let row = to_row(name, scope, key, c, at);
        if stored.get(&id).is_none_or(|(s, h)| *s != row.scope || *h != row.hash) {
            out.upserts.push(row);
        }
    };
    for s in scopes {
        listed.insert(s.scope.clone());
        match s.outcome {
            ScopeOutcome::Full { contributions, errors, complete } => {
                out.errors.extend(errors);
                let mut present = HashSet::new();
                for c in contributions {
                    take(&s.scope, c, &mut out, &mut present);
                }
                if complete {
                    for id in by_scope.get(&s.scope).into_iter().flatten() {
                        if !present.contains(id) {
                            out.removals.push(id.clone());
                        }
                    }
                } else {
                    out.partial = true;
                }
            }
            ScopeOutcome::Delta { upserts, removals } => {
                let mut present = HashSet::new();
                for c in upserts {
                    take(&s.scope, c, &mut out, &mut present);
                }
                let removals: HashSet<String> = removals.into_iter().collect();
                out.removals.extend(stored.keys().filter(|id| removals.contains(&id.0) && !present.contains(*id)).cloned());
            }
            ScopeOutcome::Unchanged => out.unchanged += 1,
            ScopeOutcome::Failed { error } => {
                out.errors.push(error);
                out.partial = true;
                out.failed_scopes.push(s.scope);
            }
        }
    }
    if exhaustive {
        for (scope, ids) in &by_scope {
            if !listed.contains(scope) {
                out.removals.extend(ids.iter().cloned());
            }
        }
    }
    out.removals.sort();
    out.removals.dedup();
    let added = out.upserts.iter().filter(|r| !stored.contains_key(&(r.key.clone(), r.evidence.clone()))).count();
    out.count = (stored.len() + added - out.removals.len()) as i64;
    out
}

/// The state to keep: the provider's, except that a failed scope keeps what it had, and a
/// narrowed run keeps every other scope's.
fn next_state(previous: &Value, new: Value, exhaustive: bool, failed: &[String]) -> Value {
    let (Value::Object(prev), Value::Object(mut next)) = (previous, new.clone()) else { return new };
    if !exhaustive {
        for (k, v) in prev {
            next.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    for scope in failed {
        match prev.get(scope) {
            Some(v) => next.insert(scope.clone(), v.clone()),
            None => next.remove(scope),
        };
    }
    Value::Object(next)
}

#[cfg(test)]
mod tests;
