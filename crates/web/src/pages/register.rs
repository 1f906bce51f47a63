//! `/register`: register a location (a path on the server or an `http(s)` URL). "Preview" reads
//! and validates it without writing anything and lists what would be added; "Import" registers
//! and ingests it. Both go through the same code as the API's `POST /locations`, with its
//! guards: file paths must lie under the server's allowed roots, URLs on its allow-list.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use portico_server::{AppState, Registration, register_location};
use serde::Serialize;

use crate::error::PageError;
use crate::params::Params;
use crate::view::{RefLink, entity_url, short_label};

/// Longest target accepted.
const MAX_TARGET: usize = 4096;

#[derive(Serialize)]
struct Row {
    kind: String,
    name: String,
    link: RefLink,
    owner: Option<String>,
    description: Option<String>,
    relations: usize,
}

#[derive(Serialize, Default)]
struct RegisterPage {
    nav: &'static str,
    target: String,
    /// `preview` or `import` when there is an outcome to show.
    outcome: Option<&'static str>,
    exists: bool,
    rows: Vec<Row>,
    problems: Vec<(String, String)>,
    error: Option<String>,
    roots: Vec<String>,
}

fn roots(state: &AppState) -> Vec<String> {
    state.locations.reader().config().allowed_roots.iter().map(|p| p.display().to_string()).collect()
}

pub(crate) async fn form(State(state): State<AppState>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["target"])?;
    let target = params.one("target")?.unwrap_or_default().to_owned();
    crate::templates::render("register.html", RegisterPage { nav: "register", target, roots: roots(&state), ..Default::default() })
}

pub(crate) async fn submit(State(state): State<AppState>, seen: portico_server::auth::Seen, body: String) -> Result<Response, PageError> {
    let fields: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let field = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.trim().to_owned()).unwrap_or_default();
    let (target, action) = (field("target"), field("action"));
    let mut page = RegisterPage { nav: "register", target: target.clone(), roots: roots(&state), ..Default::default() };
    let dry_run = match action.as_str() {
        "preview" => true,
        "import" => false,
        other => return Err(PageError::BadRequest(format!("unknown action {other:?}; the form sends preview or import"))),
    };
    let failed = |mut page: RegisterPage, status: StatusCode, message: String| -> Result<Response, PageError> {
        page.error = Some(message);
        Ok((status, crate::templates::render("register.html", page)?).into_response())
    };
    if target.is_empty() {
        return failed(page, StatusCode::BAD_REQUEST, "give a path on the server or an http(s) URL".into());
    }
    if target.len() > MAX_TARGET {
        return failed(page, StatusCode::BAD_REQUEST, format!("the target is longer than {MAX_TARGET} characters"));
    }
    // Anything with a scheme is a URL (and only http(s) ones are accepted); the rest are paths.
    let kind = if target.contains("://") { "url" } else { "file" };
    match register_location(&state, &seen, kind.to_owned(), target, dry_run).await {
        Ok(Registration { entities, exists, errors, .. }) => {
            page.outcome = Some(if dry_run { "preview" } else { "import" });
            page.exists = exists.unwrap_or(false);
            page.problems = errors.into_iter().map(|e| (e.location, e.message)).collect();
            // What the reader sees now that the location's entities are in.
            let vis = state.auth.visibility(&seen.1, state.catalog.graph()).await;
            let guard = state.catalog.read();
            let graph = portico_graph::Visible::new(&guard, &vis);
            page.rows = entities
                .iter()
                .map(|v| {
                    let e = &v.entity;
                    let r = e.entity_ref();
                    let present = graph.get(&r.key()).is_some();
                    Row {
                        kind: e.kind.clone(),
                        name: e.metadata.name.clone(),
                        link: RefLink {
                            label: short_label(&r, None),
                            full: r.to_string(),
                            kind: r.kind().to_owned(),
                            url: present.then(|| entity_url(&r)),
                        },
                        owner: e.spec_str("owner").map(str::to_owned),
                        description: e.metadata.description.clone(),
                        relations: v.relations.len(),
                    }
                })
                .collect();
            drop(guard);
            let status = if dry_run { StatusCode::OK } else { StatusCode::CREATED };
            Ok((status, crate::templates::render("register.html", page)?).into_response())
        }
        Err(e) => {
            let e = PageError::from(e);
            if let PageError::Internal(_) = e {
                return Err(e);
            }
            failed(page, e.status(), e.to_string())
        }
    }
}
