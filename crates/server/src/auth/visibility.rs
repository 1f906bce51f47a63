//! Which entities a principal may read (`catalog.entity.read`, decided per entity), for every
//! read of the API and the pages: handlers take [`Seen`] and read the catalog through it
//! ([`portico_graph::Visible`]), so an entity the policy hides is, for that reader, one that does
//! not exist.
//!
//! The policy is asked about every entity once per policy, subject and catalog generation, and
//! the answer kept as a bitmap; every request after that costs a lookup. A policy whose
//! `catalog.entity.read` rules do not read `entity` (the default policy) decides once for all.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use portico_auth::{Permission, Policy};
use portico_graph::Visibility;
use portico_graph::eval::SharedGraph;

use super::{Authorizer, Principal};
use crate::AppState;

/// Bitmaps kept: one per subject that read recently (the set starts over past this).
const KEPT: usize = 1024;

/// Decided bitmaps, by subject.
#[derive(Default)]
pub struct SeenCache {
    entries: std::sync::Mutex<HashMap<String, Kept>>,
    /// One computation at a time: requests for the same subject after a change wait for the
    /// first rather than each deciding every entity again.
    computing: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for SeenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeenCache").field("entries", &self.entries.lock().map(|e| e.len()).unwrap_or_default()).finish()
    }
}

struct Kept {
    policy: Arc<Policy>,
    generation: u64,
    vis: Visibility,
}

impl Authorizer {
    /// What `who` may read of the live catalog.
    pub async fn visibility(&self, who: &Principal, graph: &SharedGraph) -> Visibility {
        let policy = self.policy();
        let per_entity = match self.uniform(who, &policy, graph) {
            Ok(vis) => return vis,
            Err(key) => key,
        };
        // The subject's last answer under this policy, and the generation it was made for.
        let last = || {
            let entries = self.seen.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            entries.get(&per_entity).filter(|k| Arc::ptr_eq(&k.policy, &policy)).map(|k| (k.generation, k.vis.clone()))
        };
        if let Some((g, vis)) = last()
            && g == graph.read().generation()
        {
            return vis;
        }
        let _turn = self.seen.computing.lock().await;
        let generation = graph.read().generation();
        let last = last();
        if let Some((g, vis)) = &last
            && *g == generation
        {
            return vis.clone();
        }
        let subject = self.subject(who, graph).clone();
        // After a few changes, when the rules reach no farther than an entity's neighbours, only
        // the changed entities and their neighbours are decided again.
        let again = last.filter(|_| policy.decided_by_neighbours(Permission::EntityRead)).and_then(|(g, vis)| {
            let graph = graph.read();
            let changed = graph.changed_since(g)?;
            let few = changed.len() <= (graph.len() as u64 / 10).max(1000);
            few.then(|| (vis.mask().cloned().unwrap_or_else(|| graph.present().clone()), changed))
        });
        let (p, g) = (policy.clone(), graph.clone());
        let started = std::time::Instant::now();
        let (how, ids) = match again {
            Some((mut ids, changed)) => {
                let asked: Vec<portico_graph::Id> = changed.iter().collect();
                let allowed = tokio::task::spawn_blocking(move || p.entities_allowed_among(&subject, Permission::EntityRead, &g, &asked)).await.unwrap_or_default();
                ids -= &changed;
                ids |= allowed;
                ids &= graph.read().present();
                ("changed", ids)
            }
            None => ("all", tokio::task::spawn_blocking(move || p.entities_allowed(&subject, Permission::EntityRead, &g)).await.unwrap_or_default()),
        };
        tracing::debug!(subject = %who.subject, decided = how, allowed = ids.len(), elapsed_ms = started.elapsed().as_millis() as u64, "decided which entities a subject may read");
        let vis = Visibility::only(ids);
        let mut entries = self.seen.entries.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= KEPT {
            entries.clear();
        }
        entries.insert(per_entity, Kept { policy, generation, vis: vis.clone() });
        vis
    }

    /// What `who` may read of another graph (the catalog as it was, for `asOf`): decided on
    /// that graph, and never more than `now` (what it may read of the live one) allows of
    /// entities that still exist.
    pub async fn visibility_of(&self, who: &Principal, graph: &SharedGraph, live: &SharedGraph, now: &Visibility) -> Visibility {
        let policy = self.policy();
        let then = match self.uniform(who, &policy, graph) {
            Ok(vis) => vis,
            Err(_) => {
                let subject = self.subject(who, live).clone();
                let g = graph.clone();
                Visibility::only(tokio::task::spawn_blocking(move || policy.entities_allowed(&subject, Permission::EntityRead, &g)).await.unwrap_or_default())
            }
        };
        if now.is_all() {
            return then;
        }
        let (past, current) = (graph.read(), live.read());
        let mut ids = then.mask().cloned().unwrap_or_else(|| past.present().clone());
        ids.retain(|id| current.id_of(past.key_of(id)).is_none_or(|cid| now.sees(cid)));
        Visibility::only(ids)
    }

    /// The answer when it is the same for every entity: `Ok` with it, or `Err` with the key of
    /// the subject's bitmap.
    fn uniform(&self, who: &Principal, policy: &Policy, graph: &SharedGraph) -> Result<Visibility, String> {
        let none = || Visibility::only(Default::default());
        if matches!(who.via, "bootstrap" | "cli") {
            return Ok(Visibility::all());
        }
        if !who.may_do(Permission::EntityRead) {
            return Ok(none());
        }
        let subject = self.subject(who, graph);
        let same = if policy.depends_on_entity(Permission::EntityRead) {
            policy.same_for_every_entity(subject, Permission::EntityRead, graph)
        } else {
            let q = portico_auth::Question { subject, permission: Permission::EntityRead, entity: None, request: None };
            Some(policy.decide(&q, graph).allowed)
        };
        match same {
            Some(true) => Ok(Visibility::all()),
            Some(false) => Ok(none()),
            None => Err(format!("{subject:?}")),
        }
    }
}

/// What the principal of the request may read: take it in a handler and read the catalog
/// through it (`Visible::new(&graph, &seen.0)`).
#[derive(Debug, Clone)]
pub struct Seen(pub Visibility, pub Arc<Principal>);

impl Seen {
    /// What the reader sees of the catalog as it was at `at` (ms since the epoch), or of the
    /// live one: for `asOf` answers, with the graph of that time.
    pub async fn at(&self, state: &AppState, at: Option<i64>) -> Result<Visibility, portico_catalog::IngestError> {
        let Some(at) = at else { return Ok(self.0.clone()) };
        if self.0.is_all() && matches!(self.1.via, "bootstrap" | "cli") {
            return Ok(Visibility::all());
        }
        let past = state.catalog.graph_at(at).await?;
        Ok(state.auth.visibility_of(&self.1, &past, state.catalog.graph(), &self.0).await)
    }

    /// Whether the reader may see the entity `key` as it was at `at`: never one it may not see
    /// now; one that no longer exists, as the policy decides on the catalog of that time.
    pub async fn sees_at(&self, state: &AppState, key: &str, at: i64) -> Result<bool, portico_catalog::IngestError> {
        Ok(self.sees_all_at(state, &[key.to_owned()], at).await?[0])
    }

    /// [`Seen::sees_at`] for several keys at one time: the catalog of that time is decided once,
    /// and only when one of them no longer exists.
    pub async fn sees_all_at(&self, state: &AppState, keys: &[String], at: i64) -> Result<Vec<bool>, portico_catalog::IngestError> {
        if self.0.is_all() {
            return Ok(vec![true; keys.len()]);
        }
        let now: Vec<Option<bool>> = {
            let graph = state.catalog.read();
            keys.iter().map(|k| graph.id_of(k).map(|id| self.0.sees(id))).collect()
        };
        if now.iter().all(Option::is_some) {
            return Ok(now.into_iter().flatten().collect());
        }
        let vis = self.at(state, Some(at)).await?;
        let past = state.catalog.graph_at(at).await?;
        let past = past.read();
        Ok(now.into_iter().zip(keys).map(|(n, k)| n.unwrap_or_else(|| past.id_of(k).is_some_and(|id| vis.sees(id)))).collect())
    }

    /// Whether the reader may see an entity's history (`versions`, oldest first): as it may see
    /// the entity now, or, for one removed, as it was at its last version.
    pub async fn sees_history(&self, state: &AppState, key: &str, versions: &[portico_store::VersionRecord]) -> Result<bool, portico_catalog::IngestError> {
        let last = versions.iter().rev().find(|v| v.body.is_some()).map_or_else(portico_catalog::now_ms, |v| v.at);
        self.sees_at(state, key, last).await
    }

    /// Keeps the errors the reader may see: those about no entity, or about one it may see now.
    pub fn retain_errors(&self, state: &AppState, errors: &mut Vec<portico_store::ErrorRecord>) {
        if self.0.is_all() {
            return;
        }
        let graph = state.catalog.read();
        errors.retain(|e| e.key.as_deref().is_none_or(|k| graph.id_of(k).is_some_and(|id| self.0.sees(id))));
    }

    /// Whether the reader may see the entity `key` now (one that does not exist: no).
    pub fn sees_now(&self, state: &AppState, key: &str) -> bool {
        state.catalog.read().id_of(key).is_some_and(|id| self.0.sees(id))
    }
}

impl FromRequestParts<AppState> for Seen {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // The gate puts the principal in every request it lets through; without one, the
        // reader is the guest.
        if let Some(seen) = parts.extensions.get::<Seen>() {
            return Ok(seen.clone());
        }
        let who = parts.extensions.get::<Arc<Principal>>().cloned().unwrap_or_else(|| Arc::new(Principal::guest()));
        let seen = Seen(state.auth.visibility(&who, state.catalog.graph()).await, who);
        parts.extensions.insert(seen.clone());
        Ok(seen)
    }
}
