//! `/query`: the query console. Write a condition in the expression language (with completion
//! of kinds, fields and functions), add fields, an order or a grouping, and see the answer as
//! a table, a bar chart of the groups, or a graph of the matching entities and their
//! relations; answer as of a past time; save it under a name. Everything is in the URL, so a
//! console view is shared by its link; a saved query opens with `?saved=name`.

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use portico_catalog::{QueryError, QueryOutput, parse_time};
use portico_expr::ExprError;
use portico_graph::eval::{ExprQuery, OrderBy, SharedGraph};
use portico_graph::{Visibility, Visible};
use portico_server::auth::Seen;
use portico_model::EntityRef;
use portico_server::AppState;
use serde::Serialize;
use serde_json::Value;

use crate::error::PageError;
use crate::links::{Pager, UrlState, join};
use crate::pages::graph::{GraphOptions, GraphView, as_of, read_model};
use crate::params::Params;
use crate::view::{RefLink, ref_link};

const PARAMS: &[&str] = &["q", "fields", "order", "groupBy", "view", "asOf", "saved", "page", "depth", "rel"];
/// Rows per page of the table.
const PAGE: usize = 50;
/// Most matching entities drawn as the graph's start.
const GRAPH_SEEDS: usize = 25;
/// Most groups drawn as bars.
const BARS: usize = 30;

/// Conditions to start from, on an empty console.
pub(crate) const EXAMPLES: &[(&str, &str)] = &[
    ("Components whose owner does not exist", "kind == 'Component' && related('ownedBy').size() == 0"),
    ("Orphaned resources", "kind == 'Resource' && (related('ownedBy').size() == 0 || inverse('dependsOn').size() == 0)"),
    ("Services with more than 3 dependencies", "kind == 'Component' && spec.type == 'service' && reachable('dependsOn').size() > 3"),
    ("APIs nobody consumes", "kind == 'API' && inverse('consumesApi').size() == 0"),
    ("Production components without docs", "kind == 'Component' && spec.lifecycle == 'production' && !('backstage.io/techdocs-ref' in metadata.annotations)"),
];

/// What the console's form holds.
#[derive(Serialize, Default, Clone)]
pub(crate) struct Form {
    pub q: String,
    /// One expression per line.
    pub fields: String,
    /// `expr` or `desc:expr`.
    pub order: String,
    #[serde(rename = "groupBy")]
    pub group_by: String,
    pub view: String,
    #[serde(rename = "asOf")]
    pub as_of: String,
    pub saved: String,
}

impl Form {
    pub fn query(&self, offset: usize, limit: usize) -> ExprQuery {
        let order = self.order.trim();
        ExprQuery {
            expression: self.q.trim().to_owned(),
            fields: self.fields.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_owned).collect(),
            order_by: match order.strip_prefix("desc:") {
                _ if order.is_empty() => Vec::new(),
                Some(e) => vec![OrderBy { expression: e.trim().to_owned(), desc: true }],
                None => vec![OrderBy { expression: order.to_owned(), desc: false }],
            },
            group_by: Some(self.group_by.trim()).filter(|g| !g.is_empty()).map(str::to_owned),
            offset,
            limit,
        }
    }

    /// The console URL showing this form.
    pub fn url(&self) -> String {
        let mut pairs = vec![("q", self.q.as_str())];
        for (k, v) in [("fields", &self.fields), ("order", &self.order), ("groupBy", &self.group_by), ("asOf", &self.as_of)] {
            if !v.trim().is_empty() {
                pairs.push((k, v.as_str()));
            }
        }
        join("/query", &pairs)
    }

    /// The form as a console URL gives it.
    fn of(params: &Params) -> Result<Self, PageError> {
        let one = |n: &str| -> Result<String, PageError> { Ok(params.one(n)?.unwrap_or_default().to_owned()) };
        Ok(Form {
            q: one("q")?,
            fields: one("fields")?,
            order: one("order")?,
            group_by: one("groupBy")?,
            view: one("view")?,
            as_of: one("asOf")?,
            saved: one("saved")?,
        })
    }

    fn from_saved(saved: &portico_store::SavedQuery) -> Result<Self, PageError> {
        let q: ExprQuery = serde_json::from_value(saved.query.clone())
            .map_err(|e| PageError::Internal(format!("saved query {} no longer reads: {e}", saved.name)))?;
        Ok(Form {
            q: q.expression,
            fields: q.fields.join("\n"),
            order: q.order_by.first().map(|o| if o.desc { format!("desc:{}", o.expression) } else { o.expression.clone() }).unwrap_or_default(),
            group_by: q.group_by.unwrap_or_default(),
            saved: saved.name.clone(),
            ..Default::default()
        })
    }
}

/// An error of the expression, shown under the form.
#[derive(Serialize)]
pub(crate) struct ErrorBox {
    message: String,
    snippet: Option<String>,
}

impl ErrorBox {
    fn of(e: &ExprError) -> Self {
        let message = match (e.line, e.column) {
            (Some(l), Some(c)) => format!("{l}:{c}: {}", e.message),
            _ => e.message.clone(),
        };
        Self { message, snippet: e.snippet.clone() }
    }
}

#[derive(Serialize)]
struct Row {
    link: RefLink,
    cells: Vec<String>,
}

#[derive(Serialize)]
struct Answer {
    total: usize,
    columns: Vec<String>,
    rows: Vec<Row>,
    chart: Option<String>,
    groups: Vec<(String, usize)>,
    graph: Option<GraphView>,
    warnings: Vec<String>,
    indexed: Vec<String>,
    evaluated: u64,
    elapsed_ms: String,
    pager: Pager,
    csv_url: String,
}

#[derive(Serialize)]
struct Tab {
    name: &'static str,
    label: &'static str,
    url: String,
    current: bool,
}

#[derive(Serialize, Default)]
struct ConsolePage {
    nav: &'static str,
    form: Form,
    examples: Vec<(&'static str, String)>,
    tabs: Vec<Tab>,
    answer: Option<Answer>,
    error: Option<ErrorBox>,
    save_error: Option<String>,
    saved_title: Option<String>,
    /// Why the query in the URL was not run (it came from another site's page).
    notice: Option<String>,
}

pub(crate) async fn page(State(state): State<AppState>, seen: Seen, uri: Uri, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, PageError> {
    let params = Params::parse(raw.as_deref(), PARAMS)?;
    let mut form = Form::of(&params)?;
    let mut saved_title = None;
    if !form.saved.is_empty() {
        let saved = state
            .catalog
            .store()
            .get_saved_query(&form.saved)
            .await?
            .ok_or_else(|| PageError::NotFound(format!("there is no saved query named {:?}", form.saved)))?;
        saved_title = Some(saved.title.clone());
        if form.q.is_empty() {
            form = Form { view: form.view, as_of: form.as_of, ..Form::from_saved(&saved)? };
        }
    }
    let page = params.page()?;
    if let Some(from) = portico_server::origin::foreign_page(&headers, &uri).filter(|_| !form.q.trim().is_empty()) {
        // A link (or an image, a frame) on another site could otherwise make every visitor's
        // browser run an expensive query: show it, and let the visitor run it.
        let (_, mut console) = console(&state, &seen, Form { q: String::new(), ..form.clone() }, &params, page, saved_title).await?;
        console.form = form;
        console.notice = Some(format!("This query came from {from}. Check it, then press Run to run it."));
        return Ok((StatusCode::OK, crate::templates::render("query.html", console)?).into_response());
    }
    let (status, console) = console(&state, &seen, form, &params, page, saved_title).await?;
    Ok((status, crate::templates::render("query.html", console)?).into_response())
}

/// Refuses to run a query for another site's page (the downloads have no form to show).
fn same_site_only(headers: &HeaderMap, uri: &Uri) -> Result<(), PageError> {
    match portico_server::origin::foreign_page(headers, uri) {
        Some(from) => Err(PageError::Forbidden(format!("this query was asked for by {from}; open it from Portico's query console to run it"))),
        None => Ok(()),
    }
}

async fn console(state: &AppState, seen: &Seen, form: Form, params: &Params, page: usize, saved_title: Option<String>) -> Result<(StatusCode, ConsolePage), PageError> {
    let view = match form.view.as_str() {
        "" | "table" => "table",
        "chart" => "chart",
        "graph" => "graph",
        other => return Err(PageError::BadRequest(format!("view {other:?} is not one of table, chart, graph"))),
    };
    let url = UrlState(params.0.pairs().to_vec());
    let mut console = ConsolePage {
        nav: "query",
        examples: EXAMPLES.iter().map(|(label, q)| (*label, join("/query", &[("q", q)]))).collect(),
        tabs: [("table", "Table"), ("chart", "Bar chart"), ("graph", "Graph")]
            .into_iter()
            .map(|(name, label)| Tab { name, label, url: url.with("/query", &[("view", Some(name)), ("page", None)]), current: name == view })
            .collect(),
        saved_title,
        form: form.clone(),
        ..Default::default()
    };
    if form.q.trim().is_empty() {
        return Ok((StatusCode::OK, console));
    }
    let as_of = match form.as_of.trim() {
        "" => None,
        t => match parse_time("asOf", t) {
            Ok(t) => Some(t),
            Err(m) => {
                console.error = Some(ErrorBox { message: m, snippet: None });
                return Ok((StatusCode::BAD_REQUEST, console));
            }
        },
    };
    let query = form.query((page - 1) * PAGE, PAGE);
    let limits = state.catalog.query_config().limits();
    let run = async {
        let vis = seen.at(state, as_of).await?;
        Ok::<_, QueryError>((state.catalog.query(query.clone(), as_of, &limits, &vis).await?, vis))
    };
    let (output, vis) = match run.await {
        Ok(o) => o,
        Err(QueryError::Expr(e)) => {
            console.error = Some(ErrorBox::of(&e));
            return Ok((StatusCode::BAD_REQUEST, console));
        }
        Err(e @ QueryError::Refused(_)) => return Err(query_error(e)),
        Err(QueryError::Catalog(e)) => {
            let e = PageError::from(e);
            if let PageError::BadRequest(m) = &e {
                console.error = Some(ErrorBox { message: m.clone(), snippet: None });
                return Ok((StatusCode::BAD_REQUEST, console));
            }
            return Err(e);
        }
    };
    let pages = output.total_items.div_ceil(PAGE).max(1);
    crate::params::check_page(page, output.total_items, PAGE)?;
    let graph = read_model(state, seen, as_of).await?.0;
    let answer = answer(&graph, &vis, &form, &query, output, view, params, &url, page, pages)?;
    console.answer = Some(answer);
    Ok((StatusCode::OK, console))
}

#[allow(clippy::too_many_arguments)]
fn answer(
    shared: &SharedGraph,
    vis: &Visibility,
    form: &Form,
    query: &ExprQuery,
    output: QueryOutput,
    view: &str,
    params: &Params,
    url: &UrlState,
    page: usize,
    pages: usize,
) -> Result<Answer, PageError> {
    let graph = shared.read();
    let graph = Visible::new(&graph, vis);
    let (columns, cells) = if output.result.groups.is_some() {
        (Vec::new(), Vec::new())
    } else {
        let (header, rows) = output.rows();
        if query.fields.is_empty() {
            // The entity link is its own column: drop kind, namespace and name.
            (header[3..].to_vec(), rows.into_iter().map(|r| r[3..].to_vec()).collect::<Vec<_>>())
        } else {
            (header[1..].to_vec(), rows.into_iter().map(|r| r[1..].to_vec()).collect::<Vec<_>>())
        }
    };
    let rows = output
        .result
        .ids
        .iter()
        .zip(cells)
        .filter_map(|(id, cells)| {
            let entry = graph.entry(*id)?;
            Some(Row { link: ref_link(&graph, &EntityRef::parse_full(&entry.key).ok()?, None), cells })
        })
        .collect();
    let groups: Vec<(String, usize)> =
        output.result.groups.iter().flatten().map(|g| (text(&g.key), g.count)).collect();
    let chart = match (&output.result.groups, view) {
        (Some(_), "chart") => {
            let counts: Vec<(String, u64)> = groups.iter().take(BARS).map(|(k, n)| (k.clone(), *n as u64)).collect();
            let drill = |key: &str| {
                let literal = serde_json::to_string(key).ok()?;
                let narrowed = Form { q: format!("({}) && ({}) == {literal}", form.q.trim(), form.group_by.trim()), group_by: String::new(), view: String::new(), ..form.clone() };
                Some(narrowed.url())
            };
            Some(crate::svg::chart::bars(&format!("Count by {}", form.group_by.trim()), &counts, drill, crate::svg::colour)?)
        }
        _ => None,
    };
    let graph_view = if view == "graph" && !output.result.ids.is_empty() {
        let seeds: Vec<_> = output.result.ids.iter().copied().take(GRAPH_SEEDS).collect();
        let options = GraphOptions::parse(params, 1)?;
        let here = url.with("/query", &[]);
        let title = format!("{} matching entit{}", seeds.len(), if seeds.len() == 1 { "y" } else { "ies" });
        Some(GraphView::around(&graph, &seeds, &options, "/query/graph.svg", &here, &title)?)
    } else {
        None
    };
    let mut csv = form.query(0, 10_000);
    csv.offset = 0;
    Ok(Answer {
        total: output.total_items,
        columns,
        rows,
        chart,
        groups,
        graph: graph_view,
        warnings: output.result.warnings.clone(),
        indexed: output.result.plan.indexed.clone(),
        evaluated: output.result.plan.evaluated,
        elapsed_ms: format!("{:.1}", output.result.plan.elapsed_ms),
        pager: Pager::new(url, "/query", page, pages),
        csv_url: csv_url(form),
    })
}

/// The same query as CSV, through the page's own download route.
fn csv_url(form: &Form) -> String {
    form.url().replacen("/query", "/query.csv", 1)
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => "(none)".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A query that cannot be answered, for the download routes (the console shows the error
/// under its form instead).
fn query_error(e: QueryError) -> PageError {
    match e {
        QueryError::Expr(e) => PageError::BadRequest(e.to_string()),
        QueryError::Catalog(e) => e.into(),
        QueryError::Refused(r) => portico_server::refused(r).into(),
    }
}

/// `/query.csv`: the console's query (all pages, up to 10,000 rows) as a CSV download.
pub(crate) async fn csv(State(state): State<AppState>, seen: Seen, uri: Uri, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, PageError> {
    same_site_only(&headers, &uri)?;
    let params = Params::parse(raw.as_deref(), &["q", "fields", "order", "groupBy", "asOf"])?;
    let form = Form::of(&params)?;
    let limits = state.catalog.query_config().limits();
    let as_of = as_of(&params)?;
    let vis = seen.at(&state, as_of).await?;
    let output = state.catalog.query(form.query(0, 10_000), as_of, &limits, &vis).await.map_err(query_error)?;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8"), (header::CONTENT_DISPOSITION, "attachment; filename=\"query.csv\"")], output.csv()).into_response())
}

/// `/query/graph.svg`: the graph view of the console's query (its first 25 matches and their
/// relations) as a file.
pub(crate) async fn graph_svg(State(state): State<AppState>, seen: Seen, uri: Uri, headers: HeaderMap, RawQuery(raw): RawQuery) -> Result<Response, PageError> {
    same_site_only(&headers, &uri)?;
    let params = Params::parse(raw.as_deref(), PARAMS)?;
    let form = Form { group_by: String::new(), ..Form::of(&params)? };
    let as_of = as_of(&params)?;
    let limits = state.catalog.query_config().limits();
    let (shared, vis) = read_model(&state, &seen, as_of).await?;
    let output = state.catalog.query(form.query(0, GRAPH_SEEDS), as_of, &limits, &vis).await.map_err(query_error)?;
    let options = GraphOptions::parse(&params, 1)?;
    let svg = {
        let graph = shared.read();
        let graph = Visible::new(&graph, &vis);
        let hood = graph.neighbourhood(&output.result.ids, options.depth, &options.rels, crate::svg::graph::MAX_NODES);
        crate::svg::graph::layout(&graph, &hood, format!("Relations of the matches of {}", form.q.trim())).to_svg()?
    };
    Ok(crate::pages::graph::svg_response(svg, "query-graph.svg"))
}

/// `POST /query/save`: saves the console's query under a name, then opens it.
pub(crate) async fn save(State(state): State<AppState>, seen: Seen, body: String) -> Result<Response, PageError> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let form = Form { q: field("q"), fields: field("fields"), order: field("order"), group_by: field("groupBy"), ..Default::default() };
    let name = field("name").trim().to_owned();
    let title = field("title");
    let result = portico_server::save_query(&state, &name, Some(&title), field("description").trim(), field("owner").trim(), &form.query(0, 100)).await;
    match result {
        Ok(_) => Ok((StatusCode::SEE_OTHER, [(header::LOCATION, join("/query", &[("saved", &name)]))]).into_response()),
        Err(e) => {
            let e = PageError::from(e);
            if let PageError::Internal(_) = e {
                return Err(e);
            }
            let params = Params::parse(None, PARAMS)?;
            let (_, mut console) = console(&state, &seen, Form { saved: String::new(), ..form }, &params, 1, None).await?;
            console.save_error = Some(e.to_string());
            Ok((StatusCode::BAD_REQUEST, crate::templates::render("query.html", console)?).into_response())
        }
    }
}
