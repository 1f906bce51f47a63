//! Editing an entity through the catalog's write path: the edit (a merge patch) is checked
//! against the entity as its kind's schema would, stored, and the entity ingested again from its
//! source (its location read again, or its stored version re-sent for any other source), so the
//! edit goes through validation, history and the change feed like any change, and stays applied
//! when the source is read again.

use serde_json::Value;

use super::LocationService;
use crate::{IngestError, Mutation, Origin, RawEntity};

/// What an edit changed.
#[derive(Debug, Clone)]
pub struct EditOutcome {
    /// The entity before and after (as the API shows it).
    pub before: Value,
    pub after: Value,
    /// The entity's edit before this one (to restore on undo), if it had one.
    pub previous_patch: Option<Value>,
}

impl LocationService {
    /// Edits `key` with `patch` (merged into the edit it may have), or with `None` restores its
    /// edit to `restore` (`None`: no edit, the source's version). Refused, with nothing stored,
    /// when there is no such entity or the edited entity would not be valid.
    pub async fn edit_entity(&self, key: &str, patch: Option<&Value>, restore: Option<&Value>, actor: &str, reason: Option<&str>) -> Result<EditOutcome, IngestError> {
        let key = key.to_ascii_lowercase();
        let entry = self.catalog.read().get(&key).cloned().ok_or_else(|| IngestError::Invalid(format!("no entity {key}")))?;
        let store = self.store();
        let previous_patch = store.entity_edits().await?.into_iter().find(|e| e.entity_key == key).and_then(|e| serde_json::from_str::<Value>(&e.patch).ok());
        let next = match patch {
            Some(p) => Some(previous_patch.as_ref().map_or_else(|| p.clone(), |old| portico_model::patch::compose(old, p))),
            None => restore.cloned(),
        };
        let before = entry.entity.to_value();
        if let Some(p) = patch {
            let mut edited = before.clone();
            portico_model::patch::merge_patch(&mut edited, p);
            if let Err(errors) = self.catalog.validator().validate(edited) {
                return Err(IngestError::Invalid(format!("the edit of {key} is not valid: {}", errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))));
            }
        }
        let edit = next.as_ref().map(|p| portico_store::EntityEdit { entity_key: key.clone(), patch: p.to_string(), actor: actor.to_owned(), at: crate::now_ms(), reason: reason.map(str::to_owned) });
        store.set_entity_edit(&key, edit.as_ref()).await?;
        let ingest = async {
            match self.location_of(&key).await? {
                Some(location) => self.refresh(&location.id, &|_, _| {}).await.map(drop),
                None => {
                    let raw = RawEntity { value: before.clone(), origin: Origin { location: format!("an edit of {key}"), text: None, document: 0 }, parent: entry.parent.clone(), degraded: false };
                    self.catalog.apply(Mutation::Delta { source: entry.source.clone(), upserts: vec![raw], removals: Vec::new() }).await.map(drop)
                }
            }
        };
        if let Err(e) = crate::actor::acting_as(actor.to_owned(), ingest).await {
            // Not applied: the stored edit goes back to what it was.
            let old = previous_patch.as_ref().map(|p| portico_store::EntityEdit { entity_key: key.clone(), patch: p.to_string(), actor: actor.to_owned(), at: crate::now_ms(), reason: None });
            store.set_entity_edit(&key, old.as_ref()).await?;
            return Err(e);
        }
        let after = self.catalog.read().get(&key).map(|e| e.entity.to_value()).unwrap_or(Value::Null);
        Ok(EditOutcome { before, after, previous_patch })
    }
}
