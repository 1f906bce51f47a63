//! `catalog:fetch`: reads entities from the catalog by reference (Backstage's action).

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context, strings};

pub struct CatalogFetch;

#[async_trait::async_trait]
impl Action for CatalogFetch {
    fn id(&self) -> &'static str {
        "catalog:fetch"
    }

    fn description(&self) -> &'static str {
        "Reads an entity (`entityRef`) or several (`entityRefs`) from the catalog: outputs `entity` or `entities`; a missing one fails the step unless `optional`."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "additionalProperties": false, "properties": {
            "entityRef": {"type": "string", "minLength": 1},
            "entityRefs": {"type": "array", "items": {"type": "string", "minLength": 1}, "maxItems": 1000},
            "optional": {"type": "boolean", "description": "A missing entity is null instead of an error."},
            "defaultKind": {"type": "string"},
            "defaultNamespace": {"type": "string"}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: owner\n  name: Read the owner\n  action: catalog:fetch\n  input:\n    entityRef: ${{ parameters.owner }}\n    defaultKind: group\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let catalog = cx.catalog.ok_or_else(|| ActionError::new("this run has no catalog to read (a local run without a catalog)"))?;
        let optional = input.get("optional").and_then(Value::as_bool).unwrap_or(false);
        let defaults = portico_model::RefDefaults { kind: input.get("defaultKind").and_then(Value::as_str), namespace: input.get("defaultNamespace").and_then(Value::as_str) };
        let fetch = |field: &str, reference: &str| -> Result<Value, ActionError> {
            let key = portico_model::EntityRef::parse(reference, defaults).map_err(|e| ActionError::input(field, e.to_string()))?.key();
            match catalog.entity(&key) {
                Some(e) => Ok(e),
                None if optional => Ok(Value::Null),
                None => Err(ActionError::input(field, format!("no entity {key} in the catalog"))),
            }
        };
        match (input.get("entityRef").and_then(Value::as_str), input.get("entityRefs")) {
            (Some(r), None) => {
                let entity = fetch("entityRef", r)?;
                cx.log(format!("read {r}{}", if entity.is_null() { " (not found)" } else { "" }));
                Ok(json!({ "entity": entity }))
            }
            (None, Some(_)) => {
                let refs = strings(&input, "entityRefs");
                let entities = refs.iter().enumerate().map(|(i, r)| fetch(&format!("entityRefs[{i}]"), r)).collect::<Result<Vec<_>, _>>()?;
                cx.log(format!("read {} entities", entities.iter().filter(|e| !e.is_null()).count()));
                Ok(json!({ "entities": entities }))
            }
            _ => Err(ActionError::new("give one of entityRef or entityRefs")),
        }
    }
}
