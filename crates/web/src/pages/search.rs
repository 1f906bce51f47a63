//! `/search?q=…&kind=…&page=…`: ranked, typo-tolerant full-text search with counts per kind.
//! With `partial=1` only the results are rendered: the page's script asks for that as the user
//! types and swaps it in, so results follow every keystroke without a page load.

use axum::extract::{RawQuery, State};
use axum::response::Html;
use portico_search::{SearchError, SearchRequest};
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;
use crate::links::{Pager, UrlState};
use crate::params::{Params, check_page};
use crate::view::EntitySummary;

const PAGE_SIZE: usize = 20;

#[derive(Serialize)]
struct KindOption {
    kind: String,
    count: usize,
    selected: bool,
    url: String,
}

#[derive(Serialize)]
struct Hit {
    e: EntitySummary,
}

#[derive(Serialize)]
struct SearchPage {
    nav: &'static str,
    q: String,
    kinds: Vec<KindOption>,
    selected_kinds: Vec<String>,
    hits: Vec<Hit>,
    total: usize,
    pager: Pager,
    building: bool,
}

pub(crate) async fn page(State(state): State<AppState>, seen: portico_server::auth::Seen, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["q", "kind", "page", "partial"])?;
    let q = params.one("q")?.unwrap_or_default().to_owned();
    let selected_kinds = params.list("kind");
    let page = params.page()?;
    let partial = params.0.flag("partial")?;
    let url = UrlState(params.0.pairs().iter().filter(|(k, _)| k != "partial").cloned().collect());
    let req = SearchRequest {
        text: q.clone(),
        kinds: selected_kinds.clone(),
        offset: (page - 1) * PAGE_SIZE,
        limit: PAGE_SIZE,
        typing: true,
        visible: seen.0.mask().cloned(),
    };
    let (results, building) = match state.search.search(&req) {
        Ok(r) => (r, false),
        Err(SearchError::NotReady) => (Default::default(), true),
        Err(e) => return Err(PageError::Internal(e.to_string())),
    };
    check_page(page, results.total, PAGE_SIZE)?;
    let hits = {
        let graph = state.catalog.read();
        let graph = portico_graph::Visible::new(&graph, &seen.0);
        results
            .hits
            .iter()
            .filter_map(|h| Some(Hit { e: EntitySummary::of(&graph, graph.entry(h.id)?) }))
            .collect()
    };
    let kinds = results
        .kinds
        .into_iter()
        .map(|(kind, count)| {
            let selected = selected_kinds.iter().any(|k| k.eq_ignore_ascii_case(&kind));
            KindOption { url: url.toggled("/search", "kind", &kind.to_ascii_lowercase()), kind, count, selected }
        })
        .collect();
    let pages = results.total.div_ceil(PAGE_SIZE).max(1);
    let view = SearchPage {
        nav: "search",
        q,
        kinds,
        selected_kinds,
        hits,
        total: results.total,
        pager: Pager::new(&url, "/search", page, pages),
        building,
    };
    crate::templates::render(if partial { "search_results.html" } else { "search.html" }, view)
}
