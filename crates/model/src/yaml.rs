//! YAML at the boundary: multi-document descriptor files parsed into JSON values with bounded
//! resources (size limit, alias-expansion limits against "billion laughs"), and, when a
//! document turns out to be invalid, the line and column of the offending field.
//!
//! The happy path parses straight into `serde_json::Value`; positions are only computed (by a
//! second, span-aware parse) for documents that have errors, so large catalogs pay nothing.

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_saphyr::Spanned;

/// Largest descriptor file accepted, in bytes.
pub const MAX_FILE_BYTES: usize = 8 * 1024 * 1024;
/// Largest number of events aliases may replay in one file.
const MAX_ALIAS_EVENTS: usize = 100_000;

/// A YAML syntax or limit error, with a 1-based position when known.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct YamlError {
    pub line: u64,
    pub column: u64,
    pub message: String,
}

fn options() -> serde_saphyr::Options {
    let mut aliases = serde_saphyr::options::AliasLimits::default();
    aliases.max_total_replayed_events = MAX_ALIAS_EVENTS;
    aliases.max_alias_expansions_per_anchor = 1_000;
    // YAML 1.2 core schema, as Backstage's parser: `yes`, `on`, `y` stay strings.
    serde_saphyr::options! { alias_limits: aliases, strict_booleans: true, }
}

fn convert(err: &serde_saphyr::Error) -> YamlError {
    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
    let message = err.without_snippet().to_string();
    // The crate appends the position to some messages; we print it in front instead.
    let message = message.split(" at line ").next().unwrap_or(&message).trim().to_owned();
    YamlError { line, column, message }
}

/// Parses every document of a YAML stream. Empty documents (`---` alone) are skipped.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, YamlError> {
    if text.len() > MAX_FILE_BYTES {
        return Err(YamlError {
            line: 0,
            column: 0,
            message: format!("file is {} bytes, over the limit of {MAX_FILE_BYTES} bytes", text.len()),
        });
    }
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options()).map_err(|e| convert(&e))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

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
    let docs: Vec<Spanned<Node>> = serde_saphyr::from_multiple_with_options(text, options()).ok()?;
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
