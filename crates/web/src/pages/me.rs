//! "My team" (`/me`): what the person signed in and their groups own (inherited groups
//! included), with each entity's errors, a chart by kind, and their stars. `?team=` shows one
//! group's instead (anyone may look at any team); the demo's guest, who is nobody, picks one.
//! Stars are toggled from entity pages (`POST …/star`).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use portico_model::{EntityRef, RefDefaults};
use portico_server::AppState;
use portico_server::auth::Principal;
use serde::Serialize;

use crate::error::PageError;
use crate::pages::entity::{EntityPath, not_found};
use crate::params::Params;
use crate::view::{EntitySummary, RefLink, ref_link};

const PARAMS: &[&str] = &["team"];

#[derive(Serialize)]
struct Row {
    e: EntitySummary,
    errors: usize,
    /// Its level on each scorecard that applies: (scorecard title, level, colour class).
    levels: Vec<(String, String, String)>,
}

#[derive(Serialize)]
struct MePage {
    nav: &'static str,
    /// Who is asking, as the catalog knows them.
    who: String,
    signed_in: bool,
    in_catalog: bool,
    /// The person's own groups, to pick one.
    groups: Vec<RefLink>,
    /// Whose things are shown: the person and their groups, or one team.
    showing: Vec<RefLink>,
    team: Option<String>,
    rows: Vec<Row>,
    with_errors: usize,
    chart: Option<String>,
    /// Per scorecard, a chart of what they own by level.
    scorecards: Vec<crate::pages::scorecards::TeamCard>,
    /// The initiatives that hold any of what it owns: its progress and to-do list.
    initiatives: Vec<crate::pages::initiatives::TeamInitiative>,
    stars: Vec<EntitySummary>,
    /// Stars of entities no longer in the catalog.
    gone: Vec<String>,
}

/// `GET /me`.
pub(crate) async fn page(State(state): State<AppState>, seen: portico_server::auth::Seen, Extension(who): Extension<Arc<Principal>>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), PARAMS)?;
    let identity = state.auth.subject(&who, state.catalog.graph()).identity.clone();
    let team = match params.one("team")?.map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(
            EntityRef::parse(t, RefDefaults { kind: Some("group"), namespace: Some("default") })
                .map_err(|e| PageError::BadRequest(format!("`team`: {e}")))?,
        ),
    };
    let owners: Vec<String> = match &team {
        Some(t) => vec![t.key()],
        None => identity.owners().iter().map(|o| EntityRef::parse_full(o).map_or_else(|_| o.to_lowercase(), |r| r.key())).collect(),
    };
    portico_server::fresh_scorecards_for_pages(&state).await?;
    let cards = portico_server::readable_cards(&state, &seen);
    let stars = state.catalog.store().stars(&who.subject).await?;
    let errors = state.catalog.store().errors(None).await?;
    let mut error_count: HashMap<&str, usize> = HashMap::new();
    for e in &errors {
        if let Some(k) = e.key.as_deref() {
            *error_count.entry(k).or_default() += 1;
        }
    }
    let team_ids: Vec<portico_graph::Id>;
    let mut page = {
        let graph = state.catalog.read();
        let graph = portico_graph::Visible::new(&graph, &seen.0);
        if let Some(t) = &team
            && graph.get(&t.key()).is_none()
        {
            return Err(PageError::NotFound(format!("there is no group {t} in the catalog")));
        }
        let link = |reference: &str| match EntityRef::parse_full(reference) {
            Ok(r) => ref_link(&graph, &r, Some("group")),
            Err(_) => RefLink { label: reference.to_owned(), full: reference.to_owned(), kind: String::new(), url: None },
        };
        let mut owned: Vec<&portico_model::CatalogEntry> = owners
            .iter()
            .filter_map(|o| graph.id_of(o))
            .flat_map(|id| graph.related(id, "ownerOf"))
            .filter_map(|id| graph.entry(id))
            .collect();
        owned.sort_by(|a, b| (&a.entity.kind, &a.key).cmp(&(&b.entity.kind, &b.key)));
        owned.dedup_by(|a, b| a.key == b.key);
        let ids: Vec<portico_graph::Id> = owned.iter().filter_map(|e| graph.id_of(&e.key)).collect();
        let rows: Vec<Row> = owned
            .iter()
            .zip(&ids)
            .map(|(e, &id)| Row {
                e: EntitySummary::of(&graph, e),
                errors: error_count.get(e.key.as_str()).copied().unwrap_or(0),
                levels: crate::pages::scorecards::levels_of(&cards, id),
            })
            .collect();
        let scorecards = crate::pages::scorecards::team_cards(&cards, &ids)?;
        team_ids = ids.clone();
        let mut by_kind: BTreeMap<String, u64> = BTreeMap::new();
        for r in &rows {
            *by_kind.entry(r.e.kind.clone()).or_default() += 1;
        }
        let chart_url = |kind: &str| {
            let mut q = form_urlencoded::Serializer::new(String::new());
            q.append_pair("kind", &kind.to_lowercase());
            for o in &owners {
                q.append_pair("owner", o);
            }
            Some(format!("/catalog?{}", q.finish()))
        };
        let counts: Vec<(String, u64)> = by_kind.into_iter().collect();
        let chart = if counts.is_empty() { None } else { Some(crate::svg::chart::bars("What it owns, by kind", &counts, chart_url, crate::svg::colour)?) };
        let (present, gone): (Vec<_>, Vec<_>) = stars.iter().partition(|s| graph.get(&s.entity_key).is_some());
        MePage {
            nav: "me",
            who: identity.subject.clone(),
            signed_in: who.via != "guest",
            in_catalog: identity.in_catalog,
            groups: identity.groups.iter().map(|g| link(g)).collect(),
            showing: match &team {
                Some(t) => vec![ref_link(&graph, t, Some("group"))],
                None => identity.owners().iter().map(|o| link(o)).collect(),
            },
            team: team.as_ref().map(ToString::to_string),
            with_errors: rows.iter().filter(|r| r.errors > 0).count(),
            rows,
            chart,
            scorecards,
            initiatives: Vec::new(),
            stars: present.iter().filter_map(|s| graph.get(&s.entity_key)).map(|e| EntitySummary::of(&graph, e)).collect(),
            gone: gone.iter().map(|s| s.entity_key.clone()).collect(),
        }
    };
    // After the block: the section reads the catalog itself (no read guard held twice).
    page.initiatives = crate::pages::initiatives::team_section(&state, &seen, &team_ids);
    crate::templates::render("me.html", page)
}

/// `POST /catalog/{namespace}/{kind}/{name}/star`: stars (`star=on`) or unstars (`off`), then
/// back to the entity.
pub(crate) async fn star(State(state): State<AppState>, seen: portico_server::auth::Seen, Extension(who): Extension<Arc<Principal>>, EntityPath(r): EntityPath, body: String) -> Result<Response, PageError> {
    let star = form_urlencoded::parse(body.as_bytes()).find(|(k, _)| k == "star").map(|(_, v)| v.into_owned()).unwrap_or_default();
    let key = r.key();
    let url = portico_graph::Visible::new(&state.catalog.read(), &seen.0).get(&key).map(|e| crate::view::entity_url(&e.entity_ref())).ok_or_else(|| not_found(&r))?;
    let store = state.catalog.store();
    match star.as_str() {
        "on" => {
            store.star(&who.subject, &key, portico_catalog::now_ms()).await?;
        }
        "off" => {
            store.unstar(&who.subject, &key).await?;
        }
        other => return Err(PageError::BadRequest(format!("`star`: {other:?} is neither `on` nor `off`"))),
    }
    Ok(Redirect::to(&url).into_response())
}
