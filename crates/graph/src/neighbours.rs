//! An entity's neighbourhood: what lies within a few relation hops, for graph views. Each link
//! is reported once, as seen from the entity nearer the start (a component's `ownedBy` edge and
//! its owner's `ownerOf` edge are one link), and the walk stops adding entities at a cap so a hub
//! with thousands of dependents still answers in bounded time.

use std::sync::Arc;

use rustc_hash::{FxHashMap, FxHashSet};

use crate::{CatalogGraph, Id};

/// One link between two entities of a neighbourhood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighbourhoodEdge {
    pub from: Id,
    /// The relation as seen from `from` (e.g. `ownedBy`).
    pub relation: Arc<str>,
    pub to: Id,
}

/// The entities around some seeds, each with its distance from the nearest seed.
#[derive(Debug, Clone, Default)]
pub struct Neighbourhood {
    /// In the order they were reached: seeds first, then by distance.
    pub nodes: Vec<(Id, u8)>,
    pub edges: Vec<NeighbourhoodEdge>,
    /// Entities left out because the cap was reached.
    pub omitted: usize,
    /// Every relation type met on the way (before filtering), sorted, for choosing filters.
    pub relation_types: Vec<String>,
}

impl CatalogGraph {
    /// Links of `id` in both directions: its own fields' relations and the inverses of what
    /// other entities declare towards it; sorted by type then target key, deduplicated.
    pub fn links(&self, id: Id) -> Vec<(Arc<str>, Id)> {
        let mut out: Vec<(Arc<str>, Id)> = Vec::new();
        for e in self.out.get(&id).into_iter().flatten() {
            out.push((e.relation.clone(), e.target));
        }
        for (t, s) in self.incoming.get(&id).into_iter().flatten() {
            out.push((t.clone(), *s));
        }
        out.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| self.keys[a.1 as usize].cmp(&self.keys[b.1 as usize])));
        out.dedup();
        out
    }

    /// Whether an id names an entity in the catalog (and not only a relation's target).
    pub fn is_present(&self, id: Id) -> bool {
        self.present.contains(id)
    }

    /// Entities within `depth` hops of `seeds`, following only `relations` when given
    /// (case-insensitive), at most `max_nodes` of them.
    pub fn neighbourhood(&self, seeds: &[Id], depth: u8, relations: &[String], max_nodes: usize) -> Neighbourhood {
        self.neighbourhood_where(seeds, depth, relations, max_nodes, |_| true)
    }

    /// [`Self::neighbourhood`] through the entities `keep` accepts only.
    pub(crate) fn neighbourhood_where(&self, seeds: &[Id], depth: u8, relations: &[String], max_nodes: usize, keep: impl Fn(Id) -> bool) -> Neighbourhood {
        let links = |id: Id| {
            let mut l = self.links(id);
            l.retain(|(_, to)| keep(*to));
            l
        };
        let wanted: Vec<String> = relations.iter().map(|r| r.to_ascii_lowercase()).collect();
        let mut hood = Neighbourhood::default();
        let mut seen: FxHashMap<Id, u8> = FxHashMap::default();
        let mut linked: FxHashSet<(Id, Id)> = FxHashSet::default();
        let mut types: FxHashSet<Arc<str>> = FxHashSet::default();
        for &s in seeds {
            if seen.len() < max_nodes && seen.insert(s, 0).is_none() {
                hood.nodes.push((s, 0));
            }
        }
        let mut frontier: Vec<Id> = hood.nodes.iter().map(|n| n.0).collect();
        for d in 1..=depth {
            let mut next = Vec::new();
            for &from in &frontier {
                for (relation, to) in links(from) {
                    types.insert(relation.clone());
                    if !wanted.is_empty() && !wanted.iter().any(|w| relation.eq_ignore_ascii_case(w)) {
                        continue;
                    }
                    if !seen.contains_key(&to) {
                        if seen.len() >= max_nodes {
                            hood.omitted += 1;
                            continue;
                        }
                        seen.insert(to, d);
                        hood.nodes.push((to, d));
                        next.push(to);
                    }
                    let pair = if from < to { (from, to) } else { (to, from) };
                    if linked.insert(pair) {
                        hood.edges.push(NeighbourhoodEdge { from, relation, to });
                    }
                }
            }
            frontier = next;
        }
        // Links among the outermost entities, for a complete picture of what is shown.
        for &from in &frontier {
            for (relation, to) in links(from) {
                types.insert(relation.clone());
                let pair = if from < to { (from, to) } else { (to, from) };
                let allowed = wanted.is_empty() || wanted.iter().any(|w| relation.eq_ignore_ascii_case(w));
                if allowed && seen.contains_key(&to) && linked.insert(pair) {
                    hood.edges.push(NeighbourhoodEdge { from, relation, to });
                }
            }
        }
        let mut types: Vec<String> = types.into_iter().map(|t| t.to_string()).collect();
        types.sort_unstable();
        hood.relation_types = types;
        hood
    }
}

#[cfg(test)]
mod tests {
    use portico_model::Validator;

    use crate::tests::{component, graph};

    #[test]
    fn the_neighbourhood_follows_links_both_ways_once_each() {
        let g = graph();
        let cart = g.id_of("component:default/cart").unwrap();
        let hood = g.neighbourhood(&[cart], 1, &[], 100);
        let keys: Vec<&str> = hood.nodes.iter().map(|(id, _)| g.key_of(*id)).collect();
        assert_eq!(keys[0], "component:default/cart");
        assert!(keys.contains(&"group:default/team-a"), "{keys:?}");
        assert_eq!(hood.edges.len(), hood.nodes.len() - 1, "one edge per neighbour: {:?}", hood.edges);
        assert!(hood.relation_types.contains(&"ownedBy".to_owned()));
    }

    #[test]
    fn the_neighbourhood_filters_relation_types_and_stops_at_the_cap() {
        let mut g = graph();
        let v = Validator::default();
        for i in 0..20 {
            g.upsert(component(&format!("dep-{i}"), "team-a", &["component:cart"]), &v);
        }
        let cart = g.id_of("component:default/cart").unwrap();
        let only_deps = g.neighbourhood(&[cart], 2, &["dependencyof".into()], 1000);
        assert!(only_deps.edges.iter().all(|e| &*e.relation == "dependencyOf"), "{:?}", only_deps.edges);
        assert_eq!(only_deps.nodes.len(), 21);
        let capped = g.neighbourhood(&[cart], 2, &[], 5);
        assert_eq!(capped.nodes.len(), 5);
        assert!(capped.omitted > 0);
    }
}
