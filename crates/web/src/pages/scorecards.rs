//! `/scorecards`: every scorecard with a chart of its entities per level; and
//! `/scorecards/{namespace}/{name}`: one scorecard, its level distribution, each rule's pass
//! rate, and its entities, lowest level first (`?level=` narrows to one level). Also the
//! entity page's card of results ([`entity_card`]). All of it counts only the entities the
//! reader may read, as the API does.

use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use portico_graph::Visible;
use portico_model::EntityRef;
use portico_scorecards::report::{self, EntityResult, Summary};
use portico_server::AppState;
use portico_server::auth::Seen;
use serde::Serialize;

use crate::error::PageError;
use crate::params::Params;
use crate::view::{RefLink, ref_link, safe_href};

/// Entities listed on a scorecard's page at once.
const PAGE: usize = 50;

/// The colour class of the `reached`-th level of `count` (0: none reached).
pub(crate) fn rank_class(reached: usize, count: usize) -> String {
    match reached {
        0 => "rank-none".into(),
        r if r == count => "rank-top".into(),
        r => format!("rank-{}", r.min(3)),
    }
}

#[derive(Serialize)]
struct Card {
    summary: Summary,
    url: String,
    chart: String,
    /// Share of entities at the top level, in percent.
    top_percent: f64,
}

fn chart(s: &Summary, url: &str) -> Result<String, PageError> {
    let counts: Vec<(String, u64)> = s.distribution.iter().map(|d| (d.level.clone().unwrap_or_else(|| "No level".into()), d.count as u64)).collect();
    let levels = s.levels.len();
    crate::svg::chart::bars(
        &format!("{}: entities per level", s.title),
        &counts,
        |label| {
            let level = if label == "No level" { "none" } else { label };
            Some(format!("{url}?level={}", form_urlencoded::byte_serialize(level.as_bytes()).collect::<String>()))
        },
        |label| rank_class(if label == "No level" { 0 } else { s.levels.iter().position(|l| l == label).map_or(0, |i| i + 1) }, levels),
    )
}

fn card_url(s: &Summary) -> String {
    let (namespace, name) = s.reference.trim_start_matches("scorecard:").split_once('/').unwrap_or(("default", &s.name));
    format!("/scorecards/{namespace}/{name}")
}

#[derive(Serialize)]
struct ListPage {
    nav: &'static str,
    cards: Vec<Card>,
    broken: Vec<portico_scorecards::Broken>,
}

pub(crate) async fn list(State(state): State<AppState>, seen: Seen) -> Result<Html<String>, PageError> {
    portico_server::fresh_scorecards(&state).await?;
    let summaries: Vec<Summary> = portico_server::readable_cards(&state, &seen).iter().map(|c| report::summary(c, &seen.0)).collect();
    let cards = summaries
        .into_iter()
        .map(|summary| {
            let url = card_url(&summary);
            let top = summary.distribution.last().map_or(0, |d| d.count);
            Ok(Card { chart: chart(&summary, &url)?, url, top_percent: percent(top, summary.entities), summary })
        })
        .collect::<Result<_, PageError>>()?;
    let broken = if seen.0.is_all() { state.scorecards.broken() } else { Vec::new() };
    crate::templates::render("scorecards.html", ListPage { nav: "scorecards", cards, broken })
}

fn percent(n: usize, of: usize) -> f64 {
    if of == 0 { 0.0 } else { (n as f64 / of as f64 * 1000.0).round() / 10.0 }
}


#[derive(Serialize)]
struct RuleLine {
    id: String,
    title: String,
    description: Option<String>,
    level: String,
    expression: String,
    passed: usize,
    failed: usize,
    percent: f64,
    fix: Option<Fix>,
    errors: Option<String>,
}

/// A remediation as the page shows it: its text, and a link when the address is safe.
#[derive(Serialize)]
pub(crate) struct Fix {
    text: Option<String>,
    href: Option<String>,
    url: Option<String>,
    template: Option<String>,
}

pub(crate) fn fix(r: Option<&portico_scorecards::Remediation>) -> Option<Fix> {
    let r = r?;
    Some(Fix { text: r.text.clone(), href: r.url.as_deref().and_then(safe_href).map(str::to_owned), url: r.url.clone(), template: r.template.clone() })
}

#[derive(Serialize)]
struct EntityLine {
    entity: RefLink,
    level: Option<String>,
    rank: String,
    score: f64,
    failing: Vec<String>,
}

#[derive(Serialize)]
struct OnePage {
    nav: &'static str,
    summary: Summary,
    /// When the results were last brought up to date (ms).
    evaluated_at: i64,
    url: String,
    card: RefLink,
    chart: String,
    /// Entities per level day by day, from the stored history (when it has any).
    trend: Option<String>,
    rules: Vec<RuleLine>,
    level: Option<String>,
    entities: Vec<EntityLine>,
    total: usize,
    offset: usize,
    next: Option<usize>,
    previous: Option<usize>,
}

pub(crate) async fn one(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["level", "offset"])?;
    let offset: usize = match params.one("offset")? {
        None => 0,
        Some(o) => o.parse().map_err(|_| PageError::BadRequest(format!("`offset`: {o:?} is not a number")))?,
    };
    portico_server::fresh_scorecards(&state).await?;
    let reference = EntityRef::new("scorecard", &namespace, &name);
    let key = reference.key();
    let card = {
        let graph = state.catalog.read();
        state.scorecards.card(&key).filter(|_| portico_server::sees_card(&graph, &seen, &key))
    }
    .ok_or_else(|| crate::pages::entity::not_found(&reference))?;
    let trend = trend(&state, &seen, &card).await?;
    let graph = state.catalog.read();
    let level = match params.one("level")? {
        None | Some("") => None,
        Some(l) if l.eq_ignore_ascii_case("none") => Some(String::new()),
        Some(l) => match card.card.level_index(l) {
            Some(i) => Some(card.card.levels[i].clone()),
            None => return Err(PageError::BadRequest(format!("`level`: {l:?} is not a level of this scorecard; its levels: {} (or none)", card.card.levels.join(", ")))),
        },
    };
    let summary = report::summary(&card, &seen.0);
    let (total, rows) = report::entities(&card, &graph, &seen.0, level.as_deref(), offset, PAGE);
    let visible = Visible::new(&graph, &seen.0);
    let levels = card.card.levels.len();
    let entities = rows
        .into_iter()
        .map(|r| {
            let reached = r.level.as_ref().and_then(|l| card.card.level_index(l)).map_or(0, |i| i + 1);
            let entity = EntityRef::parse_full(&r.reference).map_or_else(|_| RefLink { label: r.reference.clone(), full: r.reference.clone(), kind: String::new(), url: None }, |e| ref_link(&visible, &e, None));
            EntityLine { entity, level: r.level, rank: rank_class(reached, levels), score: r.score, failing: r.failing }
        })
        .collect();
    let rules = card
        .card
        .rules
        .iter()
        .zip(&summary.rules)
        .map(|(rule, s)| RuleLine {
            id: s.id.clone(),
            title: s.title.clone(),
            description: s.description.clone(),
            level: s.level.clone(),
            expression: s.expression.clone(),
            passed: s.passed,
            failed: s.failed,
            percent: percent(s.passed, summary.entities),
            fix: fix(rule.remediation.as_ref()),
            errors: s.errors.as_ref().map(|e| format!("{} entities could not be evaluated (they fail it); the first, {}", e.count, e.first)),
        })
        .collect();
    let url = card_url(&summary);
    let card_link = ref_link(&visible, &reference, None);
    drop(graph);
    let page = OnePage {
        trend,
        nav: "scorecards",
        evaluated_at: card.evaluated_at,
        chart: chart(&summary, &url)?,
        card: card_link,
        rules,
        level,
        entities,
        total,
        offset,
        next: (offset + PAGE < total).then_some(offset + PAGE),
        previous: (offset > 0).then(|| offset.saturating_sub(PAGE)),
        url,
        summary,
    };
    crate::templates::render("scorecard.html", page)
}

/// Days the trend chart covers.
const TREND_DAYS: i64 = 28;

/// Entities per level at the end of each of the last 28 days, from the stored level history;
/// `None` until the history has a change in that window or before.
async fn trend(state: &AppState, seen: &Seen, card: &portico_scorecards::Card) -> Result<Option<String>, PageError> {
    let store = state.catalog.store();
    let now = portico_catalog::now_ms();
    if store.level_changes(&card.card.key, None, None, None, 1).await?.is_empty() {
        return Ok(None);
    }
    let day = 86_400_000;
    let mut times = Vec::new();
    let mut per_level: Vec<Vec<u64>> = vec![Vec::new(); card.card.levels.len() + 1];
    for back in (0..TREND_DAYS).rev() {
        let at = now - back * day;
        let rows = store.levels_at(&card.card.key, at).await?;
        let counts = {
            let graph = state.catalog.read();
            portico_scorecards::history::distribution(&rows, card.card.levels.len(), |k| graph.id_of(k).is_some_and(|id| seen.0.sees(id)))
        };
        for (line, count) in per_level.iter_mut().zip(counts) {
            line.push(count);
        }
        times.push(at);
    }
    let lines = per_level
        .into_iter()
        .enumerate()
        .map(|(i, values)| portico_catalog::Line { name: if i == 0 { "No level".to_owned() } else { card.card.levels[i - 1].clone() }, values })
        .collect();
    let series = portico_catalog::Series { by: portico_catalog::SeriesBy::Lifecycle, times, lines };
    Ok(Some(crate::svg::lines::chart("trend", "Entities per level, day by day", &series)?))
}

/// The entity page's card: one line per scorecard that applies, with the level reached and
/// what to fix for the next.
#[derive(Serialize)]
pub(crate) struct ResultView {
    title: String,
    url: String,
    level: Option<String>,
    rank: String,
    score: f64,
    next_level: Option<String>,
    /// Rules failed, in the scorecard's order, each with its fix.
    failing: Vec<FailingRule>,
    passed: usize,
    rules: usize,
}

#[derive(Serialize)]
struct FailingRule {
    title: String,
    level: String,
    description: Option<String>,
    errored: bool,
    fix: Option<Fix>,
}

/// The results of entity `id` for the entity page (the reader may read it).
pub(crate) fn entity_card(state: &AppState, seen: &Seen, id: portico_graph::Id) -> Vec<ResultView> {
    let cards = portico_server::readable_cards(state, seen);
    let results: Vec<EntityResult> = report::entity_results(&cards, id);
    results
        .into_iter()
        .zip(cards.iter().filter(|c| c.scores.contains_key(&id)))
        .map(|(r, card)| {
            let reached = r.level.as_ref().and_then(|l| card.card.level_index(l)).map_or(0, |i| i + 1);
            let passed = r.rules.iter().filter(|x| x.passed).count();
            let rules = r.rules.len();
            let (namespace, name) = r.scorecard.trim_start_matches("scorecard:").split_once('/').unwrap_or(("default", ""));
            ResultView {
                url: format!("/scorecards/{namespace}/{name}"),
                rank: rank_class(reached, r.levels.len()),
                failing: r
                    .rules
                    .into_iter()
                    .filter(|x| !x.passed)
                    .map(|x| FailingRule { title: x.title, level: x.level, description: x.description, errored: x.errored, fix: fix(x.remediation.as_ref()) })
                    .collect(),
                title: r.title,
                level: r.level,
                score: r.score,
                next_level: r.next_level,
                passed,
                rules,
            }
        })
        .collect()
}


/// An entity's level on each of `cards` that applies to it: (scorecard title, level, colour).
pub(crate) fn levels_of(cards: &[std::sync::Arc<portico_scorecards::Card>], id: portico_graph::Id) -> Vec<(String, String, String)> {
    cards
        .iter()
        .filter_map(|c| {
            let s = c.scores.get(&id)?;
            let level = report::level_name(c, s.reached).unwrap_or_else(|| "No level".into());
            Some((c.card.title.clone(), level, rank_class(s.reached as usize, c.card.levels.len())))
        })
        .collect()
}

/// A scorecard over what a team owns: a chart of its entities per level.
#[derive(Serialize)]
pub(crate) struct TeamCard {
    title: String,
    url: String,
    entities: usize,
    chart: String,
}

/// One [`TeamCard`] per scorecard that applies to any of `ids`.
pub(crate) fn team_cards(cards: &[std::sync::Arc<portico_scorecards::Card>], ids: &[portico_graph::Id]) -> Result<Vec<TeamCard>, PageError> {
    let mut out = Vec::new();
    for c in cards {
        let mut counts = vec![0u64; c.card.levels.len() + 1];
        for s in ids.iter().filter_map(|id| c.scores.get(id)) {
            counts[s.reached as usize] += 1;
        }
        let entities = counts.iter().sum::<u64>() as usize;
        if entities == 0 {
            continue;
        }
        let labelled: Vec<(String, u64)> = counts.iter().enumerate().map(|(i, n)| (report::level_name(c, i as u8).unwrap_or_else(|| "No level".into()), *n)).collect();
        let levels = c.card.levels.len();
        let chart = crate::svg::chart::bars(&format!("{}: their entities per level", c.card.title), &labelled, |_| None, |label| {
            rank_class(c.card.level_index(label).map_or(0, |i| i + 1), levels)
        })?;
        out.push(TeamCard { title: c.card.title.clone(), url: format!("/scorecards/{}/{}", c.card.namespace, c.card.name), entities, chart });
    }
    Ok(out)
}
