//! The catalog as one reader may see it. A policy may hide single entities from a reader
//! ([`Visibility`]: the set of ids it may see, decided once per policy, reader and catalog
//! generation); [`Visible`] is the read model through that set. A hidden entity is, for that
//! reader, exactly like one that does not exist: absent from lookups, lists, counts, facets,
//! neighbourhoods and graph functions, and from every other entity's relations (Backstage still
//! lists them there). Readers of the catalog on behalf of someone take a `Visible`, never the
//! bare [`CatalogGraph`].

use std::sync::Arc;

use portico_expr::cel::Value;
use portico_expr::{EntityId, Graph, GraphAccess};
use portico_model::{CatalogEntry, Relation};
use roaring::RoaringBitmap;

use crate::eval::SharedGraph;
use crate::query::Masked;
use crate::{CatalogGraph, EntityQuery, Facet, Id, Neighbourhood, Page};

/// Which entities a reader may see: every one, or only those of a set of ids.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Visibility(Option<Arc<RoaringBitmap>>);

impl Visibility {
    /// Everything (no policy hides anything from this reader).
    pub fn all() -> Self {
        Self(None)
    }

    /// Only the entities of `ids`.
    pub fn only(ids: RoaringBitmap) -> Self {
        Self(Some(Arc::new(ids)))
    }

    pub fn is_all(&self) -> bool {
        self.0.is_none()
    }

    /// Whether the reader may see `id` (an id that names no entity is not hidden: it does not
    /// exist for anyone).
    pub fn sees(&self, id: Id) -> bool {
        self.0.as_ref().is_none_or(|m| m.contains(id))
    }

    /// The set, when not everything is seen.
    pub fn mask(&self) -> Option<&RoaringBitmap> {
        self.0.as_deref()
    }

    /// How many entities the set holds, when not everything is seen.
    pub fn count(&self) -> Option<u64> {
        self.0.as_ref().map(|m| m.len())
    }
}

/// The read model through a reader's [`Visibility`]. Its methods are the bare graph's, named
/// alike, with hidden entities left out.
#[derive(Clone, Copy)]
pub struct Visible<'g> {
    graph: &'g CatalogGraph,
    vis: &'g Visibility,
}

static ALL: Visibility = Visibility(None);

impl<'g> Visible<'g> {
    pub fn new(graph: &'g CatalogGraph, vis: &'g Visibility) -> Self {
        Self { graph, vis }
    }

    /// Everything, for the catalog's own work and the local command line.
    pub fn all(graph: &'g CatalogGraph) -> Self {
        Self { graph, vis: &ALL }
    }

    /// The bare graph, for what is not about single entities (field names, generations).
    pub fn graph(&self) -> &'g CatalogGraph {
        self.graph
    }

    /// Whether the reader sees `id`: present entities it may not see are hidden; absent ids
    /// (relation targets not in the catalog) are not.
    pub fn sees(&self, id: Id) -> bool {
        self.masked().sees(id)
    }

    /// Entities the reader sees.
    pub fn len(&self) -> usize {
        match self.vis.mask() {
            None => self.graph.len(),
            Some(m) => m.intersection_len(&self.graph.present) as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn id_of(&self, key: &str) -> Option<Id> {
        self.graph.id_of(key).filter(|id| self.vis.sees(*id))
    }

    pub fn key_of(&self, id: Id) -> &'g str {
        self.graph.key_of(id)
    }

    pub fn is_present(&self, id: Id) -> bool {
        self.graph.is_present(id) && self.vis.sees(id)
    }

    pub fn get(&self, key: &str) -> Option<&'g CatalogEntry> {
        self.id_of(key).and_then(|id| self.graph.entry(id))
    }

    pub fn get_by_uid(&self, uid: &str) -> Option<&'g CatalogEntry> {
        let id = *self.graph.by_uid.get(uid)?;
        self.entry(id)
    }

    pub fn entry(&self, id: Id) -> Option<&'g CatalogEntry> {
        self.graph.entry(id).filter(|_| self.vis.sees(id))
    }

    pub fn entries(&self) -> impl Iterator<Item = &'g CatalogEntry> + 'g {
        let (graph, vis) = (self.graph, self.vis);
        graph.entries.iter().filter(move |(id, _)| vis.sees(**id)).map(|(_, e)| e)
    }

    /// The entity's relations, without those to entities the reader may not see.
    pub fn relations(&self, key: &str) -> Vec<Relation> {
        self.graph.relations_where(key, |id| self.sees(id))
    }

    /// [`CatalogGraph::related`], without hidden entities.
    pub fn related(&self, id: Id, relation: &str) -> Vec<Id> {
        let mut ids = self.graph.related(id, relation);
        ids.retain(|to| self.sees(*to));
        ids
    }

    /// The chain of parents, up to the first the reader may not see.
    pub fn ancestry(&self, key: &str) -> Vec<&'g CatalogEntry> {
        let mut chain = self.graph.ancestry(key);
        if let Some(cut) = chain.iter().position(|e| self.id_of(&e.key).is_none()) {
            chain.truncate(cut);
        }
        chain
    }

    /// The ids a filter matches (all the reader sees when there is none).
    pub fn matching(&self, filter: Option<&crate::filter::EntityFilter>) -> RoaringBitmap {
        let mut set = self.graph.matching_masked(filter, self.masked());
        self.masked().restrict(&mut set);
        set
    }

    /// The ids a predicate matches.
    pub fn predicate(&self, p: &crate::predicate::Predicate) -> RoaringBitmap {
        let mut set = self.graph.predicate_masked(p, self.masked());
        self.masked().restrict(&mut set);
        set
    }

    pub fn query(&self, q: &EntityQuery) -> Page {
        self.graph.query_masked(q, self.masked())
    }

    pub fn facets(&self, keys: &[String], filter: Option<&crate::filter::EntityFilter>) -> Vec<Facet> {
        self.facets_within(keys, filter, None)
    }

    pub fn facets_within(&self, keys: &[String], filter: Option<&crate::filter::EntityFilter>, within: Option<&RoaringBitmap>) -> Vec<Facet> {
        self.graph.facets_masked(keys, filter, within, self.masked())
    }

    pub fn neighbourhood(&self, seeds: &[Id], depth: u8, relations: &[String], max_nodes: usize) -> Neighbourhood {
        let seeds: Vec<Id> = seeds.iter().copied().filter(|s| self.sees(*s)).collect();
        self.graph.neighbourhood_where(&seeds, depth, relations, max_nodes, |id| self.sees(id))
    }

    /// Relations whose target is not in the catalog, of entities the reader sees.
    pub fn unresolved(&self) -> Vec<crate::Unresolved> {
        let mut all = self.graph.unresolved();
        if self.vis.is_all() {
            return all;
        }
        all.retain(|u| portico_model::EntityRef::parse_full(&u.source).is_ok_and(|r| self.get(&r.key()).is_some()));
        all
    }

    fn masked(&self) -> Masked<'g> {
        Masked { present: &self.graph.present, mask: self.vis.mask() }
    }
}

/// The graph functions of a query run for a reader: they reach only what it may see.
pub(crate) struct VisibleAccess {
    pub shared: SharedGraph,
    pub vis: Visibility,
}

impl GraphAccess for VisibleAccess {
    fn with_graph(&self, f: &mut dyn FnMut(&dyn Graph)) {
        let graph = self.shared.read_recursive();
        f(&Visible::new(&graph, &self.vis));
    }
}

impl Graph for Visible<'_> {
    fn id(&self, reference: &str) -> Option<EntityId> {
        Graph::id(self.graph, reference).filter(|id| self.vis.sees(*id))
    }

    fn entity(&self, id: EntityId) -> Option<Value> {
        if !self.vis.sees(id) {
            return None;
        }
        self.graph.cel_entity(id)
    }

    fn neighbours(&self, id: EntityId, relation: &str, inverse: bool, out: &mut Vec<EntityId>) {
        let start = out.len();
        self.graph.neighbours(id, relation, inverse, out);
        crate::retain_from(out, start, |id| self.vis.sees(id));
    }

    fn has_relation(&self, id: EntityId, relation: &str, target: Option<&str>) -> bool {
        self.graph.names_any(&self.related(id, relation), target)
    }

    fn fact(&self, id: EntityId, name: &str) -> Option<Value> {
        if !self.vis.sees(id) {
            return None;
        }
        self.graph.fact(id, name)
    }

    fn scorecard(&self, id: EntityId, name: &str) -> Option<Value> {
        if !self.vis.sees(id) {
            return None;
        }
        self.graph.scorecard_result(id, name)
    }

    fn has_errors(&self, id: EntityId) -> bool {
        self.vis.sees(id) && self.graph.error_count(id) > 0
    }
}
