//! Backstage's search keys: every leaf of an entity becomes a `(path, value)` pair with the path
//! and value lowercased (`spec.owner` = `team-a`, `metadata.tags` = `java`); each string in a list
//! also yields `path.item` = `true`. Filters match on these pairs exactly as Backstage's
//! `search` table does.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use portico_model::Entity;
use roaring::RoaringBitmap;
use serde_json::Value;

use crate::Id;

/// Values longer than this are not indexed (as in Backstage).
const MAX_VALUE_LEN: usize = 200;

/// (lowercased key, original value) pairs of one entity.
pub(crate) type Pairs = Vec<(Arc<str>, Box<str>)>;

pub(crate) struct Posting {
    /// The value as first seen, for facets.
    pub original: String,
    pub ids: RoaringBitmap,
}

#[derive(Default)]
pub(crate) struct FieldIndex {
    pub postings: HashMap<Arc<str>, HashMap<Box<str>, Posting>>,
    pub exists: HashMap<Arc<str>, RoaringBitmap>,
    /// Each entity's pairs (lowercased key, original value), for removal and text search.
    pub pairs: HashMap<Id, Pairs>,
    keys: HashMap<String, Arc<str>>,
}

/// Collects the `(path, value)` leaves of an entity, Backstage style. Walks the typed entity
/// directly (no intermediate JSON value): this runs for every entity at start and on ingest.
pub(crate) fn leaves(entity: &Entity) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(32);
    let m = &entity.metadata;
    out.push(("apiVersion".to_owned(), entity.api_version.clone()));
    out.push(("kind".to_owned(), entity.kind.clone()));
    out.push(("metadata.name".to_owned(), m.name.clone()));
    out.push(("metadata.namespace".to_owned(), m.namespace.clone()));
    for (k, v) in [("metadata.uid", &m.uid), ("metadata.etag", &m.etag), ("metadata.title", &m.title), ("metadata.description", &m.description)] {
        if let Some(v) = v {
            out.push((k.to_owned(), v.clone()));
        }
    }
    for (k, v) in &m.labels {
        out.push((format!("metadata.labels.{k}"), v.clone()));
    }
    for (k, v) in &m.annotations {
        out.push((format!("metadata.annotations.{k}"), v.clone()));
    }
    for t in &m.tags {
        out.push(("metadata.tags".to_owned(), t.clone()));
        out.push((format!("metadata.tags.{t}"), "true".to_owned()));
    }
    for l in &m.links {
        out.push(("metadata.links.url".to_owned(), l.url.clone()));
        for (k, v) in [("metadata.links.title", &l.title), ("metadata.links.icon", &l.icon), ("metadata.links.type", &l.link_type)] {
            if let Some(v) = v {
                out.push((k.to_owned(), v.clone()));
            }
        }
    }
    for (k, v) in &m.extra {
        visit(&format!("metadata.{k}"), v, &mut out);
    }
    if let Some(spec) = &entity.spec {
        for (k, v) in spec {
            visit(&format!("spec.{k}"), v, &mut out);
        }
    }
    for (k, v) in &entity.extra {
        if !matches!(k.as_str(), "relations" | "status" | "attachments") {
            visit(k, v, &mut out);
        }
    }
    out
}

fn visit(path: &str, v: &Value, out: &mut Vec<(String, String)>) {
    match v {
        Value::Null => {}
        Value::Bool(b) => out.push((path.to_owned(), b.to_string())),
        Value::Number(n) => out.push((path.to_owned(), n.to_string())),
        Value::String(s) => out.push((path.to_owned(), s.clone())),
        Value::Array(items) => {
            for item in items {
                visit(path, item, out);
                if let Value::String(s) = item {
                    out.push((format!("{path}.{s}"), "true".to_owned()));
                }
            }
        }
        Value::Object(map) => {
            for (k, child) in map {
                visit(&format!("{path}.{k}"), child, out);
            }
        }
    }
}

impl FieldIndex {
    fn key(&mut self, k: &str) -> Arc<str> {
        if let Some(a) = self.keys.get(k) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(k);
        self.keys.insert(k.to_owned(), a.clone());
        a
    }

    pub fn insert(&mut self, id: Id, entity: &Entity) {
        let mut pairs = Vec::new();
        for (k, v) in leaves(entity) {
            if v.len() > MAX_VALUE_LEN {
                continue;
            }
            let key = self.key(&k.to_lowercase());
            let lower: Box<str> = v.to_lowercase().into();
            let values = self.postings.entry(key.clone()).or_default();
            values.entry(lower).or_insert_with(|| Posting { original: v.clone(), ids: RoaringBitmap::new() }).ids.insert(id);
            self.exists.entry(key.clone()).or_default().insert(id);
            pairs.push((key, v.into_boxed_str()));
        }
        self.pairs.insert(id, pairs);
    }

    pub fn remove(&mut self, id: Id) {
        for (key, v) in self.pairs.remove(&id).unwrap_or_default() {
            let lower = v.to_lowercase();
            if let Some(values) = self.postings.get_mut(&key) {
                if let Some(p) = values.get_mut(lower.as_str()) {
                    p.ids.remove(id);
                    if p.ids.is_empty() {
                        values.remove(lower.as_str());
                    }
                }
                if values.is_empty() {
                    self.postings.remove(&key);
                }
            }
            if let Some(e) = self.exists.get_mut(&key) {
                e.remove(id);
                if e.is_empty() {
                    self.exists.remove(&key);
                }
            }
        }
    }

    /// Ids whose `key` has one of `values` (both compared lowercased).
    pub fn matching(&self, key: &str, values: &[String]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        if let Some(map) = self.postings.get(key) {
            for v in values {
                if let Some(p) = map.get(v.to_lowercase().as_str()) {
                    out |= &p.ids;
                }
            }
        }
        out
    }

    pub fn with_key(&self, key: &str) -> RoaringBitmap {
        self.exists.get(key).cloned().unwrap_or_default()
    }

    /// The first value of `key` for an entity (for ordering).
    pub fn value_of(&self, id: Id, key: &str) -> Option<&str> {
        self.pairs.get(&id)?.iter().find(|(k, _)| &**k == key).map(|(_, v)| &**v)
    }
}

#[cfg(test)]
mod tests {
    use portico_model::Validator;
    use serde_json::json;

    /// The typed walk must produce exactly what walking the entity's JSON would.
    #[test]
    fn leaves_match_a_walk_of_the_json() {
        let e = Validator::default()
            .validate(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                "metadata": {"name": "cart", "title": "Cart", "labels": {"tier": "1"}, "annotations": {"a.io/b": "c"},
                    "tags": ["java", "web"], "links": [{"url": "http://x", "title": "X"}], "custom": {"deep": [1, true]}},
                "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "dependsOn": ["resource:db"]}}))
            .unwrap();
        let mut expected = Vec::new();
        if let serde_json::Value::Object(map) = serde_json::to_value(&e).unwrap() {
            for (k, v) in &map {
                super::visit(k, v, &mut expected);
            }
        }
        let mut got = super::leaves(&e);
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
    }
}
