//! The entity page's actions. **Refresh** re-reads what provides the entity: its registered
//! location, or the discovery sources that describe it. **Unregister** first shows what would
//! go (the location and every entity it provides) and removes it only when confirmed; an
//! orphaned entity, which nothing provides any more, is deleted alone. A discovered entity
//! cannot be unregistered: it leaves the catalog when its sources stop finding it.

use axum::extract::State;
use axum::response::{Html, IntoResponse, Redirect, Response};
use portico_catalog::Mutation;
use portico_discovery::engine::Trigger;
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;
use portico_graph::Visible;

use crate::pages::entity::{EntityPath, not_found};
use crate::view::{EntitySummary, RefLink, ref_link};

/// The discovery sources that describe the entity `key`, strongest first.
async fn discovery_sources(state: &AppState, key: &str) -> Result<Vec<String>, PageError> {
    let provenance = portico_discovery::engine::provenance::provenance(&state.catalog, key).await.map_err(|e| PageError::Internal(e.to_string()))?;
    let mut names: Vec<String> = provenance.map(|p| p.sources.into_iter().map(|s| s.source).collect()).unwrap_or_default();
    names.retain(|n| state.discovery.source(n).is_ok());
    names.dedup();
    Ok(names)
}

/// `POST …/refresh`: re-reads the entity's location (and waits for it), or starts a run of
/// each discovery source that describes it; then back to the entity with what was done.
pub(crate) async fn refresh(State(state): State<AppState>, seen: portico_server::auth::Seen, EntityPath(r): EntityPath) -> Result<Response, PageError> {
    let key = r.key();
    let url = Visible::new(&state.catalog.read(), &seen.0).get(&key).map(|e| crate::view::entity_url(&e.entity_ref())).ok_or_else(|| not_found(&r))?;
    let done = if let Some(location) = state.locations.location_of(&key).await? {
        state.locations.refresh(&location.id, &|_, _| {}).await?;
        "location"
    } else {
        let sources = discovery_sources(&state, &key).await?;
        if sources.is_empty() {
            return Err(PageError::Conflict(format!("{r} comes from no registered location and no discovery source, so there is nothing to read again")));
        }
        for name in sources {
            state.discovery.spawn_run(name, Trigger::Manual, None);
        }
        "discovery"
    };
    Ok(Redirect::to(&format!("{url}?refreshed={done}")).into_response())
}

#[derive(Serialize)]
struct UnregisterPage {
    nav: &'static str,
    e: EntitySummary,
    /// `location`, `orphan` or `discovered`.
    case: &'static str,
    location: Option<(String, String)>,
    /// What goes with the location.
    entities: Vec<RefLink>,
    sources: Vec<String>,
    action: String,
}

/// `GET …/unregister`: what unregistering would remove, and a button to confirm.
pub(crate) async fn confirm(State(state): State<AppState>, seen: portico_server::auth::Seen, EntityPath(r): EntityPath) -> Result<Html<String>, PageError> {
    let key = r.key();
    let location = state.locations.location_of(&key).await?;
    let (e, orphan, entities) = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        let entry = graph.get(&key).ok_or_else(|| not_found(&r))?;
        let source = entry.source.clone();
        let mut entities: Vec<RefLink> = match &location {
            Some(_) => graph.entries().filter(|x| x.source == source).map(|x| ref_link(&graph, &x.entity_ref(), None)).collect(),
            None => Vec::new(),
        };
        entities.sort_by(|a, b| a.full.cmp(&b.full));
        (EntitySummary::of(&graph, entry), entry.orphan, entities)
    };
    let sources = if location.is_none() && !orphan { discovery_sources(&state, &key).await? } else { Vec::new() };
    let case = match (&location, orphan) {
        (Some(_), _) => "location",
        (None, true) => "orphan",
        (None, false) => "discovered",
    };
    let action = format!("{}/unregister", e.url);
    crate::templates::render(
        "unregister.html",
        UnregisterPage { nav: "catalog", e, case, location: location.map(|l| (l.kind, l.target)), entities, sources, action },
    )
}

/// `POST …/unregister`: removes the entity's location and what it provides, or the orphaned
/// entity alone; then to the catalog of its kind.
pub(crate) async fn unregister(State(state): State<AppState>, seen: portico_server::auth::Seen, EntityPath(r): EntityPath) -> Result<Response, PageError> {
    let key = r.key();
    let (source, orphan) = Visible::new(&state.catalog.read(), &seen.0).get(&key).map(|e| (e.source.clone(), e.orphan)).ok_or_else(|| not_found(&r))?;
    if let Some(location) = state.locations.location_of(&key).await? {
        let report = state.locations.delete(&location.id).await?;
        tracing::info!(entity = %r, location = %location.id, removed = report.removed, "unregistered from the portal");
    } else if orphan {
        state.catalog.apply(Mutation::Delta { source, upserts: Vec::new(), removals: vec![key] }).await?;
        tracing::info!(entity = %r, "orphaned entity deleted from the portal");
    } else {
        return Err(PageError::Conflict(format!(
            "{r} is discovered, not registered: it leaves the catalog when its discovery sources no longer find it"
        )));
    }
    Ok(Redirect::to(&format!("/catalog?kind={}", r.kind())).into_response())
}
