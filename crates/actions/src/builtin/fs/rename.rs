//! `fs:rename`: moves files or folders inside the workspace.

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context};

pub struct FsRename;

#[async_trait::async_trait]
impl Action for FsRename {
    fn id(&self) -> &'static str {
        "fs:rename"
    }

    fn description(&self) -> &'static str {
        "Renames (moves) files or folders inside the workspace; an existing target is an error unless `overwrite` is set."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["files"], "properties": {
            "files": {"type": "array", "items": {"type": "object", "required": ["from", "to"], "properties": {
                "from": {"type": "string"}, "to": {"type": "string"}, "overwrite": {"type": "boolean"}
            }}}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: rename\n  name: Name the module\n  action: fs:rename\n  input:\n    files:\n      - from: src/module\n        to: src/${{ parameters.name }}\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let files = input.get("files").and_then(Value::as_array).cloned().unwrap_or_default();
        for (i, f) in files.iter().enumerate() {
            let field = |k: &str| format!("files[{i}].{k}");
            let get = |k: &str| f.get(k).and_then(Value::as_str).ok_or_else(|| ActionError::input(field(k), "is required"));
            let (from_rel, to_rel) = (get("from")?, get("to")?);
            let from = cx.workspace.resolve(from_rel).map_err(|e| ActionError::input(field("from"), e))?;
            let to = cx.workspace.resolve(to_rel).map_err(|e| ActionError::input(field("to"), e))?;
            if !from.exists() {
                return Err(ActionError::input(field("from"), format!("{from_rel} is not in the workspace")));
            }
            if to.exists() {
                if !f.get("overwrite").and_then(Value::as_bool).unwrap_or(false) {
                    return Err(ActionError::input(field("to"), format!("{to_rel} exists; set overwrite: true to replace it")));
                }
                if to.is_dir() { std::fs::remove_dir_all(&to) } else { std::fs::remove_file(&to) }.map_err(|e| ActionError::new(format!("replacing {to_rel}: {e}")))?;
            }
            if let Some(parent) = to.parent() {
                std::fs::create_dir_all(parent).map_err(|e| ActionError::new(format!("creating the folder of {to_rel}: {e}")))?;
            }
            std::fs::rename(&from, &to).map_err(|e| ActionError::new(format!("renaming {from_rel} to {to_rel}: {e}")))?;
            cx.log(format!("renamed {from_rel} to {to_rel}"));
        }
        Ok(json!({}))
    }
}
