//! `/initiatives`: every initiative with its progress and deadline; and
//! `/initiatives/{namespace}/{name}`: one initiative, its burn-down, progress per owner, and
//! each owner's to-do list (what to fix, with the remediation a click away; `?owner=` narrows
//! to one). Also the entity page's card ([`entity_card`]) and the team page's section
//! ([`team_section`]). All of it counts only the entities the reader may read, as the API does.

use axum::extract::{Path, RawQuery, State};
use axum::response::Html;
use portico_graph::{Id, Visible};
use portico_model::EntityRef;
use portico_scorecards::initiative::{self, Progress, Todo};
use portico_scorecards::report::RuleResult;
use portico_server::AppState;
use portico_server::auth::Seen;
use serde::Serialize;

use crate::error::PageError;
use crate::pages::scorecards::{Fix, fix, rank_class};
use crate::params::Params;
use crate::view::{RefLink, ref_link};

/// Entities of a to-do list shown on an initiative's page (the API pages through the rest).
const TODO_ON_PAGE: usize = 200;
/// Entities of a to-do list shown per initiative on a team's page.
const TODO_ON_TEAM: usize = 10;

fn url_of(reference: &str) -> String {
    let (namespace, name) = reference.trim_start_matches("initiative:").split_once('/').unwrap_or(("default", reference));
    format!("/initiatives/{namespace}/{name}")
}

fn scorecard_url(key: &str) -> String {
    let (namespace, name) = key.trim_start_matches("scorecard:").split_once('/').unwrap_or(("default", key));
    format!("/scorecards/{namespace}/{name}")
}

/// "in 12 days", "due today", "3 days overdue".
fn due(days_left: i64, past: bool) -> String {
    match (past, days_left) {
        (true, d) => {
            let late = (-d).max(1);
            format!("{late} day{} overdue", if late == 1 { "" } else { "s" })
        }
        (false, 0) => "due today".into(),
        (false, d) => format!("in {d} day{}", if d == 1 { "" } else { "s" }),
    }
}

/// `done`, `overdue` or `due`: the badge's class.
fn status(p: &Progress) -> &'static str {
    if p.done == p.total {
        "done"
    } else if p.past_deadline {
        "overdue"
    } else {
        "due"
    }
}

fn owner_link(graph: &Visible<'_>, owner: &str) -> RefLink {
    match EntityRef::parse_full(owner) {
        Ok(r) if owner != "none" => ref_link(graph, &r, Some("group")),
        _ => RefLink { label: "No owner".into(), full: "none".into(), kind: String::new(), url: None },
    }
}

#[derive(Serialize)]
struct Line {
    p: Progress,
    url: String,
    scorecard_url: String,
    target: String,
    due: String,
    status: &'static str,
}

fn line(p: Progress) -> Line {
    Line { url: url_of(&p.reference), scorecard_url: scorecard_url(&p.scorecard), target: p.target_text(), due: due(p.days_left, p.past_deadline), status: status(&p), p }
}

#[derive(Serialize)]
struct ListPage {
    nav: &'static str,
    lines: Vec<Line>,
    broken: Vec<portico_scorecards::Broken>,
}

pub(crate) async fn list(State(state): State<AppState>, seen: Seen) -> Result<Html<String>, PageError> {
    portico_server::fresh_scorecards_for_pages(&state).await?;
    let (mut lines, mut broken) = (Vec::new(), Vec::new());
    for i in portico_server::readable_initiatives(&state, &seen) {
        match i.and_then(|i| portico_server::progress_of(&state, &seen, &i)) {
            Ok((p, _)) => lines.push(line(p)),
            Err(b) => broken.push(b),
        }
    }
    crate::templates::render("initiatives.html", ListPage { nav: "scorecards", lines, broken })
}

/// A rule an entity must still pass, as a page shows it.
#[derive(Serialize)]
pub(crate) struct FixLine {
    title: String,
    level: String,
    errored: bool,
    description: Option<String>,
    fix: Option<Fix>,
}

fn fix_lines(rules: &[RuleResult]) -> Vec<FixLine> {
    rules
        .iter()
        .map(|r| FixLine { title: r.title.clone(), level: r.level.clone(), errored: r.errored, description: r.description.clone(), fix: fix(r.remediation.as_ref()) })
        .collect()
}

#[derive(Serialize)]
pub(crate) struct TodoItem {
    entity: RefLink,
    level: Option<String>,
    rank: String,
    fix: Vec<FixLine>,
}

fn todo_item(graph: &Visible<'_>, t: &Todo, levels: usize, level_index: impl Fn(&str) -> Option<usize>) -> TodoItem {
    let entity = EntityRef::parse_full(&t.reference).map_or_else(|_| RefLink { label: t.reference.clone(), full: t.reference.clone(), kind: String::new(), url: None }, |r| ref_link(graph, &r, Some("component")));
    let reached = t.level.as_deref().and_then(level_index).map_or(0, |i| i + 1);
    TodoItem { entity, level: t.level.clone(), rank: rank_class(reached, levels), fix: fix_lines(&t.fix) }
}

#[derive(Serialize)]
struct OwnerLine {
    owner: RefLink,
    /// This owner's to-do list on the page.
    url: String,
    done: usize,
    total: usize,
    percent: f64,
    overdue: usize,
}

#[derive(Serialize)]
struct TodoGroup {
    owner: RefLink,
    items: Vec<TodoItem>,
}

#[derive(Serialize)]
struct OnePage {
    nav: &'static str,
    line: Line,
    entity: RefLink,
    owner: Option<RefLink>,
    burndown: Option<String>,
    /// The largest owners' share done over time, from the stored progress.
    owners_chart: Option<String>,
    /// The reader may not read every entity: stored progress (over all of them) is not shown.
    restricted: bool,
    owners: Vec<OwnerLine>,
    /// Narrowed to one owner: its label.
    only: Option<String>,
    groups: Vec<TodoGroup>,
    todo_total: usize,
    todo_shown: usize,
}

pub(crate) async fn one(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["owner"])?;
    let only = params.one("owner")?.filter(|o| !o.is_empty()).map(|o| portico_server::owner_key(o).map_err(|e| PageError::BadRequest(format!("`owner`: {e}")))).transpose()?;
    portico_server::fresh_scorecards_for_pages(&state).await?;
    let reference = EntityRef::new("initiative", &namespace, &name);
    let key = reference.key();
    let i = match portico_server::readable_initiative(&state, &seen, &key) {
        Some(Ok(i)) => i,
        Some(Err(b)) => return Err(PageError::BadRequest(format!("{key} does not compile: {}", b.error))),
        None => return Err(crate::pages::entity::not_found(&reference)),
    };
    let (progress, scope) = portico_server::progress_of(&state, &seen, &i).map_err(|b| PageError::BadRequest(format!("{key} does not resolve: {}", b.error)))?;
    let now = portico_catalog::now_ms();
    let restricted = !seen.0.is_all();
    let (burndown, owners_chart) = if restricted {
        (None, None)
    } else {
        let rows = state.catalog.store().progress(&key, i.start.unwrap_or(0), now + 1).await?;
        let burndown = initiative::burndown(&i, &rows).map(|b| crate::svg::burndown::chart(&format!("{}: entities left", i.title), &b, now)).transpose()?;
        (burndown, owners_chart(&rows, &progress, now)?)
    };
    let graph = state.catalog.read();
    let (todo_total, todo) = initiative::todo(&i, &scope, &graph, only.as_deref(), now, 0..TODO_ON_PAGE);
    let visible = Visible::new(&graph, &seen.0);
    let card = &scope.card.card;
    let levels = card.levels.len();
    let mut groups: Vec<TodoGroup> = Vec::new();
    let mut group_of: Option<&str> = None;
    for t in &todo {
        let item = todo_item(&visible, t, levels, |l| card.level_index(l));
        match groups.last_mut() {
            Some(g) if group_of == Some(t.owner.as_str()) => g.items.push(item),
            _ => {
                groups.push(TodoGroup { owner: owner_link(&visible, &t.owner), items: vec![item] });
                group_of = Some(&t.owner);
            }
        }
    }
    let owners = progress
        .owners
        .iter()
        .map(|o| OwnerLine {
            owner: owner_link(&visible, &o.owner),
            url: format!("{}?owner={}", url_of(&progress.reference), form_urlencoded::byte_serialize(o.owner.as_bytes()).collect::<String>()),
            done: o.done,
            total: o.total,
            percent: o.percent,
            overdue: o.overdue,
        })
        .collect();
    let page = OnePage {
        nav: "scorecards",
        entity: ref_link(&visible, &reference, None),
        owner: progress.owner.as_deref().and_then(|o| EntityRef::parse(o, portico_model::RefDefaults { kind: Some("Group"), namespace: Some(&namespace) }).ok()).map(|r| ref_link(&visible, &r, Some("group"))),
        only: only.as_deref().map(|o| owner_link(&visible, o).label),
        burndown,
        owners_chart,
        restricted,
        owners,
        groups,
        todo_total,
        todo_shown: todo.len(),
        line: line(progress),
    };
    drop(graph);
    crate::templates::render("initiative.html", page)
}

/// Owners drawn over time: the largest, so the lines stay readable.
const OWNER_LINES: usize = 6;

/// The largest owners' share of entities done (in percent) over time, from the stored rows.
fn owners_chart(rows: &[portico_store::ProgressRow], progress: &Progress, now: i64) -> Result<Option<String>, PageError> {
    let mut largest: Vec<&initiative::OwnerProgress> = progress.owners.iter().collect();
    largest.sort_by(|a, b| b.total.cmp(&a.total).then_with(|| a.owner.cmp(&b.owner)));
    let owners: Vec<String> = largest.iter().take(OWNER_LINES).map(|o| o.owner.clone()).collect();
    let Some((times, values)) = initiative::owners_over_time(rows, &owners, now, 30) else { return Ok(None) };
    let short = |o: &str| o.rsplit('/').next().unwrap_or(o).to_owned();
    let lines = owners.iter().zip(values).map(|(o, values)| portico_catalog::Line { name: short(o), values }).collect();
    let series = portico_catalog::Series { by: portico_catalog::SeriesBy::Owner, times, lines };
    crate::svg::lines::chart("owners", "Share of entities done (%), per owner", &series).map(Some)
}

/// One initiative on an entity's page.
#[derive(Serialize)]
pub(crate) struct MembershipView {
    title: String,
    url: String,
    target: String,
    due: String,
    done: bool,
    overdue: bool,
    fix: Vec<FixLine>,
}

/// The initiatives entity `id` is part of (the reader may read it).
pub(crate) fn entity_card(state: &AppState, seen: &Seen, id: Id) -> Vec<MembershipView> {
    portico_server::memberships(state, seen, id)
        .into_iter()
        .map(|m| {
            let target = initiative::target_text(m.level.as_deref(), &m.rules);
            MembershipView { url: url_of(&m.reference), title: m.title, target, due: due(m.days_left, m.days_left < 0), done: m.done, overdue: m.overdue, fix: fix_lines(&m.fix) }
        })
        .collect()
}

/// One initiative on a team's page: the team's progress and the start of its to-do list.
#[derive(Serialize)]
pub(crate) struct TeamInitiative {
    title: String,
    url: String,
    target: String,
    due: String,
    status: &'static str,
    done: usize,
    total: usize,
    percent: f64,
    todo: Vec<TodoItem>,
    /// To-do entities not shown here.
    more: usize,
}

/// The initiatives whose scope holds any of `ids` (what a team owns), over those alone.
pub(crate) fn team_section(state: &AppState, seen: &Seen, ids: &[Id]) -> Vec<TeamInitiative> {
    if ids.is_empty() {
        return Vec::new();
    }
    let now = chrono::Utc::now();
    let mut out = Vec::new();
    for i in portico_server::readable_initiatives(state, seen).into_iter().flatten() {
        let Ok(scope) = initiative::scope(&i, &state.scorecards, &seen.0, now.fixed_offset(), Some(ids)) else { continue };
        if scope.entities.is_empty() {
            continue;
        }
        let p = initiative::progress(&i, &scope, now.timestamp_millis());
        let graph = state.catalog.read();
        let (total, todo) = initiative::todo(&i, &scope, &graph, None, now.timestamp_millis(), 0..TODO_ON_TEAM);
        let visible = Visible::new(&graph, &seen.0);
        let card = &scope.card.card;
        let items = todo.iter().map(|t| todo_item(&visible, t, card.levels.len(), |l| card.level_index(l))).collect();
        out.push(TeamInitiative {
            url: url_of(&p.reference),
            title: p.title.clone(),
            target: p.target_text(),
            due: due(p.days_left, p.past_deadline),
            status: status(&p),
            done: p.done,
            total: p.total,
            percent: p.percent,
            todo: items,
            more: total.saturating_sub(TODO_ON_TEAM),
        });
    }
    out
}
