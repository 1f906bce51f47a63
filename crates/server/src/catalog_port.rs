//! The catalog as self-service actions reach it ([`portico_actions::CatalogPort`]): reading an
//! entity, registering and unregistering a location, and editing an entity, all through the
//! catalog's one write path, recorded in history as the run's author.

use portico_actions::{CatalogPort, Edited, Registered};
use portico_catalog::{Catalog, LocationService, LocationSpec};
use serde_json::Value;
use std::sync::Arc;

pub struct ServerCatalog {
    pub catalog: Arc<Catalog>,
    pub locations: LocationService,
}

#[async_trait::async_trait]
impl CatalogPort for ServerCatalog {
    fn entity(&self, key: &str) -> Option<Value> {
        self.catalog.read().get(&key.to_ascii_lowercase()).map(|e| e.entity.to_value())
    }

    async fn register(&self, target: &str, actor: &str) -> Result<Registered, String> {
        let kind = if target.starts_with("http://") || target.starts_with("https://") { "url" } else { "file" };
        let target = target.strip_prefix("file://").or_else(|| target.strip_prefix("file:")).unwrap_or(target);
        let spec = LocationService::normalize(&LocationSpec { kind: kind.into(), target: target.into() })?;
        if spec.kind == "file" {
            crate::api::locations::check_file_target(&self.locations, &spec.target).map_err(|e| e.to_string())?;
        }
        let work = self.locations.register(&spec, false);
        let (record, _, existed, _) = portico_catalog::actor::acting_as(actor.to_owned(), work).await.map_err(|e| e.to_string())?;
        let source = LocationService::source_name(&record.id);
        let mut entities: Vec<String> = self.catalog.read().entries().filter(|e| e.source == source && e.entity.kind != "Location").map(|e| e.entity.entity_ref().to_string()).collect();
        entities.sort();
        Ok(Registered { id: record.id, entities, existed })
    }

    async fn unregister(&self, id: &str, actor: &str) -> Result<(), String> {
        portico_catalog::actor::acting_as(actor.to_owned(), self.locations.delete(id)).await.map(drop).map_err(|e| e.to_string())
    }

    async fn update(&self, key: &str, patch: &Value, actor: &str, reason: &str) -> Result<Edited, String> {
        let out = self.locations.edit_entity(key, Some(patch), None, actor, Some(reason)).await.map_err(|e| e.to_string())?;
        Ok(Edited { before: out.before, after: out.after, previous_patch: out.previous_patch })
    }

    async fn restore(&self, key: &str, previous: Option<&Value>, actor: &str) -> Result<(), String> {
        self.locations.edit_entity(key, None, previous, actor, Some("a rollback")).await.map(drop).map_err(|e| e.to_string())
    }
}
