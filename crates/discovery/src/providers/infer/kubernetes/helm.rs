//! Helm templates rendered just enough to parse as YAML: whole-line directives (`{{- if }}`,
//! `{{- include … | nindent 4 }}`, `{{- end }}`) are dropped, inline expressions replaced by
//! what the chart's `values.yaml` and `Chart.yaml` say (`.Values.cart.name`, `.Chart.Name`,
//! `default`, `quote`), or by nothing.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::super::tree::{Tree, file_name, join};

/// A chart: its name and default values.
pub(crate) struct Chart {
    name: String,
    /// `appVersion`, else `version`.
    version: String,
    values: Value,
}

/// The chart folder of a template (`<chart>/templates/…`), when the folder has a `Chart.yaml`.
pub(crate) fn chart_dir(tree: &Tree<'_>, path: &str) -> Option<String> {
    let segs: Vec<&str> = path.split('/').collect();
    (0..segs.len().saturating_sub(1)).rev().filter(|i| segs[*i] == "templates").map(|i| segs[..i].join("/")).find(|d| tree.has_file(d, "Chart.yaml"))
}

fn first_doc(tree: &Tree<'_>, path: &str) -> Option<Value> {
    let text = tree.read(path).ok().flatten()?;
    portico_model::yaml::parse_documents(&text).ok()?.into_iter().next()
}

impl Chart {
    pub fn load(tree: &Tree<'_>, dir: &str) -> Option<Chart> {
        let meta = first_doc(tree, &join(dir, "Chart.yaml"))?;
        let folder = if dir.is_empty() { "chart" } else { file_name(dir) };
        let name = meta.get("name").and_then(Value::as_str).unwrap_or(folder).to_owned();
        let version = ["appVersion", "version"].iter().find_map(|k| meta.get(*k).and_then(Value::as_str)).unwrap_or("latest").to_owned();
        let values = first_doc(tree, &join(dir, "values.yaml")).unwrap_or(Value::Null);
        Some(Chart { name, version, values })
    }

    /// The template with directives resolved or dropped.
    pub fn render(&self, text: &str) -> String {
        let text = COMMENT.replace_all(text, "");
        let mut out = String::with_capacity(text.len());
        for line in text.lines() {
            if !line.contains("{{") {
                out.push_str(line);
                out.push('\n');
                continue;
            }
            if DIRECTIVE.replace_all(line, "").trim().is_empty() {
                continue;
            }
            out.push_str(&DIRECTIVE.replace_all(line, |c: &regex::Captures<'_>| self.eval(&c[1])));
            out.push('\n');
        }
        out
    }

    fn lookup(&self, word: &str) -> String {
        let word = word.trim_start_matches('$');
        if let Some(path) = word.strip_prefix(".Values.") {
            let pointer: String = path.split('.').map(|s| format!("/{s}")).collect();
            return match self.values.pointer(&pointer) {
                Some(Value::String(s)) => s.clone(),
                Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
                _ => String::new(),
            };
        }
        match word {
            ".Chart.Name" | ".Release.Name" => self.name.clone(),
            ".Release.Namespace" => "default".to_owned(),
            ".Chart.AppVersion" | ".Chart.Version" => self.version.clone(),
            _ => String::new(),
        }
    }

    /// A word's value: a quoted literal, a reference, or nothing.
    fn word(&self, word: &str) -> String {
        if word.len() >= 2 && word.starts_with('"') && word.ends_with('"') {
            return word[1..word.len() - 1].to_owned();
        }
        if word.starts_with('.') || word.starts_with("$.") { self.lookup(word) } else { String::new() }
    }

    fn eval(&self, expr: &str) -> String {
        let mut value = String::new();
        for (i, stage) in expr.split('|').enumerate() {
            let words: Vec<&str> = WORD.find_iter(stage).map(|m| m.as_str()).collect();
            let Some(head) = words.first() else { continue };
            let arg = |n: usize| words.get(n).map(|w| self.word(w));
            value = match *head {
                "default" => {
                    let given = if i == 0 { arg(2).unwrap_or_default() } else { value };
                    if given.is_empty() { arg(1).unwrap_or_default() } else { given }
                }
                "quote" | "squote" => format!("\"{}\"", if i == 0 { arg(1).unwrap_or_default() } else { value }),
                "lower" => value.to_lowercase(),
                "upper" => value.to_uppercase(),
                "include" | "template" => self.name.clone(),
                "trunc" | "trimSuffix" | "trimPrefix" | "trim" => value,
                w if i == 0 => self.word(w),
                _ => String::new(),
            };
        }
        value
    }
}

static COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)\{\{-?\s*/\*.*?\*/\s*-?\}\}").unwrap());
static DIRECTIVE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\{\{-?(.*?)-?\}\}").unwrap());
static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r#""[^"]*"|[^\s()]+"#).unwrap());

/// The documents of a rendered template, split at `---` lines.
pub(crate) fn documents(text: &str) -> impl Iterator<Item = &str> {
    text.split("\n---").map(|d| d.trim_start_matches('-')).filter(|d| !d.trim().is_empty())
}
