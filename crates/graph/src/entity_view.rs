//! Entities as the APIs return them: the stored descriptor plus its computed `relations`
//! (stored entries carry none; the graph computes them, inverses included).
//!
//! [`EntityView`] is what a reader takes out of the read model while it holds the lock: an
//! `Arc` of the entity and its relations, nothing more. Serialization happens after the lock
//! is released, straight into the response body, without an intermediate `serde_json::Value`.

use std::sync::Arc;

use portico_model::{CatalogEntry, Entity, Relation};
use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::Visible;

/// An entity and its computed relations, ready to serialize.
#[derive(Debug, Clone)]
pub struct EntityView {
    pub entity: Arc<Entity>,
    pub relations: Vec<Relation>,
}

impl EntityView {
    /// Takes what is needed from the read model as the reader sees it; cheap (an `Arc` and the
    /// relations, without those to entities the reader may not see).
    pub fn of(graph: &Visible<'_>, entry: &CatalogEntry) -> Self {
        Self { entity: entry.entity.clone(), relations: graph.relations(&entry.key) }
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
