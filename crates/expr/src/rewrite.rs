//! Rewrites of the syntax tree that keep an expression's meaning and spare work: counting the
//! entities a graph function returns does not need the entities. `reachable('dependsOn').size()`
//! (or `size(…)`) becomes an internal call that counts without building a value per entity —
//! at a hub with thousands of dependents, the difference between milliseconds and hundreds of
//! them. The checks run on the tree as written; only evaluation uses the rewritten one.

use cel::common::ast::{CallExpr, EntryExpr, Expr as Node, IdedEntryExpr};
use cel::parser::Expression;

/// Graph functions whose results may be counted without being built.
const COUNTABLE: &[&str] = &["related", "inverse", "reachable"];
/// The internal functions that count; not in the vocabulary, so users cannot call them.
pub(crate) const COUNT_PREFIX: &str = "__count_";

/// The tree to evaluate.
pub(crate) fn for_evaluation(tree: &Expression) -> Expression {
    let mut out = tree.clone();
    rewrite(&mut out);
    out
}

/// An error of the rewritten tree as the expression was written (`__count_related` is
/// `related`).
pub(crate) fn as_written(e: cel::ExecutionError) -> cel::ExecutionError {
    match e {
        cel::ExecutionError::FunctionError { function, message } if function.starts_with(COUNT_PREFIX) => {
            cel::ExecutionError::FunctionError { function: function[COUNT_PREFIX.len()..].to_owned(), message }
        }
        other => other,
    }
}

fn countable(node: &Expression) -> bool {
    matches!(&node.expr, Node::Call(c) if COUNTABLE.contains(&c.func_name.as_str()))
}

fn rewrite_entry(e: &mut IdedEntryExpr) {
    match &mut e.expr {
        EntryExpr::MapEntry(entry) => {
            rewrite(&mut entry.key);
            rewrite(&mut entry.value);
        }
        EntryExpr::StructField(field) => rewrite(&mut field.value),
    }
}

fn rewrite(node: &mut Expression) {
    // Children first, so nested counts are rewritten too.
    match &mut node.expr {
        Node::Call(c) => {
            if let Some(t) = c.target.as_mut() {
                rewrite(t);
            }
            c.args.iter_mut().for_each(rewrite);
        }
        Node::Comprehension(c) => {
            for child in [&mut c.iter_range, &mut c.accu_init, &mut c.loop_cond, &mut c.loop_step, &mut c.result] {
                rewrite(child);
            }
        }
        Node::List(l) => l.elements.iter_mut().for_each(rewrite),
        Node::Map(m) => m.entries.iter_mut().for_each(rewrite_entry),
        Node::Struct(s) => s.entries.iter_mut().for_each(rewrite_entry),
        Node::Select(s) => rewrite(&mut s.operand),
        _ => {}
    }
    let Node::Call(size) = &mut node.expr else { return };
    if size.func_name != "size" {
        return;
    }
    let counted = match (size.target.as_deref_mut(), size.args.as_mut_slice()) {
        (Some(t), []) if countable(t) => std::mem::take(t),
        (None, [arg]) if countable(arg) => std::mem::take(arg),
        _ => return,
    };
    let Node::Call(graph_call) = counted.expr else { return };
    node.expr = Node::Call(CallExpr {
        func_name: format!("{COUNT_PREFIX}{}", graph_call.func_name),
        target: graph_call.target,
        args: graph_call.args,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn functions(e: &Expression, out: &mut Vec<String>) {
        if let Node::Call(c) = &e.expr {
            out.push(c.func_name.clone());
            if let Some(t) = &c.target {
                functions(t, out);
            }
            c.args.iter().for_each(|a| functions(a, out));
        }
    }

    #[test]
    fn sizes_of_graph_functions_are_counted_and_nothing_else_changes() {
        for (src, expected) in [
            ("reachable('dependsOn').size() > 3", vec!["_>_", "__count_reachable"]),
            ("size(e.related('ownedBy')) == 0", vec!["_==_", "__count_related"]),
            ("inverse('dependsOn', 2).size()", vec!["__count_inverse"]),
            ("size('abc') == 3", vec!["_==_", "size"]),
            ("related('x')[0].spec.size()", vec!["size"]),
        ] {
            let program = cel::Program::compile(src).unwrap();
            let mut got = Vec::new();
            functions(&for_evaluation(program.expression()), &mut got);
            got.sort();
            let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
            expected.sort();
            // `e.related(...)`'s target `e` is an identifier, not a call; `_[_]` and selects are
            // not calls collected here beyond their names.
            assert!(expected.iter().all(|f| got.contains(f)), "{src}: {got:?}");
            assert_eq!(got.iter().any(|f| f.starts_with(COUNT_PREFIX)), expected.iter().any(|f| f.starts_with(COUNT_PREFIX)), "{src}: {got:?}");
        }
    }
}
