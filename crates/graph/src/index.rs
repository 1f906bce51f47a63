//! Backstage's search keys: every leaf of an entity becomes a `(path, value)` pair with the path
//! and value lowercased (`spec.owner` = `team-a`, `metadata.tags` = `java`); each string in a list
//! also yields `path.item` = `true`. Filters match on these pairs exactly as Backstage's
//! `search` table does.

use std::collections::HashMap;
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

/// Collects the `(path, value)` leaves of a JSON value, Backstage style.
pub(crate) fn leaves(entity: &Entity) -> Vec<(String, String)> {
    let mut out = Vec::with_capacity(24);
    let value = serde_json::to_value(entity).unwrap_or(Value::Null);
    if let Value::Object(map) = &value {
        for (k, v) in map {
            if matches!(k.as_str(), "relations" | "status" | "attachments") {
                continue;
            }
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
