//! Backstage's predicate queries (`@backstage/filter-predicates`), the body `query` of
//! `POST /entities/by-query`, `POST /entity-facets` and `POST /entities/by-refs`:
//!
//! ```json
//! {"$all": [{"kind": "component"}, {"$not": {"spec.lifecycle": {"$in": ["experimental"]}}},
//!           {"relations": {"$contains": {"type": "ownedBy", "targetRef": "group:default/team-a"}}}]}
//! ```
//!
//! A predicate is `{$all: [..]}`, `{$any: [..]}`, `{$not: p}` (each the object's only key) or an
//! object of search keys (ANDed) whose values are a primitive (equal, case-insensitively),
//! `{$exists: bool}`, `{$in: [..]}`, `{$hasPrefix: s}` or `{$contains: x}` (an array item; on
//! `relations`, `{type, targetRef?}`). Keys are Backstage's search keys, as in filters. Each
//! node is answered from the read model's indexes as a bitmap.

use roaring::RoaringBitmap;
use serde_json::Value;

use crate::CatalogGraph;
use crate::filter::{FilterError, FilterStatement};

/// A parsed predicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Predicate {
    All(Vec<Predicate>),
    Any(Vec<Predicate>),
    Not(Box<Predicate>),
    /// A search key and its condition.
    Field(String, Condition),
}

/// The condition on one search key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// Equal to one of these (one for a primitive, several for `$in`).
    In(Vec<String>),
    Exists(bool),
    HasPrefix(String),
    /// `relations: {$contains: {type, targetRef?}}`: a relation of this type, to one of these.
    Relation { kind: String, targets: Option<Vec<String>> },
}

fn invalid(at: &str, message: impl std::fmt::Display) -> FilterError {
    let at = if at.is_empty() { String::new() } else { format!(" at \"{at}\"") };
    FilterError(format!("Invalid query: Validation error: {message}{at}"))
}

/// Most nodes one predicate may have (a guard like the filters' statement cap).
pub const MAX_NODES: usize = 10_000;

/// Parses a predicate; errors name the path of the offending part.
pub fn parse_predicate(value: &Value) -> Result<Predicate, FilterError> {
    let mut nodes = 0;
    parse(value, "", &mut nodes, 0)
}

fn parse(value: &Value, at: &str, nodes: &mut usize, depth: usize) -> Result<Predicate, FilterError> {
    *nodes += 1;
    if *nodes > MAX_NODES || depth > 64 {
        return Err(invalid(at, format!("the query is too large (more than {MAX_NODES} parts or 64 levels)")));
    }
    let Value::Object(map) = value else { return Err(invalid(at, "Expected object")) };
    let operator = map.keys().find(|k| k.starts_with('$')).cloned();
    if let Some(op) = operator {
        if map.len() > 1 {
            let others: Vec<String> = map.keys().filter(|k| **k != op).map(|k| format!("'{k}'")).collect();
            return Err(invalid(at, format!("Unrecognized key(s) in object: {}", others.join(", "))));
        }
        let inner = &map[&op];
        let here = |k: &str| if at.is_empty() { k.to_owned() } else { format!("{at}.{k}") };
        return match op.as_str() {
            "$all" | "$any" => {
                let Value::Array(items) = inner else { return Err(invalid(&here(&op), "Expected array")) };
                let parts = items.iter().enumerate().map(|(i, p)| parse(p, &format!("{}.{i}", here(&op)), nodes, depth + 1)).collect::<Result<Vec<_>, _>>()?;
                Ok(if op == "$all" { Predicate::All(parts) } else { Predicate::Any(parts) })
            }
            "$not" => Ok(Predicate::Not(Box::new(parse(inner, &here("$not"), nodes, depth + 1)?))),
            other => Err(invalid(at, format!("Unknown operator '{other}'"))),
        };
    }
    let mut parts = Vec::with_capacity(map.len());
    for (key, v) in map {
        let path = if at.is_empty() { key.clone() } else { format!("{at}.{key}") };
        if key.trim().is_empty() {
            return Err(invalid(&path, "Empty field name"));
        }
        parts.push(Predicate::Field(key.to_lowercase(), condition(key, v, &path)?));
    }
    Ok(if parts.len() == 1 { parts.pop().unwrap_or(Predicate::All(Vec::new())) } else { Predicate::All(parts) })
}

fn primitive(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn condition(key: &str, v: &Value, at: &str) -> Result<Condition, FilterError> {
    if let Some(p) = primitive(v) {
        return Ok(Condition::In(vec![p]));
    }
    let Value::Object(map) = v else { return Err(invalid(at, "Expected string, number, boolean or an operator object")) };
    if map.len() != 1 {
        return Err(invalid(at, "Expected exactly one of $exists, $in, $hasPrefix, $contains"));
    }
    let (op, arg) = map.iter().next().map(|(k, v)| (k.as_str(), v)).unwrap_or(("", &Value::Null));
    let here = format!("{at}.{op}");
    match op {
        "$exists" => arg.as_bool().map(Condition::Exists).ok_or_else(|| invalid(&here, "Expected boolean")),
        "$in" => {
            let Value::Array(items) = arg else { return Err(invalid(&here, "Expected array")) };
            items.iter().map(|i| primitive(i).ok_or_else(|| invalid(&here, "Expected string, number or boolean"))).collect::<Result<Vec<_>, _>>().map(Condition::In)
        }
        "$hasPrefix" => arg.as_str().map(|s| Condition::HasPrefix(s.to_owned())).ok_or_else(|| invalid(&here, "Expected string")),
        "$contains" => match arg {
            Value::Object(rel) => {
                if !key.eq_ignore_ascii_case("relations") {
                    return Err(FilterError(format!("Object form of $contains is not supported for field \"{key}\"")));
                }
                let Some(kind) = rel.get("type").and_then(Value::as_str) else {
                    return Err(FilterError(format!("The $contains operator for \"{key}\" requires a \"type\" string property")));
                };
                let targets = match rel.get("targetRef") {
                    None => None,
                    Some(Value::String(t)) => Some(vec![t.clone()]),
                    Some(Value::Object(o)) if o.len() == 1 && o.get("$in").is_some_and(Value::is_array) => Some(
                        o["$in"].as_array().into_iter().flatten().map(|t| t.as_str().map(str::to_owned).ok_or_else(|| invalid(&here, "Expected string"))).collect::<Result<_, _>>()?,
                    ),
                    Some(_) => return Err(invalid(&format!("{here}.targetRef"), "Expected string or {$in: [strings]}")),
                };
                Ok(Condition::Relation { kind: kind.to_owned(), targets })
            }
            other => primitive(other).map(|p| Condition::In(vec![p])).ok_or_else(|| invalid(&here, "Expected string, number, boolean or object")),
        },
        other => Err(invalid(at, format!("Unknown operator '{other}'"))),
    }
}

impl Predicate {
    /// Whether a record whose fields `value_of` reads (by lowercased key) matches; values
    /// compare case-insensitively. For records other than entities (locations).
    pub fn matches(&self, value_of: &dyn Fn(&str) -> Option<String>) -> bool {
        match self {
            Predicate::All(parts) => parts.iter().all(|p| p.matches(value_of)),
            Predicate::Any(parts) => parts.iter().any(|p| p.matches(value_of)),
            Predicate::Not(inner) => !inner.matches(value_of),
            Predicate::Field(key, condition) => {
                let value = value_of(key).map(|v| v.to_lowercase());
                match condition {
                    Condition::In(values) => value.is_some_and(|v| values.iter().any(|x| x.to_lowercase() == v)),
                    Condition::Exists(wanted) => value.is_some() == *wanted,
                    Condition::HasPrefix(prefix) => value.is_some_and(|v| v.starts_with(&prefix.to_lowercase())),
                    Condition::Relation { .. } => false,
                }
            }
        }
    }

    /// The search keys the predicate names, each once.
    pub fn keys(&self) -> Vec<&str> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            match p {
                Predicate::All(parts) | Predicate::Any(parts) => stack.extend(parts),
                Predicate::Not(inner) => stack.push(inner),
                Predicate::Field(key, _) => {
                    if !out.contains(&key.as_str()) {
                        out.push(key.as_str());
                    }
                }
            }
        }
        out
    }
}

impl CatalogGraph {
    /// The ids a predicate matches.
    pub fn predicate(&self, p: &Predicate) -> RoaringBitmap {
        self.predicate_masked(p, crate::query::Masked { present: &self.present, mask: None })
    }

    /// [`Self::predicate`] as a reader sees relations (none to entities it may not see).
    pub(crate) fn predicate_masked(&self, p: &Predicate, masked: crate::query::Masked<'_>) -> RoaringBitmap {
        let statement = |key: String, values: Option<Vec<String>>| self.statement_masked(&FilterStatement { key, values }, masked);
        match p {
            Predicate::All(parts) => {
                let mut acc = self.present.clone();
                for part in parts {
                    acc &= self.predicate_masked(part, masked);
                    if acc.is_empty() {
                        break;
                    }
                }
                acc
            }
            Predicate::Any(parts) => parts.iter().fold(RoaringBitmap::new(), |acc, part| acc | self.predicate_masked(part, masked)),
            Predicate::Not(inner) => &self.present - self.predicate_masked(inner, masked),
            Predicate::Field(key, condition) => match condition {
                Condition::In(values) => statement(key.clone(), Some(values.clone())),
                Condition::Exists(true) => statement(key.clone(), None),
                Condition::Exists(false) => &self.present - statement(key.clone(), None),
                Condition::HasPrefix(prefix) => self.fields.prefixed(key, prefix) & &self.present,
                Condition::Relation { kind, targets } => statement(format!("relations.{}", kind.to_lowercase()), targets.clone()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn records_match_case_insensitively() {
        let p = parse_predicate(&json!({"$all": [{"type": "URL"}, {"target": {"$hasPrefix": "HTTP://a"}}, {"$not": {"id": "x"}}, {"entityRef": {"$exists": false}}]})).unwrap();
        let record = |k: &str| match k {
            "type" => Some("url".to_owned()),
            "target" => Some("http://a/b.yaml".to_owned()),
            "id" => Some("y".to_owned()),
            _ => None,
        };
        assert!(p.matches(&record));
        assert!(!parse_predicate(&json!({"id": {"$in": ["x", "z"]}})).unwrap().matches(&record));
        let mut keys = p.keys();
        keys.sort();
        assert_eq!(keys, ["entityref", "id", "target", "type"]);
    }

    #[test]
    fn operators_parse_and_must_stand_alone() {
        let p = parse_predicate(&json!({"$all": [{"kind": "Component"}, {"$not": {"spec.lifecycle": {"$in": ["experimental", 1]}}}]})).unwrap();
        assert_eq!(
            p,
            Predicate::All(vec![
                Predicate::Field("kind".into(), Condition::In(vec!["Component".into()])),
                Predicate::Not(Box::new(Predicate::Field("spec.lifecycle".into(), Condition::In(vec!["experimental".into(), "1".into()])))),
            ])
        );
        assert_eq!(parse_predicate(&json!({})).unwrap(), Predicate::All(vec![]));
        let e = parse_predicate(&json!({"$all": [], "kind": "api"})).unwrap_err().0;
        assert!(e.contains("Unrecognized key(s) in object: 'kind'"), "{e}");
        let e = parse_predicate(&json!({"kind": {"$foo": 1}})).unwrap_err().0;
        assert!(e.starts_with("Invalid query: Validation error: ") && e.contains("$foo"), "{e}");
        let e = parse_predicate(&json!({"metadata.tags": {"$contains": {"type": "x"}}})).unwrap_err().0;
        assert_eq!(e, "Object form of $contains is not supported for field \"metadata.tags\"");
        let e = parse_predicate(&json!({"relations": {"$contains": {"targetRef": "x"}}})).unwrap_err().0;
        assert!(e.contains("requires a \"type\" string property"), "{e}");
        assert!(parse_predicate(&json!("kind")).is_err());
        assert!(parse_predicate(&json!({"$any": {"kind": "x"}})).unwrap_err().0.contains("Expected array at \"$any\""));
        let mut deep = json!({"kind": "x"});
        for _ in 0..100 {
            deep = json!({"$not": deep});
        }
        assert!(parse_predicate(&deep).unwrap_err().0.contains("too large"));
    }
}
