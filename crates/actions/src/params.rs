//! A template's parameters: checked on the server against every page's JSON Schema (draft 7,
//! as Backstage's form uses; `ui:*` hints are not keywords and are ignored), defaults filled in,
//! and `--param key=value` pairs from the command line read with the types the schema gives.

use portico_model::FieldError;
use serde_json::{Map, Value};

use crate::template::Page;

/// Compiles one page's schema (draft 7, no remote `$ref`s).
pub fn compile(schema: &Value) -> Result<jsonschema::Validator, String> {
    jsonschema::options().with_draft(jsonschema::Draft::Draft7).build(schema).map_err(|e| e.to_string())
}

/// Every property of every page, with the page it is on (first page first).
pub fn properties(pages: &[Page]) -> Vec<(&str, &Value)> {
    pages.iter().flat_map(|p| p.schema.get("properties").and_then(Value::as_object).into_iter().flatten()).map(|(k, v)| (k.as_str(), v)).collect()
}

/// `parameters` with each page's top-level `default`s filled in where a value is missing.
pub fn with_defaults(pages: &[Page], parameters: &Value) -> Value {
    let mut out = parameters.as_object().cloned().unwrap_or_default();
    for (name, schema) in properties(pages) {
        if let (false, Some(d)) = (out.contains_key(name), schema.get("default")) {
            out.insert(name.to_owned(), d.clone());
        }
    }
    Value::Object(out)
}

/// Checks `parameters` against every page: every problem, by parameter (`parameters.name`).
pub fn validate(pages: &[Page], parameters: &Value) -> Result<(), Vec<FieldError>> {
    if !parameters.is_object() {
        return Err(vec![FieldError::new("parameters", "must be an object of parameter values")]);
    }
    let mut errors = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        let validator = match compile(&page.schema) {
            Ok(v) => v,
            Err(e) => {
                errors.push(FieldError::new(format!("spec.parameters[{i}]"), format!("is not a valid JSON Schema: {e}")));
                continue;
            }
        };
        for e in validator.iter_errors(parameters) {
            let at = portico_model::pointer_to_path(e.instance_path().as_str());
            let path = if at.is_empty() { "parameters".to_owned() } else { format!("parameters.{at}") };
            let title = page.title.as_deref().map(|t| format!(" (page {:?})", t)).unwrap_or_default();
            errors.push(FieldError::new(path, format!("{}{title}", e.masked())));
        }
    }
    if errors.is_empty() { Ok(()) } else { Err(errors) }
}

/// Reads `key=value` pairs as parameters, each value with the type its property declares: a
/// boolean (`true`/`false`), a number, an array (a JSON array, or items separated by commas),
/// an object (JSON), else a string. A key no page declares is an error naming the known ones.
pub fn from_pairs(pages: &[Page], pairs: &[String]) -> Result<Value, String> {
    let props = properties(pages);
    let mut out = Map::new();
    for pair in pairs {
        let Some((key, raw)) = pair.split_once('=') else {
            return Err(format!("--param {pair:?}: expected key=value"));
        };
        let Some((_, schema)) = props.iter().find(|(k, _)| *k == key) else {
            let known: Vec<&str> = props.iter().map(|(k, _)| *k).collect();
            return Err(format!("--param {key}: the template has no parameter {key:?}; its parameters: {}", if known.is_empty() { "none".into() } else { known.join(", ") }));
        };
        let value = typed(schema, raw).map_err(|e| format!("--param {key}: {e}"))?;
        out.insert(key.to_owned(), value);
    }
    Ok(Value::Object(out))
}

fn typed(schema: &Value, raw: &str) -> Result<Value, String> {
    let kind = schema.get("type").and_then(Value::as_str).unwrap_or("string");
    Ok(match kind {
        "boolean" => match raw {
            "true" | "yes" => Value::Bool(true),
            "false" | "no" => Value::Bool(false),
            _ => return Err(format!("{raw:?} is not true or false")),
        },
        "integer" | "number" => serde_json::from_str::<serde_json::Number>(raw).map(Value::Number).map_err(|_| format!("{raw:?} is not a number"))?,
        "array" if raw.trim_start().starts_with('[') => serde_json::from_str(raw).map_err(|e| format!("not a JSON array: {e}"))?,
        "array" => {
            let item = schema.get("items").cloned().unwrap_or(Value::Null);
            let items: Result<Vec<Value>, String> = raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| typed(&item, s)).collect();
            Value::Array(items?)
        }
        "object" => serde_json::from_str(raw).map_err(|e| format!("not a JSON object: {e}"))?,
        _ => Value::String(raw.to_owned()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pages() -> Vec<Page> {
        let schema = json!({"required": ["name"], "properties": {
            "name": {"type": "string", "pattern": "^[a-z-]+$", "ui:autofocus": true},
            "public": {"type": "boolean", "default": false},
            "replicas": {"type": "integer", "minimum": 1},
            "topics": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "uniqueItems": true},
            "kind": {"type": "string"}
        }, "dependencies": {"kind": {"required": ["replicas"]}}});
        vec![Page { title: Some("Basics".into()), description: None, schema }]
    }

    #[test]
    fn pairs_take_the_schema_types() {
        let v = from_pairs(&pages(), &["name=cart".into(), "public=true".into(), "replicas=3".into(), "topics=a, b".into()]).unwrap();
        assert_eq!(v, json!({"name": "cart", "public": true, "replicas": 3, "topics": ["a", "b"]}));
        let e = from_pairs(&pages(), &["nmae=x".into()]).unwrap_err();
        assert!(e.contains("no parameter \"nmae\"") && e.contains("name, public"), "{e}");
        assert!(from_pairs(&pages(), &["public=maybe".into()]).unwrap_err().contains("not true or false"));
        assert!(from_pairs(&pages(), &["name".into()]).unwrap_err().contains("key=value"));
    }

    #[test]
    fn validation_names_the_parameter_and_page() {
        let errors = validate(&pages(), &json!({"name": "Not Valid", "replicas": 0, "topics": ["a", "c"]})).unwrap_err();
        let text: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(text.iter().any(|e| e.starts_with("parameters.name:") && e.contains("does not match") && e.contains("(page \"Basics\")")), "{text:?}");
        assert!(text.iter().any(|e| e.starts_with("parameters.replicas:")), "{text:?}");
        assert!(text.iter().any(|e| e.starts_with("parameters.topics[1]:")), "{text:?}");
        // Draft 7's `dependencies` is honoured.
        let errors = validate(&pages(), &json!({"name": "ok", "kind": "x"})).unwrap_err();
        assert!(errors[0].message.contains("replicas"), "{errors:?}");
        let missing = validate(&pages(), &json!({})).unwrap_err();
        assert_eq!(missing[0].path, "parameters");
        assert!(missing[0].message.contains("\"name\" is a required property"), "{missing:?}");
        assert!(validate(&pages(), &json!("x")).is_err());
        validate(&pages(), &json!({"name": "ok"})).unwrap();
    }

    #[test]
    fn defaults_fill_only_what_is_missing() {
        assert_eq!(with_defaults(&pages(), &json!({"name": "a"})), json!({"name": "a", "public": false}));
        assert_eq!(with_defaults(&pages(), &json!({"public": true}))["public"], json!(true));
    }
}
