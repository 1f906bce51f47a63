//! Scoring entities: which entities a scorecard applies to, which of its rules each passes, the
//! level it reaches and its score. A full evaluation asks the filter through the indexes and
//! runs every rule on every entity selected, on every core; a partial one does the same for a
//! few entities, after a change.

use std::collections::HashMap;

use chrono::{DateTime, FixedOffset};
use portico_expr::cel::Value;
use portico_expr::{Expr, ExprError, Limits};
use portico_graph::eval::SharedGraph;
use portico_graph::Id;
use roaring::RoaringBitmap;

use crate::definition::Scorecard;

/// One entity's result on one scorecard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Score {
    /// Bit `i` set: rule `i` passed.
    pub passed: u64,
    /// Bit `i` set: rule `i` could not be evaluated (it counts as failed).
    pub errored: u64,
    /// How many levels the entity reached, from the lowest: 0 is none (the first, unnamed
    /// level), `levels.len()` all of them.
    pub reached: u8,
    /// The weighted share of rules passed, 0 to 100.
    pub score: f32,
}

impl Score {
    pub fn passed(&self, rule: usize) -> bool {
        self.passed & (1 << rule) != 0
    }
}

/// The level reached and the score, from the rules passed.
pub fn score(card: &Scorecard, passed: u64, errored: u64) -> Score {
    let mut reached = 0u8;
    for level in 0..card.levels.len() {
        let all = card.rules.iter().enumerate().filter(|(_, r)| r.level == level).all(|(i, _)| passed & (1 << i) != 0);
        if !all {
            break;
        }
        reached += 1;
    }
    let total = card.total_weight();
    let got: f64 = card.rules.iter().enumerate().filter(|(i, _)| passed & (1 << i) != 0).map(|(_, r)| r.weight).sum();
    let score = if total > 0.0 { (got / total * 100.0) as f32 } else { 100.0 };
    Score { passed, errored, reached, score }
}

/// Limits for evaluating a scorecard's expressions on `n` entities: a query's, per entity.
pub(crate) fn limits_for(n: usize, rules: usize) -> Limits {
    let one = Limits::default();
    let times = (n.max(1) * (rules + 1)) as u64;
    Limits {
        max_steps: one.max_steps.saturating_mul(times),
        max_iterations: one.max_iterations.saturating_mul(times),
        max_produced_bytes: one.max_produced_bytes.saturating_mul(times),
        timeout: std::time::Duration::from_secs(120),
        ..one
    }
}

/// What an evaluation found: scores by entity, and the first error of each rule.
#[derive(Debug, Default)]
pub struct Evaluated {
    pub scores: HashMap<Id, Score>,
    /// Entities evaluated that the scorecard does not (or no longer) apply to.
    pub left_out: Vec<Id>,
    /// Per rule index, how many entities it failed to evaluate on, and the first error.
    pub errors: Vec<(usize, usize, String)>,
}

/// Every entity the scorecard applies to.
pub fn full(graph: &SharedGraph, card: &Scorecard, now: DateTime<FixedOffset>) -> Result<Evaluated, ExprError> {
    let ids: Vec<Id> = match &card.filter {
        Some(f) => portico_graph::eval::matching(graph, f, now, &limits_for(graph.read().len(), 0))?,
        None => graph.read().present().iter().collect(),
    };
    let mut out = rules_on(graph, card, &ids, now)?;
    out.left_out.clear();
    Ok(out)
}

/// Only `ids` (present or not): the filter asked of each, then the rules of those it holds for.
pub fn partial(graph: &SharedGraph, card: &Scorecard, ids: &RoaringBitmap, now: DateTime<FixedOffset>) -> Result<Evaluated, ExprError> {
    let (present, gone): (Vec<Id>, Vec<Id>) = {
        let g = graph.read();
        ids.iter().partition(|&id| g.present().contains(id))
    };
    // The filter and the rules in one pass (a few entities: one evaluation context); the
    // rules' answers for entities the filter leaves out are dropped.
    let exprs: Vec<&Expr> = card.filter.iter().chain(card.rules.iter().map(|r| &r.expression)).collect();
    let values = portico_graph::eval::evaluate(graph, &exprs, &present, now, &limits_for(present.len(), exprs.len()))?;
    let (mut inside, mut rows, mut outside) = (Vec::new(), Vec::new(), Vec::new());
    for (id, mut row) in present.into_iter().zip(values) {
        if card.filter.is_some() && !matches!(row.remove(0), Ok(Value::Bool(true))) {
            outside.push(id);
            continue;
        }
        inside.push(id);
        rows.push(row);
    }
    let mut out = scored(graph, card, &inside, rows);
    out.left_out = outside.into_iter().chain(gone).collect();
    Ok(out)
}

fn rules_on(graph: &SharedGraph, card: &Scorecard, ids: &[Id], now: DateTime<FixedOffset>) -> Result<Evaluated, ExprError> {
    let exprs: Vec<&Expr> = card.rules.iter().map(|r| &r.expression).collect();
    let values = portico_graph::eval::evaluate(graph, &exprs, ids, now, &limits_for(ids.len(), exprs.len()))?;
    Ok(scored(graph, card, ids, values))
}

/// Scores from each entity's answers to the rules, in order.
fn scored(graph: &SharedGraph, card: &Scorecard, ids: &[Id], values: Vec<Vec<Result<Value, ExprError>>>) -> Evaluated {
    let mut out = Evaluated { scores: HashMap::with_capacity(ids.len()), ..Evaluated::default() };
    let mut errors: Vec<(usize, String)> = vec![(0, String::new()); card.rules.len()];
    for (&id, row) in ids.iter().zip(values) {
        let mut passed = 0u64;
        let mut errored = 0u64;
        for (i, v) in row.into_iter().enumerate() {
            match v {
                Ok(Value::Bool(true)) => passed |= 1 << i,
                Ok(Value::Bool(false)) => {}
                Err(e) if portico_graph::eval::is_missing(&e) => {}
                other => {
                    errored |= 1 << i;
                    let message = match other {
                        Ok(v) => format!("the expression must be true or false; it gave a {}", v.type_of()),
                        Err(e) => e.message,
                    };
                    let slot = &mut errors[i];
                    if slot.0 == 0 {
                        slot.1 = format!("{}: {message}", graph.read().key_of(id));
                    }
                    slot.0 += 1;
                }
            }
        }
        out.scores.insert(id, score(card, passed, errored));
    }
    out.errors = errors.into_iter().enumerate().filter(|(_, (n, _))| *n > 0).map(|(i, (n, m))| (i, n, m)).collect();
    out
}

/// The entities whose answers a change may have changed, for expressions that reach as far as
/// the scorecard's `reach` says; `None` when that may be any entity. `changed` is what the read
/// model logs as touched (the changed entities and their direct neighbours either way), `core`
/// what changed itself (the entities, and those whose relations to them were added or
/// removed).
pub fn affected(graph: &SharedGraph, card: &Scorecard, changed: &RoaringBitmap, core: &RoaringBitmap) -> Option<RoaringBitmap> {
    if card.reach.anything {
        return None;
    }
    let g = graph.read();
    let mut out = changed.clone();
    // Farther than direct neighbours: one ring more per hop.
    let mut ring = changed.clone();
    for _ in 1..card.reach.hops {
        let mut next = RoaringBitmap::new();
        for id in &ring {
            next.extend(g.linked(id));
        }
        next -= &out;
        out |= &next;
        ring = next;
    }
    // Followed transitively: whatever reaches a changed entity that way. A neighbour of one
    // did not change itself: only when rules read the neighbours of what they reach (more
    // than one hop) does whatever reaches a neighbour count too.
    if !card.reach.transitive.is_empty() {
        use portico_expr::Graph;
        let mut seen = if card.reach.hops > 1 { out.clone() } else { core.clone() };
        let mut queue: Vec<Id> = seen.iter().collect();
        let mut buf = Vec::new();
        while let Some(id) = queue.pop() {
            for t in &card.reach.transitive {
                buf.clear();
                g.neighbours(id, t, true, &mut buf);
                for &n in &buf {
                    if seen.insert(n) {
                        out.insert(n);
                        queue.push(n);
                    }
                }
            }
        }
    }
    Some(out)
}
