//! `/catalog`: a table of one kind's entities with facet filters (owner, lifecycle, type,
//! namespace, tag, system), a text filter, sortable columns and pages. Everything is a URL
//! parameter: `?kind=component&owner=team-a&lifecycle=production&q=cart&sort=owner&dir=desc&page=2`.
//! A facet may repeat (`owner=a&owner=b`: either); different facets all apply.

use axum::extract::{RawQuery, State};
use axum::response::Html;
use portico_graph::filter::{AllOf, EntityFilter, FilterStatement};
use portico_graph::{EntityQuery, OrderField, TextFilter, Visible};
use portico_model::{EntityRef, RefDefaults};
use portico_server::AppState;
use roaring::RoaringBitmap;
use serde::Serialize;

use crate::error::PageError;
use crate::links::{Pager, UrlState, join};
use crate::params::{Params, check_page};
use crate::view::{EntitySummary, short_label};

/// Rows per page unless `size` says otherwise.
const PAGE_SIZE: usize = 25;
/// Values listed per facet (the selected ones always are).
const FACET_VALUES: usize = 12;

/// A facet: its URL parameter, its label, and the search key it filters.
struct FacetDef {
    param: &'static str,
    label: &'static str,
    key: &'static str,
}

const FACETS: &[FacetDef] = &[
    FacetDef { param: "owner", label: "Owner", key: "relations.ownedBy" },
    FacetDef { param: "lifecycle", label: "Lifecycle", key: "spec.lifecycle" },
    FacetDef { param: "type", label: "Type", key: "spec.type" },
    FacetDef { param: "namespace", label: "Namespace", key: "metadata.namespace" },
    FacetDef { param: "tag", label: "Tag", key: "metadata.tags" },
    FacetDef { param: "system", label: "System", key: "spec.system" },
];

/// Sortable columns and the field each sorts by.
const SORTS: &[(&str, &str)] = &[
    ("name", "metadata.name"),
    ("owner", "spec.owner"),
    ("type", "spec.type"),
    ("lifecycle", "spec.lifecycle"),
    ("system", "spec.system"),
];

const PARAMS: &[&str] = &["kind", "owner", "lifecycle", "type", "namespace", "tag", "system", "q", "sort", "dir", "page", "size", "scorecard", "level"];

/// The columns a kind's table shows.
fn columns(kind: &str) -> &'static [&'static str] {
    match kind {
        "component" | "api" | "resource" => &["name", "system", "owner", "type", "lifecycle", "description", "tags"],
        "system" | "domain" => &["name", "owner", "description", "tags"],
        "group" => &["name", "type", "description"],
        "user" => &["name", "description"],
        _ => &["name", "owner", "type", "description", "tags"],
    }
}

#[derive(Serialize)]
pub(crate) struct FacetOption {
    pub value: String,
    pub count: u64,
    pub selected: bool,
    /// This page with the value toggled.
    pub url: String,
}

#[derive(Serialize)]
pub(crate) struct FacetView {
    pub param: &'static str,
    pub label: &'static str,
    pub options: Vec<FacetOption>,
    pub more: usize,
    /// Said after the label (the scorecard of the Level facet).
    pub title: Option<String>,
}

#[derive(Serialize)]
struct KindTab {
    kind: String,
    count: u64,
    url: String,
    selected: bool,
}

#[derive(Serialize)]
struct Column {
    id: &'static str,
    /// For sortable columns: the URL that sorts by it (toggling direction), and the current order.
    sort_url: Option<String>,
    sorted: Option<&'static str>,
}

#[derive(Serialize)]
struct Catalog {
    nav: &'static str,
    kind: String,
    kind_label: String,
    tabs: Vec<KindTab>,
    facets: Vec<FacetView>,
    columns: Vec<Column>,
    rows: Vec<EntitySummary>,
    /// Each row's level on the scorecard shown, when one is.
    levels: Vec<Option<crate::pages::catalog_levels::LevelBadge>>,
    /// The scorecard whose levels are shown, and the URL that hides them.
    scorecard: Option<(String, String)>,
    /// The other scorecards, each with the URL that shows its levels instead.
    other_scorecards: Vec<(String, String)>,
    total: usize,
    q: String,
    pager: Pager,
    hidden: Vec<(String, String)>,
    clear_url: Option<String>,
}

/// An owner as a user writes it (`team-a`, `group:ops/sre`) as the relation target it means.
fn owner_key(value: &str) -> Result<String, PageError> {
    EntityRef::parse(value, RefDefaults { kind: Some("group"), namespace: None })
        .map(|r| r.to_string())
        .map_err(|e| PageError::BadRequest(format!("`owner`: {e}")))
}

pub(crate) async fn page(State(state): State<AppState>, seen: portico_server::auth::Seen, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), PARAMS)?;
    let page = params.page()?;
    let size = params.number("size", 1, 100, PAGE_SIZE)?;
    let q = params.one("q")?.unwrap_or_default().to_owned();
    let order = match params.one("sort")? {
        None => Vec::new(),
        Some(s) => {
            let (_, field) = SORTS.iter().find(|(name, _)| *name == s).ok_or_else(|| {
                PageError::BadRequest(format!("cannot sort by {s:?}; sortable columns are {}", SORTS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")))
            })?;
            let desc = match params.one("dir")? {
                None | Some("asc") => false,
                Some("desc") => true,
                Some(d) => return Err(PageError::BadRequest(format!("`dir` must be asc or desc, not {d:?}"))),
            };
            vec![OrderField { field: (*field).to_owned(), desc }]
        }
    };
    let url = UrlState(params.0.pairs().to_vec());
    let within = if q.is_empty() { None } else { state.search.candidates(&q) };
    portico_server::fresh_scorecards_for_pages(&state).await?;
    let cards = portico_server::readable_cards(&state, &seen);

    let guard = state.catalog.read();
    let graph = Visible::new(&guard, &seen.0);
    let tabs_counts: Vec<(String, u64)> =
        graph.facets(&["kind".to_owned()], None).into_iter().flat_map(|f| f.values).map(|v| (v.value, v.count)).collect();
    let kind = match params.one("kind")? {
        Some(k) => k.to_ascii_lowercase(),
        None => tabs_counts.iter().find(|(k, _)| k.eq_ignore_ascii_case("component")).or(tabs_counts.first()).map_or_else(|| "component".to_owned(), |(k, _)| k.to_ascii_lowercase()),
    };
    let kind_label = tabs_counts.iter().find(|(k, _)| k.eq_ignore_ascii_case(&kind)).map(|(k, _)| k.clone());
    let kind_label = match kind_label {
        Some(l) => l,
        None if state.catalog.validator().kinds().get(&kind).is_some() => kind.clone(),
        None => {
            let known: Vec<&str> = tabs_counts.iter().map(|(k, _)| k.as_str()).collect();
            return Err(PageError::BadRequest(format!("unknown kind {kind:?}; the catalog has {}", known.join(", "))));
        }
    };

    // One statement per facet in use; each facet's counts apply every other facet.
    let mut selected: Vec<(usize, FilterStatement)> = Vec::new();
    for (i, f) in FACETS.iter().enumerate() {
        let values = params.list(f.param);
        if values.is_empty() {
            continue;
        }
        let values = if f.param == "owner" { values.iter().map(|v| owner_key(v)).collect::<Result<_, _>>()? } else { values };
        selected.push((i, FilterStatement { key: f.key.to_owned(), values: Some(values) }));
    }
    let kind_statement = FilterStatement { key: "kind".into(), values: Some(vec![kind.clone()]) };
    let filter_without = |skip: Option<usize>| EntityFilter {
        any_of: vec![AllOf {
            all_of: std::iter::once(kind_statement.clone())
                .chain(selected.iter().filter(|(i, _)| Some(*i) != skip).map(|(_, s)| s.clone()))
                .collect(),
        }],
    };
    // The entities of this kind whose text matches, checked once: the table and every facet
    // count within them.
    let text_matches: Option<RoaringBitmap> = (!q.is_empty()).then(|| {
        let kind_only = EntityFilter { any_of: vec![AllOf { all_of: vec![kind_statement.clone()] }] };
        let text = TextFilter { term: q.clone(), fields: Vec::new() };
        graph.query(&EntityQuery { filter: Some(kind_only), within, text: Some(text), ..Default::default() }).ids.into_iter().collect()
    });
    // Levels on a scorecard: a column, a facet, and the entities at the levels chosen.
    let card = crate::pages::catalog_levels::choose(&cards, &params, &kind, |id| graph.entry(id).map(|e| e.entity.kind.clone()))?;
    let at_levels = crate::pages::catalog_levels::chosen(card.as_deref(), &params)?;
    let level_facet = card.as_ref().map(|c| {
        let others: RoaringBitmap = graph.query(&EntityQuery { filter: Some(filter_without(None)), within: text_matches.clone(), ..Default::default() }).ids.into_iter().collect();
        crate::pages::catalog_levels::facet(c, &others, &url, &params)
    });
    let within_all = match (text_matches.clone(), at_levels) {
        (Some(t), Some(l)) => Some(t & l),
        (t, l) => t.or(l),
    };
    let query = EntityQuery {
        filter: Some(filter_without(None)),
        within: within_all.clone(),
        text: None,
        order,
        offset: (page - 1).saturating_mul(size),
        limit: Some(size),
    };
    let result = graph.query(&query);
    check_page(page, result.total, size)?;
    let shown: Vec<portico_graph::Id> = result.ids.iter().copied().filter(|id| graph.entry(*id).is_some()).collect();
    let rows: Vec<EntitySummary> = shown.iter().filter_map(|id| graph.entry(*id)).map(|e| EntitySummary::of(&graph, e)).collect();
    let levels = card.as_ref().map(|c| crate::pages::catalog_levels::badges(c, &shown)).unwrap_or_default();
    let mut facets: Vec<FacetView> = FACETS
        .iter()
        .enumerate()
        .map(|(i, f)| facet_view(&graph, &url, f, &filter_without(Some(i)), within_all.as_ref(), &params))
        .collect();
    if let Some(f) = level_facet {
        facets.insert(0, f);
    }
    drop(guard);

    let sort = params.one("sort")?;
    let desc = params.one("dir")? == Some("desc");
    let with_level: Vec<&'static str> = columns(&kind).iter().copied().chain(card.is_some().then_some("level")).collect();
    let columns = with_level
        .iter()
        .map(|c| {
            let sortable = SORTS.iter().any(|(n, _)| n == c);
            let current = sort == Some(*c);
            Column {
                id: c,
                sort_url: sortable.then(|| {
                    let dir = if current && !desc { "desc" } else { "asc" };
                    url.with("/catalog", &[("sort", Some(c)), ("dir", Some(dir))])
                }),
                sorted: current.then_some(if desc { "descending" } else { "ascending" }),
            }
        })
        .collect();
    let pages = result.total.div_ceil(size).max(1);
    let tabs = tabs_counts
        .into_iter()
        .map(|(k, count)| {
            let lower = k.to_ascii_lowercase();
            KindTab { url: join("/catalog", &[("kind", &lower)]), selected: lower == kind, kind: k, count }
        })
        .collect();
    let filtered = FACETS.iter().any(|f| params.0.has(f.param)) || params.0.has("level") || !q.is_empty();
    let scorecard = card.as_ref().map(|c| (c.card.title.clone(), url.with("/catalog", &[("scorecard", Some("none")), ("level", None)])));
    let other_scorecards = cards
        .iter()
        .filter(|c| card.as_ref().is_none_or(|shown| shown.card.key != c.card.key))
        .map(|c| (c.card.title.clone(), url.with("/catalog", &[("scorecard", Some(c.card.name.as_str())), ("level", None)])))
        .collect();
    let hidden = url.0.iter().filter(|(k, _)| k != "q" && k != "page").cloned().collect();
    crate::templates::render(
        "catalog.html",
        Catalog {
            nav: "catalog",
            kind_label,
            tabs,
            facets,
            columns,
            rows,
            levels,
            scorecard,
            other_scorecards,
            total: result.total,
            pager: Pager::new(&url, "/catalog", page, pages),
            hidden,
            clear_url: filtered.then(|| join("/catalog", &[("kind", &kind)])),
            kind,
            q,
        },
    )
}

fn facet_view(graph: &Visible<'_>, url: &UrlState, f: &FacetDef, filter: &EntityFilter, within: Option<&RoaringBitmap>, params: &Params) -> FacetView {
    let chosen = params.list(f.param);
    let values = graph.facets_within(&[f.key.to_owned()], Some(filter), within).into_iter().next().map(|f| f.values).unwrap_or_default();
    let shown = |v: &str| -> String {
        if f.param == "owner" {
            EntityRef::parse_full(v).map(|r| short_label(&r, Some("group"))).unwrap_or_else(|_| v.to_owned())
        } else {
            v.to_owned()
        }
    };
    let mut options: Vec<FacetOption> = Vec::new();
    let mut more = 0;
    for v in &values {
        let value = shown(&v.value);
        let selected = chosen.iter().any(|c| c.eq_ignore_ascii_case(&value));
        if options.len() < FACET_VALUES || selected {
            options.push(FacetOption { url: url.toggled("/catalog", f.param, &value), value, count: v.count, selected });
        } else {
            more += 1;
        }
    }
    // A chosen value no entity has any more still shows, so it can be unchosen.
    for c in &chosen {
        if !options.iter().any(|o| o.value.eq_ignore_ascii_case(c)) {
            options.push(FacetOption { url: url.toggled("/catalog", f.param, c), value: c.clone(), count: 0, selected: true });
        }
    }
    FacetView { param: f.param, label: f.label, options, more, title: None }
}
