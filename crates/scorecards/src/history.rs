//! Level history: every entity's level on every scorecard, stored as it changes (first scored,
//! a level up or down, no longer scored), so trends can be drawn and levels asked "as of" a
//! time; and every initiative's progress per owner as it changes, for burn-down charts. One
//! replica writes it at a time (a lease in the store); the others stand by.

use std::collections::HashMap;
use std::sync::Arc;

use portico_catalog::{Catalog, IngestError};
use portico_store::{LevelRow, ProgressRow};

use crate::{Scorecards, report};

/// (done, total) per owner key (`""`: the whole initiative).
pub type OwnerCounts = HashMap<String, (i32, i32)>;

/// The lease of the one writer.
const LEASE: &str = "scorecards.history";
/// How long a lease lasts without renewal.
const LEASE_MS: i64 = 120_000;

/// Writes level changes to the store.
pub struct History {
    catalog: Arc<Catalog>,
    scorecards: Arc<Scorecards>,
    /// Per scorecard key: each entity's last stored (level, score); loaded from the store when
    /// this replica takes the lease.
    known: tokio::sync::Mutex<HashMap<String, HashMap<String, i32>>>,
    /// Per initiative key: each owner's last stored (done, total), `""` for the whole of it.
    progress: tokio::sync::Mutex<HashMap<String, OwnerCounts>>,
}

impl History {
    pub fn new(catalog: Arc<Catalog>, scorecards: Arc<Scorecards>) -> Arc<Self> {
        Arc::new(Self { catalog, scorecards, known: Default::default(), progress: Default::default() })
    }

    /// Stores what changed since the last call, if this replica holds the lease. Returns how
    /// many rows were written.
    pub async fn record_once(&self, now: i64) -> Result<usize, IngestError> {
        let store = self.catalog.store();
        let mut known = self.known.lock().await;
        if !store.try_lease(LEASE, self.catalog.replica(), now, now + LEASE_MS).await? {
            // Another replica writes; what it writes meanwhile is read again on taking over.
            known.clear();
            self.progress.lock().await.clear();
            return Ok(0);
        }
        let mut rows = Vec::new();
        for card in self.scorecards.cards() {
            let key = card.card.key.clone();
            if !known.contains_key(&key) {
                let stored = store.levels_at(&key, now).await?;
                known.insert(key.clone(), stored.into_iter().map(|r| (r.entity_key, r.level)).collect());
            }
            let Some(last) = known.get_mut(&key) else { continue };
            let current: Vec<(String, u8, f32)> = {
                let graph = self.catalog.read();
                card.scores.iter().filter_map(|(id, s)| Some((graph.entry(id)?.key.clone(), s.reached, s.score))).collect()
            };
            let mut seen = std::collections::HashSet::with_capacity(current.len());
            for (entity, reached, score) in current {
                let level = i32::from(reached);
                if last.get(&entity) != Some(&level) {
                    rows.push(LevelRow { scorecard: key.clone(), entity_key: entity.clone(), at: now, level, level_name: report::level_name(&card, reached), score });
                    last.insert(entity.clone(), level);
                }
                seen.insert(entity);
            }
            for (entity, level) in last.iter_mut() {
                if *level != -1 && !seen.contains(entity) {
                    rows.push(LevelRow { scorecard: key.clone(), entity_key: entity.clone(), at: now, level: -1, level_name: None, score: 0.0 });
                    *level = -1;
                }
            }
        }
        if !rows.is_empty()
            && let Err(e) = store.append_levels(&rows).await
        {
            // What was not stored is tried again next time.
            known.clear();
            return Err(e.into());
        }
        Ok(rows.len() + self.record_progress(now).await?)
    }

    /// Stores each initiative's progress per owner where it changed (over every entity: the
    /// history is the same for every reader).
    async fn record_progress(&self, now: i64) -> Result<usize, IngestError> {
        let store = self.catalog.store();
        let mut known = self.progress.lock().await;
        let scorecards = self.scorecards.clone();
        let current = tokio::task::spawn_blocking(move || current_progress(&scorecards, now)).await.unwrap_or_default();
        let mut rows = Vec::new();
        for (key, owners) in current {
            if !known.contains_key(&key) {
                let stored = store.progress(&key, now + 1, now + 1).await?;
                known.insert(key.clone(), stored.into_iter().map(|r| (r.owner, (r.done, r.total))).collect());
            }
            let Some(last) = known.get_mut(&key) else { continue };
            // An owner with nothing left in scope is written down as such, once.
            for (owner, counts) in last.iter_mut() {
                if *counts != (0, 0) && !owners.contains_key(owner) {
                    rows.push(ProgressRow { initiative: key.clone(), owner: owner.clone(), at: now, done: 0, total: 0 });
                    *counts = (0, 0);
                }
            }
            for (owner, counts) in owners {
                if last.get(&owner) != Some(&counts) {
                    rows.push(ProgressRow { initiative: key.clone(), owner: owner.clone(), at: now, done: counts.0, total: counts.1 });
                    last.insert(owner, counts);
                }
            }
        }
        if !rows.is_empty()
            && let Err(e) = store.append_progress(&rows).await
        {
            known.clear();
            return Err(e.into());
        }
        Ok(rows.len())
    }
}

/// Every initiative's (done, total) per owner key, and for the whole of it under `""`, by
/// initiative key. Initiatives that do not resolve (an unknown scorecard or level) are left
/// out.
pub fn current_progress(scorecards: &Scorecards, now: i64) -> HashMap<String, OwnerCounts> {
    let initiatives = crate::initiative::all(&scorecards.graph().read());
    let at = chrono::DateTime::from_timestamp_millis(now).unwrap_or_default().fixed_offset();
    let mut out = HashMap::new();
    for i in initiatives.into_iter().flatten() {
        let Ok(scope) = crate::initiative::scope(&i, scorecards, &portico_graph::Visibility::all(), at, None) else { continue };
        let p = crate::initiative::progress(&i, &scope, now);
        let mut owners: HashMap<String, (i32, i32)> = p.owners.into_iter().map(|o| (o.owner, (o.done as i32, o.total as i32))).collect();
        owners.insert(String::new(), (p.done as i32, p.total as i32));
        out.insert(i.key, owners);
    }
    out
}

/// Records level changes every `every`, after the scorecards caught up with the catalog.
pub fn keep_history(history: Arc<History>, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let s = history.scorecards.clone();
            if tokio::task::spawn_blocking(move || s.update()).await.is_err() {
                continue;
            }
            match history.record_once(portico_catalog::now_ms()).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(rows = n, "scorecard level changes stored"),
                Err(e) => tracing::warn!(error = %e, "storing scorecard level changes failed; trying again"),
            }
        }
    })
}

/// Entities per level from stored rows (`levels[i]` reached `i + 1`; index 0 none), those no
/// longer scored left out, over the entities `visible` lets through.
pub fn distribution(rows: &[LevelRow], levels: usize, visible: impl Fn(&str) -> bool) -> Vec<u64> {
    let mut counts = vec![0u64; levels + 1];
    for r in rows.iter().filter(|r| r.level >= 0 && visible(&r.entity_key)) {
        counts[(r.level as usize).min(levels)] += 1;
    }
    counts
}

#[cfg(test)]
mod tests;
