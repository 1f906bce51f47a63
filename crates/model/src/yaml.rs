//! YAML at the boundary: multi-document descriptor files parsed into JSON values with bounded
//! resources (size limit, alias-expansion limits against "billion laughs"), and, when a
//! document turns out to be invalid, the line and column of the offending field.
//!
//! The happy path parses straight into `serde_json::Value`; positions are only computed (by a
//! second, span-aware parse) for documents that have errors, so large catalogs pay nothing.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// Limits on one YAML file: `catalog.limits` in `portico.yaml` (every limit is documented in
/// docs/reference/configuration.md). The defaults accept what real generated catalogs hold —
/// Backstage reads a 100,000-document file — while an alias bomb, a document that aliases make
/// huge, or a file of nested brackets still stops early, with an error naming the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct YamlLimits {
    /// Largest file read, in bytes (also for `$text`/`$yaml`/`$json` targets and URLs).
    pub max_file_bytes: usize,
    /// Most documents in one file.
    pub max_documents: usize,
    /// Most nodes (scalars, sequences, mappings) in one file.
    pub max_nodes: usize,
    /// Deepest nesting of sequences and mappings.
    pub max_depth: usize,
    /// Largest one document may be once its aliases are expanded, in bytes of text.
    pub max_entity_bytes: usize,
    /// How many times its own size a file may grow once aliases are expanded.
    pub max_alias_expansion: usize,
}

impl Default for YamlLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 32 << 20,
            max_documents: 200_000,
            max_nodes: 20_000_000,
            max_depth: 64,
            max_entity_bytes: 4 << 20,
            max_alias_expansion: 8,
        }
    }
}

static LIMITS: std::sync::RwLock<Option<YamlLimits>> = std::sync::RwLock::new(None);

/// Sets the limits every parse of this process uses (from the configuration, at start).
pub fn configure(limits: YamlLimits) {
    *LIMITS.write().unwrap_or_else(|e| e.into_inner()) = Some(limits);
}

/// The limits in force.
pub fn limits() -> YamlLimits {
    LIMITS.read().unwrap_or_else(|e| e.into_inner()).unwrap_or_default()
}

/// Largest descriptor file accepted by default, in bytes; see [`YamlLimits::max_file_bytes`].
pub const MAX_FILE_BYTES: usize = 32 << 20;

/// A YAML syntax or limit error, with a 1-based position when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct YamlError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

fn options(limits: &YamlLimits) -> serde_saphyr::Options {
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    aliases.max_total_replayed_events = limits.max_nodes / 4;
    aliases.max_alias_expansions_per_anchor = 1_000;
    let mut budget = serde_saphyr::Budget::default();
    budget.max_documents = limits.max_documents;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = limits.max_nodes.saturating_mul(3);
    budget.max_depth = limits.max_depth;
    budget.max_total_scalar_bytes = limits.max_file_bytes.saturating_mul(limits.max_alias_expansion.max(1));
    budget.max_reader_input_bytes = Some(limits.max_file_bytes);
    // YAML 1.2 core schema, as Backstage's parser: `yes`, `on`, `y` stay strings.
    serde_saphyr::options! { alias_limits: aliases, budget: Some(budget), strict_booleans: true, }
}

fn convert(err: &serde_saphyr::Error) -> YamlError {
    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
    let message = err.without_snippet().to_string();
    // The crate appends the position to some messages; we print it in front instead.
    let message = message.split(" at line ").next().unwrap_or(&message).trim().to_owned();
    YamlError { line, column, message: name_limit(message) }
}

/// The parser's budget messages, with the setting that raises the limit.
fn name_limit(message: String) -> String {
    let lower = message.to_ascii_lowercase();
    let setting = if lower.contains("document") && lower.contains("budget") {
        Some("maxDocuments")
    } else if lower.contains("node") && lower.contains("budget") {
        Some("maxNodes")
    } else if lower.contains("depth") {
        Some("maxDepth")
    } else {
        None
    };
    match setting {
        Some(s) => format!("{message} (limit: catalog.limits.{s})"),
        None => message,
    }
}

/// Parses every document of a YAML stream under the configured [`limits`]. Empty documents
/// (`---` alone) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    parse_documents_with(text, &limits())
}

/// Parses every document of a YAML stream under `limits`.
pub fn parse_documents_with(text: &str, limits: &YamlLimits) -> Result<Vec<Value>, YamlError> {
    if text.len() > limits.max_file_bytes {
        return Err(YamlError {
            line: 0,
            column: 0,
            message: format!("file is {} bytes, over the limit of {} bytes (catalog.limits.maxFileBytes)", text.len(), limits.max_file_bytes),
        });
    }
    let file_budget = text.len().max(1 << 20).saturating_mul(limits.max_alias_expansion.max(1));
    let docs: Vec<Sized> = expansion::measured(limits.max_entity_bytes, file_budget, || {
        serde_saphyr::from_multiple_with_options(text, options(limits)).map_err(|e| convert(&e))
    })?;
    Ok(docs.into_iter().map(|d| d.0).filter(|d| !d.is_null()).collect())
}

mod expansion;
use expansion::Sized;

/// A YAML node with positions, used only to locate errors.
enum Node {
    Scalar,
    Seq(Vec<Spanned<Node>>),
    Map(Vec<(String, Spanned<Node>)>),
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Node;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any YAML node")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_i128<E>(self, _: i128) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_u128<E>(self, _: u128) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_str<E>(self, _: &str) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_unit<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_none<E>(self) -> Result<Node, E> {
                Ok(Node::Scalar)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Spanned<Node>>()? {
                    items.push(item);
                }
                Ok(Node::Seq(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
                let mut entries = Vec::new();
                while let Some(key) = map.next_key::<Value>()? {
                    let key = match key {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    entries.push((key, map.next_value::<Spanned<Node>>()?));
                }
                Ok(Node::Map(entries))
            }
        }
        d.deserialize_any(V)
    }
}

/// The 1-based (line, column) of the field at `path` (as in [`crate::FieldError`]: `spec.owner`,
/// `metadata.tags[2]`, keys may contain dots) in the `index`-th non-empty document of `text`.
/// Falls back to the closest enclosing node that exists, then to the document itself.
pub fn locate(text: &str, index: usize, path: &str) -> Option<(u64, u64)> {
    let docs: Vec<Spanned<Node>> = serde_saphyr::from_multiple_with_options(text, options(&limits())).ok()?;
    let doc = docs.iter().filter(|d| !matches!(d.value, Node::Scalar)).nth(index)?;
    let mut node = doc;
    let mut rest = path;
    let at = |n: &Spanned<Node>| (n.referenced.line(), n.referenced.column());
    while !rest.is_empty() {
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if let Some(r) = rest.strip_prefix('[') {
            let (num, tail) = r.split_once(']')?;
            let i: usize = num.parse().ok()?;
            match &node.value {
                Node::Seq(items) if i < items.len() => node = &items[i],
                _ => return Some(at(node)),
            }
            rest = tail;
            continue;
        }
        let Node::Map(entries) = &node.value else { return Some(at(node)) };
        // Longest key that matches the start of the remaining path at a segment boundary.
        let found = entries
            .iter()
            .filter(|(k, _)| {
                rest.starts_with(k.as_str())
                    && matches!(rest.as_bytes().get(k.len()), None | Some(b'.') | Some(b'['))
            })
            .max_by_key(|(k, _)| k.len());
        match found {
            Some((k, child)) => {
                node = child;
                rest = &rest[k.len()..];
            }
            None => return Some(at(node)),
        }
    }
    Some(at(node))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_multiple_documents_and_skips_empty_ones() {
        let docs = parse_documents("a: 1\n---\n---\nb: [x, y]\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["b"][1], "y");
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let err = parse_documents("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }

    #[test]
    fn alias_bombs_are_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"));
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.to_lowercase().contains("alias") || err.message.contains("limit"), "{err}");
    }

    #[test]
    fn huge_files_are_rejected_before_parsing() {
        let text = "x".repeat(MAX_FILE_BYTES + 1);
        assert!(parse_documents(&text).unwrap_err().message.contains("over the limit"));
    }

    /// A generated file of 100,000 documents (Backstage reads such files; 1,024 was the limit).
    #[test]
    fn a_file_of_a_hundred_thousand_documents_parses() {
        let mut text = String::new();
        for i in 0..100_000 {
            text.push_str(&format!("---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c-{i}\n  tags: [a, b]\nspec:\n  type: service\n  lifecycle: production\n  owner: team-{}\n", i % 50));
        }
        let docs = parse_documents(&text).unwrap();
        assert_eq!(docs.len(), 100_000);
        assert_eq!(docs[99_999]["metadata"]["name"], "c-99999");
        let few = YamlLimits { max_documents: 10, ..YamlLimits::default() };
        let err = parse_documents_with(&text, &few).unwrap_err();
        assert!(err.message.contains("catalog.limits.maxDocuments"), "{err}");
    }

    /// 1 MB of anchors became a 61 MB entity.
    #[test]
    fn aliases_may_not_grow_a_document_past_the_entity_limit() {
        let big = "x".repeat(1 << 20);
        let mut text = format!("kind: Component\nmetadata:\n  name: a\n  description: &d {big}\nspec:\n  many:\n");
        for _ in 0..60 {
            text.push_str("    - *d\n");
        }
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("the limit for one document is 4.0 MiB") && err.message.contains("maxEntityBytes"), "{err}");
        // Small anchors reused across documents of a file are fine.
        let ok = "a: &x {k: v}\nb: *x\n---\nc: &y [1, 2]\nd: *y\n";
        assert_eq!(parse_documents(ok).unwrap().len(), 2);
    }

    #[test]
    fn aliases_may_not_grow_a_file_past_its_expansion_limit() {
        // Many documents, each under the entity limit, together far larger than the file.
        let anchor = "y".repeat(100_000);
        let mut text = String::new();
        for i in 0..40 {
            text.push_str(&format!("---\nname: d{i}\nv: &a {anchor}\nw: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"));
        }
        let limits = YamlLimits { max_alias_expansion: 8, ..YamlLimits::default() };
        let err = parse_documents_with(&text, &limits).unwrap_err();
        assert!(err.message.contains("maxAliasExpansion"), "{err}");
    }

    #[test]
    fn locates_nested_fields_and_dotted_keys() {
        let text = "kind: A\n---\nkind: B\nmetadata:\n  annotations:\n    backstage.io/x: y\n  tags:\n    - ok\n    - Bad Tag\n";
        assert_eq!(locate(text, 1, "metadata.tags[1]"), Some((9, 7)));
        assert_eq!(locate(text, 1, "metadata.annotations.backstage.io/x"), Some((6, 21)));
        assert_eq!(locate(text, 1, "spec.owner").map(|p| p.0), Some(3));
    }
}

#[cfg(test)]
mod regression {
    /// `y`, `yes`, `on` were read as booleans (YAML 1.1); Backstage's parser keeps them strings.
    #[test]
    fn yaml_1_1_booleans_stay_strings() {
        let docs = super::parse_documents("a: [y, yes, on, no]\nb: true\n").unwrap();
        assert_eq!(docs[0]["a"], serde_json::json!(["y", "yes", "on", "no"]));
        assert_eq!(docs[0]["b"], serde_json::json!(true));
    }
}
