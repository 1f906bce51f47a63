//! Edits made through the catalog's write path (a day-2 action's `portico:entity:update`), kept
//! in the store as one merge patch per entity and applied here, on top of what the entity's
//! source emits, at every ingest: an edit survives the next read of a location, and every
//! replica applies the same one. An edit that no longer applies (the source changed the entity
//! so that the edited version is invalid) is reported as an error of the source, and the
//! source's version is kept.

use std::collections::HashMap;

use portico_graph::CatalogGraph;
use portico_model::Validator;
use serde_json::Value;

use crate::mutation::{Outcome, Validated};

/// Applies each entity's edit (`edits`: key → patch) to what was validated. An entity the source
/// sent unchanged is taken from the read model. The hash of an edited entity covers its edit, so
/// the next ingest after an edit changes or goes validates it again.
pub(crate) fn apply(graph: &CatalogGraph, validator: &Validator, validated: &mut [Validated], edits: &HashMap<String, Value>, problem: &mut dyn FnMut(String, String)) {
    for v in validated.iter_mut() {
        let (key, mut value, hash) = match &v.outcome {
            Outcome::Valid { entity, hash, .. } => {
                let key = entity.entity_ref().key();
                if !edits.contains_key(&key) {
                    continue;
                }
                (key, entity.to_value(), hash.clone())
            }
            Outcome::Unchanged { key } => {
                let Some(entry) = edits.contains_key(key).then(|| graph.get(key)).flatten() else { continue };
                (key.clone(), entry.entity.to_value(), entry.hash.clone())
            }
            Outcome::Invalid(_) => continue,
        };
        let patch = &edits[&key];
        portico_model::patch::merge_patch(&mut value, patch);
        match validator.validate(value) {
            Ok(entity) => {
                let relations = validator.outgoing_relations(&entity).into_iter().map(|(t, i, target)| (t, i, target.key())).collect();
                let hash = portico_model::hash::content_hash(&(hash, portico_model::hash::Sorted(patch)));
                v.outcome = Outcome::Valid { entity: Box::new(entity), hash, relations };
            }
            Err(errors) => {
                let why = errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
                problem(key, format!("the edit made through the catalog no longer applies, so the source's version is kept: {why}"));
            }
        }
    }
}
