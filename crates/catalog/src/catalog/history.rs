//! Time travel: an entity as it was at a time, and what changed between two times (added,
//! removed, changed, with field-level differences and the source of each change), read from
//! the version history the write path records.

use portico_model::diff::{FieldChange, diff};
use portico_store::VersionRecord;
use serde_json::Value;

use std::sync::Arc;

use portico_graph::eval::SharedGraph;

use super::Catalog;
use crate::IngestError;

/// Most entities one change report covers; the rest are counted in `truncated`.
pub const MAX_CHANGES: usize = 5000;

/// One entity's change between two times.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EntityChange {
    #[serde(rename = "entityRef")]
    pub entity_ref: String,
    /// The source that made the last change in the window.
    pub source: String,
    /// When that change was made (ms since the epoch).
    pub at: i64,
    pub version: i64,
    /// The last recorded change: `added`, `updated`, `orphaned` or `removed`.
    pub change: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldChange>,
}

/// What changed after `from` and up to `to`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChangeReport {
    pub from: i64,
    pub to: i64,
    pub added: Vec<EntityChange>,
    pub removed: Vec<EntityChange>,
    pub changed: Vec<EntityChange>,
    /// Entities left out beyond [`MAX_CHANGES`].
    pub truncated: usize,
}

/// Parses an RFC 3339 time into ms since the epoch; `what` names the parameter in errors.
/// Times in the future are refused: history cannot answer them.
pub fn parse_time(what: &str, value: &str) -> Result<i64, String> {
    let t = chrono::DateTime::parse_from_rfc3339(value.trim())
        .map_err(|e| format!("{what}: {value:?} is not an RFC 3339 time (e.g. 2026-11-27T09:00:00Z): {e}"))?
        .timestamp_millis();
    if t > crate::now_ms() + 1_000 {
        return Err(format!("{what}: {value} is in the future; history only knows the past"));
    }
    Ok(t)
}

fn display_ref(key: &str, body: Option<&Value>) -> String {
    body.and_then(|b| {
        let kind = b.get("kind")?.as_str()?;
        let ns = b.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(portico_model::DEFAULT_NAMESPACE);
        let name = b.pointer("/metadata/name")?.as_str()?;
        Some(portico_model::EntityRef::new(kind, ns, name).to_string())
    })
    .unwrap_or_else(|| key.to_owned())
}

/// The descriptor without what changes on every write (`uid` and `etag` are identity, not content).
fn content(v: &VersionRecord) -> Value {
    let mut body = v.body.clone().unwrap_or(Value::Null);
    if let Some(meta) = body.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.remove("etag");
    }
    body
}

/// Read models of past times kept in memory (each is as large as the live one).
const SNAPSHOTS: usize = 1;

/// A time in ms as RFC 3339, for messages.
pub fn format_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(|| ms.to_string(), |t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

impl Catalog {
    /// The whole catalog as it was at `at` (ms since the epoch): a read model built from the
    /// version history, so every read (filters, queries, relations) can answer as of then.
    /// The last one is kept, keyed by what the history held at their time, so any time
    /// between the same two changes shares one.
    pub async fn graph_at(&self, at: i64) -> Result<SharedGraph, IngestError> {
        match self.store.history_start().await? {
            None => return Err(IngestError::Invalid("asOf: the catalog has no history yet".into())),
            Some(start) if at < start => {
                return Err(IngestError::Invalid(format!(
                    "asOf: {} is before the catalog's history, which starts at {}",
                    format_time(at),
                    format_time(start)
                )));
            }
            Some(_) => {}
        }
        let marker = self.store.history_marker(at).await?;
        let mut snapshots = self.snapshots.lock().await;
        if let Some(i) = snapshots.iter().position(|(m, _)| *m == marker) {
            let hit = snapshots.remove(i);
            let graph = hit.1.clone();
            snapshots.push(hit);
            return Ok(graph);
        }
        // Drop the oldest past catalog before building the next, not after: each is as large as
        // the live one, and holding both while building made a third.
        if snapshots.len() >= SNAPSHOTS {
            snapshots.remove(0);
        }
        let entries = self.store.entities_at(at).await?;
        let started = std::time::Instant::now();
        let graph = tokio::task::spawn_blocking(move || super::build_graph(entries).0)
            .await
            .map_err(|e| IngestError::Invalid(format!("building the catalog as of {}: {e}", format_time(at))))?;
        tracing::debug!(at = %format_time(at), entities = graph.len(), ms = started.elapsed().as_millis() as u64, "built a past catalog");
        let graph: SharedGraph = Arc::new(parking_lot::RwLock::new(graph));
        snapshots.push((marker, graph.clone()));
        Ok(graph)
    }

    /// The entity `key` as it was at `at` (ms since the epoch).
    pub async fn entity_at(&self, key: &str, at: i64) -> Result<Option<VersionRecord>, IngestError> {
        Ok(self.store.entity_at(key, at).await?)
    }

    /// What changed after `from` and up to `to` (ms since the epoch).
    pub async fn changes(&self, from: i64, to: i64) -> Result<ChangeReport, IngestError> {
        if from > to {
            return Err(IngestError::Invalid(format!("from ({from}) is after to ({to})")));
        }
        let mut report = ChangeReport { from, to, ..Default::default() };
        let touched = self.store.changes_between(from, to).await?;
        report.truncated = touched.len().saturating_sub(MAX_CHANGES);
        for last in touched.into_iter().take(MAX_CHANGES) {
            let before = self.store.entity_at(&last.key, from).await?;
            let after = self.store.entity_at(&last.key, to).await?;
            let body = after.as_ref().or(before.as_ref()).and_then(|v| v.body.as_ref());
            let mut change = EntityChange {
                entity_ref: display_ref(&last.key, body),
                source: last.source.clone(),
                at: last.at,
                version: last.version,
                change: last.change.clone(),
                fields: Vec::new(),
            };
            match (before, after) {
                (None, Some(_)) => report.added.push(change),
                (Some(_), None) => report.removed.push(change),
                (Some(b), Some(a)) => {
                    change.fields = diff(&content(&b), &content(&a));
                    if !change.fields.is_empty() || a.change != b.change {
                        report.changed.push(change);
                    }
                }
                // Added and removed again within the window.
                (None, None) => {}
            }
        }
        Ok(report)
    }
}
