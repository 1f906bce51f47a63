//! The in-memory read model of the catalog: every current entity, an inverted index of
//! Backstage's "search keys" (lowercased field paths and values), and the relation graph with
//! inverses. Built from the store at start and kept current by applying each committed change.
//!
//! The trade-off: memory (roughly a few KiB per entity) for reads, filters, facets and relation
//! lookups that never touch the database. Entity references are interned to `u32` ids so the
//! relation graph and the indexes are compact; a reference to an entity that does not exist yet
//! still gets an id, which is how unresolved relations are kept and reported.

mod entity_view;
pub mod eval;
pub mod filter;
mod index;
mod neighbours;
pub mod predicate;
mod query;
mod visible;

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use portico_model::{CatalogEntry, Relation, Validator};
use roaring::RoaringBitmap;

pub use entity_view::EntityView;
pub use index::visit_leaves;
pub use neighbours::{Neighbourhood, NeighbourhoodEdge};
pub use query::{EntityQuery, Facet, FacetValue, OrderField, Page, TextFilter};
pub use visible::{Visibility, Visible};

/// An interned entity reference.
pub type Id = u32;

/// The sources of one (relation type, target) pair: one or two in the great majority (a
/// million such lists at 100,000 entities), so they are kept inline up to two.
type Sources = smallvec::SmallVec<[Id; 2]>;

#[derive(Debug, Clone)]
struct Edge {
    relation: Arc<str>,
    inverse: Arc<str>,
    target: Id,
}

/// The read model. Not synchronized: wrap it in a lock to share it.
#[derive(Default)]
pub struct CatalogGraph {
    /// Interned keys (`kind:namespace/name`, lowercased).
    keys: Vec<Arc<str>>,
    ids: HashMap<Arc<str>, Id>,
    /// Present entities, by id.
    entries: HashMap<Id, CatalogEntry>,
    by_uid: HashMap<String, Id>,
    present: RoaringBitmap,
    /// Present entities whose name has capitals: the only ones whose reference as shown
    /// differs from their (lowercased) key.
    cased: RoaringBitmap,
    /// Each present entity's own outgoing edges (from its spec).
    out: HashMap<Id, Vec<Edge>>,
    /// Incoming edges to an id, whether it exists or not: (inverse type, source).
    incoming: HashMap<Id, Vec<(Arc<str>, Id)>>,
    /// (lowercased relation type, target) -> sources, a multiset (two fields may state the
    /// same relation, e.g. a parent's `children` and a child's `parent`). Covers both directions.
    rel_index: HashMap<(Arc<str>, Id), Sources>,
    fields: index::FieldIndex,
    interned_types: HashMap<String, Arc<str>>,
    /// For entities removed from the catalog: the version their removal was recorded as, so a
    /// later re-addition continues the numbering of their history.
    tombstones: HashMap<Arc<str>, i64>,
    /// Entities as expression values, converted on first use ([`CatalogGraph::cel_entity`]).
    cel_cache: parking_lot::Mutex<HashMap<Id, portico_expr::cel::Value>>,
    /// Rank of each present id in key order, rebuilt lazily.
    rank: std::sync::OnceLock<Vec<u32>>,
    /// Goes up with every change: what was decided about the entities holds while it stays.
    generation: u64,
    /// The ids each recent change touched, by generation: the entity, the entities it had or
    /// has relations to, and those with relations to it ([`CatalogGraph::changed_since`]);
    /// and the ids that changed themselves: the entity and those whose relations to it were
    /// added or removed ([`CatalogGraph::changed_core_since`]).
    log: std::collections::VecDeque<(u64, Vec<Id>, Vec<Id>)>,
    /// The newest generation dropped from `log`.
    log_floor: u64,
    /// Facts recorded about entities (events, imported reports, DORA), by entity and name:
    /// [`CatalogGraph::set_recorded_facts`]. Kept by id, so they outlive a removal and
    /// re-addition of their entity, as they do in the store.
    recorded: HashMap<Id, Arc<serde_json::Map<String, serde_json::Value>>>,
    /// Per source, the entities its last run reported errors for (an invalid or degraded
    /// document: the entity keeps its last good version), and how many sources report each.
    error_sources: HashMap<Arc<str>, Vec<Id>>,
    errored: HashMap<Id, u32>,
    /// Where `scorecard('name')` reads results: the scorecards that follow this read model
    /// (a crate above this one), held weakly, as they hold the read model.
    scores: Option<std::sync::Weak<dyn ScoreLookup>>,
}

/// Scorecard results as the expression language's `scorecard('name')` reads them, for an
/// entity: `null` (None) when there is no such scorecard or it does not apply to the entity.
pub trait ScoreLookup: Send + Sync {
    fn result(&self, id: Id, scorecard: &str) -> Option<portico_expr::cel::Value>;
}

/// Changes kept in the change log.
const LOG: usize = 8192;

/// A relation whose target does not exist in the catalog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Unresolved {
    pub source: String,
    #[serde(rename = "type")]
    pub relation: String,
    pub target: String,
}

impl CatalogGraph {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// A number that changes with every change to the entities (a cache key).
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Every present entity's id.
    pub fn present(&self) -> &RoaringBitmap {
        &self.present
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn intern(&mut self, key: &str) -> Id {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.keys.len() as Id;
        let key: Arc<str> = Arc::from(key);
        self.keys.push(key.clone());
        self.ids.insert(key, id);
        id
    }

    fn rel_type(&mut self, t: &str) -> Arc<str> {
        if let Some(a) = self.interned_types.get(t) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(t);
        self.interned_types.insert(t.to_owned(), a.clone());
        a
    }

    pub fn id_of(&self, key: &str) -> Option<Id> {
        self.ids.get(key).copied().filter(|id| self.present.contains(*id))
    }

    /// Field paths entities have (lowercased), most common first, at most `max`.
    pub fn field_paths(&self, max: usize) -> Vec<String> {
        self.fields.paths(max)
    }

    pub fn key_of(&self, id: Id) -> &str {
        &self.keys[id as usize]
    }

    /// Inserts or replaces an entity. `validator` computes the relations its fields create.
    pub fn upsert(&mut self, entry: CatalogEntry, validator: &Validator) {
        self.generation += 1;
        let id = self.intern(&entry.key);
        self.cel_cache.get_mut().remove(&id);
        self.tombstones.remove(entry.key.as_str());
        let replacing = self.entries.contains_key(&id);
        let mut touched = self.linked(id);
        let before: std::collections::BTreeSet<Id> = edges_targets(&self.out, id).collect();
        if replacing {
            self.remove_id(id);
        }
        let edges: Vec<Edge> = validator
            .outgoing_relations(&entry.entity)
            .into_iter()
            .map(|(relation, inverse, target)| {
                let target = self.intern(&target.key());
                Edge { relation: self.rel_type(&relation), inverse: self.rel_type(&inverse), target }
            })
            .collect();
        for e in &edges {
            let fwd = self.rel_type(&e.relation.to_ascii_lowercase());
            let inv = self.rel_type(&e.inverse.to_ascii_lowercase());
            self.rel_index.entry((fwd, e.target)).or_default().push(id);
            self.rel_index.entry((inv, id)).or_default().push(e.target);
            self.incoming.entry(e.target).or_default().push((e.inverse.clone(), id));
        }
        self.fields.insert(id, &entry.entity);
        self.by_uid.insert(entry.uid.clone(), id);
        self.out.insert(id, edges);
        if entry.entity.metadata.name.bytes().any(|b| b.is_ascii_uppercase()) {
            self.cased.insert(id);
        }
        let after: std::collections::BTreeSet<Id> = edges_targets(&self.out, id).collect();
        touched.extend(after.iter().copied());
        // Targets of relations added or removed: their inverse relations changed too.
        let core = std::iter::once(id).chain(before.symmetric_difference(&after).copied()).collect();
        self.note_change(touched, core);
        self.entries.insert(id, entry);
        self.present.insert(id);
        // Ranks follow keys: replacing an entity keeps them (discovery mostly updates).
        if !replacing {
            self.rank = Default::default();
        }
    }

    /// Removes an entity by key; returns whether it was present.
    pub fn remove(&mut self, key: &str) -> bool {
        match self.ids.get(key).copied() {
            Some(id) if self.entries.contains_key(&id) => {
                self.generation += 1;
                let touched = self.linked(id);
                let core = std::iter::once(id).chain(edges_targets(&self.out, id)).collect();
                self.note_change(touched, core);
                let version = self.entries[&id].version;
                self.tombstones.insert(self.keys[id as usize].clone(), version + 1);
                self.remove_id(id);
                self.rank = Default::default();
                true
            }
            _ => false,
        }
    }

    fn remove_id(&mut self, id: Id) {
        self.cel_cache.get_mut().remove(&id);
        let Some(entry) = self.entries.remove(&id) else { return };
        self.present.remove(id);
        self.cased.remove(id);
        self.by_uid.remove(&entry.uid);
        self.fields.remove(id, &entry.entity);
        for e in self.out.remove(&id).unwrap_or_default() {
            let fwd = self.rel_type(&e.relation.to_ascii_lowercase());
            let inv = self.rel_type(&e.inverse.to_ascii_lowercase());
            remove_from(&mut self.rel_index, (fwd, e.target), id);
            remove_from(&mut self.rel_index, (inv, id), e.target);
            if let Some(list) = self.incoming.get_mut(&e.target) {
                if let Some(pos) = list.iter().position(|(t, s)| *s == id && *t == e.inverse) {
                    list.swap_remove(pos);
                }
                if list.is_empty() {
                    self.incoming.remove(&e.target);
                }
            }
        }
    }

    /// An id and every id linked to it either way, by any relation (present or not).
    pub fn linked(&self, id: Id) -> Vec<Id> {
        let mut ids = vec![id];
        ids.extend(edges_targets(&self.out, id));
        ids.extend(self.incoming.get(&id).into_iter().flatten().map(|(_, s)| *s));
        ids
    }

    fn note_change(&mut self, ids: Vec<Id>, core: Vec<Id>) {
        if self.log.len() >= LOG
            && let Some((g, _, _)) = self.log.pop_front()
        {
            self.log_floor = g;
        }
        self.log.push_back((self.generation, ids, core));
    }

    /// The ids touched by the changes after `generation` (each changed entity, and what it had
    /// or has relations with either way), or `None` when the log no longer reaches back there.
    pub fn changed_since(&self, generation: u64) -> Option<RoaringBitmap> {
        self.log_since(generation, |(_, touched, _)| touched)
    }

    /// The ids that themselves changed after `generation`: each changed entity, and those
    /// whose relations to it were added or removed (their inverse relations changed); `None`
    /// when the log no longer reaches back there. A subset of [`Self::changed_since`].
    pub fn changed_core_since(&self, generation: u64) -> Option<RoaringBitmap> {
        self.log_since(generation, |(_, _, core)| core)
    }

    fn log_since(&self, generation: u64, ids: impl Fn(&(u64, Vec<Id>, Vec<Id>)) -> &Vec<Id>) -> Option<RoaringBitmap> {
        if generation < self.log_floor {
            return None;
        }
        let mut out = RoaringBitmap::new();
        for entry in self.log.iter().rev() {
            if entry.0 <= generation {
                break;
            }
            out.extend(ids(entry).iter().copied());
        }
        Some(out)
    }

    /// The facts recorded about an entity, by name (empty when none).
    pub fn recorded_facts(&self, key: &str) -> Option<&Arc<serde_json::Map<String, serde_json::Value>>> {
        self.ids.get(key).and_then(|id| self.recorded.get(id))
    }

    /// The keys of the entities with recorded facts.
    pub fn recorded_keys(&self) -> Vec<String> {
        self.recorded.keys().map(|id| self.keys[*id as usize].to_string()).collect()
    }

    pub(crate) fn recorded_facts_of(&self, id: Id) -> Option<&serde_json::Map<String, serde_json::Value>> {
        self.recorded.get(&id).map(|m| &**m)
    }

    /// Where `scorecard('name')` reads results from: the first that is still alive keeps the
    /// place (tools that score on their own, such as a history writer in tests, do not take it).
    pub fn set_score_lookup(&mut self, lookup: std::sync::Weak<dyn ScoreLookup>) {
        if self.scores.as_ref().is_none_or(|s| s.strong_count() == 0) {
            self.scores = Some(lookup);
        }
    }

    /// An entity's result on a scorecard, for `scorecard('name')`.
    pub fn scorecard_result(&self, id: Id, scorecard: &str) -> Option<portico_expr::cel::Value> {
        self.scores.as_ref()?.upgrade()?.result(id, scorecard)
    }

    /// Sets facts recorded about an entity (a `null` value removes one); true when anything
    /// changed. A change is logged as a change of the entity itself, so what follows the
    /// catalog (scorecards) re-reads it.
    pub fn set_recorded_facts(&mut self, key: &str, facts: impl IntoIterator<Item = (String, serde_json::Value)>) -> bool {
        let id = self.intern(key);
        let mut map = self.recorded.get(&id).map(|m| (**m).clone()).unwrap_or_default();
        let mut changed = false;
        for (name, value) in facts {
            if value.is_null() {
                changed |= map.shift_remove(&name).is_some();
            } else if map.get(&name) != Some(&value) {
                map.insert(name, value);
                changed = true;
            }
        }
        if changed {
            if map.is_empty() {
                self.recorded.remove(&id);
            } else {
                self.recorded.insert(id, Arc::new(map));
            }
            self.generation += 1;
            let linked = self.linked(id);
            self.note_change(linked, vec![id]);
        }
        changed
    }

    /// Sets which entities a source's last run reported errors for (keys; those not in the
    /// catalog are kept too, for when they arrive). Entities whose state changes are logged as
    /// changed themselves, so what follows the catalog (scorecards) re-reads them.
    pub fn set_source_errors<'a>(&mut self, source: &str, keys: impl IntoIterator<Item = &'a str>) {
        let mut ids: Vec<Id> = keys.into_iter().map(|k| self.intern(k)).collect();
        ids.sort_unstable();
        ids.dedup();
        let before = self.error_sources.get(source).cloned().unwrap_or_default();
        if before == ids {
            return;
        }
        // Entities whose count goes to or from zero.
        let mut changed = Vec::new();
        for id in &before {
            if let Some(n) = self.errored.get_mut(id) {
                *n -= 1;
                if *n == 0 {
                    self.errored.remove(id);
                    changed.push(*id);
                }
            }
        }
        for &id in &ids {
            let n = self.errored.entry(id).or_default();
            *n += 1;
            if *n == 1 {
                // Back to errors within this call: not a change after all.
                match changed.iter().position(|c| *c == id) {
                    Some(p) => {
                        changed.swap_remove(p);
                    }
                    None => changed.push(id),
                }
            }
        }
        if ids.is_empty() {
            self.error_sources.remove(source);
        } else {
            self.error_sources.insert(Arc::from(source), ids);
        }
        if !changed.is_empty() {
            self.generation += 1;
            let linked: Vec<Id> = changed.iter().flat_map(|&id| self.linked(id)).collect();
            self.note_change(linked, changed);
        }
    }

    /// The sources that reported errors for entities at their last run.
    pub fn sources_with_errors(&self) -> Vec<String> {
        self.error_sources.keys().map(|s| s.to_string()).collect()
    }

    /// How many sources report errors for an entity (0: none).
    pub fn error_count(&self, id: Id) -> u32 {
        self.errored.get(&id).copied().unwrap_or(0)
    }

    /// The last version recorded for a key: the entity's own, or that of its removal.
    pub fn last_version(&self, key: &str) -> i64 {
        self.get(key).map_or_else(|| self.tombstones.get(key).copied().unwrap_or(0), |e| e.version)
    }

    /// Records removals that happened before this read model was built (from the store).
    pub fn add_tombstones(&mut self, removed: impl IntoIterator<Item = (String, i64)>) {
        for (key, version) in removed {
            if self.get(&key).is_none() {
                self.tombstones.insert(Arc::from(key), version);
            }
        }
    }

    pub fn get(&self, key: &str) -> Option<&CatalogEntry> {
        self.ids.get(key).and_then(|id| self.entries.get(id))
    }

    pub fn get_by_uid(&self, uid: &str) -> Option<&CatalogEntry> {
        self.by_uid.get(uid).and_then(|id| self.entries.get(id))
    }

    pub fn entry(&self, id: Id) -> Option<&CatalogEntry> {
        self.entries.get(&id)
    }

    pub fn entries(&self) -> impl Iterator<Item = &CatalogEntry> {
        self.entries.values()
    }

    /// The entity's relations, computed: its own fields' relations plus the inverses of every
    /// relation other entities declare towards it. Sorted by type then target, deduplicated.
    pub fn relations(&self, key: &str) -> Vec<Relation> {
        self.relations_where(key, |_| true)
    }

    /// [`Self::relations`] to the ids `keep` accepts.
    pub(crate) fn relations_where(&self, key: &str, keep: impl Fn(Id) -> bool) -> Vec<Relation> {
        let Some(&id) = self.ids.get(key) else { return Vec::new() };
        let mut rels: Vec<(&str, Id)> = Vec::new();
        for e in self.out.get(&id).into_iter().flatten().filter(|e| keep(e.target)) {
            rels.push((&e.relation, e.target));
        }
        for (t, s) in self.incoming.get(&id).into_iter().flatten().filter(|(_, s)| keep(*s)) {
            rels.push((t, *s));
        }
        rels.sort_unstable_by(|a, b| a.0.cmp(b.0).then_with(|| self.keys[a.1 as usize].cmp(&self.keys[b.1 as usize])));
        rels.dedup();
        rels.into_iter().map(|(t, target)| Relation::to(t, self.display_ref_string(target))).collect()
    }

    /// Ids directly related to `id` by relation type `relation` (case-insensitive), present or not.
    pub fn related(&self, id: Id, relation: &str) -> Vec<Id> {
        let mut out = Vec::new();
        self.related_into(id, relation, &mut out);
        out
    }

    /// [`CatalogGraph::related`], appended to `out` (sorted and deduplicated among themselves):
    /// traversals call this once per entity they reach, without allocating.
    pub(crate) fn related_into(&self, id: Id, relation: &str, out: &mut Vec<Id>) {
        let start = out.len();
        out.extend(self.out.get(&id).into_iter().flatten().filter(|e| e.relation.eq_ignore_ascii_case(relation)).map(|e| e.target));
        out.extend(self.incoming.get(&id).into_iter().flatten().filter(|(t, _)| t.eq_ignore_ascii_case(relation)).map(|(_, s)| *s));
        let found = &mut out[start..];
        found.sort_unstable();
        let unique = dedup_sorted(found);
        out.truncate(start + unique);
    }

    /// A display reference for an id: the entity's own spelling when present.
    /// [`Self::display_ref`] as a string: the key itself unless the name has capitals (a
    /// full list writes one per relation, so this path allocates once).
    fn display_ref_string(&self, id: Id) -> String {
        if self.cased.contains(id) {
            return self.display_ref(id).to_string();
        }
        self.keys[id as usize].to_string()
    }

    fn display_ref(&self, id: Id) -> portico_model::EntityRef {
        match self.entries.get(&id) {
            Some(e) => e.entity_ref(),
            None => portico_model::EntityRef::parse_full(&self.keys[id as usize])
                .unwrap_or_else(|_| portico_model::EntityRef::new("unknown", "default", &self.keys[id as usize])),
        }
    }

    /// Every relation whose target is not in the catalog.
    pub fn unresolved(&self) -> Vec<Unresolved> {
        let mut out = Vec::new();
        for (id, edges) in &self.out {
            for e in edges {
                if !self.present.contains(e.target) {
                    out.push(Unresolved {
                        source: self.entries[id].entity_ref().to_string(),
                        relation: e.relation.to_string(),
                        target: self.keys[e.target as usize].to_string(),
                    });
                }
            }
        }
        out.sort_by(|a, b| (&a.source, &a.relation, &a.target).cmp(&(&b.source, &b.relation, &b.target)));
        out
    }

    /// The chain of parents (locations) from an entity up to its root.
    pub fn ancestry(&self, key: &str) -> Vec<&CatalogEntry> {
        let mut chain = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let mut cur = self.get(key);
        while let Some(e) = cur {
            if !seen.insert(e.key.clone()) {
                break;
            }
            chain.push(e);
            cur = e.parent.as_deref().and_then(|p| self.get(p));
        }
        chain
    }

    /// Each id's rank in key order, indexed by id (`u32::MAX` for ids not present).
    pub(crate) fn ranks(&self) -> &[u32] {
        self.rank.get_or_init(|| {
            let mut ids: Vec<Id> = self.present.iter().collect();
            ids.sort_unstable_by(|a, b| self.keys[*a as usize].cmp(&self.keys[*b as usize]));
            let mut ranks = vec![u32::MAX; self.keys.len()];
            for (r, id) in ids.into_iter().enumerate() {
                ranks[id as usize] = r as u32;
            }
            ranks
        })
    }
}

fn edges_targets(out: &HashMap<Id, Vec<Edge>>, id: Id) -> impl Iterator<Item = Id> + '_ {
    out.get(&id).into_iter().flatten().map(|e| e.target)
}

/// Keeps, of `v[start..]`, the ids `keep` accepts, in place and in order.
pub(crate) fn retain_from(v: &mut Vec<Id>, start: usize, keep: impl Fn(Id) -> bool) {
    let mut kept = start;
    for i in start..v.len() {
        if keep(v[i]) {
            v[kept] = v[i];
            kept += 1;
        }
    }
    v.truncate(kept);
}

/// Moves the distinct values of a sorted slice to its front; returns how many there are.
fn dedup_sorted(v: &mut [Id]) -> usize {
    let mut n = 0;
    for i in 0..v.len() {
        if n == 0 || v[i] != v[n - 1] {
            v[n] = v[i];
            n += 1;
        }
    }
    n
}

fn remove_from(index: &mut HashMap<(Arc<str>, Id), Sources>, key: (Arc<str>, Id), id: Id) {
    if let Some(set) = index.get_mut(&key) {
        if let Some(pos) = set.iter().position(|x| *x == id) {
            set.swap_remove(pos);
        }
        if set.is_empty() {
            index.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests;
