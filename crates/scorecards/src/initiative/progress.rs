//! An initiative's progress from its scorecard's current results: which entities are in scope,
//! which meet the target, per owner; the to-do lists; and the burn-down from stored progress.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use portico_graph::{CatalogGraph, Id, Visibility};
use portico_store::ProgressRow;

use super::{Initiative, rfc3339};
use crate::report::{self, RuleResult};
use crate::{Card, GroupBy, Scorecards};

/// The entities of an initiative and what they must pass.
#[derive(Debug, Clone)]
pub struct Scope {
    pub card: Arc<Card>,
    /// The target level's index, if the initiative names one.
    pub level: Option<usize>,
    /// The rules an entity must pass to meet the target: those the initiative names, and every
    /// rule of the target level and below (bit `i`: rule `i`).
    pub blocking: u64,
    /// In scope, as the reader sees it: each entity and its owner's key (`none`: no owner).
    pub entities: Vec<(Id, String)>,
}

impl Scope {
    /// Whether entity `id` meets the target (false when the scorecard has no result for it).
    pub fn meets(&self, id: Id) -> bool {
        self.card.scores.get(&id).is_some_and(|s| s.passed & self.blocking == self.blocking)
    }
}

/// The entities of `initiative` that `vis` lets through, among `only` when given (an entity's
/// or a team's page asks about a few). Errs, with a message naming the field, when the
/// scorecard, a level or a rule it names does not exist, or when its filter fails.
pub fn scope(initiative: &Initiative, scorecards: &Scorecards, vis: &Visibility, now: DateTime<FixedOffset>, only: Option<&[Id]>) -> Result<Scope, String> {
    let Some(card) = scorecards.card(&initiative.scorecard) else {
        let known: Vec<String> = scorecards.cards().iter().map(|c| c.card.name.clone()).collect();
        return Err(format!("spec.scorecard: no scorecard {:?}; the scorecards: {}", initiative.scorecard, if known.is_empty() { "none".into() } else { known.join(", ") }));
    };
    let c = &card.card;
    let level = match &initiative.level {
        None => None,
        Some(l) => Some(c.level_index(l).ok_or_else(|| format!("spec.level: {l:?} is not a level of {}; its levels: {}", c.key, c.levels.join(", ")))?),
    };
    let mut blocking = 0u64;
    for id in &initiative.rules {
        let i = c.rules.iter().position(|r| &r.id == id).ok_or_else(|| {
            format!("spec.rules: {id:?} is not a rule of {}; its rules: {}", c.key, c.rules.iter().map(|r| r.id.as_str()).collect::<Vec<_>>().join(", "))
        })?;
        blocking |= 1 << i;
    }
    if let Some(l) = level {
        for (i, r) in c.rules.iter().enumerate() {
            if r.level <= l {
                blocking |= 1 << i;
            }
        }
    }
    let graph = scorecards.graph();
    let candidates: Vec<Id> = match only {
        Some(ids) => ids.iter().copied().filter(|id| card.scores.contains_key(id) && vis.sees(*id)).collect(),
        None => card.scores.keys().filter(|id| vis.sees(*id)).collect(),
    };
    let inside: Vec<Id> = match &initiative.filter {
        None => candidates,
        Some(f) if only.is_some() => {
            let limits = crate::evaluate::limits_for(candidates.len(), 1);
            let values = portico_graph::eval::evaluate(graph, &[f], &candidates, now, &limits).map_err(|e| format!("spec.filter: {}", e.message))?;
            candidates.into_iter().zip(values).filter(|(_, v)| matches!(v.first(), Some(Ok(portico_expr::cel::Value::Bool(true))))).map(|(id, _)| id).collect()
        }
        Some(f) => {
            let limits = crate::evaluate::limits_for(graph.read().len(), 0);
            let matching: roaring::RoaringBitmap = portico_graph::eval::matching(graph, f, now, &limits).map_err(|e| format!("spec.filter: {}", e.message))?.into_iter().collect();
            candidates.into_iter().filter(|id| matching.contains(*id)).collect()
        }
    };
    let g = graph.read();
    let entities = inside.into_iter().map(|id| (id, g.entry(id).map_or_else(|| "none".to_owned(), |e| crate::record::group_key(&g, &e.key, GroupBy::Owner)))).collect();
    Ok(Scope { card, level, blocking, entities })
}

/// How an initiative is going, over its scope.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Progress {
    #[serde(rename = "ref")]
    pub reference: String,
    pub name: String,
    pub namespace: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The scorecard's key and title.
    pub scorecard: String,
    pub scorecard_title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    pub deadline: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    /// Whole days to the deadline (negative once past).
    pub days_left: i64,
    pub past_deadline: bool,
    /// Entities in scope.
    pub total: usize,
    /// Entities that meet the target.
    pub done: usize,
    /// `done` of `total`, 0 to 100 (100 with nothing in scope).
    pub percent: f64,
    /// Entities that miss the target after the deadline.
    pub overdue: usize,
    /// Per owner, least done first.
    pub owners: Vec<OwnerProgress>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OwnerProgress {
    /// The owner's key (`group:default/payments`), or `none`.
    pub owner: String,
    pub total: usize,
    pub done: usize,
    pub percent: f64,
    pub overdue: usize,
}

impl Progress {
    /// The target in words: `Silver`, `rules a, b`, `Silver and rules a, b`.
    pub fn target_text(&self) -> String {
        target_text(self.level.as_deref(), &self.rules)
    }
}

/// A target in words: `Silver`, `rule a`, `rules a, b`, `Silver and rules a, b`.
pub fn target_text(level: Option<&str>, rules: &[String]) -> String {
    let named = format!("rule{} {}", if rules.len() == 1 { "" } else { "s" }, rules.join(", "));
    match (level, rules.is_empty()) {
        (Some(l), true) => l.to_owned(),
        (None, _) => named,
        (Some(l), false) => format!("{l} and {named}"),
    }
}

fn percent(done: usize, total: usize) -> f64 {
    if total == 0 { 100.0 } else { (done as f64 / total as f64 * 1000.0).round() / 10.0 }
}

/// The progress of `initiative` over `scope` at `now` (ms).
pub fn progress(initiative: &Initiative, scope: &Scope, now: i64) -> Progress {
    let past = initiative.past_deadline(now);
    let mut per_owner: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (id, owner) in &scope.entities {
        let slot = per_owner.entry(owner).or_default();
        slot.0 += 1;
        slot.1 += usize::from(scope.meets(*id));
    }
    let mut owners: Vec<OwnerProgress> = per_owner
        .into_iter()
        .map(|(owner, (total, done))| OwnerProgress { owner: owner.to_owned(), total, done, percent: percent(done, total), overdue: if past { total - done } else { 0 } })
        .collect();
    owners.sort_by(|a, b| a.percent.total_cmp(&b.percent).then_with(|| b.total.cmp(&a.total)).then_with(|| a.owner.cmp(&b.owner)));
    let total = scope.entities.len();
    let done = owners.iter().map(|o| o.done).sum();
    let c = &scope.card.card;
    Progress {
        reference: format!("initiative:{}/{}", initiative.namespace, initiative.name),
        name: initiative.name.clone(),
        namespace: initiative.namespace.clone(),
        title: initiative.title.clone(),
        description: initiative.description.clone(),
        owner: initiative.owner.clone(),
        scorecard: c.key.clone(),
        scorecard_title: c.title.clone(),
        level: scope.level.map(|l| c.levels[l].clone()),
        rules: initiative.rules.clone(),
        filter: initiative.filter.as_ref().map(|f| f.source().to_owned()),
        deadline: initiative.deadline_text(),
        start: initiative.start.map(rfc3339),
        days_left: (initiative.deadline - now).div_euclid(86_400_000),
        past_deadline: past,
        total,
        done,
        percent: percent(done, total),
        overdue: if past { total - done } else { 0 },
        owners,
    }
}

/// One entity that misses an initiative's target, and what to fix.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Todo {
    #[serde(rename = "ref")]
    pub reference: String,
    pub owner: String,
    /// The level it is at (`null`: none).
    pub level: Option<String>,
    pub score: f64,
    /// The deadline has passed.
    pub overdue: bool,
    /// The rules that keep it from the target, each with its remediation.
    pub fix: Vec<RuleResult>,
}

/// The entities of `scope` that miss the target, of one owner (a key) or all, by owner then
/// entity: how many in all, and those of `page` (positions in that order) with what to fix.
pub fn todo(initiative: &Initiative, scope: &Scope, graph: &CatalogGraph, owner: Option<&str>, now: i64, page: std::ops::Range<usize>) -> (usize, Vec<Todo>) {
    let past = initiative.past_deadline(now);
    let mut missing: Vec<(&str, String, Id)> = scope
        .entities
        .iter()
        .filter(|(id, o)| owner.is_none_or(|w| w == o) && !scope.meets(*id) && scope.card.scores.contains_key(id))
        .map(|(id, o)| (o.as_str(), graph.entry(*id).map_or_else(|| graph.key_of(*id).to_owned(), |e| e.entity_ref().to_string()), *id))
        .collect();
    missing.sort_unstable();
    let total = missing.len();
    // Only the page's rules are looked at: a to-do list may hold tens of thousands.
    let todo = missing
        .into_iter()
        .skip(page.start)
        .take(page.end.saturating_sub(page.start))
        .filter_map(|(o, reference, id)| {
            let s = *scope.card.scores.get(&id)?;
            let result = report::entity_result(&scope.card, id, s);
            let fix = result.rules.into_iter().enumerate().filter(|(i, r)| !r.passed && scope.blocking & (1 << i) != 0).map(|(_, r)| r).collect();
            Some(Todo { reference, owner: o.to_owned(), level: result.level, score: result.score, overdue: past, fix })
        })
        .collect();
    (total, todo)
}

/// Entities still to bring to the target over time, and the ideal line from the start to the
/// deadline.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Burndown {
    /// When the ideal line starts (ms): the initiative's `start`, else its first stored progress.
    pub start: i64,
    pub deadline: i64,
    /// Remaining at the start: where the ideal line begins.
    pub remaining_at_start: i64,
    /// Each change: (ms, entities remaining, entities in scope).
    pub points: Vec<(i64, i64, i64)>,
}

/// The burn-down from the initiative's stored progress (its rows for the whole initiative,
/// owner `""`, oldest first); `None` before any is stored.
pub fn burndown(initiative: &Initiative, rows: &[ProgressRow]) -> Option<Burndown> {
    let rows: Vec<&ProgressRow> = rows.iter().filter(|r| r.owner.is_empty()).collect();
    let first = rows.first()?;
    let start = initiative.start.unwrap_or(first.at);
    let remaining = |r: &ProgressRow| i64::from(r.total - r.done);
    // What held at the start: the last row at or before it, else the first after it.
    let at_start = rows.iter().rev().find(|r| r.at <= start).unwrap_or(first);
    Some(Burndown {
        start,
        deadline: initiative.deadline,
        remaining_at_start: remaining(at_start),
        points: rows.iter().map(|r| (r.at.max(start), remaining(r), i64::from(r.total))).collect(),
    })
}

/// Each of `owners`' share of entities done (0 to 100) at `points` times evenly spread from its
/// first stored row to `now`, from the stored progress (oldest first): the times, and per owner
/// its values. `None` before any of them has a row.
pub fn owners_over_time(rows: &[ProgressRow], owners: &[String], now: i64, points: usize) -> Option<(Vec<i64>, Vec<Vec<u64>>)> {
    let first = rows.iter().filter(|r| owners.contains(&r.owner)).map(|r| r.at).min()?;
    let points = points.max(2);
    let times: Vec<i64> = (0..points).map(|i| first + (now - first).max(0) * i as i64 / (points - 1) as i64).collect();
    let values = owners
        .iter()
        .map(|o| {
            let mine: Vec<&ProgressRow> = rows.iter().filter(|r| &r.owner == o).collect();
            times
                .iter()
                .map(|&t| match mine.iter().rev().find(|r| r.at <= t) {
                    Some(r) if r.total > 0 => (i64::from(r.done) * 100 / i64::from(r.total)) as u64,
                    _ => 0,
                })
                .collect()
        })
        .collect();
    Some((times, values))
}
