//! `fetch:plain`: copies a folder beside the template into the workspace, unchanged.

use serde_json::{Value, json};

use super::source;
use crate::action::{Action, ActionError, Context, str_input};
use crate::workspace::walk;

pub struct FetchPlain;

#[async_trait::async_trait]
impl Action for FetchPlain {
    fn id(&self) -> &'static str {
        "fetch:plain"
    }

    fn description(&self) -> &'static str {
        "Copies a folder beside the template (`url`) into the workspace (`targetPath`), without rendering anything."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string", "description": "A folder relative to the template's file."},
            "targetPath": {"type": "string", "description": "Where in the workspace (default: its root)."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: docs\n  name: Add the docs folder\n  action: fetch:plain\n  input:\n    url: ./docs-skeleton\n    targetPath: ./docs\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let Some(from) = source::resolve(cx, str_input(&input, "url")?).await? else { return Ok(json!({})) };
        let target = input.get("targetPath").and_then(Value::as_str).unwrap_or("./");
        let files = walk(&from).map_err(|e| ActionError::input("url", e.to_string()))?;
        for (rel, path) in &files {
            let to = cx.workspace.resolve(&format!("{target}/{rel}")).map_err(|e| ActionError::input("targetPath", e))?;
            source::copy(path, &to, None)?;
        }
        cx.log(format!("copied {} files into {target}", files.len()));
        Ok(json!({}))
    }
}
