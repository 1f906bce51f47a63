//! JSON merge patches (RFC 7396): what an edit of an entity is. An object patch merges field by
//! field, `null` removes a field, anything else replaces. (Ten lines of a published algorithm:
//! not worth a dependency.)

use serde_json::Value;

/// Applies `patch` to `target`.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(fields) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(serde_json::Map::new());
    }
    let map = target.as_object_mut().expect("made an object above");
    for (key, value) in fields {
        if value.is_null() {
            map.remove(key);
        } else {
            merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
        }
    }
}

/// The patch that does what `first` then `second` do (for object patches: `second`'s fields
/// win, nested objects merge, its `null`s are kept so that they still remove).
pub fn compose(first: &Value, second: &Value) -> Value {
    match (first, second) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = a.clone();
            for (k, v) in b {
                let merged = match (out.get(k), v) {
                    (Some(old @ Value::Object(_)), Value::Object(_)) => compose(old, v),
                    _ => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        _ => second.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// The examples of RFC 7396, appendix A.
    #[test]
    fn the_rfc_examples() {
        let cases = [
            (json!({"a": "b"}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "b"}), json!({"b": "c"}), json!({"a": "b", "b": "c"})),
            (json!({"a": "b"}), json!({"a": null}), json!({})),
            (json!({"a": "b", "b": "c"}), json!({"a": null}), json!({"b": "c"})),
            (json!({"a": ["b"]}), json!({"a": "c"}), json!({"a": "c"})),
            (json!({"a": "c"}), json!({"a": ["b"]}), json!({"a": ["b"]})),
            (json!({"a": {"b": "c"}}), json!({"a": {"b": "d", "c": null}}), json!({"a": {"b": "d"}})),
            (json!({"a": [{"b": "c"}]}), json!({"a": [1]}), json!({"a": [1]})),
            (json!(["a", "b"]), json!(["c", "d"]), json!(["c", "d"])),
            (json!({"a": "b"}), json!(["c"]), json!(["c"])),
            (json!({"a": "foo"}), json!(null), json!(null)),
            (json!({"a": "foo"}), json!("bar"), json!("bar")),
            (json!({"e": null}), json!({"a": 1}), json!({"e": null, "a": 1})),
            (json!([1, 2]), json!({"a": "b", "c": null}), json!({"a": "b"})),
            (json!({}), json!({"a": {"bb": {"ccc": null}}}), json!({"a": {"bb": {}}})),
        ];
        for (mut target, patch, want) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, want, "{patch}");
        }
    }

    #[test]
    fn composed_patches_do_what_both_do() {
        let base = json!({"spec": {"ttl": "2026-12-10", "owner": "a", "tier": 1}});
        let (p1, p2) = (json!({"spec": {"ttl": "2026-12-17", "tier": null}}), json!({"spec": {"ttl": "2026-12-24", "owner": "b"}}));
        let (mut one_by_one, mut at_once) = (base.clone(), base);
        merge_patch(&mut one_by_one, &p1);
        merge_patch(&mut one_by_one, &p2);
        merge_patch(&mut at_once, &compose(&p1, &p2));
        assert_eq!(one_by_one, at_once);
        assert_eq!(at_once, json!({"spec": {"ttl": "2026-12-24", "owner": "b"}}));
    }
}
