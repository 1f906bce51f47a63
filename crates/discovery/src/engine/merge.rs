//! Merging contributions into one entity, with per-field provenance.
//!
//! Contributions are ranked by evidence (declared > observed > inferred), then by the source's
//! configured priority (higher first), then by source name. The merged document is built by
//! walking them from the strongest down: objects merge field by field, and a scalar or a list
//! is taken from the strongest contribution that has it; the weaker values it hides are kept
//! in the provenance as `overridden`. Lists at set-like paths (`metadata.tags`,
//! `spec.dependsOn`, `spec.providesApis`…) are the union of every contribution's.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use super::Evidence;

/// Lists that mean a set: every source's items count.
const UNION_PATHS: &[&str] = &[
    "metadata.tags",
    "spec.dependsOn",
    "spec.dependencyOf",
    "spec.providesApis",
    "spec.consumesApis",
    "spec.memberOf",
    "spec.members",
    "spec.children",
];

/// One contribution as the merge sees it.
#[derive(Debug, Clone)]
pub struct Part<'a> {
    pub source: &'a str,
    pub priority: i32,
    pub evidence: Evidence,
    pub location: &'a str,
    pub updated_at: i64,
    pub document: &'a Value,
}

/// Who set one field of a merged entity.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldProvenance {
    /// Dotted path (`spec.owner`, `metadata.annotations.backstage.io/techdocs-ref`).
    pub path: String,
    pub source: String,
    pub evidence: Evidence,
    pub location: String,
    /// When the field got its current value from this source (ms).
    pub set_at: i64,
    /// Other sources that contributed to a set-like list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
    /// Weaker sources whose different value this one hides.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overridden: Vec<Overridden>,
    /// A short hash of the value, to keep `set_at` across runs while it stays the same.
    #[serde(default)]
    pub value_hash: String,
    /// The files and lines inside `location` that set the value, when the source says
    /// (`docker-compose.yml:14 DATABASE_URL` for an inferred dependency).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Overridden {
    pub source: String,
    pub evidence: Evidence,
    pub value: Value,
}

/// Ranks parts strongest first.
pub fn rank(parts: &mut [Part<'_>]) {
    parts.sort_by(|a, b| {
        b.evidence.cmp(&a.evidence).then(b.priority.cmp(&a.priority)).then(a.source.cmp(b.source))
    });
}

/// Merges ranked parts (see [`rank`]). `previous` is the provenance stored for the entity
/// before, so that an unchanged field keeps the time it was set.
pub fn merge(parts: &[Part<'_>], previous: &[FieldProvenance], now: i64) -> (Value, Vec<FieldProvenance>) {
    let mut merged = Value::Object(Map::new());
    let mut fields: BTreeMap<String, FieldProvenance> = BTreeMap::new();
    for part in parts {
        let mut path = String::new();
        merge_into(&mut merged, part.document, part, &mut path, &mut fields);
    }
    let before: BTreeMap<&str, &FieldProvenance> = previous.iter().map(|f| (f.path.as_str(), f)).collect();
    let fields = fields
        .into_values()
        .map(|mut f| {
            let value = select(&merged, &f.path);
            f.value_hash = short_hash(&value);
            f.set_at = match before.get(f.path.as_str()) {
                Some(old) if old.source == f.source && old.value_hash == f.value_hash => old.set_at,
                _ => f.set_at.min(now),
            };
            f
        })
        .collect();
    (merged, fields)
}

fn merge_into(
    target: &mut Value,
    value: &Value,
    part: &Part<'_>,
    path: &mut String,
    fields: &mut BTreeMap<String, FieldProvenance>,
) {
    match (target, value) {
        (Value::Object(t), Value::Object(v)) => {
            for (k, child) in v {
                if child.is_null() {
                    continue;
                }
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                match t.get_mut(k) {
                    None => {
                        t.insert(k.clone(), child.clone());
                        record_new(child, part, path.as_str(), fields);
                    }
                    Some(existing) => merge_into(existing, child, part, path, fields),
                }
                path.truncate(len);
            }
        }
        (Value::Array(t), Value::Array(v)) if UNION_PATHS.contains(&path.as_str()) => {
            let mut added = false;
            for item in v {
                if !t.contains(item) {
                    t.push(item.clone());
                    added = true;
                }
            }
            if let Some(f) = fields.get_mut(path.as_str())
                && f.source != part.source
                && !f.also.iter().any(|s| s == part.source)
                && (added || !v.is_empty())
            {
                f.also.push(part.source.to_owned());
            }
        }
        (existing, v) => {
            if existing != v
                && let Some(f) = fields.get_mut(path.as_str())
                && f.source != part.source
            {
                f.overridden.push(Overridden { source: part.source.to_owned(), evidence: part.evidence, value: v.clone() });
            }
        }
    }
}

/// Records provenance for a value newly placed at `path`: one entry per leaf.
fn record_new(value: &Value, part: &Part<'_>, path: &str, fields: &mut BTreeMap<String, FieldProvenance>) {
    leaves(value, path, &mut |leaf, _| {
        fields.insert(leaf.to_owned(), FieldProvenance {
            path: leaf.to_owned(),
            source: part.source.to_owned(),
            evidence: part.evidence,
            location: part.location.to_owned(),
            set_at: part.updated_at,
            also: Vec::new(),
            overridden: Vec::new(),
            value_hash: String::new(),
            lines: Vec::new(),
        });
    });
}

/// Calls `f` with the dotted path and value of every leaf under `value` (objects are walked;
/// lists, scalars and empty objects are leaves).
pub fn leaves(value: &Value, prefix: &str, f: &mut dyn FnMut(&str, &Value)) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (k, child) in map {
                let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                leaves(child, &path, f);
            }
        }
        _ => f(prefix, value),
    }
}

/// The value at a dotted provenance path. Keys may themselves contain dots
/// (`backstage.io/techdocs-ref`), so each step tries the longest key that exists.
pub fn select(root: &Value, path: &str) -> Value {
    let mut node = root;
    let mut rest = path;
    'outer: while !rest.is_empty() {
        let Value::Object(map) = node else { return Value::Null };
        let mut end = rest.len();
        loop {
            let key = &rest[..end];
            if let Some(child) = map.get(key) {
                node = child;
                rest = rest.get(end + 1..).unwrap_or("");
                continue 'outer;
            }
            match rest[..end].rfind('.') {
                Some(i) => end = i,
                None => return Value::Null,
            }
        }
    }
    node.clone()
}

fn short_hash(v: &Value) -> String {
    portico_model::hash::content_hash(&portico_model::hash::Sorted(v))[..16].to_owned()
}

/// Provenance as the API returns it.
pub fn provenance_json(fields: &[FieldProvenance]) -> Value {
    json!(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part<'a>(source: &'a str, evidence: Evidence, doc: &'a Value) -> Part<'a> {
        Part { source, priority: 0, evidence, location: "here", updated_at: 5, document: doc }
    }

    #[test]
    fn declared_beats_observed_beats_inferred_and_hidden_values_are_kept() {
        let declared = json!({"kind": "Component", "metadata": {"name": "cart"}, "spec": {"owner": "team-a", "dependsOn": ["resource:default/db"]}});
        let observed = json!({"kind": "Component", "metadata": {"name": "cart"}, "spec": {"owner": "team-k8s"}, "status": {"facts": {"k8s.replicas": 3}}});
        let inferred = json!({"kind": "Component", "metadata": {"name": "cart", "description": "Cart"}, "spec": {"owner": "team-b", "type": "service", "dependsOn": ["component:default/redis"]}});
        let mut parts = vec![part("git-infer", Evidence::Inferred, &inferred), part("k8s", Evidence::Observed, &observed), part("git", Evidence::Declared, &declared)];
        rank(&mut parts);
        let (merged, fields) = merge(&parts, &[], 10);
        assert_eq!(merged["spec"]["owner"], "team-a");
        assert_eq!(merged["spec"]["type"], "service");
        assert_eq!(merged["metadata"]["description"], "Cart");
        assert_eq!(merged["status"]["facts"]["k8s.replicas"], 3);
        assert_eq!(merged["spec"]["dependsOn"], json!(["resource:default/db", "component:default/redis"]));
        let owner = fields.iter().find(|f| f.path == "spec.owner").unwrap();
        assert_eq!((owner.source.as_str(), owner.evidence), ("git", Evidence::Declared));
        let hidden: Vec<&str> = owner.overridden.iter().map(|o| o.source.as_str()).collect();
        assert_eq!(hidden, ["k8s", "git-infer"]);
        let deps = fields.iter().find(|f| f.path == "spec.dependsOn").unwrap();
        assert_eq!(deps.also, ["git-infer"]);
        let facts = fields.iter().find(|f| f.path == "status.facts.k8s.replicas").unwrap();
        assert_eq!(facts.source, "k8s");
        assert_eq!(select(&merged, "status.facts.k8s.replicas"), json!(3));
    }

    #[test]
    fn priority_breaks_ties_within_a_class_and_unchanged_fields_keep_their_time() {
        let a = json!({"kind": "Group", "metadata": {"name": "x"}, "spec": {"type": "team"}});
        let b = json!({"kind": "Group", "metadata": {"name": "x"}, "spec": {"type": "department"}});
        let mut parts = vec![part("a", Evidence::Observed, &a), Part { priority: 5, ..part("b", Evidence::Observed, &b) }];
        rank(&mut parts);
        let (merged, first) = merge(&parts, &[], 10);
        assert_eq!(merged["spec"]["type"], "department");
        let (_, second) = merge(&parts, &first, 99);
        let t = |f: &[FieldProvenance]| f.iter().find(|f| f.path == "spec.type").unwrap().set_at;
        assert_eq!(t(&first), 5);
        assert_eq!(t(&second), 5, "same value, same source: the time it was set stays");
    }

    #[test]
    fn dotted_keys_are_selected() {
        let v = json!({"metadata": {"annotations": {"backstage.io/techdocs-ref": "dir:."}}});
        assert_eq!(select(&v, "metadata.annotations.backstage.io/techdocs-ref"), json!("dir:."));
        assert_eq!(select(&v, "metadata.nope"), Value::Null);
    }
}
