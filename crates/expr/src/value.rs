//! Conversions between JSON (how entities are stored and served) and CEL values.

use std::collections::HashMap;
use std::sync::Arc;

use cel::objects::{Key, Map};
use cel::Value;
use serde_json::Value as Json;

/// A JSON value as a CEL value. Integers stay integers; other numbers become doubles.
pub fn from_json(v: &Json) -> Value {
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::UInt(u),
            _ => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Json::String(s) => Value::String(Arc::new(s.clone())),
        Json::Array(items) => Value::List(Arc::new(items.iter().map(from_json).collect())),
        Json::Object(fields) => map(fields.iter().map(|(k, v)| (k.as_str(), from_json(v)))),
    }
}

/// A CEL map with string keys.
pub fn map<'a>(fields: impl IntoIterator<Item = (&'a str, Value)>) -> Value {
    let map: HashMap<Key, Value> = fields.into_iter().map(|(k, v)| (Key::String(Arc::new(k.to_owned())), v)).collect();
    Value::Map(Map { map: Arc::new(map) })
}

/// A CEL value as JSON, for results. Timestamps become RFC 3339 strings, durations seconds
/// with an `s` suffix (CEL's own notation), bytes a list of numbers.
pub fn to_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.to_string()),
        Value::Bytes(b) => Json::Array(b.iter().map(|x| Json::from(*x)).collect()),
        Value::List(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Map(m) => {
            let mut out: Vec<(String, Json)> = m
                .map
                .iter()
                .map(|(k, v)| {
                    let k = match k {
                        Key::String(s) => s.to_string(),
                        Key::Int(i) => i.to_string(),
                        Key::Uint(u) => u.to_string(),
                        Key::Bool(b) => b.to_string(),
                    };
                    (k, to_json(v))
                })
                .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(out.into_iter().collect())
        }
        Value::Timestamp(t) => Json::String(t.to_rfc3339()),
        Value::Duration(d) => Json::String(format!("{}s", d.num_milliseconds() as f64 / 1000.0)),
        other => Json::String(format!("{other:?}")),
    }
}

/// The name of a value's type as CEL spells it, for messages.
pub fn type_name(v: &Value) -> String {
    v.type_of().to_string()
}

/// A map field by name.
pub fn get<'a>(v: &'a Value, field: &str) -> Option<&'a Value> {
    match v {
        Value::Map(m) => m.map.get(&Key::String(Arc::new(field.to_owned()))),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip() {
        let j = serde_json::json!({"a": [1, 2.5, "x", null, true], "b": {"c": -3}, "u": 18446744073709551615u64});
        assert_eq!(to_json(&from_json(&j)), j);
    }
}
