//! `portico:entity:update`: edits an entity through the catalog's write path (a day-2 action:
//! extend an environment's TTL, mark a service deprecated). The edit is a JSON merge patch kept
//! on top of whatever the entity's source emits, so it survives the next read of the source;
//! undone by restoring the edit the entity had before.

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context, str_input};

pub struct EntityUpdate;

#[async_trait::async_trait]
impl Action for EntityUpdate {
    fn id(&self) -> &'static str {
        "portico:entity:update"
    }

    fn description(&self) -> &'static str {
        "Edits the entity `entityRef` with `patch` (a JSON merge patch: fields set, null removes), checked against its kind's schema and kept across reads of its source; a rollback restores it."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["entityRef", "patch"], "additionalProperties": false, "properties": {
            "entityRef": {"type": "string", "minLength": 1},
            "patch": {"type": "object", "description": "Fields of metadata or spec to set (null removes); kind, metadata.name and metadata.namespace cannot change.",
                      "properties": {"metadata": {"type": "object"}, "spec": {"type": "object"}}, "additionalProperties": false}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: extend\n  name: Extend the environment's TTL\n  action: portico:entity:update\n  input:\n    entityRef: ${{ entity.kind }}:${{ entity.metadata.namespace }}/${{ entity.metadata.name }}\n    patch:\n      metadata:\n        annotations:\n          portico.dev/expires-at: ${{ parameters.until }}\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let catalog = cx.catalog.ok_or_else(|| ActionError::new("this run has no catalog to edit (a local run)"))?;
        let reference = str_input(&input, "entityRef")?;
        let key = portico_model::EntityRef::parse(reference, portico_model::RefDefaults { kind: Some("component"), namespace: None }).map_err(|e| ActionError::input("entityRef", e.to_string()))?.key();
        let patch = input.get("patch").cloned().unwrap_or(Value::Null);
        for field in ["name", "namespace"] {
            if patch.pointer(&format!("/metadata/{field}")).is_some() {
                return Err(ActionError::input(format!("patch.metadata.{field}"), "an entity's name and namespace do not change"));
            }
        }
        let actor = cx.user.get("ref").and_then(Value::as_str).unwrap_or("guest").to_owned();
        let edited = catalog.update(&key, &patch, &actor, "portico:entity:update").await.map_err(ActionError::new)?;
        cx.log(format!("updated {key}"));
        Ok(json!({ "entityRef": key, "before": edited.before, "after": edited.after, "previousPatch": edited.previous_patch }))
    }

    async fn undo(&self, cx: &mut Context<'_>, _input: Value, output: &Value) -> Result<Option<String>, ActionError> {
        let catalog = cx.catalog.ok_or_else(|| ActionError::new("no catalog to restore"))?;
        let Some(key) = output.get("entityRef").and_then(Value::as_str) else { return Ok(None) };
        let actor = cx.user.get("ref").and_then(Value::as_str).unwrap_or("guest").to_owned();
        let previous = output.get("previousPatch").filter(|p| !p.is_null());
        catalog.restore(key, previous, &actor).await.map_err(ActionError::new)?;
        Ok(Some(format!("restored {key} as it was before the run")))
    }
}
