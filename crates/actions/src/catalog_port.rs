//! The catalog as actions reach it: [`CatalogPort`], implemented by the server over its catalog
//! and locations, so that `catalog:fetch`, `catalog:register` and `portico:entity:update` go
//! through the catalog's one write path (validation, history with the run's author, the change
//! feed) while this crate depends only on the store and the read model.

use serde_json::Value;

/// What registering a location did.
#[derive(Debug, Clone, PartialEq)]
pub struct Registered {
    /// The location's id (to unregister it on undo).
    pub id: String,
    /// The references of the entities it holds (its Location entity left out).
    pub entities: Vec<String>,
    /// The location is as it was registered before (not registered again; nothing to undo).
    pub existed: bool,
}

/// What an edit of an entity changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Edited {
    pub before: Value,
    pub after: Value,
    /// The entity's edit before this one, restored on undo.
    pub previous_patch: Option<Value>,
}

#[async_trait::async_trait]
pub trait CatalogPort: Send + Sync {
    /// The entity with this key, as the API shows it.
    fn entity(&self, key: &str) -> Option<Value>;
    /// Registers the location at `target` (an `http(s)` URL, or a local path or `file:` URL
    /// inside the folders the catalog reads), as `actor`.
    async fn register(&self, target: &str, actor: &str) -> Result<Registered, String>;
    /// Unregisters a location, removing what it held.
    async fn unregister(&self, id: &str, actor: &str) -> Result<(), String>;
    /// Edits an entity with a JSON merge patch, kept across reads of its source.
    async fn update(&self, key: &str, patch: &Value, actor: &str, reason: &str) -> Result<Edited, String>;
    /// Sets an entity's edit back to `previous` (`None`: its source's version).
    async fn restore(&self, key: &str, previous: Option<&Value>, actor: &str) -> Result<(), String>;
}
