//! Portico's one expression language: CEL (the `cel` crate) with functions over the catalog
//! graph, facts and time. Queries use it now; scorecard rules, action policies and permissions
//! will use the same environment.
//!
//! An expression is compiled once ([`Expr::compile`]): the text is parsed, then checked against
//! a [`Vocabulary`] (the variables in scope and the functions that exist), so an unknown name
//! or a wrong number of arguments is reported with its position before anything runs. Runs
//! share a [`Budget`] (graph steps and wall time) and do no I/O.

mod bounded;
mod budget;
mod check;
mod checks;
mod error;
mod functions;
mod rewrite;
pub mod value;

use std::sync::{Arc, OnceLock};

pub use budget::{human_bytes, Budget, Cancel, Limits};
pub use cel;
pub use check::{select_path, Path};
pub use checks::{CheckDoc, Reach, CHECKS};
pub use error::{ErrorKind, ExprError, Span};
pub use functions::{install, EntityId, FunctionDoc, Graph, GraphAccess, FUNCTIONS};

use cel::common::ast::IdedExpr;
use cel::{Context, Env, ExecutionError, Program, Value};

/// The names an expression may use besides functions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Vocabulary {
    pub variables: Vec<VariableDoc>,
}

#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct VariableDoc {
    pub name: &'static str,
    pub description: &'static str,
}

impl Vocabulary {
    /// The variables of an expression evaluated for one entity, as queries are.
    pub fn entity() -> Self {
        let v = |name, description| VariableDoc { name, description };
        Self {
            variables: vec![
                v("ref", "the entity's reference, kind:namespace/name (kind in lower case)"),
                v("kind", "the entity's kind, e.g. 'Component'"),
                v("apiVersion", "the entity's apiVersion"),
                v("metadata", "name, namespace, title, description, labels, annotations, tags, links"),
                v("spec", "the kind's own fields, e.g. spec.type, spec.owner, spec.lifecycle"),
                v("status", "status fields, including discovery's facts (status.facts)"),
                v("relations", "the entity's relations: a list of {type, targetRef}"),
                v("entity", "the whole entity as one value (with ref and relations)"),
                v("dora", "the entity's DORA metrics over the last 90 days: deployments, deploys_per_week, lead_time_hours, change_failure_rate (0 to 1), time_to_restore_hours, each metric's band and the overall band (elite, high, medium, low; null when not measured)"),
            ],
        }
    }

    fn has(&self, name: &str) -> bool {
        self.variables.iter().any(|v| v.name == name)
    }
}

/// The `dora` variable of an entity with no deployments or incidents recorded: every key the
/// scorecards crate computes, unmeasured.
pub fn dora_unmeasured() -> serde_json::Value {
    serde_json::json!({
        "window_days": 90, "deployments": 0, "deploys_per_week": 0.0, "lead_time_hours": null,
        "change_failure_rate": null, "time_to_restore_hours": null, "incidents": 0, "open_incidents": 0,
        "deploy_frequency_band": null, "lead_time_band": null, "change_failure_band": null,
        "time_to_restore_band": null, "band": null,
    })
}

/// The CEL environment: the standard library, its macros and the strings extension.
pub fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        env.add_extension(cel::extensions::strings).expect("the strings extension installs on the standard library");
        Arc::new(env)
    })
    .clone()
}

/// A compiled, checked expression.
#[derive(Debug)]
pub struct Expr {
    source: String,
    program: Program,
    /// The tree as written, built-in checks put in place of their calls ([`checks`]): what
    /// planners and the analyses below read.
    tree: IdedExpr,
    /// The tree evaluated: the program's, rewritten to spare work ([`rewrite`]).
    evaluated: cel::parser::Expression,
}

impl Expr {
    /// Parses and checks `source`.
    pub fn compile(source: &str, vocabulary: &Vocabulary, limits: &Limits) -> Result<Self, ExprError> {
        if source.len() > limits.max_length {
            return Err(ExprError::new(
                ErrorKind::Limit,
                format!("the expression is {} bytes long; the limit is {}", source.len(), limits.max_length),
            ));
        }
        if source.trim().is_empty() {
            return Err(ExprError::new(ErrorKind::Syntax, "the expression is empty"));
        }
        let operators = check::count_operators(source);
        if operators > limits.max_operators {
            return Err(ExprError::new(
                ErrorKind::Limit,
                format!(
                    "the expression has {operators} operators; the limit is {} (for many alternatives, write `x in ['a', 'b', ...]`)",
                    limits.max_operators
                ),
            ));
        }
        // The parser and the checks recurse once per level of the tree.
        on_big_stack(|| {
            let program = env().compile(source).map_err(|errors| check::syntax_error(source, &errors))?;
            let tree = checks::expand(program.expression());
            let evaluated = rewrite::for_evaluation(&tree);
            let expr = Self { source: source.to_owned(), program, tree, evaluated };
            check::check(&expr, vocabulary)?;
            Ok(expr)
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The syntax tree with the built-in checks it calls in place, for planners that look for
    /// indexable conditions.
    pub fn ast(&self) -> &IdedExpr {
        &self.tree
    }

    /// The syntax tree as written (checks are calls), for messages about what was written.
    pub(crate) fn written(&self) -> &IdedExpr {
        self.program.expression()
    }

    /// The top-level fields read of the entities graph functions return, or `None` when any
    /// may be: see `checks::neighbour_fields`.
    pub fn neighbour_fields(&self) -> Option<std::collections::BTreeSet<String>> {
        checks::neighbour_fields(&self.tree)
    }

    /// What the answer for an entity depends on besides the entity: see [`Reach`].
    pub fn reach(&self) -> Reach {
        checks::reach(&self.tree)
    }

    /// Where a node of the tree was written.
    pub fn span(&self, id: u64) -> Option<Span> {
        let (start, stop) = self.program.source_info().offset_for(id)?;
        Some(Span { start: char_to_byte(&self.source, start as usize), end: char_to_byte(&self.source, stop as usize) })
    }

    /// Where a call was written: its function name (the parser places calls at their `(`).
    pub fn call_span(&self, id: u64, name: &str) -> Option<Span> {
        let span = self.span(id)?;
        let before = &self.source[..span.start];
        match before.trim_end().strip_suffix(name) {
            Some(rest) => Some(Span { start: rest.len(), end: rest.len() + name.len() }),
            None => Some(span),
        }
    }

    /// The field paths the expression reads below the entity's variables (`spec.owner`,
    /// `metadata.annotations`), each with its place.
    pub fn paths(&self) -> Vec<Path> {
        check::paths(self)
    }

    /// The fields read below the variable `var` (`spec.owner` reads `owner`), or `None` when
    /// it is used whole: lets a caller build only the part of a value the expression reads.
    pub fn fields_of(&self, var: &str) -> Option<std::collections::BTreeSet<String>> {
        let mut out = std::collections::BTreeSet::new();
        check::field_use(self.ast(), var, &mut out).then_some(out)
    }

    /// As [`Self::fields_of`], for building a value of `var` that is never null: comparing it
    /// with `null` reads none of its fields, and the graph functions called on it read its `ref`.
    pub fn fields_read_of(&self, var: &str) -> Option<std::collections::BTreeSet<String>> {
        let mut out = std::collections::BTreeSet::new();
        check::field_use_as(self.ast(), var, &mut out, true).then_some(out)
    }

    /// Whether the graph functions the expression calls reach no farther than `var`'s own
    /// neighbours: every `related`, `inverse`, `has_relation` and `fact` is called on `var`
    /// itself, and neither `reachable` nor `entity(ref)` is called. Its answer for an entity
    /// then depends only on that entity and those it has relations with either way.
    pub fn reads_only_neighbours_of(&self, var: &str) -> bool {
        check::neighbours_only(self.ast(), var)
    }

    /// Evaluates against a context made by [`context`].
    pub fn eval(&self, ctx: &Context<'_, '_>) -> Result<Value, ExprError> {
        cel::Value::resolve(&self.evaluated, ctx).map_err(|e| self.execution_error(&rewrite::as_written(e)))
    }

    /// An execution error as an [`ExprError`], placed at the node it most likely came from.
    pub fn execution_error(&self, e: &ExecutionError) -> ExprError {
        check::execution_error(self, e)
    }
}

/// A root context with the standard environment and Portico's functions.
pub fn context<'p, 'v>(graph: Arc<dyn GraphAccess>, budget: Arc<Budget>, now: chrono::DateTime<chrono::FixedOffset>) -> Context<'p, 'v> {
    let mut ctx = Context::with_env(env());
    install(&mut ctx, graph, budget, now);
    ctx
}

/// Runs `f` with a stack deep enough for the deepest expression the limits accept (parsing and
/// evaluation recurse once per level of the tree): on this thread, switched to a stack of its
/// own when this one has less left. No thread is started: on a busy machine with few cores,
/// starting one and being woken when it ends cost milliseconds of waiting for a core.
pub fn on_big_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(BIG_STACK, BIG_STACK, f)
}

/// `f` on each of `parts` at once, each on a thread named `name` with a [`BIG_STACK`]; a single
/// part on this thread ([`on_big_stack`]). The results are in the parts' order; a panic in any
/// is resumed here.
pub fn on_big_stacks<'p, P: Sync, T: Send>(name: &str, parts: &'p [P], f: impl Fn(&'p P) -> T + Sync) -> Vec<T> {
    if let [only] = parts {
        return vec![on_big_stack(|| f(only))];
    }
    let f = &f;
    std::thread::scope(|s| {
        let handles: Vec<_> = parts
            .iter()
            .map(|part| std::thread::Builder::new().name(name.into()).stack_size(BIG_STACK).spawn_scoped(s, move || f(part)).expect("spawning an evaluation thread"))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).collect()
    })
}

/// Stack for parsing or evaluating expressions.
pub const BIG_STACK: usize = 64 << 20;

fn char_to_byte(s: &str, chars: usize) -> usize {
    s.char_indices().nth(chars).map_or(s.len(), |(i, _)| i)
}

#[cfg(test)]
mod tests;
