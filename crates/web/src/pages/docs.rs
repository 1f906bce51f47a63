//! `/catalog/{namespace}/{kind}/{name}/docs`: the entity's Markdown documents (its README and
//! `docs/` pages, as discovery found them), rendered and sanitized; `?path=` picks one, the
//! README comes first.

use axum::extract::{RawQuery, State};
use axum::response::Html;
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;
use crate::pages::entity::{EntityPath, not_found};
use crate::params::Params;
use crate::view::EntitySummary;

#[derive(Serialize)]
struct DocLink {
    path: String,
    url: String,
    current: bool,
}

#[derive(Serialize)]
struct DocsPage {
    nav: &'static str,
    e: EntitySummary,
    docs: Vec<DocLink>,
    path: Option<String>,
    source: Option<String>,
    html: String,
}

pub(crate) async fn page(State(state): State<AppState>, seen: portico_server::auth::Seen, EntityPath(r): EntityPath, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["path"])?;
    let key = r.key();
    let e = {
        let graph = state.catalog.read();
        let graph = portico_graph::Visible::new(&graph, &seen.0);
        let entry = graph.get(&key).ok_or_else(|| not_found(&r))?;
        EntitySummary::of(&graph, entry)
    };
    let mut docs = state.discovery.docs(&key).await.map_err(|e| PageError::Internal(e.to_string()))?;
    // README first, then by path.
    docs.sort_by_key(|(_, d)| (!d.path.to_ascii_lowercase().ends_with("readme.md"), d.path.clone()));
    docs.dedup_by(|a, b| a.1.path == b.1.path);
    let wanted = params.0.one("path").map_err(PageError::from)?;
    let chosen = match wanted {
        Some(p) => Some(docs.iter().position(|(_, d)| d.path == p).ok_or_else(|| PageError::NotFound(format!("{r} has no document {p:?}")))?),
        None => (!docs.is_empty()).then_some(0),
    };
    let html = chosen.map(|i| crate::markdown::render(&docs[i].1.markdown)).unwrap_or_default();
    let page = DocsPage {
        nav: "catalog",
        path: chosen.map(|i| docs[i].1.path.clone()),
        source: chosen.map(|i| docs[i].0.clone()),
        docs: docs
            .iter()
            .enumerate()
            .map(|(i, (_, d))| DocLink {
                path: d.path.clone(),
                url: format!("{}/docs?path={}", e.url, form_urlencoded::byte_serialize(d.path.as_bytes()).collect::<String>()),
                current: Some(i) == chosen,
            })
            .collect(),
        e,
        html,
    };
    crate::templates::render("docs.html", page)
}
