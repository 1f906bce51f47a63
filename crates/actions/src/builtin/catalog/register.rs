//! `catalog:register`: registers a location with the catalog (Backstage's action), as the run's
//! author; undone by unregistering it.

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context};

pub struct CatalogRegister;

#[async_trait::async_trait]
impl Action for CatalogRegister {
    fn id(&self) -> &'static str {
        "catalog:register"
    }

    fn description(&self) -> &'static str {
        "Registers the descriptor at `catalogInfoUrl` (or `repoContentsUrl` + `catalogInfoPath`) as a location: outputs `entityRef` (its first entity) and `catalogInfoUrl`; a rollback unregisters it."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "additionalProperties": false, "properties": {
            "catalogInfoUrl": {"type": "string", "minLength": 1, "description": "An http(s) URL, or a local path or file: URL inside the folders the catalog reads."},
            "repoContentsUrl": {"type": "string", "minLength": 1},
            "catalogInfoPath": {"type": "string", "description": "Default /catalog-info.yaml."},
            "optional": {"type": "boolean", "description": "A registration that fails is logged, not an error."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: register\n  name: Register the service\n  action: catalog:register\n  input:\n    repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}\n    catalogInfoPath: /catalog-info.yaml\n"
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let catalog = cx.catalog.ok_or_else(|| ActionError::new("this run has no catalog to register with (a local run)"))?;
        let target = match (input.get("catalogInfoUrl").and_then(Value::as_str), input.get("repoContentsUrl").and_then(Value::as_str)) {
            (Some(url), None) => url.to_owned(),
            (None, Some(base)) => {
                let path = input.get("catalogInfoPath").and_then(Value::as_str).unwrap_or("/catalog-info.yaml");
                format!("{}/{}", base.trim_end_matches('/'), path.trim_start_matches('/'))
            }
            _ => return Err(ActionError::new("give one of catalogInfoUrl or repoContentsUrl")),
        };
        let actor = cx.user.get("ref").and_then(Value::as_str).unwrap_or("guest").to_owned();
        match catalog.register(&target, &actor).await {
            Ok(r) => {
                cx.log(format!("registered {target}{}: {} entit{}", if r.existed { " (registered before)" } else { "" }, r.entities.len(), if r.entities.len() == 1 { "y" } else { "ies" }));
                Ok(json!({ "entityRef": r.entities.first(), "entityRefs": r.entities, "catalogInfoUrl": target, "locationId": r.id, "registeredBefore": r.existed }))
            }
            Err(e) if input.get("optional").and_then(Value::as_bool).unwrap_or(false) => {
                cx.log(format!("not registered (optional): {e}"));
                Ok(json!({ "catalogInfoUrl": target }))
            }
            Err(e) => Err(ActionError::new(format!("registering {target}: {e}"))),
        }
    }

    async fn undo(&self, cx: &mut Context<'_>, _input: Value, output: &Value) -> Result<Option<String>, ActionError> {
        let catalog = cx.catalog.ok_or_else(|| ActionError::new("no catalog to unregister from"))?;
        let Some(id) = output.get("locationId").and_then(Value::as_str) else { return Ok(None) };
        if output.get("registeredBefore").and_then(Value::as_bool).unwrap_or(false) {
            return Ok(Some(format!("left {} registered: it was before the run", output["catalogInfoUrl"].as_str().unwrap_or(id))));
        }
        let actor = cx.user.get("ref").and_then(Value::as_str).unwrap_or("guest").to_owned();
        catalog.unregister(id, &actor).await.map_err(ActionError::new)?;
        Ok(Some(format!("unregistered {}", output["catalogInfoUrl"].as_str().unwrap_or(id))))
    }
}
