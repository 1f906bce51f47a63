//! `fetch:template`: renders a skeleton folder beside the template into the workspace. File
//! and folder names are templated too (a name that renders to nothing leaves the file out);
//! `copyWithoutTemplating` globs are copied with their contents as they are (their names still
//! rendered), `copyWithoutRender` globs entirely as they are; `templateFileExtension` renders
//! only files with that extension (`.njk` when `true`) and drops it; `cookiecutterCompat`
//! switches to `{{ cookiecutter.x }}`. Files that are not UTF-8 text are copied unchanged.
//! Existing files are kept unless `replace` is set.

use glob::{MatchOptions, Pattern};
use serde_json::{Value, json};

use super::source;
use crate::action::{Action, ActionError, Context, str_input, strings};
use crate::render::{Dialect, Style};
use crate::workspace::walk;

pub struct FetchTemplate;

fn patterns(input: &Value, field: &str) -> Result<Vec<Pattern>, ActionError> {
    strings(input, field).iter().map(|p| Pattern::new(p.trim_start_matches("./")).map_err(|e| ActionError::input(field, format!("{p:?} is not a glob: {e}")))).collect()
}

/// Whether `path` or one of its folders matches one of `patterns`.
fn matches(patterns: &[Pattern], path: &str) -> bool {
    const OPTIONS: MatchOptions = MatchOptions { case_sensitive: true, require_literal_separator: false, require_literal_leading_dot: false };
    let mut prefix = String::new();
    for part in path.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if patterns.iter().any(|p| p.matches_with(&prefix, OPTIONS)) {
            return true;
        }
    }
    false
}

#[async_trait::async_trait]
impl Action for FetchTemplate {
    fn id(&self) -> &'static str {
        "fetch:template"
    }

    fn description(&self) -> &'static str {
        "Renders a skeleton folder beside the template into the workspace with `values`: file contents and names are templates (`${{ values.name }}`)."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "required": ["url"], "properties": {
            "url": {"type": "string", "description": "The skeleton folder, relative to the template's file."},
            "targetPath": {"type": "string", "description": "Where in the workspace (default: its root)."},
            "values": {"type": "object", "description": "What the skeleton sees as `values`."},
            "copyWithoutRender": {"type": "array", "items": {"type": "string"}, "description": "Globs copied as they are, names included."},
            "copyWithoutTemplating": {"type": "array", "items": {"type": "string"}, "description": "Globs whose contents are copied as they are (names still rendered)."},
            "cookiecutterCompat": {"type": "boolean", "description": "Use `{{ cookiecutter.x }}` instead of `${{ values.x }}`."},
            "templateFileExtension": {"oneOf": [{"type": "boolean"}, {"type": "string"}], "description": "Render only files with this extension (`.njk` when true), dropping it."},
            "replace": {"type": "boolean", "description": "Overwrite files already in the workspace."},
            "trimBlocks": {"type": "boolean"},
            "lstripBlocks": {"type": "boolean"},
            "token": {"type": ["string", "boolean"], "description": "Accepted for Backstage compatibility; local skeletons need none."}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: fetch\n  name: Render the skeleton\n  action: fetch:template\n  input:\n    url: ./skeleton\n    copyWithoutTemplating:\n      - .github/workflows/*\n    values:\n      name: ${{ parameters.name }}\n      owner: ${{ parameters.owner }}\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let Some(from) = source::resolve(cx, str_input(&input, "url")?).await? else { return Ok(json!({})) };
        let target = input.get("targetPath").and_then(Value::as_str).unwrap_or("./").to_owned();
        let flag = |k: &str| input.get(k).and_then(Value::as_bool).unwrap_or(false);
        let without_render = patterns(&input, "copyWithoutRender")?;
        let without_templating = patterns(&input, "copyWithoutTemplating")?;
        if !without_render.is_empty() && !without_templating.is_empty() {
            return Err(ActionError::input("copyWithoutRender", "use copyWithoutTemplating or copyWithoutRender, not both"));
        }
        let extension = match input.get("templateFileExtension") {
            Some(Value::Bool(true)) => Some(".njk".to_owned()),
            Some(Value::String(e)) => Some(if e.starts_with('.') { e.clone() } else { format!(".{e}") }),
            _ => None,
        };
        if extension.is_some() && !without_render.is_empty() {
            return Err(ActionError::input("templateFileExtension", "cannot be used with copyWithoutRender"));
        }
        let cookiecutter = flag("cookiecutterCompat");
        let style = Style { dialect: if cookiecutter { Dialect::Cookiecutter } else { Dialect::Backstage }, trim_blocks: flag("trimBlocks"), lstrip_blocks: flag("lstripBlocks") };
        let values = input.get("values").cloned().unwrap_or(json!({}));
        let context = crate::render::context(&if cookiecutter { json!({ "cookiecutter": values }) } else { json!({ "values": values }) });
        let replace = flag("replace");
        let files = walk(&from).map_err(|e| ActionError::input("url", e.to_string()))?;
        let (mut written, mut rendered, mut kept) = (0usize, 0usize, 0usize);
        for (rel, path) in &files {
            let verbatim = matches(&without_render, rel);
            let mut name = if verbatim { rel.clone() } else { cx.renderer.render_text(rel, &context, style).map_err(|e| ActionError::new(format!("the file name {rel:?}: {e}")))? };
            let mut render = !verbatim && !matches(&without_templating, rel);
            if let Some(ext) = &extension {
                render = name.ends_with(ext.as_str());
                if render {
                    name.truncate(name.len() - ext.len());
                }
            }
            // A name (or a folder in it) that renders to nothing leaves the file out.
            if name.split('/').any(str::is_empty) {
                cx.log(format!("{rel}: its name renders to {name:?}, left out"));
                continue;
            }
            let to = cx.workspace.resolve(&format!("{target}/{name}")).map_err(|e| ActionError::new(format!("{rel} would be written to {name:?}: {e}")))?;
            if to.exists() && !replace {
                kept += 1;
                continue;
            }
            let bytes = std::fs::read(path).map_err(|e| ActionError::new(format!("reading {rel}: {e}")))?;
            match String::from_utf8(bytes) {
                Ok(text) if render => {
                    let out = cx.renderer.render_text(&text, &context, style).map_err(|e| ActionError::new(format!("{rel}{}: {e}", e.line.map(|l| format!(", line {l}")).unwrap_or_default())))?;
                    source::copy(path, &to, Some(out.as_bytes()))?;
                    rendered += 1;
                }
                Ok(text) => source::copy(path, &to, Some(text.as_bytes()))?,
                Err(e) => source::copy(path, &to, Some(e.as_bytes()))?,
            }
            written += 1;
        }
        cx.log(format!("wrote {written} files into {target} ({rendered} rendered){}", if kept > 0 { format!("; kept {kept} existing (replace: false)") } else { String::new() }));
        Ok(json!({}))
    }
}
