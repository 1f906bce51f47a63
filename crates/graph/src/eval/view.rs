//! The read model as the expression language sees it: entities as CEL values, relations as
//! neighbours, and the variables of the entity an expression is evaluated for.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;
use portico_expr::cel::common::value::CowVal;
use portico_expr::cel::context::VariableResolver;
use portico_expr::cel::objects::{Key, Map};
use portico_expr::cel::{to_value, Value};
use portico_expr::value::{from_json, map};
use portico_expr::{EntityId, Graph, GraphAccess};
use portico_model::{EntityRef, RefDefaults};

use crate::{CatalogGraph, Id};

/// A read model shared between the catalog and the expressions reading it.
pub type SharedGraph = Arc<RwLock<CatalogGraph>>;

/// Functions reach the graph through a recursive read lock: the run that calls them already
/// holds one, and a writer waiting in between must not deadlock it.
pub(crate) struct Access(pub SharedGraph, pub Option<Arc<BTreeSet<String>>>);

impl GraphAccess for Access {
    fn with_graph(&self, f: &mut dyn FnMut(&dyn Graph)) {
        let graph = self.0.read_recursive();
        match &self.1 {
            None => f(&*graph),
            Some(only) => f(&Partial { graph: &graph, only }),
        }
    }
}

impl Access {
    /// Access for evaluating `exprs`: the entities graph functions hand them are built with only
    /// the fields they read of them, when that is known.
    pub(crate) fn for_exprs<'a>(shared: &SharedGraph, mut exprs: impl Iterator<Item = &'a portico_expr::Expr>) -> Self {
        let only = exprs.try_fold(BTreeSet::new(), |mut acc, e| {
            acc.extend(e.neighbour_fields()?);
            Some(acc)
        });
        Self(shared.clone(), only.map(Arc::new))
    }
}

/// The read model for expressions that read only some fields of the entities graph functions
/// return: those are built with these fields alone (converting a neighbour's annotations,
/// links and whole spec to read its `kind` was most of what a comprehension over neighbours
/// cost).
struct Partial<'g> {
    graph: &'g CatalogGraph,
    only: &'g BTreeSet<String>,
}

impl Graph for Partial<'_> {
    fn id(&self, reference: &str) -> Option<EntityId> {
        Graph::id(self.graph, reference)
    }

    fn entity(&self, id: EntityId) -> Option<Value> {
        self.graph.cel_entity_transient(id, Some(self.only))
    }

    fn neighbours(&self, id: EntityId, relation: &str, inverse: bool, out: &mut Vec<EntityId>) {
        self.graph.neighbours(id, relation, inverse, out);
    }

    fn has_relation(&self, id: EntityId, relation: &str, target: Option<&str>) -> bool {
        self.graph.has_relation(id, relation, target)
    }

    fn fact(&self, id: EntityId, name: &str) -> Option<Value> {
        self.graph.fact(id, name)
    }

    fn scorecard(&self, id: EntityId, name: &str) -> Option<Value> {
        self.graph.scorecard_result(id, name)
    }

    fn has_errors(&self, id: EntityId) -> bool {
        self.graph.error_count(id) > 0
    }
}

impl CatalogGraph {
    /// The key of a reference as users write it (`kind:namespace/name`, namespace optional).
    pub(crate) fn key_for(reference: &str) -> Option<String> {
        EntityRef::parse(reference, RefDefaults { kind: None, namespace: Some("default") }).ok().map(|r| r.key())
    }

    /// An entity as a CEL value: its descriptor plus `ref`. Its relations are reached through
    /// the graph functions (`e.related('ownedBy')`) rather than copied into every value.
    /// Values are cached per entity (dropped when it changes, and all at once past a bound), so
    /// a traversal that meets the same entities again does not convert them again.
    pub fn cel_entity(&self, id: Id) -> Option<Value> {
        if let Some(v) = self.cel_cache.lock().get(&id) {
            return Some(v.clone());
        }
        let v = self.cel_entity_uncached(id)?;
        let mut cache = self.cel_cache.lock();
        if cache.len() >= CEL_CACHE {
            cache.clear();
        }
        cache.insert(id, v.clone());
        Some(v)
    }

    /// [`Self::cel_entity`] for one pass over every entity: not kept in the cache, and with only
    /// the top-level fields in `only` (`ref`, `kind`, `metadata`, …) when given.
    pub fn cel_entity_transient(&self, id: Id, only: Option<&BTreeSet<String>>) -> Option<Value> {
        let Some(only) = only else {
            if let Some(v) = self.cel_cache.lock().get(&id) {
                return Some(v.clone());
            }
            return self.cel_entity_uncached(id);
        };
        let entry = self.entries.get(&id)?;
        let e = &entry.entity;
        let mut fields: Vec<(&str, Value)> = Vec::with_capacity(only.len());
        // Keys of `spec` alone (`spec.lifecycle`), when the whole of it is not read.
        let spec_keys: Vec<&str> = only.iter().filter_map(|k| k.strip_prefix("spec.")).collect();
        if !spec_keys.is_empty() && !only.contains("spec") {
            let spec = e.spec.as_ref().map_or(Value::Null, |s| map(spec_keys.iter().filter_map(|k| Some((*k, from_json(s.get(*k)?))))));
            fields.push(("spec", spec));
        }
        for k in only {
            let v = match k.as_str() {
                "ref" => string(&entry.entity_ref().to_string()),
                "apiVersion" => string(&e.api_version),
                "kind" => string(&e.kind),
                "metadata" => metadata(&e.metadata),
                "spec" => e.spec.as_ref().map_or(Value::Null, json_map),
                "status" => e.status.as_ref().map_or(Value::Null, from_json),
                _ => continue,
            };
            fields.push((k.as_str(), v));
        }
        Some(map(fields))
    }

    fn cel_entity_uncached(&self, id: Id) -> Option<Value> {
        let entry = self.entries.get(&id)?;
        let e = &entry.entity;
        let mut map: HashMap<Key, Value> = HashMap::with_capacity(8);
        let mut put = |k: &str, v: Value| {
            map.insert(Key::String(Arc::new(k.to_owned())), v);
        };
        put("ref", Value::String(Arc::new(entry.entity_ref().to_string())));
        put("apiVersion", Value::String(Arc::new(e.api_version.clone())));
        put("kind", Value::String(Arc::new(e.kind.clone())));
        put("metadata", metadata(&e.metadata));
        put("spec", e.spec.as_ref().map_or(Value::Null, json_map));
        put("status", e.status.as_ref().map_or(Value::Null, from_json));
        Some(Value::Map(Map { map: Arc::new(map) }))
    }

    fn cel_relations(&self, id: Id) -> Value {
        let rels = self.relations(self.key_of(id));
        Value::List(Arc::new(rels.iter().map(|r| to_value(r).unwrap_or(Value::Null)).collect()))
    }

    /// Whether `related` holds `target` (a reference), or anything when no target is given.
    pub(crate) fn names_any(&self, related: &[Id], target: Option<&str>) -> bool {
        match target {
            None => !related.is_empty(),
            Some(t) => Self::key_for(t).and_then(|k| self.ids.get(k.as_str()).copied()).is_some_and(|t| related.contains(&t)),
        }
    }

    /// Ids that have a relation of type `relation` to `target` (both directions are indexed).
    fn sources_of(&self, relation: &str, target: Id) -> &[Id] {
        let Some(rel) = self.interned_types.get(relation.to_ascii_lowercase().as_str()) else { return &[] };
        self.rel_index.get(&(rel.clone(), target)).map_or(&[], |s| s.as_slice())
    }
}

impl Graph for CatalogGraph {
    fn id(&self, reference: &str) -> Option<EntityId> {
        // Most references the functions meet are keys already (an entity's own `ref`).
        if let Some(&id) = self.ids.get(reference) {
            return Some(id);
        }
        self.id_of(&Self::key_for(reference)?)
    }

    fn entity(&self, id: EntityId) -> Option<Value> {
        self.cel_entity(id)
    }

    fn neighbours(&self, id: EntityId, relation: &str, inverse: bool, out: &mut Vec<EntityId>) {
        let start = out.len();
        if inverse {
            out.extend(self.sources_of(relation, id).iter().copied());
            let found = &mut out[start..];
            found.sort_unstable();
            let unique = crate::dedup_sorted(found);
            out.truncate(start + unique);
        } else {
            self.related_into(id, relation, out);
        }
        crate::retain_from(out, start, |id| self.present.contains(id));
    }

    fn has_relation(&self, id: EntityId, relation: &str, target: Option<&str>) -> bool {
        self.names_any(&self.related(id, relation), target)
    }

    fn fact(&self, id: EntityId, name: &str) -> Option<Value> {
        if let Some(value) = self.recorded_facts_of(id).and_then(|m| m.get(name)) {
            return Some(portico_expr::value::from_json(value));
        }
        let facts = self.entries.get(&id)?.entity.status.as_ref()?.get("facts")?;
        let value = facts.get(name).or_else(|| name.split('.').try_fold(facts, |v, part| v.get(part)))?;
        Some(portico_expr::value::from_json(value))
    }

    fn scorecard(&self, id: EntityId, name: &str) -> Option<Value> {
        self.scorecard_result(id, name)
    }

    fn has_errors(&self, id: EntityId) -> bool {
        self.error_count(id) > 0
    }
}

/// Entity values kept by [`CatalogGraph::cel_entity`] before the cache starts over.
const CEL_CACHE: usize = 150_000;

fn string(s: &str) -> Value {
    Value::String(Arc::new(s.to_owned()))
}

fn json_map(m: &serde_json::Map<String, serde_json::Value>) -> Value {
    map(m.iter().map(|(k, v)| (k.as_str(), from_json(v))))
}

/// Only the fields an expression reads, when it reads only some (see [`Fields`]).
fn json_map_of(m: &serde_json::Map<String, serde_json::Value>, only: Option<&BTreeSet<String>>) -> Value {
    match only {
        None => json_map(m),
        Some(only) => map(only.iter().filter_map(|k| Some((k.as_str(), from_json(m.get(k)?))))),
    }
}

/// `metadata`, only the fields an expression reads when it reads only some.
fn metadata_of(m: &portico_model::Metadata, only: Option<&BTreeSet<String>>) -> Value {
    let Some(only) = only else { return metadata(m) };
    let full = |k: &str| only.contains(k);
    let mut fields: Vec<(&str, Value)> = Vec::with_capacity(only.len());
    if full("name") {
        fields.push(("name", string(&m.name)));
    }
    if full("namespace") {
        fields.push(("namespace", string(&m.namespace)));
    }
    if only.iter().any(|k| !matches!(k.as_str(), "name" | "namespace")) {
        // Anything else: take it from the whole value (rarer; still only what is read).
        if let Value::Map(all) = metadata(m) {
            for k in only.iter().filter(|k| !matches!(k.as_str(), "name" | "namespace")) {
                if let Some(v) = all.map.get(&Key::String(Arc::new(k.clone()))) {
                    fields.push((k.as_str(), v.clone()));
                }
            }
        }
    }
    map(fields)
}

/// What an expression reads of `metadata`, `spec` and `status`: `None` for all of it.
#[derive(Debug, Clone, Default)]
pub(crate) struct Fields {
    pub metadata: Option<BTreeSet<String>>,
    pub spec: Option<BTreeSet<String>>,
    pub status: Option<BTreeSet<String>>,
}

impl Fields {
    /// The union of what `exprs` read.
    pub fn of<'a>(exprs: impl Iterator<Item = &'a portico_expr::Expr> + Clone) -> Self {
        let union = |var: &str| {
            exprs.clone().try_fold(BTreeSet::new(), |mut acc, e| {
                acc.extend(e.fields_of(var)?);
                Some(acc)
            })
        };
        Self { metadata: union("metadata"), spec: union("spec"), status: union("status") }
    }
}

/// `metadata` built field by field (faster than going through a serializer).
fn metadata(m: &portico_model::Metadata) -> Value {
    let mut fields: Vec<(&str, Value)> = Vec::with_capacity(10 + m.extra.len());
    fields.push(("name", string(&m.name)));
    fields.push(("namespace", string(&m.namespace)));
    for (k, v) in [("uid", &m.uid), ("etag", &m.etag), ("title", &m.title), ("description", &m.description)] {
        if let Some(v) = v {
            fields.push((k, string(v)));
        }
    }
    let strings = |b: &std::collections::BTreeMap<String, String>| map(b.iter().map(|(k, v)| (k.as_str(), string(v))));
    if !m.labels.is_empty() {
        fields.push(("labels", strings(&m.labels)));
    }
    if !m.annotations.is_empty() {
        fields.push(("annotations", strings(&m.annotations)));
    }
    if !m.tags.is_empty() {
        fields.push(("tags", Value::List(Arc::new(m.tags.iter().map(|t| string(t)).collect()))));
    }
    if !m.links.is_empty() {
        fields.push(("links", to_value(&m.links).unwrap_or(Value::Null)));
    }
    for (k, v) in &m.extra {
        fields.push((k.as_str(), from_json(v)));
    }
    map(fields)
}

/// The variables of the entity an expression is being evaluated for; one per thread, pointed
/// at each entity in turn.
pub(crate) struct Current<'g> {
    pub graph: &'g CatalogGraph,
    pub id: AtomicU32,
    pub fields: &'g Fields,
    /// The variables already built for the current entity: several expressions (a
    /// scorecard's rules) and several mentions of one variable read it once.
    pub memo: parking_lot::Mutex<Vec<(&'static str, Value)>>,
}

/// The variables of an entity, as [`Current`] names them.
const VARIABLES: &[&str] = &["ref", "kind", "apiVersion", "metadata", "spec", "status", "relations", "entity", "dora"];

impl<'g> Current<'g> {
    pub fn new(graph: &'g CatalogGraph, fields: &'g Fields) -> Self {
        Self { graph, id: AtomicU32::new(0), fields, memo: parking_lot::Mutex::new(Vec::with_capacity(VARIABLES.len())) }
    }

    pub fn set(&self, id: Id) {
        self.id.store(id, Ordering::Relaxed);
        self.memo.lock().clear();
    }

    fn value(&self, name: &str) -> Option<Value> {
        let name = *VARIABLES.iter().find(|v| **v == name)?;
        if let Some((_, v)) = self.memo.lock().iter().find(|(n, _)| *n == name) {
            return Some(v.clone());
        }
        let v = self.build(name)?;
        self.memo.lock().push((name, v.clone()));
        Some(v)
    }

    fn build(&self, name: &str) -> Option<Value> {
        let id = self.id.load(Ordering::Relaxed);
        let entry = self.graph.entries.get(&id)?;
        let e = &entry.entity;
        Some(match name {
            "ref" => Value::String(Arc::new(entry.entity_ref().to_string())),
            "kind" => Value::String(Arc::new(e.kind.clone())),
            "apiVersion" => Value::String(Arc::new(e.api_version.clone())),
            "metadata" => metadata_of(&e.metadata, self.fields.metadata.as_ref()),
            "spec" => e.spec.as_ref().map_or(Value::Null, |s| json_map_of(s, self.fields.spec.as_ref())),
            "status" => match (&e.status, self.fields.status.as_ref()) {
                (Some(serde_json::Value::Object(o)), only) => json_map_of(o, only),
                (Some(other), _) => from_json(other),
                (None, _) => Value::Null,
            },
            "relations" => self.graph.cel_relations(id),
            "dora" => match self.graph.recorded_facts_of(id).and_then(|m| m.get("dora")) {
                Some(v) => from_json(v),
                None => from_json(&portico_expr::dora_unmeasured()),
            },
            "entity" => {
                let Value::Map(mut m) = self.graph.cel_entity(id)? else { return None };
                std::sync::Arc::make_mut(&mut m.map).insert(Key::String(Arc::new("relations".into())), self.graph.cel_relations(id));
                Value::Map(m)
            }
            _ => return None,
        })
    }
}

impl VariableResolver for Current<'_> {
    fn resolve<'b>(&'b self, variable: &str) -> Option<CowVal<'b, 'b>> {
        let value = self.value(variable)?;
        value.try_into().ok().map(CowVal::Owned)
    }
}
