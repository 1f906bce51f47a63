//! Field-level differences between two versions of an entity: which dotted paths were added,
//! removed or changed. Objects are compared key by key; lists and scalars as wholes.

use serde_json::Value;

/// One changed field: absent `before` means added, absent `after` means removed.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldChange {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<Value>,
}

/// The fields that differ between `before` and `after`, in path order.
pub fn diff(before: &Value, after: &Value) -> Vec<FieldChange> {
    let mut out = Vec::new();
    walk("", before, after, &mut out);
    out
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") }
}

fn walk(path: &str, before: &Value, after: &Value, out: &mut Vec<FieldChange>) {
    match (before, after) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = join(path, k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => walk(&p, x, y, out),
                    (Some(x), None) => out.push(FieldChange { path: p, before: Some(x.clone()), after: None }),
                    (None, Some(y)) => out.push(FieldChange { path: p, before: None, after: Some(y.clone()) }),
                    (None, None) => {}
                }
            }
        }
        (a, b) if a != b => out.push(FieldChange { path: path.to_owned(), before: Some(a.clone()), after: Some(b.clone()) }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_added_removed_and_changed_fields_by_path() {
        let a = json!({"metadata": {"name": "cart", "tags": ["a"], "title": "Cart"}, "spec": {"owner": "team-a"}});
        let b = json!({"metadata": {"name": "cart", "tags": ["a", "b"], "description": "x"}, "spec": {"owner": "team-b"}});
        let d = diff(&a, &b);
        let paths: Vec<&str> = d.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(paths, ["metadata.description", "metadata.tags", "metadata.title", "spec.owner"]);
        assert_eq!(d[0].before, None);
        assert_eq!(d[2].after, None);
        assert_eq!(d[3].after, Some(json!("team-b")));
    }

    #[test]
    fn identical_values_have_no_differences() {
        let a = json!({"a": [1, {"b": 2}]});
        assert!(diff(&a, &a.clone()).is_empty());
    }
}
