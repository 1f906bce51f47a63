//! `catalog:write`: writes an entity as a catalog descriptor file into the workspace.

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context};

pub struct CatalogWrite;

#[async_trait::async_trait]
impl Action for CatalogWrite {
    fn id(&self) -> &'static str {
        "catalog:write"
    }

    fn description(&self) -> &'static str {
        "Writes `entity` as YAML to `filePath` in the workspace (default `catalog-info.yaml`), checked as the catalog would check it."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["entity"], "properties": {
            "filePath": {"type": "string", "description": "Default catalog-info.yaml."},
            "entity": {"type": "object", "description": "The entity, as in a descriptor file."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: descriptor\n  name: Describe the service\n  action: catalog:write\n  input:\n    entity:\n      apiVersion: backstage.io/v1alpha1\n      kind: Component\n      metadata:\n        name: ${{ parameters.name }}\n      spec:\n        type: service\n        lifecycle: experimental\n        owner: ${{ parameters.owner }}\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let entity = input.get("entity").cloned().unwrap_or(Value::Null);
        // The same checks as the catalog's: a descriptor the catalog would refuse is an error
        // here, where the template can be fixed, not after it is published.
        if let Err(errors) = portico_model::Validator::default().validate(entity.clone()) {
            let text: Vec<String> = errors.iter().map(|e| if e.path.is_empty() { e.message.clone() } else { format!("entity.{e}") }).collect();
            return Err(ActionError::input("entity", format!("the catalog would refuse this entity: {}", text.join("; "))));
        }
        let path = input.get("filePath").and_then(Value::as_str).unwrap_or("catalog-info.yaml");
        let to = cx.workspace.resolve(path).map_err(|e| ActionError::input("filePath", e))?;
        let yaml = serde_saphyr::to_string(&entity).map_err(|e| ActionError::new(format!("writing YAML: {e}")))?;
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| ActionError::new(format!("creating {}: {e}", parent.display())))?;
        }
        std::fs::write(&to, yaml).map_err(|e| ActionError::new(format!("writing {path}: {e}")))?;
        cx.log(format!("wrote {path}"));
        Ok(json!({ "filePath": path }))
    }
}
