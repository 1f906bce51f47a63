//! Portico's functions over the catalog graph, facts and time. They read the graph through
//! [`GraphAccess`] (the expression language knows nothing of how the catalog is stored), charge
//! every entity and edge they visit to the run's [`Budget`], and do no I/O.
//!
//! Each graph function has two forms: `related('dependsOn')` applies to the entity the
//! expression is evaluated for (the `ref` variable), `e.related('dependsOn')` to the entity
//! `e` (an entity value, or its reference as a string).

use std::collections::VecDeque;
use std::sync::Arc;

use cel::extractors::Arguments;
use cel::{Context, ExecutionError, FunctionContext, Value};
use chrono::{DateTime, FixedOffset};

use crate::budget::Budget;
use crate::value;

/// An entity of the graph, as the graph numbers it.
pub type EntityId = u32;

/// A read-only view of the catalog graph.
pub trait Graph {
    /// The entity an entity reference (`kind:namespace/name`, case-insensitive) names, if present.
    fn id(&self, reference: &str) -> Option<EntityId>;
    /// The entity as a CEL map: its descriptor plus `ref` (its reference).
    fn entity(&self, id: EntityId) -> Option<Value>;
    /// Present entities `id` has a `relation` to (case-insensitive type); with `inverse`, the
    /// present entities that have a `relation` to `id`. Appends to `out`.
    fn neighbours(&self, id: EntityId, relation: &str, inverse: bool, out: &mut Vec<EntityId>);
    /// Whether `id` has a relation of this type, to `target` if given (the target need not exist).
    fn has_relation(&self, id: EntityId, relation: &str, target: Option<&str>) -> bool;
    /// A fact recorded about the entity (for example `git.lastCommitAt`), if any.
    fn fact(&self, id: EntityId, name: &str) -> Option<Value>;
    /// The entity's result on a scorecard (`{level, levels, reached, score, passed, failing}`),
    /// if the scorecard exists and applies to it.
    fn scorecard(&self, _id: EntityId, _name: &str) -> Option<Value> {
        None
    }
    /// Whether a source's last read of the entity reported errors (it keeps its last good
    /// version meanwhile).
    fn has_errors(&self, _id: EntityId) -> bool {
        false
    }
}

/// How functions reach the graph: a call runs `f` with a consistent view.
pub trait GraphAccess: Send + Sync + 'static {
    fn with_graph(&self, f: &mut dyn FnMut(&dyn Graph));
}

/// One of Portico's functions, for documentation and completion.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct FunctionDoc {
    pub name: &'static str,
    pub signature: &'static str,
    pub description: &'static str,
    /// Argument counts accepted in the global form (the member form takes the same).
    #[serde(skip)]
    pub arities: &'static [usize],
}

/// Portico's functions. Standard CEL functions and macros (`size`, `contains`, `startsWith`,
/// `matches`, `exists`, `all`, `map`, `filter`, `has`, `timestamp`, `duration`, ...) and the
/// strings extension (`lowerAscii`, `split`, `join`, ...) are available too.
pub const FUNCTIONS: &[FunctionDoc] = &[
    FunctionDoc { name: "related", signature: "related(type) / e.related(type) -> list(entity)", description: "Entities this entity has a relation of the given type to (for example 'dependsOn', 'ownedBy', 'partOf').", arities: &[1] },
    FunctionDoc { name: "inverse", signature: "inverse(type) / e.inverse(type) -> list(entity)", description: "Entities that have a relation of the given type to this entity: inverse('dependsOn') is everything that depends on it.", arities: &[1] },
    FunctionDoc { name: "reachable", signature: "reachable(type[, maxDepth]) / e.reachable(type[, maxDepth]) -> list(entity)", description: "Entities reachable by following relations of the given type transitively (cycle-safe, the entity itself excluded), optionally up to a depth.", arities: &[1, 2] },
    FunctionDoc { name: "has_relation", signature: "has_relation(type[, targetRef]) / e.has_relation(type[, targetRef]) -> bool", description: "Whether the entity has a relation of the given type (to the given target, which need not exist).", arities: &[1, 2] },
    FunctionDoc { name: "ref", signature: "ref(e) -> string", description: "The reference of an entity value (kind:namespace/name).", arities: &[1] },
    FunctionDoc { name: "entity", signature: "entity(ref) -> entity or null", description: "The entity a reference names, or null if there is none.", arities: &[1] },
    FunctionDoc { name: "fact", signature: "fact(name) / e.fact(name) -> value or null", description: "A fact about the entity: one recorded by an event or an importer (portico event fact), else one discovery recorded (status.facts), for example fact('coverage') or fact('git.lastCommitAt'); null if unknown.", arities: &[1] },
    FunctionDoc { name: "scorecard", signature: "scorecard(name) / e.scorecard(name) -> map or null", description: "The entity's result on a scorecard (its name, namespace/name or ref): level (null below the first), levels, reached (levels reached, 0 for none), score (0 to 100), passed and failing (rule ids); null if the scorecard does not apply. scorecard('readiness').level == 'Gold'. Not in a scorecard's own rules.", arities: &[1] },
    FunctionDoc { name: "has_errors", signature: "has_errors() / e.has_errors() -> bool", description: "Whether a source's last read of the entity reported errors (an invalid or unreadable document: the catalog keeps its last good version); the errors are on its page and at /api/v1/errors.", arities: &[0] },
    FunctionDoc { name: "now", signature: "now() -> timestamp", description: "The time the run started (the same for every entity of a run).", arities: &[0] },
    FunctionDoc { name: "days", signature: "days(n) -> duration", description: "A duration of n days, e.g. now() - days(90).", arities: &[1] },
    FunctionDoc { name: "hours", signature: "hours(n) -> duration", description: "A duration of n hours.", arities: &[1] },
    FunctionDoc { name: "since", signature: "since(timestamp or RFC 3339 string) -> duration", description: "Time elapsed between a timestamp and now().", arities: &[1] },
];

/// Registers Portico's functions on a root context.
pub fn install(ctx: &mut Context<'_, '_>, graph: Arc<dyn GraphAccess>, budget: Arc<Budget>, now: DateTime<FixedOffset>) {
    crate::bounded::install(ctx, budget.clone());
    for (how, prefix) in [(Answer::Entities, ""), (Answer::Count, crate::rewrite::COUNT_PREFIX)] {
        let g = graph.clone();
        let b = budget.clone();
        add(ctx, &format!("{prefix}related"), move |ftx: &FunctionContext, Arguments(args): Arguments| {
            let relation = string_arg(ftx, &args, 0, "a relation type")?;
            neighbours(ftx, &*g, &b, &relation, false, how)
        });
        let g = graph.clone();
        let b = budget.clone();
        add(ctx, &format!("{prefix}inverse"), move |ftx: &FunctionContext, Arguments(args): Arguments| {
            let relation = string_arg(ftx, &args, 0, "a relation type")?;
            neighbours(ftx, &*g, &b, &relation, true, how)
        });
        let g = graph.clone();
        let b = budget.clone();
        add(ctx, &format!("{prefix}reachable"), move |ftx: &FunctionContext, Arguments(args): Arguments| {
            let relation = string_arg(ftx, &args, 0, "a relation type")?;
            let depth = match args.get(1) {
                None => usize::MAX,
                Some(Value::Int(d)) if *d >= 0 => *d as usize,
                Some(Value::UInt(d)) => *d as usize,
                Some(other) => return Err(ftx.error(format!("expected a max depth (a non-negative int) as argument 2, got {}", value::type_name(other)))),
            };
            reachable(ftx, &*g, &b, &relation, depth, how)
        });
    }
    let g = graph.clone();
    add(ctx, "has_relation", move |ftx: &FunctionContext, Arguments(args): Arguments| {
        let relation = string_arg(ftx, &args, 0, "a relation type")?;
        let target = match args.get(1) {
            None => None,
            Some(_) => Some(string_arg(ftx, &args, 1, "a target entity reference")?),
        };
        with_subject(ftx, &*g, |graph, id| Ok(Value::Bool(graph.has_relation(id, &relation, target.as_deref()))))
    });
    add(ctx, "ref", move |ftx: &FunctionContext, Arguments(args): Arguments| {
        let e = ftx.this.as_ref().map(|t| Value::try_from(t.as_ref())).transpose()?.or_else(|| args.first().cloned());
        match e {
            Some(e) => reference_of(&e).map(|r| Value::String(Arc::new(r))).ok_or_else(|| ftx.error(format!("expected an entity, got {}", type_or_missing(Some(&e))))),
            None => Err(ftx.error("expected an entity")),
        }
    });
    let g = graph.clone();
    add(ctx, "entity", move |ftx: &FunctionContext, Arguments(args): Arguments| {
        let reference = string_arg(ftx, &args, 0, "an entity reference")?;
        let mut out = Value::Null;
        g.with_graph(&mut |graph| {
            if let Some(v) = graph.id(&reference).and_then(|id| graph.entity(id)) {
                out = v;
            }
        });
        Ok(out)
    });
    let g = graph.clone();
    add(ctx, "fact", move |ftx: &FunctionContext, Arguments(args): Arguments| {
        let name = string_arg(ftx, &args, 0, "a fact name")?;
        with_subject(ftx, &*g, |graph, id| Ok(graph.fact(id, &name).unwrap_or(Value::Null)))
    });
    let g = graph.clone();
    add(ctx, "has_errors", move |ftx: &FunctionContext| with_subject(ftx, &*g, |graph, id| Ok(Value::Bool(graph.has_errors(id)))));
    let g = graph;
    add(ctx, "scorecard", move |ftx: &FunctionContext, Arguments(args): Arguments| {
        let name = string_arg(ftx, &args, 0, "a scorecard name")?;
        with_subject(ftx, &*g, |graph, id| Ok(graph.scorecard(id, &name).unwrap_or(Value::Null)))
    });
    add(ctx, "now", move || Value::Timestamp(now));
    add(ctx, "days", |ftx: &FunctionContext, n: i64| duration(ftx, n, 86_400));
    add(ctx, "hours", |ftx: &FunctionContext, n: i64| duration(ftx, n, 3_600));
    add(ctx, "since", move |ftx: &FunctionContext, t: Value| {
        let t = match t {
            Value::Timestamp(t) => t,
            Value::String(s) => DateTime::parse_from_rfc3339(&s).map_err(|e| ftx.error(format!("{s:?} is not an RFC 3339 time: {e}")))?,
            other => return Err(ftx.error(format!("expected a timestamp or an RFC 3339 string, got {}", value::type_name(&other)))),
        };
        Ok(Value::Duration(now.signed_duration_since(t)))
    });
}

fn add<T: 'static>(ctx: &mut Context<'_, '_>, name: &str, f: impl cel::extractors::IntoFunction<T> + Send + Sync + 'static) {
    // The names are Portico's own and never collide with the standard library's.
    ctx.add_function(name, f).expect("Portico function names are not standard CEL overloads");
}

fn duration(ftx: &FunctionContext, n: i64, unit: i64) -> Result<Value, ExecutionError> {
    n.checked_mul(unit)
        .and_then(chrono::Duration::try_seconds)
        .map(Value::Duration)
        .ok_or_else(|| ftx.error(format!("{n} is out of range for a duration")))
}

fn string_arg(ftx: &FunctionContext, args: &[Value], i: usize, what: &str) -> Result<String, ExecutionError> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.to_string()),
        other => Err(ftx.error(format!("expected {what} (a string) as argument {}, got {}", i + 1, type_or_missing(other)))),
    }
}

fn type_or_missing(v: Option<&Value>) -> String {
    v.map_or_else(|| "nothing".to_owned(), value::type_name)
}

/// The reference of an entity value or of a string.
fn reference_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.to_string()),
        Value::Map(_) => match value::get(v, "ref") {
            Some(Value::String(s)) => Some(s.to_string()),
            _ => None,
        },
        _ => None,
    }
}

/// The entity a function applies to: its target in the member form, else the entity the
/// expression is evaluated for.
fn subject(ftx: &FunctionContext) -> Result<String, ExecutionError> {
    if let Some(this) = &ftx.this {
        let v = Value::try_from(this.as_ref())?;
        return reference_of(&v).ok_or_else(|| ftx.error(format!("can only be called on an entity or an entity reference, not on a {}", value::type_name(&v))));
    }
    match ftx.ptx.get_variable("ref").map(|v| Value::try_from(v.as_ref())) {
        Some(Ok(Value::String(s))) => Ok(s.to_string()),
        _ => Err(ftx.error("has no entity to apply to here: call it on one, as in e.related('dependsOn')")),
    }
}

fn with_subject(
    ftx: &FunctionContext,
    access: &dyn GraphAccess,
    f: impl Fn(&dyn Graph, EntityId) -> Result<Value, ExecutionError>,
) -> Result<Value, ExecutionError> {
    let reference = subject(ftx)?;
    let mut out = Ok(Value::Null);
    access.with_graph(&mut |graph| {
        out = match graph.id(&reference) {
            Some(id) => f(graph, id),
            None => Err(ftx.error(format!("no entity {reference:?} in the catalog"))),
        }
    });
    out
}

/// What a graph function answers with: the entities, or (when only their number is read, see
/// `rewrite.rs`) how many there are.
#[derive(Clone, Copy)]
enum Answer {
    Entities,
    Count,
}

fn answer(graph: &dyn Graph, ids: &[EntityId], how: Answer) -> Value {
    match how {
        Answer::Entities => entities(graph, ids),
        Answer::Count => Value::Int(i64::try_from(ids.len()).unwrap_or(i64::MAX)),
    }
}

fn neighbours(ftx: &FunctionContext, access: &dyn GraphAccess, budget: &Budget, relation: &str, inverse: bool, how: Answer) -> Result<Value, ExecutionError> {
    with_subject(ftx, access, |graph, id| {
        let mut ids = Vec::new();
        graph.neighbours(id, relation, inverse, &mut ids);
        budget.charge(1 + ids.len() as u64).map_err(|e| ftx.error(e))?;
        Ok(answer(graph, &ids, how))
    })
}

fn reachable(ftx: &FunctionContext, access: &dyn GraphAccess, budget: &Budget, relation: &str, max_depth: usize, how: Answer) -> Result<Value, ExecutionError> {
    with_subject(ftx, access, |graph, start| {
        let mut seen = roaring::RoaringBitmap::new();
        seen.insert(start);
        let mut order = Vec::new();
        let mut queue = VecDeque::from([(start, 0usize)]);
        let mut next = Vec::new();
        while let Some((id, depth)) = queue.pop_front() {
            if depth >= max_depth {
                continue;
            }
            next.clear();
            graph.neighbours(id, relation, false, &mut next);
            budget.charge(1 + next.len() as u64).map_err(|e| ftx.error(e))?;
            for &n in &next {
                if seen.insert(n) {
                    order.push(n);
                    queue.push_back((n, depth + 1));
                }
            }
        }
        Ok(answer(graph, &order, how))
    })
}

fn entities(graph: &dyn Graph, ids: &[EntityId]) -> Value {
    Value::List(Arc::new(ids.iter().filter_map(|&id| graph.entity(id)).collect()))
}
