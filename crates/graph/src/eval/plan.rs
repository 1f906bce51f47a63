//! The planner: the parts of an expression the read model's indexes can answer (equality and
//! membership on any field, relation targets, `ref`), combined through `&&` and `||`, narrow the
//! entities the whole expression is then evaluated on. The indexes compare case-insensitively, so
//! they may over-select; the evaluation decides. They never under-select.

use portico_expr::cel::common::ast::{Expr as Node, IdedExpr, LiteralValue};
use portico_expr::Expr;
use roaring::RoaringBitmap;

use crate::filter::FilterStatement;
use crate::index::{Exact, MAX_VALUE_LEN};
use crate::CatalogGraph;

/// Which entities to evaluate, and why.
#[derive(Debug, Clone)]
pub struct Plan {
    pub candidates: RoaringBitmap,
    /// The indexed conditions used, e.g. `kind = component`; empty for a full scan.
    pub indexed: Vec<String>,
    /// When the whole condition is made of indexable parts, the same condition checked
    /// exactly (case-sensitively, as CEL compares) without the evaluator.
    pub native: Option<Native>,
}

pub fn plan(graph: &CatalogGraph, expr: &Expr) -> Plan {
    let native = native(expr.ast());
    match index(graph, expr.ast()) {
        Some((candidates, indexed)) => Plan { candidates: candidates & &graph.present, indexed, native },
        None => Plan { candidates: graph.present.clone(), indexed: Vec::new(), native: None },
    }
}

/// A condition of indexable parts, checked on an entity without CEL.
#[derive(Debug, Clone)]
pub enum Native {
    And(Box<Native>, Box<Native>),
    Or(Box<Native>, Box<Native>),
    /// The string at a path is one of the values.
    Field { path: String, values: Vec<String> },
    /// The entity's reference is one of the values.
    Ref(Vec<String>),
    Relation { relation: String, target: String },
    True,
}

fn native(node: &IdedExpr) -> Option<Native> {
    if let Node::Literal(LiteralValue::Boolean(b)) = &node.expr {
        return (**b).then_some(Native::True);
    }
    let Node::Call(call) = &node.expr else { return None };
    let args = &call.args;
    if call.target.is_some() || args.len() != 2 {
        return None;
    }
    let leaf = |path: String, values: Vec<String>| match path.as_str() {
        "ref" => Some(Native::Ref(values)),
        p if native_path(p) => Some(Native::Field { path, values }),
        _ => None,
    };
    match call.func_name.as_str() {
        "_&&_" => Some(Native::And(Box::new(native(&args[0])?), Box::new(native(&args[1])?))),
        "_||_" => Some(Native::Or(Box::new(native(&args[0])?), Box::new(native(&args[1])?))),
        "_==_" => match (path_of(&args[0]), string_of(&args[1])) {
            (Some(p), Some(v)) => leaf(p, vec![v]),
            _ => leaf(path_of(&args[1])?, vec![string_of(&args[0])?]),
        },
        "@in" => {
            let Node::List(list) = &args[1].expr else { return None };
            let values: Option<Vec<String>> = list.elements.iter().map(string_of).collect();
            leaf(path_of(&args[0])?, values?)
        }
        "has_relation" => Some(Native::Relation { relation: string_of(&args[0])?, target: string_of(&args[1])? }),
        _ => None,
    }
}

/// Paths [`Native::check`] reads itself.
fn native_path(path: &str) -> bool {
    matches!(path, "kind" | "apiVersion" | "metadata.name" | "metadata.namespace" | "metadata.title" | "metadata.description")
        || path.strip_prefix("spec.").is_some_and(|p| !p.is_empty())
}

impl Native {
    /// The entities this condition surely matches, and those it may match, from the indexes
    /// alone: only `maybe` needs [`Native::check`].
    pub(crate) fn split(&self, graph: &CatalogGraph) -> Exact {
        let maybe = |maybe: RoaringBitmap| Exact { sure: RoaringBitmap::new(), maybe };
        match self {
            Native::True => Exact { sure: graph.present.clone(), maybe: RoaringBitmap::new() },
            Native::And(a, b) => {
                let (a, b) = (a.split(graph), b.split(graph));
                let sure = &a.sure & &b.sure;
                let maybe = ((a.sure | a.maybe) & (b.sure | b.maybe)) - &sure;
                Exact { sure, maybe }
            }
            Native::Or(a, b) => {
                let (a, b) = (a.split(graph), b.split(graph));
                let sure = a.sure | b.sure;
                let maybe = (a.maybe | b.maybe) - &sure;
                Exact { sure, maybe }
            }
            Native::Field { path, values } => graph.fields.exact(path, values).unwrap_or_else(|| maybe(graph.present.clone())),
            Native::Ref(values) => maybe(field(graph, "ref", values).map(|(ids, _)| ids).unwrap_or_default()),
            Native::Relation { relation, target } => match CatalogGraph::key_for(target) {
                Some(target) => maybe(graph.statement(&FilterStatement { key: format!("relations.{relation}"), values: Some(vec![target]) })),
                None => maybe(RoaringBitmap::new()),
            },
        }
    }

    /// Whether the condition looks at relations (which a reader's visibility narrows: the
    /// evaluator, through the reader's graph functions, decides those then).
    pub(crate) fn reads_relations(&self) -> bool {
        match self {
            Native::And(a, b) | Native::Or(a, b) => a.reads_relations() || b.reads_relations(),
            Native::Relation { .. } => true,
            Native::Field { .. } | Native::Ref(_) | Native::True => false,
        }
    }

    pub fn check(&self, graph: &CatalogGraph, id: crate::Id) -> bool {
        let Some(entry) = graph.entry(id) else { return false };
        let e = &entry.entity;
        match self {
            Native::True => true,
            Native::And(a, b) => a.check(graph, id) && b.check(graph, id),
            Native::Or(a, b) => a.check(graph, id) || b.check(graph, id),
            Native::Ref(values) => {
                let r = entry.entity_ref().to_string();
                values.contains(&r)
            }
            Native::Relation { relation, target } => portico_expr::Graph::has_relation(graph, id, relation, Some(target)),
            Native::Field { path, values } => match leaf(e, path) {
                Some(Leaf::Str(f)) => values.iter().any(|v| v == f),
                _ => false,
            },
        }
    }
}

/// A value at a native path.
enum Leaf<'a> {
    Str(&'a str),
    Json(&'a serde_json::Value),
}

fn leaf<'a>(e: &'a portico_model::Entity, path: &str) -> Option<Leaf<'a>> {
    let m = &e.metadata;
    match path {
        "kind" => Some(Leaf::Str(&e.kind)),
        "apiVersion" => Some(Leaf::Str(&e.api_version)),
        "metadata.name" => Some(Leaf::Str(&m.name)),
        "metadata.namespace" => Some(Leaf::Str(&m.namespace)),
        "metadata.title" => m.title.as_deref().map(Leaf::Str),
        "metadata.description" => m.description.as_deref().map(Leaf::Str),
        p => {
            let mut parts = p.strip_prefix("spec.")?.split('.');
            let first = e.spec.as_ref().and_then(|s| s.get(parts.next()?));
            let v = parts.try_fold(first, |v, part| Some(v?.get(part))).flatten()?;
            Some(v.as_str().map_or(Leaf::Json(v), Leaf::Str))
        }
    }
}

/// The path of an expression that is only a field native checks can read (for groups).
pub fn native_leaf(expr: &Expr) -> Option<String> {
    let path = portico_expr::select_path(expr.ast())?;
    native_path(&path).then_some(path)
}

/// The value at a native path as JSON (null when missing), as a group key.
pub fn leaf_json(graph: &CatalogGraph, id: crate::Id, path: &str) -> serde_json::Value {
    let Some(entry) = graph.entry(id) else { return serde_json::Value::Null };
    match leaf(&entry.entity, path) {
        Some(Leaf::Str(s)) => serde_json::Value::String(s.to_owned()),
        Some(Leaf::Json(v)) => v.clone(),
        None => serde_json::Value::Null,
    }
}

type Indexed = (RoaringBitmap, Vec<String>);

fn index(graph: &CatalogGraph, node: &IdedExpr) -> Option<Indexed> {
    let Node::Call(call) = &node.expr else { return None };
    let args = &call.args;
    match (call.func_name.as_str(), args.len(), call.target.is_some()) {
        ("_&&_", 2, false) => match (index(graph, &args[0]), index(graph, &args[1])) {
            (Some((a, mut da)), Some((b, db))) => {
                da.extend(db);
                Some((a & b, da))
            }
            (one, other) => one.or(other),
        },
        ("_||_", 2, false) => {
            let (a, mut da) = index(graph, &args[0])?;
            let (b, db) = index(graph, &args[1])?;
            da.push("or".to_owned());
            da.extend(db);
            Some((a | b, da))
        }
        ("_==_", 2, false) => {
            let (path, value) = match (path_of(&args[0]), string_of(&args[1])) {
                (Some(p), Some(v)) => (p, v),
                _ => (path_of(&args[1])?, string_of(&args[0])?),
            };
            field(graph, &path, &[value])
        }
        ("@in", 2, false) => {
            // field in ['a', 'b'], or 'a' in list-field
            if let (Some(path), Node::List(list)) = (path_of(&args[0]), &args[1].expr) {
                let values: Option<Vec<String>> = list.elements.iter().map(string_of).collect();
                return field(graph, &path, &values?);
            }
            field(graph, &path_of(&args[1])?, &[string_of(&args[0])?])
        }
        ("has_relation", 2, false) => {
            let relation = string_of(&args[0])?;
            let target = CatalogGraph::key_for(&string_of(&args[1])?)?;
            let st = FilterStatement { key: format!("relations.{relation}"), values: Some(vec![target.clone()]) };
            Some((graph.statement(&st), vec![format!("relations.{} = {target}", relation.to_lowercase())]))
        }
        _ => None,
    }
}

fn field(graph: &CatalogGraph, path: &str, values: &[String]) -> Option<Indexed> {
    if path == "ref" {
        let mut ids = RoaringBitmap::new();
        for v in values {
            if let Some(id) = CatalogGraph::key_for(v).and_then(|k| graph.id_of(&k)) {
                ids.insert(id);
            }
        }
        return Some((ids, vec![format!("ref in [{}]", values.join(", "))]));
    }
    let key = path.strip_prefix("entity.").unwrap_or(path);
    let rooted = ["kind", "apiVersion"].contains(&key) || ["metadata.", "spec.", "status."].iter().any(|r| key.starts_with(r));
    // Values the index leaves out would be missed: only index what it holds.
    if !rooted || values.iter().any(|v| v.len() > MAX_VALUE_LEN) {
        return None;
    }
    let st = FilterStatement { key: key.to_owned(), values: Some(values.to_vec()) };
    Some((graph.statement(&st), vec![format!("{} = {}", key.to_lowercase(), values.join("|").to_lowercase())]))
}

fn path_of(node: &IdedExpr) -> Option<String> {
    portico_expr::select_path(node)
}

fn string_of(node: &IdedExpr) -> Option<String> {
    match &node.expr {
        Node::Literal(LiteralValue::String(s)) => Some(s.inner().to_owned()),
        _ => None,
    }
}
