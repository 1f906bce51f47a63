//! Queries in the expression language over the read model: a predicate, a projection, an
//! order and a grouping. The planner narrows the entities with the indexes; the rest of the
//! predicate is evaluated on each candidate, in parallel, under one budget.

mod plan;
mod view;

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use portico_expr::cel::Value;
use portico_expr::{Budget, Cancel, ErrorKind, Expr, ExprError, GraphAccess, Limits, Vocabulary};
use serde_json::Value as Json;

pub use plan::Plan;
pub use view::SharedGraph;

/// The graph functions' way into a shared read model, for evaluations outside a query (policy
/// rules, scorecard checks) that bind their own variables.
pub fn access(shared: &SharedGraph) -> Arc<dyn GraphAccess> {
    Arc::new(view::Access(shared.clone(), None))
}

use crate::{CatalogGraph, Id, Visibility};
use view::{Access, Current};

/// A query: which entities (`expression`, a condition), what of them (`fields`, expressions
/// whose values are returned), in which order, and optionally counted by a key.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExprQuery {
    pub expression: String,
    #[serde(default)]
    pub fields: Vec<String>,
    #[serde(default)]
    pub order_by: Vec<OrderBy>,
    #[serde(default)]
    pub group_by: Option<String>,
    #[serde(default)]
    pub offset: usize,
    #[serde(default = "default_limit")]
    pub limit: usize,
}

fn default_limit() -> usize {
    100
}

#[derive(Debug, Clone, serde::Deserialize, serde::Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderBy {
    pub expression: String,
    #[serde(default)]
    pub desc: bool,
}

/// What a query found.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExprResult {
    /// How many entities matched in all.
    pub total: usize,
    /// The page of matching entities, in order.
    #[serde(skip)]
    pub ids: Vec<Id>,
    /// For each id of the page, the value of each field (when fields were asked for).
    #[serde(skip)]
    pub rows: Vec<serde_json::Map<String, Json>>,
    /// Counts per value of the grouping expression, largest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<Group>>,
    pub warnings: Vec<String>,
    pub plan: PlanInfo,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Group {
    pub key: Json,
    pub count: usize,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanInfo {
    /// Conditions answered by an index; empty when every entity was evaluated.
    pub indexed: Vec<String>,
    /// Whether the whole condition was checked without the evaluator (it is made of
    /// indexable parts only).
    pub native: bool,
    /// Entities the expression was evaluated on.
    pub evaluated: u64,
    /// Graph steps the functions took.
    pub steps: u64,
    pub elapsed_ms: f64,
}

/// The compiled parts of a query, ready to run many times.
pub struct Compiled {
    predicate: Expr,
    fields: Vec<(String, Expr)>,
    order: Vec<(Expr, bool)>,
    group: Option<Expr>,
    limits: Limits,
}

impl Compiled {
    pub fn new(q: &ExprQuery, limits: &Limits) -> Result<Self, ExprError> {
        let vocabulary = Vocabulary::entity();
        let compile = |what: &str, source: &str| {
            Expr::compile(source, &vocabulary, limits).map_err(|e| ExprError { message: format!("{what}: {}", e.message), ..e })
        };
        Ok(Self {
            predicate: compile("expression", &q.expression)?,
            fields: q.fields.iter().map(|f| Ok((f.clone(), compile(&format!("field {f:?}"), f)?))).collect::<Result<_, ExprError>>()?,
            order: q.order_by.iter().map(|o| Ok((compile("orderBy", &o.expression)?, o.desc))).collect::<Result<_, ExprError>>()?,
            group: q.group_by.as_deref().map(|g| compile("groupBy", g)).transpose()?,
            limits: *limits,
        })
    }

    fn exprs(&self) -> impl Iterator<Item = &Expr> + Clone {
        std::iter::once(&self.predicate).chain(self.fields.iter().map(|f| &f.1)).chain(self.order.iter().map(|o| &o.0)).chain(self.group.iter())
    }
}

/// Runs a query against a shared read model, seeing everything.
pub fn run(shared: &SharedGraph, q: &ExprQuery, compiled: &Compiled, now: DateTime<FixedOffset>) -> Result<ExprResult, ExprError> {
    run_cancellable(shared, q, compiled, now, &Cancel::new(), &Visibility::all())
}

/// Runs a query for a reader who sees `vis`: hidden entities neither match nor are reached by
/// the graph functions. It stops (with a cancellation error) as soon as `cancel` is set.
pub fn run_cancellable(shared: &SharedGraph, q: &ExprQuery, compiled: &Compiled, now: DateTime<FixedOffset>, cancel: &Cancel, vis: &Visibility) -> Result<ExprResult, ExprError> {
    let budget = Arc::new(Budget::with_cancel(&compiled.limits, cancel.clone()));
    let access: Arc<dyn GraphAccess> = match vis.is_all() {
        true => Arc::new(Access::for_exprs(shared, compiled.exprs())),
        false => Arc::new(crate::visible::VisibleAccess { shared: shared.clone(), vis: vis.clone() }),
    };
    let graph = shared.read_recursive();
    let mut plan = plan::plan(&graph, &compiled.predicate);
    if let Some(m) = vis.mask() {
        plan.candidates &= m;
        if plan.native.as_ref().is_some_and(plan::Native::reads_relations) {
            plan.native = None;
        }
    }
    let warnings = unknown_fields(&graph, compiled);
    let fields = view::Fields::of(compiled.exprs());
    let env = Env { graph: &graph, access: &access, budget: &budget, now, fields: &fields };

    let Selected { mut matches, evaluated, failed, failures } = select(&env, &plan, &compiled.predicate)?;
    let mut warnings = warnings;
    if let Some((id, e)) = failed {
        let at = graph.key_of(id).to_owned();
        if matches.is_empty() && failures == evaluated {
            return Err(ExprError { message: format!("{} (for every entity evaluated, first {at})", e.message), ..e });
        }
        warnings.push(format!("{failures} entities could not be evaluated and did not match; the first, {at}: {}", e.message));
    }

    // Groups, over all matches.
    let groups = match &compiled.group {
        None => None,
        Some(g) => {
            // A plain field is read directly; anything else is evaluated.
            let keys: Vec<Json> = match plan::native_leaf(g) {
                Some(path) => matches.iter().map(|&id| plan::leaf_json(&graph, id, &path)).collect(),
                None => env.map(&matches, |ctx, _| g.eval(ctx))?.into_iter().map(|k| k.map(|v| portico_expr::value::to_json(&v)).unwrap_or(Json::Null)).collect(),
            };
            let mut counts: HashMap<String, (Json, usize)> = HashMap::new();
            for k in keys {
                counts.entry(k.to_string()).or_insert((k, 0)).1 += 1;
            }
            let mut groups: Vec<Group> = counts.into_values().map(|(key, count)| Group { key, count }).collect();
            groups.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| cmp_json(&a.key, &b.key)));
            Some(groups)
        }
    };

    // Order, then the page.
    let total = matches.len();
    if compiled.order.is_empty() {
        // Only the page needs ordering: select it, then sort it.
        let ranks = graph.ranks();
        let by_key = |a: &Id, b: &Id| ranks[*a as usize].cmp(&ranks[*b as usize]);
        let wanted = q.offset.saturating_add(q.limit);
        if wanted < matches.len() {
            matches.select_nth_unstable_by(wanted, by_key);
            matches.truncate(wanted);
        }
        matches.sort_unstable_by(by_key);
    } else {
        let keys = env.map(&matches, |ctx, _| {
            Ok(compiled.order.iter().map(|(e, _)| e.eval(ctx).map(|v| portico_expr::value::to_json(&v)).unwrap_or(Json::Null)).collect::<Vec<_>>())
        })?;
        let mut keyed: Vec<(Id, Vec<Json>)> = matches.iter().copied().zip(keys.into_iter().map(|k| k.unwrap_or_default())).collect();
        keyed.sort_by(|(ia, a), (ib, b)| {
            for (i, (_, desc)) in compiled.order.iter().enumerate() {
                let o = cmp_json(&a[i], &b[i]);
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            graph.key_of(*ia).cmp(graph.key_of(*ib))
        });
        matches = keyed.into_iter().map(|(id, _)| id).collect();
    }
    let page: Vec<Id> = matches.into_iter().skip(q.offset).take(q.limit).collect();
    let rows = if compiled.fields.is_empty() {
        Vec::new()
    } else {
        env.map(&page, |ctx, _| {
            Ok(compiled
                .fields
                .iter()
                .map(|(name, e)| (name.clone(), e.eval(ctx).map(|v| portico_expr::value::to_json(&v)).unwrap_or(Json::Null)))
                .collect::<serde_json::Map<_, _>>())
        })?
        .into_iter()
        .map(|r| r.unwrap_or_default())
        .collect()
    };
    Ok(ExprResult {
        total,
        ids: page,
        rows,
        groups,
        warnings,
        plan: PlanInfo {
            indexed: plan.indexed,
            native: plan.native.is_some(),
            evaluated: evaluated as u64,
            steps: budget.used(),
            elapsed_ms: budget.elapsed().as_secs_f64() * 1000.0,
        },
    })
}

/// The entities a condition holds for, among the plan's candidates.
struct Selected {
    matches: Vec<Id>,
    /// Entities the expression was evaluated on.
    evaluated: usize,
    /// The first entity it failed on, and how many failed.
    failed: Option<(Id, ExprError)>,
    failures: usize,
}

fn select(env: &Env<'_>, plan: &Plan, predicate: &Expr) -> Result<Selected, ExprError> {
    // When the condition is made of indexable parts only, the indexes answer it, and the
    // entities they cannot decide are checked directly; else it is evaluated on every candidate.
    let graph = env.graph;
    let mut matches = Vec::new();
    let (candidates, outcomes): (Vec<Id>, Vec<_>) = match &plan.native {
        Some(native) => {
            let split = native.split(graph);
            matches.extend((&split.sure & &plan.candidates).iter());
            let undecided: Vec<Id> = (&split.maybe & &plan.candidates).iter().collect();
            let outcomes = undecided.iter().map(|&id| Ok(Value::Bool(native.check(graph, id)))).collect();
            (undecided, outcomes)
        }
        None => {
            let candidates: Vec<Id> = plan.candidates.iter().collect();
            let outcomes = env.map(&candidates, |ctx, _| predicate.eval(ctx))?;
            (candidates, outcomes)
        }
    };
    let mut failed: Option<(Id, ExprError)> = None;
    let mut failures = 0usize;
    for (&id, outcome) in candidates.iter().zip(outcomes) {
        match outcome {
            Ok(Value::Bool(true)) => matches.push(id),
            Ok(Value::Bool(false)) => {}
            Ok(other) => {
                failures += 1;
                failed.get_or_insert((id, ExprError::new(ErrorKind::Check, format!("the expression must be true or false; it gave a {}", other.type_of()))));
            }
            Err(e) if is_missing(&e) => {}
            Err(e) => {
                failures += 1;
                failed.get_or_insert((id, e));
            }
        }
    }
    Ok(Selected { matches, evaluated: candidates.len(), failed, failures })
}

/// The entities (ids, ascending) a condition holds for, seeing everything, with the indexes'
/// help: what a scorecard's filter selects. An entity the condition cannot be evaluated on
/// (a missing field included) does not match.
pub fn matching(shared: &SharedGraph, predicate: &Expr, now: DateTime<FixedOffset>, limits: &Limits) -> Result<Vec<Id>, ExprError> {
    let budget = Arc::new(Budget::new(limits));
    let access: Arc<dyn GraphAccess> = Arc::new(Access::for_exprs(shared, std::iter::once(predicate)));
    let graph = shared.read_recursive();
    let plan = plan::plan(&graph, predicate);
    let fields = view::Fields::of(std::iter::once(predicate));
    let env = Env { graph: &graph, access: &access, budget: &budget, now, fields: &fields };
    let mut matches = select(&env, &plan, predicate)?.matches;
    matches.sort_unstable();
    Ok(matches)
}

/// Each of `exprs` on each of `ids` (present entities), seeing everything, on every core:
/// per id, per expression, the value or the error. A cost limit of the whole (`limits` are
/// for all the evaluations together) ends it with its error.
pub fn evaluate(shared: &SharedGraph, exprs: &[&Expr], ids: &[Id], now: DateTime<FixedOffset>, limits: &Limits) -> Result<Vec<Vec<Result<Value, ExprError>>>, ExprError> {
    let budget = Arc::new(Budget::new(limits));
    let access: Arc<dyn GraphAccess> = Arc::new(Access::for_exprs(shared, exprs.iter().copied()));
    let graph = shared.read_recursive();
    let fields = view::Fields::of(exprs.iter().copied());
    let env = Env { graph: &graph, access: &access, budget: &budget, now, fields: &fields };
    let out = env.map(ids, |ctx, _| Ok(exprs.iter().map(|e| e.eval(ctx)).collect::<Vec<_>>()))?;
    Ok(out.into_iter().map(|r| r.unwrap_or_default()).collect())
}

/// Whether an evaluation error says only that a field is absent (`spec.x` of an entity
/// without it): a condition that does not hold rather than a mistake.
pub fn is_missing(e: &ExprError) -> bool {
    e.kind == ErrorKind::Evaluation && e.message.starts_with("no field '")
}

/// Paths read below `metadata`, `spec` or `status` that no entity has: likely typos.
fn unknown_fields(graph: &CatalogGraph, compiled: &Compiled) -> Vec<String> {
    let mut out = Vec::new();
    for expr in compiled.exprs() {
        for p in expr.paths() {
            let lower = p.path.to_lowercase();
            let msg = if !graph.fields.has_path(&lower) {
                format!("no entity has the field '{}'", p.path)
            } else {
                // Field names are case-sensitive: `spec.memberof` reads nothing of `spec.memberOf`.
                match graph.fields.spelled(&lower) {
                    Some(spelled) if spelled != p.path => format!("no entity has the field '{}'; the catalog spells it '{spelled}'", p.path),
                    _ => continue,
                }
            };
            if !out.contains(&msg) {
                out.push(msg);
            }
        }
    }
    out
}

/// Evaluation of one compiled thing over many entities, on as many threads as there are cores.
struct Env<'a> {
    graph: &'a CatalogGraph,
    access: &'a Arc<dyn GraphAccess>,
    budget: &'a Arc<Budget>,
    now: DateTime<FixedOffset>,
    /// What the expressions read of the entity's fields: only that is converted.
    fields: &'a view::Fields,
}

type Ctx<'c> = portico_expr::cel::Context<'c, 'c>;

impl Env<'_> {
    /// `f` for each id, in order. A cost limit ends the whole run with its error; other errors
    /// are per entity.
    fn map<T: Send>(&self, ids: &[Id], f: impl Fn(&Ctx<'_>, Id) -> Result<T, ExprError> + Sync) -> Result<Vec<Result<T, ExprError>>, ExprError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let threads = if ids.len() < 512 { 1 } else { std::thread::available_parallelism().map_or(1, |n| n.get()).min(8) };
        let parts: Vec<&[Id]> = ids.chunks(ids.len().div_ceil(threads)).collect();
        let results = portico_expr::on_big_stacks("query", &parts, |part| self.run_part(part, &f));
        let mut out = Vec::with_capacity(ids.len());
        for r in results {
            out.extend(r?);
        }
        Ok(out)
    }

    fn run_part<T>(&self, part: &[Id], f: &(impl Fn(&Ctx<'_>, Id) -> Result<T, ExprError> + Sync)) -> Result<Vec<Result<T, ExprError>>, ExprError> {
        let current = Current::new(self.graph, self.fields);
        let mut ctx = portico_expr::context(self.access.clone(), self.budget.clone(), self.now);
        ctx.set_variable_resolver(&current);
        let mut out = Vec::with_capacity(part.len());
        for (i, &id) in part.iter().enumerate() {
            if i % 256 == 0 {
                self.budget.check_time().map_err(|m| ExprError::new(ErrorKind::Limit, m))?;
            }
            current.set(id);
            let r = f(&ctx, id);
            if self.budget.exceeded() {
                let e = r.err().unwrap_or_else(|| ExprError::new(ErrorKind::Limit, self.budget.reason().unwrap_or("a cost limit was reached")));
                return Err(ExprError { kind: ErrorKind::Limit, ..e });
            }
            out.push(r);
        }
        Ok(out)
    }
}

/// JSON values in a sensible order: null last, then numbers, strings, the rest by text.
fn cmp_json(a: &Json, b: &Json) -> Ordering {
    fn rank(v: &Json) -> u8 {
        match v {
            Json::Bool(_) => 0,
            Json::Number(_) => 1,
            Json::String(_) => 2,
            Json::Array(_) | Json::Object(_) => 3,
            Json::Null => 4,
        }
    }
    match (a, b) {
        (Json::Number(x), Json::Number(y)) => x.as_f64().partial_cmp(&y.as_f64()).unwrap_or(Ordering::Equal),
        (Json::String(x), Json::String(y)) => x.cmp(y),
        (Json::Bool(x), Json::Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)).then_with(|| a.to_string().cmp(&b.to_string())),
    }
}

#[cfg(test)]
mod tests;
