//! Entities as the API returns them: the stored descriptor plus its computed `relations`
//! (stored entries carry none; the graph computes them, inverses included), optionally cut
//! down to the requested `fields`.
//!
//! [`EntityView`] is what a handler takes out of the read model while it holds the lock: an
//! `Arc` of the entity and its relations, nothing more. Serialization happens after the lock
//! is released, straight into the response body, without an intermediate `serde_json::Value`
//! unless a projection needs one.

use std::sync::Arc;

use portico_graph::CatalogGraph;
use portico_model::{CatalogEntry, Entity, Relation};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// An entity and its computed relations, ready to serialize.
#[derive(Debug, Clone)]
pub struct EntityView {
    pub entity: Arc<Entity>,
    pub relations: Vec<Relation>,
}

impl EntityView {
    /// Takes what is needed from the read model; cheap (an `Arc` and the relations).
    pub fn of(graph: &CatalogGraph, entry: &CatalogEntry) -> Self {
        Self { entity: entry.entity.clone(), relations: graph.relations(&entry.key) }
    }

    /// The view with a projection applied when serialized.
    pub(crate) fn render<'a>(&'a self, fields: Option<&'a Fields>) -> Rendered<'a> {
        Rendered { view: self, fields }
    }
}

impl Serialize for EntityView {
    /// Backstage's envelope order: `apiVersion`, `kind`, `metadata`, `spec`, `relations`, `status`,
    /// then any other top-level field the descriptor had.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = &*self.entity;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("apiVersion", &e.api_version)?;
        m.serialize_entry("kind", &e.kind)?;
        m.serialize_entry("metadata", &e.metadata)?;
        if let Some(spec) = &e.spec {
            m.serialize_entry("spec", spec)?;
        }
        m.serialize_entry("relations", &self.relations)?;
        if let Some(status) = &e.status {
            m.serialize_entry("status", status)?;
        }
        for (k, v) in &e.extra {
            if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata" | "spec" | "relations" | "status") {
                m.serialize_entry(k, v)?;
            }
        }
        m.end()
    }
}

/// A projection: dotted paths such as `metadata.name` or `kind`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fields(Vec<Vec<String>>);

impl Fields {
    /// `None` when no field is named (the whole entity is returned).
    pub fn parse<S: AsRef<str>>(paths: &[S]) -> Option<Self> {
        let paths: Vec<Vec<String>> = paths
            .iter()
            .map(|p| p.as_ref().trim())
            .filter(|p| !p.is_empty())
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        (!paths.is_empty()).then_some(Self(paths))
    }

    /// Copies each named path that exists in `value` into a new object; absent paths are
    /// simply absent, as in Backstage.
    pub fn project(&self, value: &Value) -> Value {
        let mut out = Map::new();
        for path in &self.0 {
            let Some(found) = path.iter().try_fold(value, |v, seg| v.as_object()?.get(seg)) else { continue };
            let mut node = &mut out;
            for seg in &path[..path.len() - 1] {
                let child = node.entry(seg.clone()).or_insert_with(|| Value::Object(Map::new()));
                if !child.is_object() {
                    *child = Value::Object(Map::new());
                }
                node = child.as_object_mut().expect("just made an object");
            }
            node.insert(path[path.len() - 1].clone(), found.clone());
        }
        Value::Object(out)
    }
}

/// An [`EntityView`] with its projection, serialized whole or projected.
pub(crate) struct Rendered<'a> {
    view: &'a EntityView,
    fields: Option<&'a Fields>,
}

impl Serialize for Rendered<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self.fields {
            None => self.view.serialize(s),
            Some(fields) => {
                let full = serde_json::to_value(self.view).map_err(serde::ser::Error::custom)?;
                fields.project(&full).serialize(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn projection_keeps_named_paths_only() {
        let v = json!({"kind": "Component", "metadata": {"name": "a", "tags": ["x"]}, "spec": {"owner": "t"}});
        let f = Fields::parse(&["metadata.name", "kind", "spec.missing", "nope.deeper"]).unwrap();
        assert_eq!(f.project(&v), json!({"kind": "Component", "metadata": {"name": "a"}}));
        let f = Fields::parse(&["metadata", "metadata.name"]).unwrap();
        assert_eq!(f.project(&v), json!({"metadata": {"name": "a", "tags": ["x"]}}));
        assert_eq!(Fields::parse(&["", " "]), None);
    }
}
