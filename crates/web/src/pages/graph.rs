//! Relation graphs: the one on each entity page, its SVG export
//! (`/catalog/{ns}/{kind}/{name}/graph.svg`), and the explorer (`/graph`, export `/graph.svg`)
//! which starts from an entity (`ref=component:default/cart`) or from every entity a filter
//! matches (`filter=kind=system,spec.owner=team-a`, Backstage's syntax; one or the other, never
//! both). Both take `depth`
//! (1 to 3) and `rel` (relation types to follow; repeat for more; all when absent); the explorer
//! also takes `asOf` (RFC 3339) to draw the catalog as it was then.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use portico_graph::filter::parse_filter_params;
use portico_graph::eval::SharedGraph;
use portico_graph::{EntityQuery, Id, Visibility, Visible};
use portico_server::auth::Seen;
use portico_model::{EntityRef, RefDefaults};
use portico_server::AppState;
use serde::Serialize;

use crate::error::PageError;
use crate::links::{UrlState, join};
use crate::pages::entity::{EntityPath, not_found};
use crate::params::Params;
use crate::svg::graph::{MAX_NODES, layout};

/// Most start entities a filter may give the explorer.
const MAX_SEEDS: usize = 25;
const EXPLORER_PARAMS: &[&str] = &["ref", "filter", "depth", "rel", "asOf"];
/// Kinds whose first entity the explorer suggests.
const MAX_EXAMPLES: usize = 12;

/// The read model to draw from: the catalog as it is, or as it was at `asOf` (RFC 3339), and
/// what the reader sees of it.
async fn graph_of(state: &AppState, seen: &Seen, params: &Params) -> Result<(SharedGraph, Visibility), PageError> {
    read_model(state, seen, as_of(params)?).await
}

/// `asOf` (RFC 3339) of a page's URL, as ms since the epoch; empty means now.
pub(crate) fn as_of(params: &Params) -> Result<Option<i64>, PageError> {
    params.one("asOf")?.map(str::trim).filter(|t| !t.is_empty()).map(|t| portico_catalog::parse_time("asOf", t).map_err(PageError::BadRequest)).transpose()
}

/// The catalog as it is, or as it was at `at`, and what the reader sees of it.
pub(crate) async fn read_model(state: &AppState, seen: &Seen, at: Option<i64>) -> Result<(SharedGraph, Visibility), PageError> {
    let graph = match at {
        None => state.catalog.graph().clone(),
        Some(at) => state.catalog.graph_at(at).await?,
    };
    Ok((graph, seen.at(state, at).await?))
}

/// Depth and relation types of a graph, from the URL.
pub(crate) struct GraphOptions {
    pub depth: u8,
    pub rels: Vec<String>,
    /// The query string, to keep in the links the view makes.
    url: UrlState,
}

impl GraphOptions {
    pub fn parse(params: &Params, default_depth: usize) -> Result<Self, PageError> {
        let depth = params.number("depth", 1, 3, default_depth)? as u8;
        let rels = params.list("rel");
        if let Some(bad) = rels.iter().find(|r| r.len() > 64 || !r.chars().all(|c| c.is_ascii_alphanumeric())) {
            return Err(PageError::BadRequest(format!("{bad:?} is not a relation type (such as ownedBy or dependsOn)")));
        }
        Ok(Self { depth, rels, url: UrlState(params.0.pairs().to_vec()) })
    }
}

#[derive(Serialize)]
struct TypeOption {
    name: String,
    colour: String,
    selected: bool,
    url: String,
}

/// A drawn graph with its controls, for a page.
#[derive(Serialize)]
pub(crate) struct GraphView {
    svg: String,
    /// Kinds drawn and their colour class, for the legend.
    kinds: Vec<(String, String)>,
    depth: u8,
    depths: Vec<(u8, String)>,
    types: Vec<TypeOption>,
    export_url: String,
    nodes: usize,
    /// Nodes standing for more than `leaf_group` leaves each.
    groups: usize,
    leaf_group: usize,
    omitted: usize,
    filtered: bool,
    clear_url: String,
}

impl GraphView {
    /// The graph around `seeds`; links go to `page` (this view) and `export` (its SVG).
    pub fn around(graph: &Visible<'_>, seeds: &[Id], o: &GraphOptions, export: &str, page: &str, title: &str) -> Result<Self, PageError> {
        let hood = graph.neighbourhood(seeds, o.depth, &o.rels, MAX_NODES);
        let drawing = layout(graph, &hood, format!("Relations of {title}"));
        let types = hood
            .relation_types
            .iter()
            .map(|t| {
                let selected = o.rels.iter().any(|r| r.eq_ignore_ascii_case(t));
                TypeOption {
                    name: t.clone(),
                    colour: crate::svg::colour(t),
                    selected,
                    url: format!("{}#graph", o.url.toggled(page, "rel", t)),
                }
            })
            .collect();
        let query = o.url.with("", &[]);
        Ok(GraphView {
            nodes: drawing.entities,
            groups: drawing.groups,
            leaf_group: crate::svg::graph::LEAF_GROUP,
            omitted: drawing.omitted,
            kinds: drawing.kinds.clone(),
            svg: drawing.to_svg()?,
            depth: o.depth,
            depths: (1..=3).map(|d| (d, format!("{}#graph", o.url.with(page, &[("depth", Some(&d.to_string()))])))).collect(),
            types,
            export_url: format!("{export}{query}"),
            filtered: !o.rels.is_empty(),
            clear_url: format!("{}#graph", o.url.with(page, &[("rel", None)])),
        })
    }
}

pub(crate) fn svg_response(svg: String, filename: &str) -> Response {
    let mut res = svg.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/svg+xml; charset=utf-8"));
    let disposition = format!("attachment; filename=\"{}\"", filename.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "-"));
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

/// `/catalog/{ns}/{kind}/{name}/graph.svg`: the entity page's graph as a file.
pub(crate) async fn entity_svg(State(state): State<AppState>, seen: Seen, EntityPath(r): EntityPath, RawQuery(raw): RawQuery) -> Result<Response, PageError> {
    let params = Params::parse(raw.as_deref(), &["depth", "rel"])?;
    let o = GraphOptions::parse(&params, 1)?;
    let graph = state.catalog.read();
    let graph = Visible::new(&graph, &seen.0);
    let id = graph.id_of(&r.key()).ok_or_else(|| not_found(&r))?;
    let hood = graph.neighbourhood(&[id], o.depth, &o.rels, MAX_NODES);
    let svg = layout(&graph, &hood, format!("Relations of {r}")).to_svg()?;
    Ok(svg_response(svg, &format!("{}-graph.svg", r.name())))
}

/// Start entities of the explorer: from `ref`, or from `filter`. `None` when neither is given.
struct Seeds {
    ids: Vec<Id>,
    title: String,
    matched: usize,
}

fn seeds(graph: &Visible<'_>, params: &Params) -> Result<Option<Seeds>, PageError> {
    if params.one("ref")?.is_some() && params.one("filter")?.is_some() {
        return Err(PageError::BadRequest(
            "give either `ref` (start from one entity) or `filter` (start from every entity it matches), not both: clear one of the two boxes and draw again".into(),
        ));
    }
    if let Some(r) = params.one("ref")? {
        let parsed = EntityRef::parse(r, RefDefaults { kind: Some("component"), namespace: None })
            .map_err(|e| PageError::BadRequest(format!("`ref`: {e}")))?;
        let id = graph.id_of(&parsed.key()).ok_or_else(|| not_found(&parsed))?;
        return Ok(Some(Seeds { ids: vec![id], title: parsed.to_string(), matched: 1 }));
    }
    if let Some(f) = params.one("filter")? {
        let filter = parse_filter_params(&[f]).map_err(|e| PageError::BadRequest(format!("`filter`: {e}")))?;
        let page = graph.query(&EntityQuery { filter, limit: Some(MAX_SEEDS), ..Default::default() });
        return Ok(Some(Seeds { ids: page.ids, title: format!("entities matching {f}"), matched: page.total }));
    }
    Ok(None)
}

/// A relation type to choose in the explorer's form.
#[derive(Serialize)]
struct RelChoice {
    name: String,
    colour: String,
    selected: bool,
}

#[derive(Serialize)]
struct Explorer {
    nav: &'static str,
    r#ref: String,
    filter: String,
    depth: u8,
    as_of: String,
    rel_types: Vec<RelChoice>,
    title: Option<String>,
    matched: usize,
    seeds: usize,
    graph: Option<GraphView>,
    /// Links to try when nothing is drawn yet: (ref, URL).
    examples: Vec<(String, String)>,
    /// Suggestions for the two boxes.
    ref_examples: Vec<String>,
    filter_examples: Vec<String>,
}

/// Every relation type the kinds' fields create (and their inverses), with those of `rels`
/// chosen; a chosen type no kind declares is kept, so it can be unchosen.
fn rel_choices(state: &AppState, rels: &[String]) -> Vec<RelChoice> {
    let validator = state.catalog.validator();
    let mut names: Vec<String> = validator
        .kinds()
        .kinds()
        .flat_map(|k| k.relations.iter().flat_map(|r| [r.relation.clone(), r.inverse.clone()]))
        .chain(rels.iter().cloned())
        .collect();
    names.sort_by_key(|n| n.to_ascii_lowercase());
    names.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    names
        .into_iter()
        .map(|name| RelChoice { selected: rels.iter().any(|r| r.eq_ignore_ascii_case(&name)), colour: crate::svg::colour(&name), name })
        .collect()
}

/// `/graph`: the explorer.
pub(crate) async fn explorer(State(state): State<AppState>, seen: Seen, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), EXPLORER_PARAMS)?;
    let o = GraphOptions::parse(&params, 2)?;
    let (shared, vis) = graph_of(&state, &seen, &params).await?;
    let page = {
        let graph = shared.read();
        let graph = Visible::new(&graph, &vis);
        let seeds = seeds(&graph, &params)?;
        let view = match &seeds {
            Some(s) => Some(GraphView::around(&graph, &s.ids, &o, "/graph.svg", "/graph", &s.title)?),
            None => None,
        };
        let starts = first_of_each_kind(&graph);
        Explorer {
            nav: "graph",
            r#ref: params.one("ref")?.unwrap_or_default().to_owned(),
            filter: params.one("filter")?.unwrap_or_default().to_owned(),
            depth: o.depth,
            as_of: params.one("asOf")?.unwrap_or_default().to_owned(),
            rel_types: rel_choices(&state, &o.rels),
            matched: seeds.as_ref().map_or(0, |s| s.matched),
            seeds: seeds.as_ref().map_or(0, |s| s.ids.len()),
            title: seeds.map(|s| s.title),
            graph: view,
            examples: ["system", "component"]
                .iter()
                .filter_map(|kind| starts.iter().find(|(k, _)| k.as_str() == *kind))
                .map(|(_, r)| (r.clone(), join("/graph", &[("ref", r.as_str())])))
                .collect(),
            filter_examples: starts.iter().map(|(k, _)| format!("kind={k}")).collect(),
            ref_examples: starts.into_iter().map(|(_, r)| r).collect(),
        }
    };
    crate::templates::render("graph.html", page)
}

/// `/graph.svg`: the explorer's graph as a file.
pub(crate) async fn explorer_svg(State(state): State<AppState>, seen: Seen, RawQuery(raw): RawQuery) -> Result<Response, PageError> {
    let params = Params::parse(raw.as_deref(), EXPLORER_PARAMS)?;
    let o = GraphOptions::parse(&params, 2)?;
    let (shared, vis) = graph_of(&state, &seen, &params).await?;
    let graph = shared.read();
    let graph = Visible::new(&graph, &vis);
    let s = seeds(&graph, &params)?.ok_or_else(|| PageError::BadRequest("give `ref` (an entity) or `filter` (which entities) to draw".into()))?;
    let hood = graph.neighbourhood(&s.ids, o.depth, &o.rels, MAX_NODES);
    let svg = layout(&graph, &hood, format!("Relations of {}", s.title)).to_svg()?;
    Ok(svg_response(svg, "portico-graph.svg"))
}

/// The first entity of each kind (most common kinds first): (kind, ref).
fn first_of_each_kind(graph: &Visible<'_>) -> Vec<(String, String)> {
    graph
        .facets(&["kind".to_owned()], None)
        .into_iter()
        .flat_map(|f| f.values)
        .take(MAX_EXAMPLES)
        .filter_map(|v| {
            let kind = v.value.to_ascii_lowercase();
            let filter = parse_filter_params(&[&format!("kind={kind}")]).ok()?;
            let page = graph.query(&EntityQuery { filter, limit: Some(1), ..Default::default() });
            let r = graph.entry(*page.ids.first()?)?.entity_ref().to_string();
            Some((kind, r))
        })
        .collect()
}
