//! Facts recorded about entities (from events, imported reports, DORA): stored, then applied to
//! the read model, where `fact()` and the `dora` variable read them, and announced like any
//! change, so scorecards re-score the entities whose facts changed. Other replicas hear
//! `facts:<entity key>` and reload that entity's facts from the store.

use portico_store::FactRow;

use super::{Catalog, CatalogEvent};
use crate::IngestError;

/// The source named in the [`CatalogEvent`]s of fact changes.
pub const FACTS_SOURCE: &str = "facts";

impl Catalog {
    /// Loads every stored fact into the read model (at start), or brings the read model's
    /// facts in step with the store (after missed announcements). Returns how many entities'
    /// facts changed.
    pub(crate) async fn resync_facts(&self) -> Result<usize, IngestError> {
        let facts = self.store.load_facts().await?;
        let mut by_entity: std::collections::BTreeMap<String, Vec<(String, serde_json::Value)>> = Default::default();
        for f in facts {
            by_entity.entry(f.entity_key).or_default().push((f.name, f.value));
        }
        let changed: Vec<String> = {
            let mut graph = self.graph.write();
            for key in graph.recorded_keys() {
                by_entity.entry(key).or_default();
            }
            by_entity.into_iter().filter(|(key, stored)| replace_facts(&mut graph, key, stored.clone())).map(|(key, _)| key).collect()
        };
        let n = changed.len();
        if n > 0 {
            let _ = self.events.send(CatalogEvent { source: FACTS_SOURCE.to_owned(), changed, removed: Vec::new() });
        }
        Ok(n)
    }

    /// Records facts: each is stored unless the store holds a newer value of it, then what was
    /// stored is applied to the read model. Returns, per fact, whether it was written.
    pub async fn put_facts(&self, facts: &[FactRow]) -> Result<Vec<bool>, IngestError> {
        let written = self.store.put_facts(&self.replica, facts).await?;
        let mut by_entity: Vec<(&str, Vec<(String, serde_json::Value)>)> = Vec::new();
        for (fact, _) in facts.iter().zip(&written).filter(|(_, w)| **w) {
            match by_entity.iter_mut().find(|(k, _)| *k == fact.entity_key) {
                Some((_, list)) => list.push((fact.name.clone(), fact.value.clone())),
                None => by_entity.push((&fact.entity_key, vec![(fact.name.clone(), fact.value.clone())])),
            }
        }
        let mut changed = Vec::new();
        {
            let mut graph = self.graph.write();
            for (key, facts) in by_entity {
                if graph.set_recorded_facts(key, facts) {
                    changed.push(key.to_owned());
                }
            }
        }
        if !changed.is_empty() {
            let _ = self.events.send(CatalogEvent { source: FACTS_SOURCE.to_owned(), changed, removed: Vec::new() });
        }
        Ok(written)
    }

    /// Brings one entity's recorded facts in step with the store (another replica changed them).
    pub async fn sync_facts(&self, key: &str) -> Result<bool, IngestError> {
        let stored = self.store.facts_of(key).await?.into_iter().map(|f| (f.name, f.value)).collect();
        let changed = replace_facts(&mut self.graph.write(), key, stored);
        if changed {
            let _ = self.events.send(CatalogEvent { source: FACTS_SOURCE.to_owned(), changed: vec![key.to_owned()], removed: Vec::new() });
        }
        Ok(changed)
    }
}

/// Makes an entity's recorded facts in the read model exactly `stored`; true when that changed them.
fn replace_facts(graph: &mut portico_graph::CatalogGraph, key: &str, mut stored: Vec<(String, serde_json::Value)>) -> bool {
    if let Some(current) = graph.recorded_facts(key) {
        for name in current.keys() {
            if !stored.iter().any(|(n, _)| n == name) {
                stored.push((name.clone(), serde_json::Value::Null));
            }
        }
    }
    graph.set_recorded_facts(key, stored)
}
