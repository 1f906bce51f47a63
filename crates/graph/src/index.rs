//! Backstage's search keys: every leaf of an entity becomes a `(path, value)` pair with the path
//! and value lowercased (`spec.owner` = `team-a`, `metadata.tags` = `java`); each string in a list
//! also yields `path.item` = `true`. Filters match on these pairs exactly as Backstage's
//! `search` table does.

use rustc_hash::FxHashMap as HashMap;
use std::sync::Arc;

use portico_model::Entity;
use roaring::RoaringBitmap;
use serde_json::Value;

use crate::Id;

/// Values longer than this are not indexed (as in Backstage).
pub(crate) const MAX_VALUE_LEN: usize = 200;

pub(crate) struct Posting {
    /// The value as first seen, when its case differs from the lowercased key (for facets).
    pub original: Option<Box<str>>,
    pub ids: IdSet,
    /// The ids whose pair is not exactly the first-seen spelling of the path and the value as a
    /// plain string field: another case, a list item, a number, a key with a dot in it. The
    /// other ids have exactly that string there, which lets equality be answered exactly
    /// (case-sensitively, as the expression language compares) from the index alone.
    pub inexact: Inexact,
}

/// The ids of a posting. Most postings hold one id (names, uids, descriptions, slugs: a few
/// hundred thousand of them in a large catalog); a bitmap for each cost some 100 bytes apiece,
/// so one id is kept inline.
#[derive(Debug, Clone)]
pub(crate) enum IdSet {
    One(Id),
    Many(RoaringBitmap),
}

impl IdSet {
    pub fn insert(&mut self, id: Id) -> bool {
        match self {
            IdSet::One(x) if *x == id => false,
            IdSet::One(x) => {
                *self = IdSet::Many(RoaringBitmap::from_iter([*x, id]));
                true
            }
            IdSet::Many(ids) => ids.insert(id),
        }
    }

    pub fn remove(&mut self, id: Id) -> bool {
        match self {
            IdSet::One(x) if *x == id => {
                *self = IdSet::Many(RoaringBitmap::new());
                true
            }
            IdSet::One(_) => false,
            IdSet::Many(ids) => ids.remove(id),
        }
    }

    pub fn len(&self) -> u64 {
        match self {
            IdSet::One(_) => 1,
            IdSet::Many(ids) => ids.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn to_bitmap(&self) -> RoaringBitmap {
        match self {
            IdSet::One(x) => RoaringBitmap::from_iter([*x]),
            IdSet::Many(ids) => ids.clone(),
        }
    }

    /// Adds these ids to `out`.
    pub fn union_into(&self, out: &mut RoaringBitmap) {
        match self {
            IdSet::One(x) => {
                out.insert(*x);
            }
            IdSet::Many(ids) => *out |= ids,
        }
    }

    pub fn intersection_len(&self, set: &RoaringBitmap) -> u64 {
        match self {
            IdSet::One(x) => u64::from(set.contains(*x)),
            IdSet::Many(ids) => ids.intersection_len(set),
        }
    }
}

/// Which ids of a posting are inexact, without copying `ids` when all are (list items, tags):
/// there are millions of postings.
#[derive(Debug, Default)]
pub(crate) enum Inexact {
    #[default]
    None,
    All,
    Some(Box<RoaringBitmap>),
}

impl Posting {
    /// Records the pair of `id` just added to `ids` (`added`: it was not there before) as exact
    /// or not.
    fn mark(&mut self, id: Id, added: bool, exact: bool) {
        match (exact, &mut self.inexact) {
            (true, Inexact::None | Inexact::Some(_)) => {}
            (true, Inexact::All) => {
                // Every id before this one was inexact (and this one too if it already had a pair).
                let mut before = self.ids.to_bitmap();
                if added {
                    before.remove(id);
                }
                self.inexact = Inexact::Some(Box::new(before));
            }
            (false, Inexact::All) => {}
            (false, Inexact::None) if self.ids.len() == 1 => self.inexact = Inexact::All,
            (false, Inexact::None) => self.inexact = Inexact::Some(Box::new(RoaringBitmap::from_iter([id]))),
            (false, Inexact::Some(ids)) => {
                ids.insert(id);
            }
        }
    }

    fn unmark(&mut self, id: Id) {
        if let Inexact::Some(ids) = &mut self.inexact {
            ids.remove(id);
            if ids.is_empty() {
                self.inexact = Inexact::None;
            }
        }
    }

    /// This posting's ids as an answer to equality with its first-seen spelling (`spelled`)
    /// or another one: only ids spelled otherwise can match another spelling.
    fn exact(&self, spelled: bool) -> Exact {
        let (sure, maybe) = match &self.inexact {
            Inexact::None => (self.ids.to_bitmap(), RoaringBitmap::new()),
            Inexact::All => (RoaringBitmap::new(), self.ids.to_bitmap()),
            Inexact::Some(inexact) => (&self.ids.to_bitmap() - &**inexact, (**inexact).clone()),
        };
        Exact { sure: if spelled { sure } else { RoaringBitmap::new() }, maybe }
    }
}

/// `path` (dot-joined, as indexed) as an expression writes it, or `None` when its segments
/// cannot be told apart (a key that is not a name outside the maps of labels and annotations).
fn expression_path(path: &str) -> Option<String> {
    let is_name = |s: &str| {
        let mut c = s.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    for map in ["metadata.annotations.", "metadata.labels."] {
        if let Some(key) = path.strip_prefix(map) {
            return Some(if is_name(key) { path.to_owned() } else { format!("{}['{}']", &map[..map.len() - 1], key.replace('\\', "\\\\").replace('\'', "\\'")) });
        }
    }
    path.split('.').all(is_name).then(|| path.to_owned())
}

#[derive(Default)]
pub(crate) struct FieldIndex {
    pub postings: HashMap<Arc<str>, HashMap<Box<str>, Posting>>,
    pub exists: HashMap<Arc<str>, RoaringBitmap>,
    /// Lowercased path → the interned key and the path as first seen.
    keys: HashMap<String, (Arc<str>, Box<str>)>,
}

/// The entities whose field surely has a value, and those that may have it (to be checked one
/// by one).
#[derive(Debug, Default, Clone)]
pub struct Exact {
    pub sure: RoaringBitmap,
    pub maybe: RoaringBitmap,
}

/// Calls `f(path, value)` for every leaf of an entity, Backstage style, without allocating per
/// leaf (one path buffer is reused). Walks the typed entity directly: this runs for every
/// entity at start, on ingest and on removal, and for full-text filters.
pub fn visit_leaves(entity: &Entity, f: &mut dyn FnMut(&str, &str)) {
    visit_typed_leaves(entity, &mut |k, v, _| f(k, v));
}

/// [`visit_leaves`], also saying whether the pair is plain: the path, read segment by segment,
/// leads to exactly this string (not a list item, a number, a `path.item` flag, or a key with a
/// dot in it).
fn visit_typed_leaves(entity: &Entity, f: &mut dyn FnMut(&str, &str, bool)) {
    let m = &entity.metadata;
    f("apiVersion", &entity.api_version, true);
    f("kind", &entity.kind, true);
    f("metadata.name", &m.name, true);
    f("metadata.namespace", &m.namespace, true);
    for (k, v) in [("metadata.uid", &m.uid), ("metadata.etag", &m.etag), ("metadata.title", &m.title), ("metadata.description", &m.description)] {
        if let Some(v) = v {
            f(k, v, true);
        }
    }
    let mut path = String::with_capacity(96);
    let mut with = |prefix: &str, key: &str, value: &str, plain: bool, f: &mut dyn FnMut(&str, &str, bool)| {
        path.clear();
        path.push_str(prefix);
        path.push_str(key);
        f(&path, value, plain && !key.contains('.'));
    };
    for (k, v) in &m.labels {
        with("metadata.labels.", k, v, true, f);
    }
    for (k, v) in &m.annotations {
        with("metadata.annotations.", k, v, true, f);
    }
    for t in &m.tags {
        f("metadata.tags", t, false);
        with("metadata.tags.", t, "true", false, f);
    }
    for l in &m.links {
        f("metadata.links.url", &l.url, false);
        for (k, v) in [("metadata.links.title", &l.title), ("metadata.links.icon", &l.icon), ("metadata.links.type", &l.link_type)] {
            if let Some(v) = v {
                f(k, v, false);
            }
        }
    }
    let mut path = String::with_capacity(96);
    let mut field = |prefix: &str, k: &str, v: &Value, f: &mut dyn FnMut(&str, &str, bool)| {
        path.clear();
        path.push_str(prefix);
        path.push_str(k);
        walk(&mut path, v, !k.contains('.'), f);
    };
    for (k, v) in &m.extra {
        field("metadata.", k, v, f);
    }
    if let Some(spec) = &entity.spec {
        for (k, v) in spec {
            field("spec.", k, v, f);
        }
    }
    for (k, v) in &entity.extra {
        if !matches!(k.as_str(), "relations" | "status" | "attachments") {
            field("", k, v, f);
        }
    }
}

fn walk(path: &mut String, v: &Value, plain: bool, f: &mut dyn FnMut(&str, &str, bool)) {
    match v {
        Value::Null => {}
        Value::Bool(b) => f(path, if *b { "true" } else { "false" }, false),
        Value::Number(n) => f(path, &n.to_string(), false),
        Value::String(s) => f(path, s, plain),
        Value::Array(items) => {
            for item in items {
                walk(path, item, false, f);
                if let Value::String(s) = item {
                    let len = path.len();
                    path.push('.');
                    path.push_str(s);
                    f(path, "true", false);
                    path.truncate(len);
                }
            }
        }
        Value::Object(map) => {
            for (k, child) in map {
                let len = path.len();
                path.push('.');
                path.push_str(k);
                walk(path, child, plain && !k.contains('.'), f);
                path.truncate(len);
            }
        }
    }
}

/// The first value at a lowercased search key, looked up directly where the path is typed or
/// in `spec` (no walk of the whole entity); used for ordering.
pub(crate) fn value_at(entity: &Entity, key: &str) -> Option<String> {
    let m = &entity.metadata;
    let direct = match key {
        "kind" => Some(entity.kind.as_str()),
        "apiversion" => Some(entity.api_version.as_str()),
        "metadata.name" => Some(m.name.as_str()),
        "metadata.namespace" => Some(m.namespace.as_str()),
        "metadata.title" => m.title.as_deref(),
        "metadata.description" => m.description.as_deref(),
        "metadata.uid" => m.uid.as_deref(),
        "metadata.tags" => m.tags.first().map(String::as_str),
        _ => None,
    };
    if let Some(v) = direct {
        return Some(v.to_lowercase());
    }
    if let Some(rest) = key.strip_prefix("spec.") {
        let mut segments = rest.split('.');
        let first_seg = segments.next()?;
        let mut node = entity.spec.as_ref()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(first_seg))?.1;
        for seg in segments {
            node = node.as_object()?.iter().find(|(k, _)| k.eq_ignore_ascii_case(seg))?.1;
        }
        let first = match node {
            Value::Array(items) => items.first()?,
            other => other,
        };
        return match first {
            Value::String(s) => Some(s.to_lowercase()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
    }
    let mut found = None;
    visit_leaves(entity, &mut |k, v| {
        if found.is_none() && k.eq_ignore_ascii_case(key) {
            found = Some(v.to_lowercase());
        }
    });
    found
}

impl FieldIndex {
    /// The interned lowercased key of a path, and whether the path is spelled as first seen.
    fn key(&mut self, path: &str) -> (Arc<str>, bool) {
        let lower = path.to_lowercase();
        if let Some((a, spelled)) = self.keys.get(&lower) {
            return (a.clone(), **spelled == *path);
        }
        let a: Arc<str> = Arc::from(lower.as_str());
        self.keys.insert(lower, (a.clone(), Box::from(path)));
        (a, true)
    }

    pub fn insert(&mut self, id: Id, entity: &Entity) {
        visit_typed_leaves(entity, &mut |k, v, plain| {
            if v.len() > MAX_VALUE_LEN {
                return;
            }
            let (key, key_spelled) = self.key(k);
            let lower = v.to_lowercase();
            let is_lower = lower == v;
            let values = self.postings.entry(key.clone()).or_default();
            let (posting, added) = match values.get_mut(lower.as_str()) {
                Some(p) => {
                    let added = p.ids.insert(id);
                    (p, added)
                }
                None => {
                    let original = (lower != v).then(|| Box::from(v));
                    let ids = IdSet::One(id);
                    (values.entry(lower.into_boxed_str()).or_insert(Posting { original, ids, inexact: Inexact::None }), true)
                }
            };
            let spelled = posting.original.as_deref().map_or(is_lower, |o| o == v);
            posting.mark(id, added, plain && key_spelled && spelled);
            self.exists.entry(key).or_default().insert(id);
        });
    }

    /// Removes an entity's pairs; `entity` must be the one that was inserted under `id`.
    pub fn remove(&mut self, id: Id, entity: &Entity) {
        visit_leaves(entity, &mut |k, v| {
            if v.len() > MAX_VALUE_LEN {
                return;
            }
            let lower_key = k.to_lowercase();
            let Some(key) = self.keys.get(&lower_key).map(|(a, _)| a.clone()) else { return };
            let lower = v.to_lowercase();
            if let Some(values) = self.postings.get_mut(&key) {
                if let Some(p) = values.get_mut(lower.as_str()) {
                    p.ids.remove(id);
                    p.unmark(id);
                    if p.ids.is_empty() {
                        values.remove(lower.as_str());
                    }
                }
                if values.is_empty() {
                    self.postings.remove(&key);
                }
            }
            if let Some(e) = self.exists.get_mut(&key) {
                e.remove(id);
                if e.is_empty() {
                    self.exists.remove(&key);
                }
            }
        });
    }

    /// Ids whose `key` has one of `values` (both compared lowercased).
    pub fn matching(&self, key: &str, values: &[String]) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        if let Some(map) = self.postings.get(key) {
            for v in values {
                if let Some(p) = map.get(v.to_lowercase().as_str()) {
                    p.ids.union_into(&mut out);
                }
            }
        }
        out
    }

    /// The entities whose field at `path` is exactly one of `values` (compared as the
    /// expression language does: case-sensitively, strings only), as far as the index knows:
    /// `sure` have it; `maybe` must be checked one by one. `None` when a value is too long to be
    /// indexed.
    pub fn exact(&self, path: &str, values: &[String]) -> Option<Exact> {
        let mut out = Exact::default();
        let Some((key, spelled)) = self.keys.get(&path.to_lowercase()) else { return Some(out) };
        let Some(map) = self.postings.get(key) else { return Some(out) };
        for v in values {
            if v.len() > MAX_VALUE_LEN {
                return None;
            }
            let lower = v.to_lowercase();
            let Some(p) = map.get(lower.as_str()) else { continue };
            let answer = p.exact(**spelled == *path && p.original.as_deref().map_or(lower == *v, |o| o == v));
            out.sure |= answer.sure;
            out.maybe |= answer.maybe;
        }
        out.maybe -= &out.sure;
        Some(out)
    }

    /// Field paths entities have, most common first, at most `max`, as an expression reads
    /// them: spelled as in the descriptors (`spec.memberOf`), map keys that are not names in
    /// brackets (`metadata.annotations['backstage.io/techdocs-ref']`).
    pub fn paths(&self, max: usize) -> Vec<String> {
        let mut all: Vec<(&Arc<str>, u64)> = self.exists.iter().map(|(k, ids)| (k, ids.len())).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        all.into_iter().filter_map(|(k, _)| expression_path(self.spelled(k).unwrap_or(k))).take(max).collect()
    }

    /// A (lowercased) path as the descriptors first spelled it.
    pub fn spelled(&self, path: &str) -> Option<&str> {
        self.keys.get(path).map(|(_, spelled)| &**spelled)
    }

    /// Whether some entity has the (lowercased) path as a field or below it.
    pub fn has_path(&self, path: &str) -> bool {
        self.exists.contains_key(path) || self.exists.keys().any(|k| k.len() > path.len() && k.starts_with(path) && k.as_bytes()[path.len()] == b'.')
    }

    /// Ids whose `key` has a value starting with `prefix` (both compared lowercased).
    pub fn prefixed(&self, key: &str, prefix: &str) -> RoaringBitmap {
        let mut out = RoaringBitmap::new();
        let prefix = prefix.to_lowercase();
        if let Some(map) = self.postings.get(key) {
            for (value, p) in map {
                if value.starts_with(prefix.as_str()) {
                    p.ids.union_into(&mut out);
                }
            }
        }
        out
    }

    pub fn with_key(&self, key: &str) -> RoaringBitmap {
        self.exists.get(key).cloned().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use portico_model::Validator;

    #[test]
    fn paths_are_written_as_expressions_read_them() {
        assert_eq!(super::expression_path("spec.memberOf").as_deref(), Some("spec.memberOf"));
        assert_eq!(super::expression_path("metadata.annotations.backstage.io/techdocs-ref").as_deref(), Some("metadata.annotations['backstage.io/techdocs-ref']"));
        assert_eq!(super::expression_path("metadata.labels.tier").as_deref(), Some("metadata.labels.tier"));
        assert_eq!(super::expression_path("spec.x-y"), None, "not a name, and nothing says where its key ends");
    }
    use serde_json::json;

    fn json_walk(k: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::Bool(b) => out.push((k.to_owned(), b.to_string())),
            serde_json::Value::Number(n) => out.push((k.to_owned(), n.to_string())),
            serde_json::Value::String(s) => out.push((k.to_owned(), s.clone())),
            serde_json::Value::Array(items) => {
                for i in items {
                    json_walk(k, i, out);
                    if let serde_json::Value::String(s) = i {
                        out.push((format!("{k}.{s}"), "true".into()));
                    }
                }
            }
            serde_json::Value::Object(m) => {
                for (c, v) in m {
                    json_walk(&format!("{k}.{c}"), v, out);
                }
            }
        }
    }

    /// The typed walk must produce exactly what walking the entity's JSON would.
    #[test]
    fn leaves_match_a_walk_of_the_json() {
        let e = Validator::default()
            .validate(json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                "metadata": {"name": "cart", "title": "Cart", "labels": {"tier": "1"}, "annotations": {"a.io/b": "c"},
                    "tags": ["java", "web"], "links": [{"url": "http://x", "title": "X"}], "custom": {"deep": [1, true]}},
                "spec": {"type": "service", "lifecycle": "production", "owner": "team-a", "dependsOn": ["resource:db"]}}))
            .unwrap();
        let mut expected = Vec::new();
        if let serde_json::Value::Object(map) = serde_json::to_value(&e).unwrap() {
            for (k, v) in &map {
                json_walk(k, v, &mut expected);
            }
        }
        let mut got = Vec::new();
        super::visit_leaves(&e, &mut |k, v| got.push((k.to_owned(), v.to_owned())));
        expected.sort();
        got.sort();
        assert_eq!(got, expected);
        assert_eq!(super::value_at(&e, "spec.dependson").as_deref(), Some("resource:db"));
        assert_eq!(super::value_at(&e, "metadata.title").as_deref(), Some("cart"));
        assert_eq!(super::value_at(&e, "metadata.labels.tier").as_deref(), Some("1"));
    }
}
