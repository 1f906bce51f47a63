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
use crate::import::{self, CostMatch, Format};

/// Billing rows matched to entities by the read model: a tag naming an entity, else the
/// resource's id as discovery recorded it (facts `terraform.id`, `terraform.arn`, annotation
/// `portico.dev/cloud-resource-id`), else a Resource of the id's last part's name.
struct GraphMatch {
    keys: std::collections::HashSet<String>,
    by_id: std::collections::HashMap<String, String>,
    by_name: std::collections::HashMap<String, String>,
}

impl GraphMatch {
    fn new(graph: &portico_graph::CatalogGraph) -> Self {
        let mut m = Self { keys: Default::default(), by_id: Default::default(), by_name: Default::default() };
        for e in graph.entries() {
            m.keys.insert(e.key.clone());
            let facts = e.entity.status.as_ref().and_then(|s| s.get("facts"));
            for name in ["terraform.id", "terraform.arn"] {
                if let Some(id) = facts.and_then(|f| f.get(name)).and_then(Value::as_str) {
                    m.by_id.insert(id.to_ascii_lowercase(), e.key.clone());
                }
            }
            if let Some(id) = e.entity.annotation("portico.dev/cloud-resource-id") {
                m.by_id.insert(id.to_ascii_lowercase(), e.key.clone());
            }
            if e.entity.kind == "Resource" {
                m.by_name.insert(e.entity.metadata.name.to_ascii_lowercase(), e.key.clone());
            }
        }
        m
    }
}

impl CostMatch for GraphMatch {
    fn entity_of(&self, entity: Option<&str>, resource: &str) -> Option<String> {
        if let Some(r) = entity {
            return events::entity_key(r, &|k| self.keys.contains(k)).ok();
        }
        let id = resource.to_ascii_lowercase();
        self.by_id.get(&id).or_else(|| self.by_name.get(id.rsplit(['/', ':']).next().unwrap_or(&id))).cloned()
    }
}

/// For reports about one named entity.
struct NoMatch;

impl CostMatch for NoMatch {
    fn entity_of(&self, _: Option<&str>, _: &str) -> Option<String> {
        None
    }
}

const DAY_MS: i64 = 86_400_000;

/// Why a batch was not recorded.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// Bad events, each named by its index and field: nothing was recorded.
    #[error("{}", list(.0))]
    Invalid(Vec<EventError>),
    /// A report that cannot be read: its format and where.
    #[error("{0}")]
    Report(String),
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

/// What importing a report did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Imported {
    pub format: String,
    /// The facts read, per entity: `{entity: {name: value}}`.
    pub facts: BTreeMap<String, serde_json::Map<String, Value>>,
    #[serde(flatten)]
    pub recorded: Recorded,
    /// What the report held that matched no entity (billing rows), with why.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub skipped: Vec<String>,
}

/// One group of a cost roll-up.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CostGroup {
    pub group: String,
    pub entities: usize,
    /// The sum of the entities' `cost.monthly`.
    pub monthly: f64,
    /// The currencies their costs are in (one, unless the exports differ).
    pub currencies: Vec<String>,
}

/// Entities grouped for a roll-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    System,
    Owner,
    Domain,
}

impl std::str::FromStr for GroupBy {
    type Err = String;

    /// `system`, `owner` or `domain`, as the API, the pages and the command line take it.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "system" => Ok(Self::System),
            "owner" => Ok(Self::Owner),
            "domain" => Ok(Self::Domain),
            other => Err(format!("{other:?} is not system, owner or domain")),
        }
    }
}

impl GroupBy {
    pub fn name(self) -> &'static str {
        match self {
            Self::System => "system",
            Self::Owner => "owner",
            Self::Domain => "domain",
        }
    }
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

    /// Imports a report: its facts are recorded as `fact` events about `entity` (or, for a
    /// billing export, about the entity each row matches), so the same report twice records
    /// nothing twice.
    pub async fn import(&self, format: Format, report: &[u8], entity: Option<&str>) -> Result<Imported, RecordError> {
        let report_error = |m: String| RecordError::Report(format!("{} report: {m}", format.name()));
        let entity = match entity {
            Some(e) => Some({
                let graph = self.catalog.read();
                events::entity_key(e, &|k| graph.get(k).is_some()).map_err(|m| RecordError::Invalid(vec![EventError { index: 0, message: m }]))?
            }),
            None if format.needs_entity() => {
                return Err(report_error("entity: a report of this format is about one entity: name it (--entity, or ?entity=)".into()));
            }
            None => None,
        };
        let facts = if format == Format::Billing {
            let matcher = GraphMatch::new(&self.catalog.read());
            import::read(format, report, &matcher)
        } else {
            import::read(format, report, &NoMatch)
        }
        .map_err(report_error)?;
        let now = portico_catalog::now_ms();
        let batch = import::events(format, &facts, entity.as_deref(), report, now).map_err(report_error)?;
        let mut by_entity: BTreeMap<String, serde_json::Map<String, Value>> = BTreeMap::new();
        for (target, name, value) in &facts.facts {
            if let Some(e) = target.as_ref().or(entity.as_ref()) {
                by_entity.entry(e.clone()).or_default().insert(name.clone(), value.clone());
            }
        }
        let recorded = if batch["events"].as_array().is_some_and(Vec::is_empty) { Recorded::default() } else { self.record(&batch).await? };
        Ok(Imported { format: format.name().to_owned(), facts: by_entity, recorded, skipped: facts.skipped })
    }

    /// Monthly cost (facts `cost.monthly`) summed per system, owner or domain over the
    /// entities `visible` lets through.
    pub fn costs(&self, by: GroupBy, visible: &(dyn Fn(portico_graph::Id) -> bool + Sync)) -> Vec<CostGroup> {
        let graph = self.catalog.read();
        let mut groups: BTreeMap<String, CostGroup> = BTreeMap::new();
        for key in graph.recorded_keys() {
            let Some(facts) = graph.recorded_facts(&key) else { continue };
            let Some(cost) = facts.get("cost.monthly").and_then(Value::as_f64) else { continue };
            if !graph.id_of(&key).is_some_and(visible) || graph.get(&key).is_none() {
                continue;
            }
            let group = group_key(&graph, &key, by);
            let g = groups.entry(group.clone()).or_insert_with(|| CostGroup { group, entities: 0, monthly: 0.0, currencies: Vec::new() });
            g.entities += 1;
            g.monthly = ((g.monthly + cost) * 100.0).round() / 100.0;
            if let Some(c) = facts.get("cost.currency").and_then(Value::as_str)
                && !g.currencies.iter().any(|x| x == c)
            {
                g.currencies.push(c.to_owned());
            }
        }
        let mut out: Vec<CostGroup> = groups.into_values().collect();
        out.sort_by(|a, b| b.monthly.total_cmp(&a.monthly).then_with(|| a.group.cmp(&b.group)));
        out
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
        {
            // One read guard: a second, nested one could wait behind a queued writer forever.
            let graph = self.catalog.read();
            keys.extend(graph.recorded_keys().into_iter().filter(|k| graph.recorded_facts(k).is_some_and(|f| f.contains_key("dora"))));
        }
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
pub(crate) fn group_key(graph: &portico_graph::CatalogGraph, key: &str, by: GroupBy) -> String {
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
