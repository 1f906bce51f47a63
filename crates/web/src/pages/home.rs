//! `/`: a search box, entity counts by kind, what changed lately, and the catalog's health.
//! It reads no parameters and, unlike the other pages, ignores any it is given: it is where
//! links from elsewhere land, with their `?utm_source=…` and the like.

use std::collections::HashSet;

use axum::extract::State;
use axum::response::Html;
use portico_model::EntityRef;
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;
use crate::view::{EntitySummary, RefLink, ref_link};

const RECENT: usize = 12;
const LISTED: usize = 5;

#[derive(Serialize)]
struct ErrorLine {
    location: String,
    message: String,
    entity: Option<RefLink>,
}

#[derive(Serialize)]
struct UnresolvedLine {
    source: RefLink,
    #[serde(rename = "type")]
    relation: String,
    target: String,
}

#[derive(Serialize)]
struct Home {
    nav: &'static str,
    total: usize,
    kinds: Vec<(String, u64)>,
    chart: String,
    recent: Vec<EntitySummary>,
    with_errors: usize,
    errors: usize,
    recent_errors: Vec<ErrorLine>,
    unresolved: usize,
    unresolved_sample: Vec<UnresolvedLine>,
}

pub(crate) async fn page(State(state): State<AppState>, seen: portico_server::auth::Seen) -> Result<Html<String>, PageError> {
    let mut errors = state.catalog.store().errors(None).await?;
    seen.retain_errors(&state, &mut errors);
    errors.sort_by_key(|e| std::cmp::Reverse(e.at));
    let with_errors = errors.iter().filter_map(|e| e.key.as_deref()).collect::<HashSet<_>>().len();
    let home = {
        let graph = state.catalog.read();
        let graph = portico_graph::Visible::new(&graph, &seen.0);
        let kinds: Vec<(String, u64)> = graph
            .facets(&["kind".to_owned()], None)
            .into_iter()
            .flat_map(|f| f.values)
            .map(|v| (v.value, v.count))
            .collect();
        let mut recent: Vec<_> = graph.entries().map(|e| (e.updated_at, e.key.as_str())).collect();
        let by_time = |a: &(i64, &str), b: &(i64, &str)| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1));
        if recent.len() > RECENT {
            recent.select_nth_unstable_by(RECENT - 1, by_time);
            recent.truncate(RECENT);
        }
        recent.sort_unstable_by(by_time);
        let recent = recent.iter().filter_map(|(_, k)| graph.get(k)).map(|e| EntitySummary::of(&graph, e)).collect();
        let link = |key: &str| EntityRef::parse_full(key).ok().map(|r| ref_link(&graph, &r, None));
        let unresolved = graph.unresolved();
        Home {
            nav: "home",
            total: graph.len(),
            chart: String::new(),
            recent,
            with_errors,
            errors: errors.len(),
            recent_errors: errors
                .iter()
                .take(LISTED)
                .map(|e| ErrorLine {
                    location: e.location.clone(),
                    message: e.message.clone(),
                    entity: e.key.as_deref().and_then(link),
                })
                .collect(),
            unresolved: unresolved.len(),
            unresolved_sample: unresolved
                .into_iter()
                .take(LISTED)
                .filter_map(|u| Some(UnresolvedLine { source: link(&u.source)?, relation: u.relation, target: u.target }))
                .collect(),
            kinds,
        }
    };
    let chart = crate::svg::chart::kinds(&home.kinds)?;
    crate::templates::render("home.html", Home { chart, ..home })
}
