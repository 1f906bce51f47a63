//! The planner: the parts of an expression the read model's indexes can answer (equality and
//! membership on any field, relation targets, `ref`), combined through `&&` and `||`, narrow the
//! entities the whole expression is then evaluated on. The indexes compare case-insensitively, so
//! they may over-select; the evaluation decides. They never under-select.

use portico_expr::cel::common::ast::{Expr as Node, IdedExpr, LiteralValue};
use portico_expr::Expr;
use roaring::RoaringBitmap;

use crate::filter::FilterStatement;
use crate::index::MAX_VALUE_LEN;
use crate::CatalogGraph;

/// Which entities to evaluate, and why.
#[derive(Debug, Clone)]
pub struct Plan {
    pub candidates: RoaringBitmap,
    /// The indexed conditions used, e.g. `kind = component`; empty for a full scan.
    pub indexed: Vec<String>,
}

pub fn plan(graph: &CatalogGraph, expr: &Expr) -> Plan {
    match index(graph, expr.ast()) {
        Some((candidates, indexed)) => Plan { candidates: candidates & &graph.present, indexed },
        None => Plan { candidates: graph.present.clone(), indexed: Vec::new() },
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
