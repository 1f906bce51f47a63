//! Storage of recorded events (deployments, incidents, custom facts) and of the facts recorded
//! about entities. Same SQL for both backends, expanded once per backend like `sql.rs`.
//!
//! What an event means, and how two reports of one event merge, is the scorecards crate's
//! business: [`EventStore::record_events`] takes the merge as a function and applies it inside
//! one transaction, so a batch is recorded whole or not at all.

use serde_json::Value;

use crate::Result;

/// One stored event.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventRow {
    /// Given by the sender; the same id again is the same event.
    pub id: String,
    /// `deployment`, `incident` or `fact`.
    #[serde(rename = "type")]
    pub kind: String,
    pub entity_key: String,
    /// The event's own time, ms since the epoch.
    pub at: i64,
    pub body: Value,
    pub recorded_at: i64,
    pub updated_at: i64,
}

/// What recording did with one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventOutcome {
    Added,
    /// A later report of a known event added to it (a deployment's finish, an incident resolved).
    Updated,
    /// Known already, and this report added nothing (a retry).
    Unchanged,
}

/// How a new report of an event meets the stored one: `Ok(None)` keeps the stored row,
/// `Ok(Some(row))` replaces it, `Err` refuses the report (and with it the batch).
pub type MergeEvent = dyn Fn(&EventRow, &EventRow) -> Result<Option<EventRow>, String> + Send + Sync;

/// Which events to list; every field narrows.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    pub entity_keys: Option<Vec<String>>,
    /// Types to include; empty for all.
    pub kinds: Vec<String>,
    /// Events at or after (ms).
    pub since: Option<i64>,
    /// Events before (ms).
    pub until: Option<i64>,
    /// At most this many, newest first; 0 for all, oldest first.
    pub limit: u32,
}

/// The current value of one fact of one entity.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FactRow {
    pub entity_key: String,
    pub name: String,
    pub value: Value,
    /// When the value held, ms.
    pub at: i64,
    /// What set it: an event id, `import:<format>`, `dora`.
    pub source: String,
    pub recorded_at: i64,
}

#[async_trait::async_trait]
pub trait EventStore: Send + Sync {
    /// Records a batch of events in one transaction: new ids are added, known ones merged by
    /// `merge`. When `merge` refuses any, nothing is written and the refusals come back with
    /// the index of each event in `events`.
    async fn record_events(&self, events: Vec<EventRow>, merge: &MergeEvent) -> Result<Result<Vec<EventOutcome>, Vec<(usize, String)>>>;
    /// Events matching `filter`.
    async fn events(&self, filter: &EventFilter) -> Result<Vec<EventRow>>;
    /// Sets facts where each is at least as recent as the stored value (a late report never
    /// replaces a newer one); returns, per fact, whether it was written. The change is
    /// announced to other replicas as `facts:<entity key>` for each entity written.
    async fn put_facts(&self, replica: &str, facts: &[FactRow]) -> Result<Vec<bool>>;
    /// Every stored fact.
    async fn load_facts(&self) -> Result<Vec<FactRow>>;
    /// The facts of one entity, by name.
    async fn facts_of(&self, entity_key: &str) -> Result<Vec<FactRow>>;
}

pub(crate) type EventTuple = (String, String, String, i64, String, i64, i64);
pub(crate) type FactTuple = (String, String, String, i64, String, i64);

pub(crate) fn event_from((id, kind, entity_key, at, body, recorded_at, updated_at): EventTuple) -> Result<EventRow> {
    let body = serde_json::from_str(&body).map_err(|e| crate::StoreError::Corrupt { key: format!("event {id}"), reason: e.to_string() })?;
    Ok(EventRow { id, kind, entity_key, at, body, recorded_at, updated_at })
}

pub(crate) fn fact_from((entity_key, name, value, at, source, recorded_at): FactTuple) -> Result<FactRow> {
    let value = serde_json::from_str(&value).map_err(|e| crate::StoreError::Corrupt { key: format!("fact {name} of {entity_key}"), reason: e.to_string() })?;
    Ok(FactRow { entity_key, name, value, at, source, recorded_at })
}

macro_rules! impl_event_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::events::EventStore for $store {
            async fn record_events(
                &self,
                events: Vec<$crate::events::EventRow>,
                merge: &$crate::events::MergeEvent,
            ) -> $crate::Result<Result<Vec<$crate::events::EventOutcome>, Vec<(usize, String)>>> {
                use $crate::events::EventOutcome;
                let mut tx = self.pool.begin().await?;
                // One writer of events at a time: a merge reads, then writes.
                sqlx::query(Self::LOCK_EVENTS).execute(&mut *tx).await?;
                let mut stored: std::collections::HashMap<String, $crate::events::EventRow> = std::collections::HashMap::new();
                for chunk in events.chunks($crate::sql::BATCH) {
                    let mut q = sqlx::QueryBuilder::<$db>::new("select id, type, entity_key, at, body, recorded_at, updated_at from events where id in (");
                    let mut ids = q.separated(", ");
                    for e in chunk {
                        ids.push_bind(&e.id);
                    }
                    q.push(")");
                    let rows: Vec<$crate::events::EventTuple> = q.build_query_as().fetch_all(&mut *tx).await?;
                    for row in rows {
                        let row = $crate::events::event_from(row)?;
                        stored.insert(row.id.clone(), row);
                    }
                }
                let mut outcomes = Vec::with_capacity(events.len());
                let mut refused = Vec::new();
                let mut writes: Vec<(bool, $crate::events::EventRow)> = Vec::new();
                for (i, event) in events.into_iter().enumerate() {
                    match stored.get(&event.id) {
                        None => {
                            stored.insert(event.id.clone(), event.clone());
                            writes.push((true, event));
                            outcomes.push(EventOutcome::Added);
                        }
                        Some(old) => match merge(old, &event) {
                            Ok(None) => outcomes.push(EventOutcome::Unchanged),
                            Ok(Some(row)) => {
                                stored.insert(row.id.clone(), row.clone());
                                writes.push((false, row));
                                outcomes.push(EventOutcome::Updated);
                            }
                            Err(why) => refused.push((i, why)),
                        },
                    }
                }
                if !refused.is_empty() {
                    tx.rollback().await?;
                    return Ok(Err(refused));
                }
                // A batch may add an id and update it again: the last write of each id wins.
                let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
                for (i, (_, row)) in writes.iter().enumerate() {
                    last.insert(row.id.as_str(), i);
                }
                for (i, (_, row)) in writes.iter().enumerate() {
                    if last.get(row.id.as_str()) != Some(&i) {
                        continue;
                    }
                    sqlx::query(
                        "insert into events (id, type, entity_key, at, body, recorded_at, updated_at) values ($1, $2, $3, $4, $5, $6, $7) \
                         on conflict (id) do update set type = excluded.type, entity_key = excluded.entity_key, at = excluded.at, \
                         body = excluded.body, updated_at = excluded.updated_at",
                    )
                    .bind(&row.id)
                    .bind(&row.kind)
                    .bind(&row.entity_key)
                    .bind(row.at)
                    .bind(row.body.to_string())
                    .bind(row.recorded_at)
                    .bind(row.updated_at)
                    .execute(&mut *tx)
                    .await?;
                }
                tx.commit().await?;
                Ok(Ok(outcomes))
            }

            async fn events(&self, f: &$crate::events::EventFilter) -> $crate::Result<Vec<$crate::events::EventRow>> {
                let mut q = sqlx::QueryBuilder::<$db>::new("select id, type, entity_key, at, body, recorded_at, updated_at from events where 1 = 1");
                if let Some(keys) = &f.entity_keys {
                    if keys.is_empty() {
                        return Ok(Vec::new());
                    }
                    q.push(" and entity_key in (");
                    let mut s = q.separated(", ");
                    for k in keys {
                        s.push_bind(k);
                    }
                    q.push(")");
                }
                if !f.kinds.is_empty() {
                    q.push(" and type in (");
                    let mut s = q.separated(", ");
                    for k in &f.kinds {
                        s.push_bind(k);
                    }
                    q.push(")");
                }
                if let Some(since) = f.since {
                    q.push(" and at >= ").push_bind(since);
                }
                if let Some(until) = f.until {
                    q.push(" and at < ").push_bind(until);
                }
                if f.limit > 0 {
                    q.push(" order by at desc, id desc limit ").push_bind(i64::from(f.limit));
                } else {
                    q.push(" order by at, id");
                }
                let rows: Vec<$crate::events::EventTuple> = q.build_query_as().fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::events::event_from).collect()
            }

            async fn put_facts(&self, replica: &str, facts: &[$crate::events::FactRow]) -> $crate::Result<Vec<bool>> {
                let mut tx = self.pool.begin().await?;
                let mut written = Vec::with_capacity(facts.len());
                let mut entities: Vec<&str> = Vec::new();
                for f in facts {
                    let done = sqlx::query(
                        "insert into facts (entity_key, name, value, at, source, recorded_at) values ($1, $2, $3, $4, $5, $6) \
                         on conflict (entity_key, name) do update set value = excluded.value, at = excluded.at, \
                         source = excluded.source, recorded_at = excluded.recorded_at where facts.at <= excluded.at",
                    )
                    .bind(&f.entity_key)
                    .bind(&f.name)
                    .bind(f.value.to_string())
                    .bind(f.at)
                    .bind(&f.source)
                    .bind(f.recorded_at)
                    .execute(&mut *tx)
                    .await?;
                    let wrote = done.rows_affected() > 0;
                    if wrote && !entities.contains(&f.entity_key.as_str()) {
                        entities.push(&f.entity_key);
                    }
                    written.push(wrote);
                }
                for key in entities {
                    self.announce(&mut *tx, replica, &format!("facts:{key}")).await?;
                }
                tx.commit().await?;
                Ok(written)
            }

            async fn load_facts(&self) -> $crate::Result<Vec<$crate::events::FactRow>> {
                let rows: Vec<$crate::events::FactTuple> =
                    sqlx::query_as("select entity_key, name, value, at, source, recorded_at from facts order by entity_key, name").fetch_all(&self.pool).await?;
                rows.into_iter().map($crate::events::fact_from).collect()
            }

            async fn facts_of(&self, entity_key: &str) -> $crate::Result<Vec<$crate::events::FactRow>> {
                let rows: Vec<$crate::events::FactTuple> =
                    sqlx::query_as("select entity_key, name, value, at, source, recorded_at from facts where entity_key = $1 order by name")
                        .bind(entity_key)
                        .fetch_all(&self.pool)
                        .await?;
                rows.into_iter().map($crate::events::fact_from).collect()
            }
        }
    };
}

pub(crate) use impl_event_store;
