//! `fetch:plain:file`: copies one file beside the template into the workspace, unchanged.

use serde_json::{Value, json};

use super::source;
use crate::action::{Action, ActionError, Context, str_input};

pub struct FetchPlainFile;

#[async_trait::async_trait]
impl Action for FetchPlainFile {
    fn id(&self) -> &'static str {
        "fetch:plain:file"
    }

    fn description(&self) -> &'static str {
        "Copies one file beside the template (`url`) to `targetPath` in the workspace, without rendering it."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["url", "targetPath"], "properties": {
            "url": {"type": "string", "description": "A file relative to the template's file."},
            "targetPath": {"type": "string", "description": "The file's path in the workspace."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: license\n  name: Add the licence\n  action: fetch:plain:file\n  input:\n    url: ./files/LICENSE\n    targetPath: LICENSE\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let Some(from) = source::resolve(cx, str_input(&input, "url")?).await? else { return Ok(json!({})) };
        if !from.is_file() {
            return Err(ActionError::input("url", format!("{} is not a file", from.display())));
        }
        let target = str_input(&input, "targetPath")?;
        let to = cx.workspace.resolve(target).map_err(|e| ActionError::input("targetPath", e))?;
        source::copy(&from, &to, None)?;
        cx.log(format!("copied {target}"));
        Ok(json!({}))
    }
}
