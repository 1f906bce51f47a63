//! The catalog: store + read model + validator, and the ingest algorithm.

use std::sync::{Arc, RwLock};

use parking_lot::RwLockReadGuard;

use portico_graph::eval::SharedGraph;
use portico_graph::CatalogGraph;
use portico_model::{Entity, FieldError, KindRegistry, Validator};
use portico_store::{ChangeSet, ErrorRecord, SourceRecord, Store};
use tokio::sync::{Mutex, broadcast};

use crate::mutation::{Mutation, Outcome, RawEntity, SourceError, Validated};

pub mod analytics;
mod edits;
mod errors;
mod facts;
mod follow;
pub mod gate;
pub mod history;
mod plan;
pub mod query;
mod session;

pub use facts::FACTS_SOURCE;
pub use session::{Ingest, with_declared_kinds};
use session::extend;
use crate::IngestError;

/// What happens to an entity whose source stops emitting it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OrphanStrategy {
    #[default]
    Delete,
    Keep,
}

#[derive(Debug, Clone, Default)]
pub struct CatalogOptions {
    pub orphan_strategy: OrphanStrategy,
    /// How many queries run at once, and their limits.
    pub queries: gate::QueryConfig,
}

/// A validated entity and the relations its own fields would create.
pub type Preview = (Entity, Vec<portico_model::Relation>);

/// Sent after each committed change.
#[derive(Debug, Clone)]
pub struct CatalogEvent {
    pub source: String,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

/// The outcome of one mutation.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct IngestReport {
    pub source: String,
    pub added: usize,
    pub updated: usize,
    pub removed: usize,
    pub orphaned: usize,
    pub unchanged: usize,
    pub rows_written: u64,
    pub errors: Vec<ErrorRecord>,
}

/// The catalog: the store, the read model kept in step with it, and the kinds in force.
pub struct Catalog {
    store: Arc<dyn Store>,
    graph: SharedGraph,
    validator: RwLock<Validator>,
    writer: Mutex<()>,
    events: broadcast::Sender<CatalogEvent>,
    options: CatalogOptions,
    /// This process's identity among the replicas sharing the store.
    replica: String,
    /// Read models of past times, most recent use last ([`Catalog::graph_at`]).
    snapshots: Mutex<Vec<(portico_store::HistoryMarker, SharedGraph)>>,
    /// Admission of queries ([`Catalog::query`]).
    queries: gate::Gate,
}

/// A read model of `entries`, validated by the kinds they declare themselves.
pub(crate) fn build_graph(entries: Vec<portico_model::CatalogEntry>) -> (CatalogGraph, Validator) {
    let kinds: Vec<&Entity> = entries.iter().filter(|e| e.entity.kind == "Kind").map(|e| &*e.entity).collect();
    let registry = KindRegistry::builtin().with_declared(kinds).unwrap_or_else(|errors| {
        tracing::warn!(?errors, "stored kind declarations no longer compile; using built-in kinds only");
        KindRegistry::builtin()
    });
    let validator = Validator::new(registry);
    let mut graph = CatalogGraph::new();
    for entry in entries {
        graph.upsert(entry, &validator);
    }
    (graph, validator)
}

pub(crate) fn record(source: &str, at: i64, location: String, key: Option<String>, message: String) -> ErrorRecord {
    ErrorRecord { source: source.to_owned(), location, key, message, at }
}

impl Catalog {
    /// Loads the catalog from the store and builds the read model.
    pub async fn open(store: Arc<dyn Store>, options: CatalogOptions) -> Result<Arc<Self>, IngestError> {
        let entries = store.load_entities().await?;
        let (mut graph, validator) = build_graph(entries);
        graph.add_tombstones(store.tombstones().await?);
        let (events, _) = broadcast::channel(256);
        let catalog = Arc::new(Self {
            store,
            graph: Arc::new(parking_lot::RwLock::new(graph)),
            validator: RwLock::new(validator),
            writer: Mutex::new(()),
            events,
            queries: gate::Gate::new(options.queries.clone()),
            options,
            replica: uuid::Uuid::new_v4().to_string(),
            snapshots: Mutex::new(Vec::new()),
        });
        catalog.resync_facts().await?;
        catalog.sync_errors(None).await?;
        Ok(catalog)
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The read model. Hold the guard briefly: writers wait for it.
    pub fn read(&self) -> RwLockReadGuard<'_, CatalogGraph> {
        self.graph.read()
    }

    /// The read model itself, for evaluation that reads it from several threads
    /// ([`portico_graph::eval`]).
    pub fn graph(&self) -> &SharedGraph {
        &self.graph
    }

    pub fn validator(&self) -> Validator {
        self.validator.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn subscribe(&self) -> broadcast::Receiver<CatalogEvent> {
        self.events.subscribe()
    }

    /// Validates documents the way ingest would, without writing: entities or field errors.
    pub fn validate(&self, raw: &[RawEntity]) -> Vec<Result<Entity, Vec<FieldError>>> {
        self.preview(raw).into_iter().map(|r| r.map(|(entity, _)| entity)).collect()
    }

    /// Like [`Catalog::validate`], with the relations each entity's fields would create
    /// (kinds declared in the same batch included).
    pub fn preview(&self, raw: &[RawEntity]) -> Vec<Result<Preview, Vec<FieldError>>> {
        let validator = self.validator_with(raw).unwrap_or_else(|_| self.validator());
        raw.iter()
            .map(|r| {
                let entity = validator.validate(r.value.clone())?;
                let relations = validator
                    .outgoing_relations(&entity)
                    .into_iter()
                    .map(|(t, _, target)| portico_model::Relation::new(&t, &target))
                    .collect();
                Ok((entity, relations))
            })
            .collect()
    }

    /// The validator extended with the kinds declared in this batch.
    fn validator_with(&self, raw: &[RawEntity]) -> Result<Validator, Vec<FieldError>> {
        extend(&self.validator(), raw)
    }

    /// Applies a mutation through the one write path.
    pub async fn apply(&self, mutation: Mutation) -> Result<IngestReport, IngestError> {
        match mutation {
            Mutation::Full { source, entities, errors, complete } => {
                let mut ingest = self.begin(&source);
                self.add(&mut ingest, entities);
                self.finish(ingest, errors, complete).await
            }
            Mutation::Delta { source, upserts, removals } => {
                let mut ingest = self.begin(&source);
                ingest.removals = Some(removals);
                self.add(&mut ingest, upserts);
                self.finish(ingest, Vec::new(), true).await
            }
        }
    }

    /// Plans, writes and commits what an ingest gathered.
    async fn finish_inner(&self, ingest: Ingest, source_errors: Vec<SourceError>, complete: bool) -> Result<IngestReport, IngestError> {
        let _guard = self.writer.lock().await;
        let at = crate::now_ms();
        let Ingest { source, validator, kind_errors, mut validated, deferred, validate_ms, removals, location, .. } = ingest;
        let full = removals.is_none();
        let removals = removals.unwrap_or_default();
        let mut errors: Vec<ErrorRecord> = source_errors
            .into_iter()
            .map(|SourceError { location, key, message }| record(&source, at, location, key, message))
            .collect();
        for e in kind_errors {
            errors.push(record(&source, at, "kind declarations".into(), None, e.to_string()));
        }
        // Documents of kinds unknown when they arrived: every declaration of the batch is known now.
        validated.extend(validate_parallel(&validator, deferred, &|_, _| false));
        tracing::debug!(validate_ms, rss_mib = crate::rss_mib(), "validated");
        // Edits made through the catalog (day-2 actions) go on top of what the source emits.
        let edits: std::collections::HashMap<String, serde_json::Value> =
            self.store.entity_edits().await?.into_iter().filter_map(|e| serde_json::from_str(&e.patch).ok().map(|p| (e.entity_key, p))).collect();
        if !edits.is_empty() {
            let graph = self.read();
            edits::apply(&graph, &validator, &mut validated, &edits, &mut |key, message| errors.push(record(&source, at, key.clone(), Some(key), message)));
        }

        // A delta replaces the errors of the entities it touches and keeps everyone else's.
        let touched: Option<std::collections::HashSet<String>> = (!full)
            .then(|| validated.iter().filter_map(|v| v.key_hint.clone()).chain(removals.iter().cloned()).collect());
        let planned = std::time::Instant::now();
        let (mut changes, mut report) = {
            let graph = self.read();
            plan::plan(&graph, plan::Input {
                source: &source,
                at,
                validated,
                full,
                complete,
                removals,
                orphan_strategy: self.options.orphan_strategy,
            }, &mut errors)
        };

        let plan_ms = planned.elapsed().as_millis();
        changes.replica = self.replica.clone();
        changes.location = location;
        changes.actor = crate::actor::current();
        report.added = changes.added.len();
        report.updated = changes.updated.len();
        report.removed = changes.removed.len();
        report.orphaned = changes.orphaned.len();
        let total = self.read().entries().filter(|e| e.source == source).count() as i64 + report.added as i64
            - report.removed as i64;
        if let Some(touched) = &touched {
            let previous = self.store.source_errors(&source).await?;
            let kept: Vec<ErrorRecord> =
                previous.into_iter().filter(|e| e.key.as_ref().is_none_or(|k| !touched.contains(k))).collect();
            errors.splice(0..0, kept);
            let mut seen = std::collections::HashSet::new();
            errors.retain(|e| seen.insert((e.location.clone(), e.key.clone(), e.message.clone())));
        }
        let errors_changed = full || !errors.is_empty() || touched.is_some();
        if errors_changed {
            let previous = self.store.source_errors(&source).await?;
            if !same_errors(&previous, &errors) {
                changes.errors = Some(errors.clone());
            }
        }
        let status = if !complete { "partial" } else if errors.is_empty() { "ok" } else { "ok-with-errors" };
        let run = SourceRecord {
            name: source.clone(),
            last_run_at: Some(at),
            last_status: Some(status.into()),
            last_error: errors.first().map(|e| format!("{}: {}", e.location, e.message)),
            entity_count: total,
        };
        let (mut store_ms, mut index_ms) = (0, 0);
        if !changes.is_empty() {
            changes.run = Some(run);
            let t = std::time::Instant::now();
            report.rows_written = self.store.apply(&changes).await?.rows_written;
            store_ms = t.elapsed().as_millis();
            tracing::debug!(store_ms, rss_mib = crate::rss_mib(), "written");
            let t = std::time::Instant::now();
            self.commit(changes, &validator);
            index_ms = t.elapsed().as_millis();
        }
        tracing::debug!(
            source = %source, added = report.added, updated = report.updated, removed = report.removed,
            unchanged = report.unchanged, errors = errors.len(), validate_ms, plan_ms, store_ms, index_ms, rss_mib = crate::rss_mib(),
            "mutation applied"
        );
        report.errors = errors;
        Ok(report)
    }

    /// Applies a committed change set to the read model and the kinds in force. Consumes it:
    /// the entries move into the graph rather than being copied.
    fn commit(&self, changes: ChangeSet, validator: &Validator) {
        let kinds_changed = changes.added.iter().chain(&changes.updated).any(|w| w.entry.entity.kind == "Kind")
            || changes.removed.iter().any(|g| g.key.starts_with("kind:"));
        let mut event = CatalogEvent { source: changes.source.clone(), changed: Vec::new(), removed: Vec::new() };
        let mut graph = self.graph.write();
        for g in changes.removed {
            graph.remove(&g.key);
            event.removed.push(g.key);
        }
        for w in changes.added.into_iter().chain(changes.updated) {
            event.changed.push(w.entry.key.clone());
            graph.upsert(w.entry, validator);
        }
        for g in changes.orphaned {
            if let Some(mut e) = graph.get(&g.key).cloned() {
                e.orphan = true;
                e.version = g.version;
                e.updated_at = changes.at;
                graph.upsert(e, validator);
            }
            event.changed.push(g.key);
        }
        if let Some(errors) = &changes.errors {
            Self::apply_errors(&mut graph, &changes.source, errors);
        }
        if kinds_changed {
            self.reload_kinds(&graph);
        }
        drop(graph);
        let _ = self.events.send(event);
    }
}

impl Catalog {
    /// Rebuilds the kinds in force from the `Kind` entities in the read model.
    fn reload_kinds(&self, graph: &CatalogGraph) {
        let kinds: Vec<Entity> = graph.entries().filter(|e| e.entity.kind == "Kind").map(|e| (*e.entity).clone()).collect();
        if let Ok(registry) = KindRegistry::builtin().with_declared(kinds.iter()) {
            *self.validator.write().unwrap_or_else(|e| e.into_inner()) = Validator::new(registry);
        }
    }
}

fn same_errors(a: &[ErrorRecord], b: &[ErrorRecord]) -> bool {
    let key = |e: &ErrorRecord| (e.location.clone(), e.key.clone(), e.message.clone());
    let mut x: Vec<_> = a.iter().map(key).collect();
    let mut y: Vec<_> = b.iter().map(key).collect();
    x.sort();
    y.sort();
    x == y
}

/// Validation is CPU-bound and independent per document: spread it over the cores. Each
/// document's value is moved into validation, so raw and validated forms never coexist in full.
/// A document whose content hash matches what its source stored last time is not validated.
fn validate_parallel(
    validator: &Validator,
    raw: Vec<RawEntity>,
    unchanged: &(dyn Fn(&str, &str) -> bool + Sync),
) -> Vec<Validated> {
    let one = |r: RawEntity| {
        let key_hint = crate::mutation::raw_key(&r.value);
        let hash = portico_model::hash::content_hash(&(portico_model::hash::Sorted(&r.value), &r.parent));
        let outcome = match &key_hint {
            Some(key) if unchanged(key, &hash) => Outcome::Unchanged { key: key.clone() },
            _ => match validator.validate(r.value) {
                Ok(entity) => {
                    let relations =
                        validator.outgoing_relations(&entity).into_iter().map(|(t, i, target)| (t, i, target.key())).collect();
                    Outcome::Valid { entity: Box::new(entity), hash, relations }
                }
                Err(errors) => Outcome::Invalid(errors),
            },
        };
        Validated { origin: r.origin, parent: r.parent, degraded: r.degraded, key_hint, outcome }
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(8);
    if raw.len() < 256 || threads == 1 {
        return raw.into_iter().map(one).collect();
    }
    let chunk = raw.len().div_ceil(threads);
    let mut parts: Vec<Vec<RawEntity>> = Vec::with_capacity(threads);
    let mut rest = raw;
    while rest.len() > chunk {
        let tail = rest.split_off(chunk);
        parts.push(rest);
        rest = tail;
    }
    parts.push(rest);
    std::thread::scope(|s| {
        let handles: Vec<_> = parts.into_iter().map(|part| s.spawn(move || part.into_iter().map(one).collect::<Vec<_>>())).collect();
        handles.into_iter().flat_map(|h| h.join().expect("validation thread panicked")).collect()
    })
}

#[cfg(test)]
mod tests;
