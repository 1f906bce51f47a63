//! `${{ … }}` expressions in Backstage's dialect of Nunjucks, rendered by minijinja configured
//! for that syntax: `parameters`, `steps.<id>.output`, `user.entity`, `secrets`, `each`, and
//! Backstage's filters (`parseRepoUrl`, `parseEntityRef`, `pick`, `projectSlug`, see
//! [`crate::filters`]).
//!
//! A string that is one expression and nothing else keeps the expression's type
//! (`${{ parameters.topics }}` is a list, `${{ parameters.dryRun !== true }}` a boolean), as
//! Backstage does; a string that renders to nothing is left out, as Backstage leaves out
//! `undefined`.
//!
//! Rendering is sandboxed: no loader is set, so `include`, `import` and `extends` find nothing
//! (no file is ever read); every render has a fuel budget that counts instructions and every
//! byte of data made (so neither a loop nor a string doubled in one can run away: about 64 MB
//! at most), and an output limit; minijinja itself refuses ranges over 100,000 items.

use minijinja::syntax::SyntaxConfig;
use minijinja::{Environment, UndefinedBehavior};
use serde_json::Value;

use crate::compat;

/// The budget of one render (a skeleton file or one field): each instruction costs one, each 64
/// bytes of data made one more. A template of a few hundred lines with loops over its
/// parameters uses a few thousand.
pub const FUEL: u64 = 1_000_000;
/// Characters one render may produce.
pub const MAX_OUTPUT: usize = 8 * 1024 * 1024;

/// Which delimiters a text uses: Backstage's `${{ }}`, or cookiecutter's `{{ }}` (for
/// `fetch:template` with `cookiecutterCompat`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Backstage,
    Cookiecutter,
}

impl Dialect {
    pub(crate) fn open(self) -> &'static str {
        match self {
            Dialect::Backstage => "${{",
            Dialect::Cookiecutter => "{{",
        }
    }
}

/// How a file of a skeleton is rendered: its delimiters and Jinja's whitespace options
/// (`fetch:template`'s `cookiecutterCompat`, `trimBlocks`, `lstripBlocks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Style {
    pub dialect: Dialect,
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
}

impl Style {
    pub const BACKSTAGE: Style = Style { dialect: Dialect::Backstage, trim_blocks: false, lstrip_blocks: false };

    fn index(self) -> usize {
        usize::from(self.dialect == Dialect::Cookiecutter) * 4 + usize::from(self.trim_blocks) * 2 + usize::from(self.lstrip_blocks)
    }
}

/// Renders templates and expressions. Cheap to share; build one per process.
pub struct Renderer {
    /// One environment per [`Style`], by [`Style::index`].
    envs: Vec<Environment<'static>>,
}

impl Default for Renderer {
    fn default() -> Self {
        Self::new()
    }
}

/// A render that failed: why, and where in the text (1-based line) when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct RenderError {
    pub message: String,
    pub line: Option<usize>,
}

impl RenderError {
    fn from_jinja(e: &minijinja::Error) -> Self {
        let mut message = e.detail().map_or_else(|| e.kind().to_string(), |d| format!("{}: {d}", e.kind()));
        if e.kind() == minijinja::ErrorKind::OutOfFuel {
            message = format!("the template ran out of its budget of {FUEL} steps (a loop that does not end, or one far too long)");
        }
        Self { message, line: e.line() }
    }

    fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), line: None }
    }
}

fn environment(style: Style) -> Environment<'static> {
    let mut env = Environment::new();
    let (open, close) = match style.dialect {
        Dialect::Backstage => ("${{", "}}"),
        Dialect::Cookiecutter => ("{{", "}}"),
    };
    let syntax = SyntaxConfig::builder().variable_delimiters(open, close).trim_blocks(style.trim_blocks).lstrip_blocks(style.lstrip_blocks).keep_trailing_newline(true).build().expect("valid delimiters");
    env.set_syntax(syntax);
    // As Nunjucks: a missing value renders as nothing, and so does a field of one.
    env.set_undefined_behavior(UndefinedBehavior::Chainable);
    env.set_fuel(Some(FUEL));
    env.set_recursion_limit(100);
    // No auto-escaping: the output is YAML, code and JSON, not HTML.
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
    crate::filters::register(&mut env);
    env
}

impl Renderer {
    pub fn new() -> Self {
        let mut envs = Vec::with_capacity(8);
        for dialect in [Dialect::Backstage, Dialect::Cookiecutter] {
            for trim_blocks in [false, true] {
                for lstrip_blocks in [false, true] {
                    envs.push(environment(Style { dialect, trim_blocks, lstrip_blocks }));
                }
            }
        }
        Self { envs }
    }

    fn env(&self, style: Style) -> &Environment<'static> {
        &self.envs[style.index()]
    }

    fn backstage(&self) -> &Environment<'static> {
        self.env(Style::BACKSTAGE)
    }

    /// Whether `text` parses (its expressions and blocks), without rendering it.
    pub fn check(&self, text: &str) -> Result<(), RenderError> {
        if !text.contains("${{") && !text.contains("{%") {
            return Ok(());
        }
        let source = compat::rewrite(text, Dialect::Backstage);
        if let Some(inner) = single_expression(&source, Dialect::Backstage) {
            return self.backstage().compile_expression(inner).map(drop).map_err(|e| RenderError::from_jinja(&e));
        }
        self.backstage().template_from_str(&source).map(drop).map_err(|e| RenderError::from_jinja(&e))
    }

    /// Renders one text to a string (a skeleton file, a file name).
    pub fn render_text(&self, text: &str, context: &minijinja::Value, style: Style) -> Result<String, RenderError> {
        if !text.contains(style.dialect.open()) && !text.contains("{%") {
            return Ok(text.to_owned());
        }
        self.render_rewritten(&compat::rewrite(text, style.dialect), context, style)
    }

    /// Renders a text whose Nunjucks-only syntax is already rewritten.
    fn render_rewritten(&self, source: &str, context: &minijinja::Value, style: Style) -> Result<String, RenderError> {
        let template = self.env(style).template_from_str(source).map_err(|e| RenderError::from_jinja(&e))?;
        let mut out = Limited::default();
        match template.render_captured_to(context, &mut out) {
            Ok(_) => String::from_utf8(out.bytes).map_err(|e| RenderError::new(e.to_string())),
            Err(_) if out.over => Err(RenderError::new(format!("the rendered text passes the limit of {MAX_OUTPUT} bytes"))),
            Err(e) => Err(RenderError::from_jinja(&e)),
        }
    }

    /// Renders one string of a template's YAML: `None` when it renders to nothing (Backstage
    /// leaves the field out), the expression's own type when the string is one expression.
    pub fn render_string(&self, text: &str, context: &minijinja::Value) -> Result<Option<Value>, RenderError> {
        if !text.contains("${{") && !text.contains("{%") {
            return Ok(Some(Value::String(text.to_owned())));
        }
        let source = compat::rewrite(text, Dialect::Backstage);
        if let Some(inner) = single_expression(&source, Dialect::Backstage) {
            let expr = self.backstage().compile_expression(inner).map_err(|e| RenderError::from_jinja(&e))?;
            let v = expr.eval(context.clone()).map_err(|e| RenderError::from_jinja(&e))?;
            if v.is_undefined() {
                return Ok(None);
            }
            let json = serde_json::to_value(&v).map_err(|e| RenderError::new(e.to_string()))?;
            return Ok(match json {
                Value::String(s) if s.is_empty() => None,
                other => Some(other),
            });
        }
        let out = self.render_rewritten(&source, context, Style::BACKSTAGE)?;
        Ok((!out.is_empty()).then_some(Value::String(out)))
    }

    /// Renders every string in `value`, depth first; a field that renders to nothing is left
    /// out. An error names the field (`path` is where `value` sits, e.g. `spec.steps[1].input`).
    pub fn render_value(&self, value: &Value, context: &minijinja::Value, path: &str) -> Result<Option<Value>, (String, RenderError)> {
        Ok(match value {
            Value::String(s) => self.render_string(s, context).map_err(|e| (path.to_owned(), e))?,
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, item) in items.iter().enumerate() {
                    if let Some(v) = self.render_value(item, context, &format!("{path}[{i}]"))? {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    if let Some(v) = self.render_value(v, context, &join(path, k))? {
                        out.insert(k.clone(), v);
                    }
                }
                Some(Value::Object(out))
            }
            other => Some(other.clone()),
        })
    }
}

/// A JSON value as what templates see.
pub fn context(value: &Value) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(value))
}

/// `a.b` or `b` when `a` is empty.
pub(crate) fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

/// The expression when `text` is exactly one `${{ … }}` (surrounding blanks aside).
fn single_expression(text: &str, dialect: Dialect) -> Option<&str> {
    let t = text.trim();
    let inner = t.strip_prefix(dialect.open())?.strip_suffix("}}")?;
    (!inner.contains("}}") && !inner.contains(dialect.open()) && !inner.contains("{%")).then_some(inner)
}

/// A writer that stops at [`MAX_OUTPUT`].
#[derive(Default)]
struct Limited {
    bytes: Vec<u8>,
    over: bool,
}

impl std::io::Write for Limited {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.bytes.len() + buf.len() > MAX_OUTPUT {
            self.over = true;
            return Err(std::io::Error::other("output limit"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests;
