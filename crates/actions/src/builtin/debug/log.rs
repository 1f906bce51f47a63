//! `debug:log`: writes a message (and, on request, the workspace's files) to the step's log.

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context};

pub struct DebugLog;

#[async_trait::async_trait]
impl Action for DebugLog {
    fn id(&self) -> &'static str {
        "debug:log"
    }

    fn description(&self) -> &'static str {
        "Writes a message to the step's log; `listWorkspace` also lists the workspace's files (`with-contents`: and their text)."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "message": {"type": "string", "description": "The message to log."},
            "listWorkspace": {"description": "true or `with-filenames`: list the files; `with-contents`: and their text.", "oneOf": [{"type": "boolean"}, {"enum": ["with-filenames", "with-contents"]}]}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: log\n  name: Say what we got\n  action: debug:log\n  input:\n    message: 'Creating ${{ parameters.name }}'\n    listWorkspace: true\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        if let Some(m) = input.get("message").and_then(Value::as_str) {
            for line in m.lines() {
                cx.log(line);
            }
        }
        let list = input.get("listWorkspace").cloned().unwrap_or(Value::Bool(false));
        if list == json!(true) || list == json!("with-filenames") || list == json!("with-contents") {
            let files = cx.workspace.files().map_err(|e| ActionError::new(format!("listing the workspace: {e}")))?;
            for f in files {
                cx.log(format!("{} ({} bytes)", f.path, f.size));
                if list == json!("with-contents") {
                    for line in f.text.as_deref().unwrap_or("(binary or too large to show)").lines() {
                        cx.log(format!("  {line}"));
                    }
                }
            }
        }
        Ok(json!({}))
    }
}
