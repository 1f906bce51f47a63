//! Scorecard levels in the catalog table: a Level column with each entity's badge on one
//! scorecard (`scorecard=NAME`; by default the first that scores the kind shown; `none` hides
//! it), and a Level facet (`level=Gold`, `level=none`) counted over the other filters.

use std::sync::Arc;

use portico_graph::Id;
use portico_scorecards::{Card, report};
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::error::PageError;
use crate::pages::scorecards::rank_class;
use crate::links::UrlState;
use crate::params::Params;

/// The level label of entities that reached none.
const NO_LEVEL: &str = "No level";

#[derive(Serialize)]
pub(crate) struct LevelBadge {
    level: String,
    rank: String,
    score: f32,
}

/// The scorecard whose levels the table shows.
pub(crate) fn choose(cards: &[Arc<Card>], params: &Params, kind: &str, kind_of: impl Fn(Id) -> Option<String>) -> Result<Option<Arc<Card>>, PageError> {
    match params.one("scorecard")? {
        Some(n) if n.eq_ignore_ascii_case("none") => Ok(None),
        Some(n) => cards.iter().find(|c| c.card.name.eq_ignore_ascii_case(n) || c.card.key.eq_ignore_ascii_case(n)).cloned().map(Some).ok_or_else(|| {
            let names: Vec<&str> = cards.iter().map(|c| c.card.name.as_str()).collect();
            PageError::BadRequest(format!("`scorecard`: no scorecard {n:?}; the scorecards: {} (or none)", if names.is_empty() { "none".to_owned() } else { names.join(", ") }))
        }),
        None => Ok(cards.iter().find(|c| c.scores.keys().next().is_some_and(|_| c.scores.keys().any(|id| kind_of(id).is_some_and(|k| k.eq_ignore_ascii_case(kind))))).cloned()),
    }
}

fn level_of(card: &Card, reached: u8) -> String {
    report::level_name(card, reached).unwrap_or_else(|| NO_LEVEL.to_owned())
}

/// The entities at the levels chosen (`level=…`, `none` for no level), or `None` when no level
/// is chosen. An unknown level is refused, naming the scorecard's.
pub(crate) fn chosen(card: Option<&Card>, params: &Params) -> Result<Option<RoaringBitmap>, PageError> {
    let wanted = params.list("level");
    if wanted.is_empty() {
        return Ok(None);
    }
    let Some(card) = card else { return Err(PageError::BadRequest("`level`: pick a scorecard too (`scorecard=…`)".into())) };
    let mut reached = Vec::new();
    for w in &wanted {
        if w.eq_ignore_ascii_case("none") || w.eq_ignore_ascii_case(NO_LEVEL) {
            reached.push(0u8);
        } else {
            let i = card.card.levels.iter().position(|l| l.eq_ignore_ascii_case(w)).ok_or_else(|| {
                PageError::BadRequest(format!("`level`: {w:?} is not a level of {}; its levels: {} (or none)", card.card.name, card.card.levels.join(", ")))
            })?;
            reached.push(i as u8 + 1);
        }
    }
    Ok(Some(card.scores.iter().filter(|(_, s)| reached.contains(&s.reached)).map(|(id, _)| id).collect()))
}

/// Each row's badge.
pub(crate) fn badges(card: &Card, ids: &[Id]) -> Vec<Option<LevelBadge>> {
    ids.iter()
        .map(|id| {
            card.scores.get(id).map(|s| LevelBadge { level: level_of(card, s.reached), rank: rank_class(s.reached as usize, card.card.levels.len()), score: s.score })
        })
        .collect()
}

/// The Level facet: entities of `ids` per level, lowest first.
pub(crate) fn facet(card: &Card, ids: &RoaringBitmap, url: &UrlState, params: &Params) -> super::catalog::FacetView {
    let mut counts = vec![0u64; card.card.levels.len() + 1];
    for id in ids {
        if let Some(s) = card.scores.get(&id) {
            counts[usize::from(s.reached).min(card.card.levels.len())] += 1;
        }
    }
    let chosen = params.list("level");
    let options = counts
        .iter()
        .enumerate()
        .map(|(reached, count)| {
            let value = if reached == 0 { "none".to_owned() } else { card.card.levels[reached - 1].clone() };
            let selected = chosen.iter().any(|c| c.eq_ignore_ascii_case(&value));
            super::catalog::FacetOption { url: url.toggled("/catalog", "level", &value), value, count: *count, selected }
        })
        .collect();
    super::catalog::FacetView { param: "level", label: "Level", options, more: 0, title: Some(format!("on {}", card.card.title)) }
}
