//! Backstage's placeholders: a mapping with the single key `$text`, `$json` or `$yaml` (and
//! `$openapi`/`$asyncapi`, read as text) is
//! replaced by the text, JSON or YAML found at the path or URL it names, resolved relative to
//! the file that holds it. Reading goes through the [`crate::Reader`]'s guards.

use serde_json::Value;

/// What a placeholder becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceholderKind {
    Text,
    Json,
    Yaml,
}

/// A placeholder found in a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// JSON pointer to the mapping to replace.
    pub pointer: String,
    pub kind: PlaceholderKind,
    pub target: String,
}

/// Every placeholder in a document, in document order. A mapping whose single key starts with
/// `$` but is not a known placeholder is left alone, as in Backstage.
pub fn find(value: &Value) -> Vec<Placeholder> {
    let mut out = Vec::new();
    walk(value, String::new(), &mut out);
    out
}

fn walk(v: &Value, pointer: String, out: &mut Vec<Placeholder>) {
    match v {
        Value::Object(map) => {
            if map.len() == 1 {
                let (k, target) = map.iter().next().expect("one entry");
                let kind = match k.as_str() {
                    "$text" => Some(PlaceholderKind::Text),
                    "$json" => Some(PlaceholderKind::Json),
                    "$yaml" => Some(PlaceholderKind::Yaml),
                    // Backstage's OpenAPI/AsyncAPI modules also bundle `$ref`s; Portico inlines
                    // the file as text, which is what the entity's `definition` holds.
                    "$openapi" | "$asyncapi" => Some(PlaceholderKind::Text),
                    _ => None,
                };
                if let (Some(kind), Some(target)) = (kind, target.as_str()) {
                    out.push(Placeholder { pointer, kind, target: target.to_owned() });
                    return;
                }
            }
            for (k, child) in map {
                walk(child, format!("{pointer}/{}", k.replace('~', "~0").replace('/', "~1")), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, format!("{pointer}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// Converts fetched text into the placeholder's value.
pub fn convert(kind: PlaceholderKind, text: String) -> Result<Value, String> {
    match kind {
        PlaceholderKind::Text => Ok(Value::String(text)),
        PlaceholderKind::Json => serde_json::from_str(&text).map_err(|e| format!("invalid JSON: {e}")),
        PlaceholderKind::Yaml => portico_model::yaml::parse_documents(&text)
            .map_err(|e| format!("invalid YAML: {e}"))
            .map(|mut docs| if docs.is_empty() { Value::Null } else { docs.swap_remove(0) }),
    }
}

/// Replaces the value at `pointer`.
pub fn replace(doc: &mut Value, pointer: &str, value: Value) {
    if let Some(slot) = doc.pointer_mut(pointer) {
        *slot = value;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_placeholders_anywhere_but_not_unknown_ones() {
        let doc = json!({"spec": {"definition": {"$text": "./a.yaml"}, "x": [{"$json": "b.json"}], "y": {"$other": "z"},
            "z": {"$text": "a", "extra": 1}}});
        let found = find(&doc);
        assert_eq!(found.len(), 2);
        let spec = json!({"definition": {"$openapi": "./api.yaml"}, "other": {"$asyncapi": "./events.yaml"}});
        assert!(find(&spec).iter().all(|p| p.kind == PlaceholderKind::Text));
        assert_eq!(find(&spec).len(), 2);
        assert_eq!(found[0].pointer, "/spec/definition");
        assert_eq!(found[1].pointer, "/spec/x/0");
        assert_eq!(found[1].kind, PlaceholderKind::Json);
    }

    #[test]
    fn converts_and_replaces() {
        let mut doc = json!({"spec": {"d": {"$yaml": "x"}}});
        let v = convert(PlaceholderKind::Yaml, "a: [1]\n".into()).unwrap();
        replace(&mut doc, "/spec/d", v);
        assert_eq!(doc, json!({"spec": {"d": {"a": [1]}}}));
        assert!(convert(PlaceholderKind::Json, "{".into()).unwrap_err().contains("invalid JSON"));
    }
}
