//! Recording events: a batch is read and checked ([`crate::events`]), stored in one transaction
//! (merged by id), then what it changes is put in the catalog as facts: a fact event's value,
//! and the DORA metrics and open incidents of each entity a deployment or incident is about.
//! The catalog announces those facts like any change, so scorecards re-score the entities.
//! DORA's window moves with time, so [`Recorder::refresh_all`] recomputes every entity's
//! metrics (hourly, from the server).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use portico_catalog::Catalog;
use portico_store::{EventFilter, EventOutcome, EventRow, FactRow};
use serde_json::Value;

use crate::dora::{self, Dora, DoraConfig, Week};
use crate::events::{self, EventError};

const DAY_MS: i64 = 86_400_000;

/// Why a batch was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Bad events, each named by its index and field: nothing was recorded.
    #[error("{}", list(.0))]
    Invalid(Vec<EventError>),
    #[error(transparent)]
    Store(#[from] portico_catalog::IngestError),
}

impl From<portico_store::StoreError> for RecordError {
    fn from(e: portico_store::StoreError) -> Self {
        Self::Store(e.into())
    }
}

/// The problems of a batch, the first twenty of them: one mistake repeated over 10,000 events
/// says no more in full.
pub fn list(problems: &[EventError]) -> String {
    let mut out: Vec<String> = problems.iter().take(20).map(ToString::to_string).collect();
    if problems.len() > 20 {
        out.push(format!("and {} more", problems.len() - 20));
    }
    out.join("; ")
}

/// What recording a batch did.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Recorded {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Per event, in the order sent: its id and what happened to it.
    pub events: Vec<RecordedEvent>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RecordedEvent {
    pub id: String,
    pub entity: String,
    pub outcome: EventOutcome,
}

/// Records events and keeps the facts they imply current.
pub struct Recorder {
    catalog: Arc<Catalog>,
    config: DoraConfig,
}

/// Entities grouped for a roll-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    System,
    Owner,
    Domain,
}

/// One group of a roll-up.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Group {
    /// The system, owner or domain (an entity reference), or `none`.
    pub group: String,
    pub entities: usize,
    pub dora: Dora,
}

impl Recorder {
    pub fn new(catalog: Arc<Catalog>, config: DoraConfig) -> Self {
        Self { catalog, config }
    }

    pub fn config(&self) -> &DoraConfig {
        &self.config
    }

    /// Records a request body: one event, a list, or `{"events": [...]}`. Nothing is recorded
    /// when any event is bad.
    pub async fn record(&self, body: &Value) -> Result<Recorded, RecordError> {
        let now = portico_catalog::now_ms();
        let parsed = {
            let graph = self.catalog.read();
            events::parse_batch(body, now, &|key| graph.get(key).is_some()).map_err(RecordError::Invalid)?
        };
        let rows: Vec<EventRow> = parsed.iter().map(|e| e.row.clone()).collect();
        let outcomes = match self.catalog.store().record_events(rows, &events::merge).await? {
            Ok(o) => o,
            Err(refused) => return Err(RecordError::Invalid(refused.into_iter().map(|(index, message)| EventError { index, message }).collect())),
        };
        let mut recorded = Recorded::default();
        let mut facts = Vec::new();
        let mut dora_entities = BTreeSet::new();
        for (event, outcome) in parsed.into_iter().zip(outcomes) {
            match outcome {
                EventOutcome::Added => recorded.added += 1,
                EventOutcome::Updated => recorded.updated += 1,
                EventOutcome::Unchanged => recorded.unchanged += 1,
            }
            let row = event.row;
            recorded.events.push(RecordedEvent { id: row.id.clone(), entity: row.entity_key.clone(), outcome });
            if outcome == EventOutcome::Unchanged {
                continue;
            }
            match event.fact {
                Some((name, value)) => facts.push(FactRow { entity_key: row.entity_key, name, value, at: row.at, source: row.id, recorded_at: now }),
                None => {
                    dora_entities.insert(row.entity_key);
                }
            }
        }
        if !facts.is_empty() {
            self.catalog.put_facts(&facts).await?;
        }
        if !dora_entities.is_empty() {
            self.refresh(&dora_entities.into_iter().collect::<Vec<_>>(), now).await?;
        }
        Ok(recorded)
    }

    /// Recomputes the DORA metrics and open incidents of `keys` as facts `dora` and
    /// `incidents.open`.
    pub async fn refresh(&self, keys: &[String], now: i64) -> Result<(), RecordError> {
        let from = now - self.config.window_days * DAY_MS;
        let events = self.events_of(Some(keys.to_vec()), from).await?;
        let mut by_entity: BTreeMap<&str, Vec<&EventRow>> = keys.iter().map(|k| (k.as_str(), Vec::new())).collect();
        for e in &events {
            if let Some(list) = by_entity.get_mut(e.entity_key.as_str()) {
                list.push(e);
            }
        }
        let mut facts = Vec::with_capacity(keys.len() * 2);
        for (key, events) in by_entity {
            let d = dora::compute(&events, from, now + 1, &self.config);
            let fact = |name: &str, value: Value| FactRow { entity_key: key.to_owned(), name: name.to_owned(), value, at: now, source: "dora".into(), recorded_at: now };
            facts.push(fact("incidents.open", Value::from(d.open_incidents)));
            facts.push(fact("dora", serde_json::to_value(&d).unwrap_or(Value::Null)));
        }
        self.catalog.put_facts(&facts).await?;
        Ok(())
    }

    /// Recomputes every entity that has deployments or incidents recorded, or DORA facts: the
    /// window moves on without new events. Returns how many entities.
    pub async fn refresh_all(&self) -> Result<usize, RecordError> {
        let now = portico_catalog::now_ms();
        let from = now - self.config.window_days * DAY_MS;
        let mut keys: BTreeSet<String> =
            self.events_of(None, from).await?.into_iter().map(|e| e.entity_key).collect();
        keys.extend(self.catalog.read().recorded_keys().into_iter().filter(|k| self.catalog.read().recorded_facts(k).is_some_and(|f| f.contains_key("dora"))));
        let keys: Vec<String> = keys.into_iter().collect();
        for chunk in keys.chunks(500) {
            self.refresh(chunk, now).await?;
        }
        Ok(keys.len())
    }

    /// One entity's metrics now, and week by week for `weeks` weeks.
    pub async fn entity(&self, key: &str, weeks: usize) -> Result<(Dora, Vec<Week>), RecordError> {
        let now = portico_catalog::now_ms();
        let from = now - (self.config.window_days.max(weeks as i64 * 7)) * DAY_MS;
        let events = self.events_of(Some(vec![key.to_owned()]), from).await?;
        let refs: Vec<&EventRow> = events.iter().collect();
        let window = now - self.config.window_days * DAY_MS;
        Ok((dora::compute(&refs, window, now + 1, &self.config), dora::history(&refs, now + 1, weeks, &self.config)))
    }

    /// Metrics pooled per system, owner or domain over the entities `visible` lets through.
    pub async fn rollup(&self, by: GroupBy, visible: &(dyn Fn(portico_graph::Id) -> bool + Sync)) -> Result<Vec<Group>, RecordError> {
        let now = portico_catalog::now_ms();
        let from = now - self.config.window_days * DAY_MS;
        let events = self.events_of(None, from).await?;
        let group_of: BTreeMap<String, String> = {
            let graph = self.catalog.read();
            let keys: BTreeSet<&str> = events.iter().map(|e| e.entity_key.as_str()).collect();
            keys.into_iter().filter(|k| graph.id_of(k).is_some_and(visible)).map(|k| (k.to_owned(), group_key(&graph, k, by))).collect()
        };
        let mut groups: BTreeMap<&str, (BTreeSet<&str>, Vec<&EventRow>)> = BTreeMap::new();
        for e in &events {
            if let Some(g) = group_of.get(&e.entity_key) {
                let entry = groups.entry(g.as_str()).or_default();
                entry.0.insert(&e.entity_key);
                entry.1.push(e);
            }
        }
        Ok(groups
            .into_iter()
            .map(|(group, (entities, events))| Group { group: group.to_owned(), entities: entities.len(), dora: dora::compute(&events, from, now + 1, &self.config) })
            .collect())
    }

    /// Deployments and incidents since `from`, and every incident still open whenever it was
    /// opened (for the count of open incidents).
    async fn events_of(&self, keys: Option<Vec<String>>, from: i64) -> Result<Vec<EventRow>, RecordError> {
        let store = self.catalog.store();
        let kinds = vec!["deployment".to_owned(), "incident".to_owned()];
        let mut events = store.events(&EventFilter { entity_keys: keys.clone(), kinds, since: Some(from), ..Default::default() }).await?;
        let older = store.events(&EventFilter { entity_keys: keys, kinds: vec!["incident".into()], until: Some(from), ..Default::default() }).await?;
        events.extend(older.into_iter().filter(|e| e.body.get("resolvedAt").is_none()));
        Ok(events)
    }
}

/// Recomputes every entity's DORA metrics once an hour, in the background (the window moves on
/// without new events). Every replica may run it: the facts it writes are the same.
pub fn keep_dora_current(recorder: Arc<Recorder>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            every.tick().await;
            match recorder.refresh_all().await {
                Ok(n) => tracing::debug!(entities = n, "DORA metrics recomputed"),
                Err(e) => tracing::warn!(error = %e, "recomputing DORA metrics failed"),
            }
        }
    })
}

/// The system, owner or domain an entity belongs to, as a key; `none` when it has none.
fn group_key(graph: &portico_graph::CatalogGraph, key: &str, by: GroupBy) -> String {
    let Some(entry) = graph.get(key) else { return "none".into() };
    let e = &entry.entity;
    let target = |field: &str, kind: &str| e.spec_str(field).and_then(|r| portico_model::EntityRef::parse(r, portico_model::RefDefaults { kind: Some(kind), namespace: Some(&e.metadata.namespace) }).ok()).map(|r| r.key());
    let found = match by {
        GroupBy::System => target("system", "System"),
        GroupBy::Owner => target("owner", "Group"),
        GroupBy::Domain => target("domain", "Domain").or_else(|| {
            let system = graph.get(&target("system", "System")?)?;
            let domain = system.entity.spec_str("domain")?;
            portico_model::EntityRef::parse(domain, portico_model::RefDefaults { kind: Some("Domain"), namespace: Some(&system.entity.metadata.namespace) }).ok().map(|r| r.key())
        }),
    };
    found.unwrap_or_else(|| "none".into())
}

#[cfg(test)]
mod tests;
