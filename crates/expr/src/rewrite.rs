//! Rewrites of the syntax tree that keep an expression's meaning. Two kinds:
//!
//! - To spare work: counting the entities a graph function returns does not need the
//!   entities. `reachable('dependsOn').size()` (or `size(…)`) becomes an internal call that
//!   counts without building a value per entity — at a hub with thousands of dependents, the
//!   difference between milliseconds and hundreds of them.
//! - To bound work ([`bound`]): loops and the steps that build values are routed through the
//!   functions of `bounded.rs`, which charge the run's budget where the work is done.
//!
//! The checks run on the tree as written; only evaluation uses the rewritten one.

use cel::common::ast::{CallExpr, EntryExpr, Expr as Node, IdedEntryExpr, IdedExpr};
use cel::parser::Expression;

use crate::bounded;

/// Graph functions whose results may be counted without being built.
pub(crate) const COUNTABLE: &[&str] = &["related", "inverse", "reachable"];
/// The internal functions that count; not in the vocabulary, so users cannot call them.
pub(crate) const COUNT_PREFIX: &str = "__count_";

/// The tree to evaluate.
pub(crate) fn for_evaluation(tree: &Expression) -> Expression {
    let mut out = tree.clone();
    rewrite(&mut out);
    bound(&mut out);
    out
}

/// An error of the rewritten tree as the expression was written (`__count_related` is
/// `related`).
pub(crate) fn as_written(e: cel::ExecutionError) -> cel::ExecutionError {
    match e {
        cel::ExecutionError::FunctionError { function, message } if function.starts_with(COUNT_PREFIX) => {
            cel::ExecutionError::FunctionError { function: function[COUNT_PREFIX.len()..].to_owned(), message }
        }
        cel::ExecutionError::FunctionError { function, message } if function != bounded::LIMIT && function.starts_with('@') => {
            cel::ExecutionError::FunctionError { function: function[1..].to_owned(), message }
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

/// Routes loops and value-building steps through the functions of `bounded.rs` (children
/// first, so nested ones are bounded too):
///
/// - every loop iteration passes an `@tick`: in the loop condition, or, for the shapes the
///   evaluator runs as an in-place append (`map`, `filter`: the condition must stay a literal
///   for that), in the filter's guard or the appended element;
/// - `a + b` becomes `@add(a, b)` (not the accumulator's own `@result + [x]`);
/// - `s.replace(…)`, `l.join(…)`, `s.split(…)` become `@replace(s, …)` and so on;
/// - an element of a list or map literal that is not a constant passes `@sized`, as do the
///   result and the argument list of `format` and the result of `strings.quote`.
pub(crate) fn bound(node: &mut Expression) {
    match &mut node.expr {
        Node::Call(c) => {
            if let Some(t) = c.target.as_mut() {
                bound(t);
            }
            c.args.iter_mut().for_each(bound);
        }
        Node::Comprehension(c) => {
            for child in [&mut c.iter_range, &mut c.accu_init, &mut c.loop_cond, &mut c.loop_step, &mut c.result] {
                bound(child);
            }
            tick(c);
        }
        Node::List(l) => l.elements.iter_mut().for_each(|e| {
            bound(e);
            sized(e);
        }),
        Node::Map(m) => m.entries.iter_mut().for_each(|e| match &mut e.expr {
            EntryExpr::MapEntry(entry) => {
                bound(&mut entry.key);
                bound(&mut entry.value);
                sized(&mut entry.key);
                sized(&mut entry.value);
            }
            EntryExpr::StructField(field) => bound(&mut field.value),
        }),
        Node::Select(s) => bound(&mut s.operand),
        _ => {}
    }
    let Node::Call(c) = &mut node.expr else { return };
    match (c.func_name.as_str(), c.target.as_deref(), c.args.len()) {
        ("_+_", None, 2) if !is_accumulator(&c.args[0]) => c.func_name = bounded::ADD.to_owned(),
        (name, Some(_), _) if bounded::MEASURED.contains(&name) => {
            let target = *c.target.take().expect("a target");
            c.func_name = format!("@{name}");
            c.args.insert(0, target);
        }
        ("format", Some(_), 1) => {
            sized(&mut c.args[0]);
            wrap(node, bounded::SIZED);
        }
        ("quote", Some(IdedExpr { expr: Node::Ident(ns), .. }), 1) if ns == "strings" => wrap(node, bounded::SIZED),
        ("strings.quote", None, 1) => wrap(node, bounded::SIZED),
        _ => {}
    }
}

/// The accumulator of a macro's loop (`@result`): users cannot name it.
fn is_accumulator(e: &Expression) -> bool {
    matches!(&e.expr, Node::Ident(name) if name.starts_with('@'))
}

/// Replaces `node` by `function(node)`.
fn wrap(node: &mut Expression, function: &str) {
    let inner = std::mem::take(node);
    node.id = inner.id;
    node.expr = Node::Call(CallExpr { func_name: function.to_owned(), target: None, args: vec![inner] });
}

/// Wraps a value about to be copied into a literal, unless it is a constant.
fn sized(e: &mut Expression) {
    if !matches!(e.expr, Node::Literal(_)) {
        wrap(e, bounded::SIZED);
    }
}

/// Puts an `@tick` where the evaluator passes on every iteration of `c`.
fn tick(c: &mut cel::common::ast::ComprehensionExpr) {
    let accu = c.accu_var.as_str();
    let is_accu = |e: &Expression| matches!(&e.expr, Node::Ident(name) if name == accu);
    // `accu + [x]`, which the evaluator appends in place.
    let is_append = |e: &Expression| match &e.expr {
        Node::Call(add) => {
            add.func_name == "_+_" && add.target.is_none() && add.args.len() == 2 && is_accu(&add.args[0]) && matches!(&add.args[1].expr, Node::List(l) if l.elements.len() == 1)
        }
        _ => false,
    };
    let in_place = is_accu(&c.result) && matches!(c.loop_cond.expr, Node::Literal(_));
    let guarded = matches!(&c.loop_step.expr, Node::Call(cond) if cond.func_name == "_?_:_" && cond.args.len() == 3 && is_accu(&cond.args[2]) && is_append(&cond.args[1]));
    let unguarded = is_append(&c.loop_step);
    match (in_place, guarded, unguarded) {
        (true, true, _) => {
            let Node::Call(cond) = &mut c.loop_step.expr else { unreachable!("checked above") };
            wrap(&mut cond.args[0], bounded::TICK);
        }
        (true, false, true) => {
            let Node::Call(add) = &mut c.loop_step.expr else { unreachable!("checked above") };
            let Node::List(list) = &mut add.args[1].expr else { unreachable!("checked above") };
            wrap(&mut list.elements[0], bounded::TICK);
        }
        _ => wrap(&mut c.loop_cond, bounded::TICK),
    }
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
