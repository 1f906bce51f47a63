//! `fs:delete`: deletes files or folders (globs) inside the workspace.

use glob::{MatchOptions, Pattern};
use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context, strings};
use crate::workspace::{normalize, walk};

pub struct FsDelete;

#[async_trait::async_trait]
impl Action for FsDelete {
    fn id(&self) -> &'static str {
        "fs:delete"
    }

    fn description(&self) -> &'static str {
        "Deletes the workspace's files and folders matching `files` (paths or globs)."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["files"], "properties": {
            "files": {"type": "array", "items": {"type": "string"}}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: tidy\n  name: Drop what this service does not need\n  action: fs:delete\n  input:\n    files:\n      - docs/internal\n      - '**/*.orig'\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        const OPTIONS: MatchOptions = MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: false };
        let mut deleted = 0;
        for (i, p) in strings(&input, "files").iter().enumerate() {
            let field = format!("files[{i}]");
            // Checked first, so that `../x` or `/etc` is an error, not a pattern matching nothing.
            let normal = normalize(p).map_err(|e| ActionError::input(&field, e))?;
            let exact = cx.workspace.resolve(&normal.to_string_lossy()).map_err(|e| ActionError::input(&field, e))?;
            if exact.exists() && exact != cx.workspace.root() {
                if exact.is_dir() { std::fs::remove_dir_all(&exact) } else { std::fs::remove_file(&exact) }.map_err(|e| ActionError::new(format!("deleting {p}: {e}")))?;
                deleted += 1;
                continue;
            }
            let pattern = Pattern::new(&normal.to_string_lossy()).map_err(|e| ActionError::input(&field, format!("{p:?} is not a glob: {e}")))?;
            for (rel, path) in walk(cx.workspace.root()).map_err(|e| ActionError::new(e.to_string()))? {
                if pattern.matches_with(&rel, OPTIONS) {
                    std::fs::remove_file(&path).map_err(|e| ActionError::new(format!("deleting {rel}: {e}")))?;
                    deleted += 1;
                }
            }
        }
        cx.log(format!("deleted {deleted} files or folders"));
        Ok(json!({}))
    }
}
