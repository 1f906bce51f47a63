use std::sync::Arc;

use crate::{Entity, EntityRef};

/// An entity as the catalog holds it: the validated descriptor (without computed relations),
/// its content hash, who contributed it, and where it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub entity: Arc<Entity>,
    /// Lowercased `kind:namespace/name`.
    pub key: String,
    pub uid: String,
    /// Content hash of the descriptor as the source emitted it (before uid/etag are added).
    pub hash: String,
    /// Name of the source (provider) that owns this entity.
    pub source: String,
    /// Key of the entity (usually a Location) or location id that emitted it.
    pub parent: Option<String>,
    /// Kept although its source no longer emits it (`orphanStrategy: keep`).
    pub orphan: bool,
    /// Increases by one with every stored change.
    pub version: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    pub updated_at: i64,
}

impl CatalogEntry {
    /// A first version of `entity` from `source`, with no parent, a placeholder uid
    /// (`uid-<key>`) and no times: for tests and tools that build read models by hand.
    pub fn new(entity: Entity, source: &str) -> Self {
        let key = entity.entity_ref().key();
        Self {
            uid: format!("uid-{key}"),
            key,
            entity: Arc::new(entity),
            hash: String::new(),
            source: source.to_owned(),
            parent: None,
            orphan: false,
            version: 1,
            created_at: 0,
            updated_at: 0,
        }
    }

    pub fn entity_ref(&self) -> EntityRef {
        self.entity.entity_ref()
    }
}
