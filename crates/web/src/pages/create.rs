//! `/create`: self-service. The catalog of templates (search, filter by tag and owner) with the
//! latest runs; a template's form (`/create/{namespace}/{name}`), which reviews a dry run (each
//! step's rendered input, the files it would make) before running; and a run's page
//! (`/create/runs/{id}`), its steps and log updated live.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Extension;
use portico_actions::{Report, RunView, SubmitError, Template};
use portico_graph::Visible;
use portico_server::auth::{Principal, Seen};
use portico_server::AppState;
use serde::Serialize;
use serde_json::Value;
use std::sync::Arc;

use super::create_form::{Section, field_of, parameters, sections};
use crate::error::PageError;
use crate::params::Params;

#[derive(Serialize)]
struct Card {
    url: String,
    summary: Value,
}

/// An entity page's **Actions** card: the day-2 templates that run on it, and its latest runs.
#[derive(Serialize, Default)]
pub(crate) struct EntityActions {
    templates: Vec<(String, String)>,
    runs: Vec<RunLine>,
}

pub(crate) async fn entity_card(state: &AppState, seen: &Seen, key: &str) -> Result<EntityActions, PageError> {
    let encoded: String = form_urlencoded::byte_serialize(key.as_bytes()).collect();
    let templates = portico_server::templates_for(state, seen, key).iter().map(|t| (t.title.clone(), format!("{}?entity={encoded}", template_url(t)))).collect();
    let runs = latest(state, portico_store::RunFilter { entity_key: Some(key.to_owned()), ..Default::default() }, 5).await?;
    Ok(EntityActions { templates, runs })
}

#[derive(Serialize)]
struct RunLine {
    url: String,
    run: RunView,
    duration: Option<String>,
}

#[derive(Serialize)]
struct ListPage {
    nav: &'static str,
    q: String,
    tag: String,
    owner: String,
    tags: Vec<(String, bool)>,
    owners: Vec<(String, bool)>,
    cards: Vec<Card>,
    total: usize,
    broken: Vec<(String, String)>,
    runs: Vec<RunLine>,
    /// Only the reader's own runs.
    mine: bool,
}

fn duration(r: &RunView) -> Option<String> {
    let ms = r.finished_at? - r.started_at?;
    Some(if ms < 1000 { format!("{ms} ms") } else if ms < 120_000 { format!("{:.1} s", ms as f64 / 1000.0) } else { format!("{} min", ms / 60_000) })
}

fn run_url(r: &RunView) -> String {
    format!("/create/runs/{}", r.id)
}

fn template_url(t: &Template) -> String {
    format!("/create/{}/{}", t.namespace, t.name)
}

/// The latest runs matching `filter`, as the pages list them.
async fn latest(state: &AppState, filter: portico_store::RunFilter, limit: u32) -> Result<Vec<RunLine>, PageError> {
    let runs = state.runs.store().runs(&filter, limit).await.map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(runs.iter().map(RunView::from_record).map(|r| RunLine { url: run_url(&r), duration: duration(&r), run: r }).collect())
}

pub(crate) async fn list(State(state): State<AppState>, seen: Seen, Extension(who): Extension<Arc<Principal>>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["q", "tag", "owner", "runs"])?;
    let mine = params.one("runs")? == Some("mine");
    let (q, tag, owner) = (params.one("q")?.unwrap_or_default().trim().to_owned(), params.one("tag")?.unwrap_or_default().to_owned(), params.one("owner")?.unwrap_or_default().to_owned());
    let (mut templates, mut broken) = (Vec::new(), Vec::new());
    for t in portico_server::readable_templates(&state, &seen) {
        match t {
            Ok(t) => templates.push(t),
            Err((key, errors)) => broken.push((key, errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))),
        }
    }
    let mut tags: Vec<String> = templates.iter().flat_map(|t| t.tags.iter().cloned()).collect();
    tags.sort();
    tags.dedup();
    let mut owners: Vec<String> = templates.iter().filter_map(|t| t.owner.clone()).collect();
    owners.sort();
    owners.dedup();
    let total = templates.len();
    let needle = q.to_lowercase();
    let cards = templates
        .iter()
        .filter(|t| tag.is_empty() || t.tags.contains(&tag))
        .filter(|t| owner.is_empty() || t.owner.as_deref() == Some(owner.as_str()))
        .filter(|t| needle.is_empty() || [Some(&t.title), Some(&t.name), t.description.as_ref(), t.template_type.as_ref()].into_iter().flatten().any(|s| s.to_lowercase().contains(&needle)) || t.tags.iter().any(|g| g.to_lowercase() == needle))
        .map(|t| Card { url: template_url(t), summary: portico_server::template_summary(&state, t) })
        .collect();
    let filter = portico_store::RunFilter { actor: mine.then(|| who.subject.clone()), ..Default::default() };
    let runs = latest(&state, filter, 15).await?;
    let tags = tags.into_iter().map(|t| { let on = t == tag; (t, on) }).collect();
    let owners = owners.into_iter().map(|o| { let on = o == owner; (o, on) }).collect();
    crate::templates::render("create.html", ListPage { nav: "create", q, tag, owner, tags, owners, cards, total, broken, runs, mine })
}

#[derive(Serialize, Default)]
struct StepLine {
    id: String,
    name: String,
    action: String,
    status: String,
    reason: Option<String>,
    input: String,
}

#[derive(Serialize, Default)]
struct FormPage {
    nav: &'static str,
    title: String,
    /// The entity a day-2 template runs on (`kind:namespace/name`), and its page.
    entity: Option<String>,
    entity_url: Option<String>,
    /// A day-2 template opened without an entity: the entities it runs on are chosen from.
    needs_entity: bool,
    template: Value,
    action_url: String,
    sections: Vec<Section>,
    errors: Vec<String>,
    /// A dry run's outcome, when reviewing.
    review: Option<Review>,
    /// The template's latest runs.
    runs: Vec<RunLine>,
}

#[derive(Serialize, Default)]
struct Review {
    status: String,
    steps: Vec<StepLine>,
    files: Vec<(String, u64)>,
    /// The text of the first files, to look at.
    previews: Vec<(String, String)>,
    /// What the template's policies answer: a run would be refused unless all pass.
    policies: Vec<portico_actions::policy::Verdict>,
}

fn review(report: &Report) -> Review {
    Review {
        status: report.status.to_owned(),
        steps: report
            .steps
            .iter()
            .map(|s| StepLine {
                id: s.id.clone(),
                name: s.name.clone(),
                action: s.action.clone(),
                status: s.status.name().to_owned(),
                reason: s.reason.clone(),
                input: if s.input.is_null() { String::new() } else { serde_json::to_string_pretty(&s.input).unwrap_or_default() },
            })
            .collect(),
        files: report.files.iter().map(|f| (f.path.clone(), f.size)).collect(),
        previews: report.files.iter().filter_map(|f| f.text.as_ref().map(|t| (f.path.clone(), t.chars().take(4000).collect()))).take(6).collect(),
        policies: Vec::new(),
    }
}

fn template_of(state: &AppState, seen: &Seen, namespace: &str, name: &str) -> Result<Template, PageError> {
    portico_server::readable_template(state, seen, namespace, name).map_err(PageError::from)
}

fn page(state: &AppState, seen: &Seen, t: &Template, values: &Value) -> FormPage {
    let graph = state.catalog.read();
    let visible = Visible::new(&graph, &seen.0);
    FormPage {
        nav: "create",
        title: t.title.clone(),
        template: portico_server::template_summary(state, t),
        action_url: template_url(t),
        sections: sections(&t.pages, values, &visible),
        ..FormPage::default()
    }
}

fn entity_page(key: &str) -> Option<String> {
    portico_model::EntityRef::parse(key, portico_model::RefDefaults::default()).ok().map(|r| crate::view::entity_url(&r))
}

/// The entity of a form (`entity` of the query or the posted form), checked: one the reader
/// may read, which the template's target selects.
fn entity_of(state: &AppState, seen: &Seen, t: &Template, given: Option<&str>) -> Result<Option<(String, Value)>, PageError> {
    let Some(given) = given.map(str::trim).filter(|g| !g.is_empty()) else { return Ok(None) };
    let (key, value) = portico_server::run_entity(state, seen, given)?;
    let value = value.ok_or_else(|| PageError::NotFound(format!("there is no entity {key}")))?;
    state.runs.check_target(t, Some(&key)).map_err(|e| PageError::BadRequest(e.message))?;
    Ok(Some((key, value)))
}

pub(crate) async fn form(State(state): State<AppState>, seen: Seen, Path((namespace, name)): Path<(String, String)>, RawQuery(raw): RawQuery) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), &["entity"])?;
    let t = template_of(&state, &seen, &namespace, &name)?;
    let entity = entity_of(&state, &seen, &t, params.one("entity")?)?;
    let mut shown = page(&state, &seen, &t, &Value::Object(Default::default()));
    shown.needs_entity = t.target.is_some() && entity.is_none();
    shown.entity_url = entity.as_ref().and_then(|(k, _)| entity_page(k));
    shown.entity = entity.map(|(k, _)| k);
    shown.runs = latest(&state, portico_store::RunFilter { template: Some(t.key.clone()), ..Default::default() }, 10).await?;
    crate::templates::render("create_form.html", shown)
}

/// "Review" runs a dry run and shows it under the form; "Run" starts the run and goes to its
/// page. Problems are shown at their fields, nothing run.
pub(crate) async fn submit(
    State(state): State<AppState>,
    seen: Seen,
    Extension(who): Extension<Arc<Principal>>,
    Path((namespace, name)): Path<(String, String)>,
    body: String,
) -> Result<Response, PageError> {
    let t = template_of(&state, &seen, &namespace, &name)?;
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let action = form.iter().find(|(k, _)| k == "action").map(|(_, v)| v.as_str()).unwrap_or("");
    if !matches!(action, "review" | "run") {
        return Err(PageError::BadRequest(format!("unknown action {action:?}; the form sends review or run")));
    }
    let (values, read_errors) = parameters(&t.pages, &form);
    let entity = entity_of(&state, &seen, &t, form.iter().find(|(k, _)| k == "entity").map(|(_, v)| v.as_str()))?;
    let mut shown = page(&state, &seen, &t, &values);
    shown.entity = entity.as_ref().map(|(k, _)| k.clone());
    shown.entity_url = entity.as_ref().and_then(|(k, _)| entity_page(k));
    shown.needs_entity = t.target.is_some() && entity.is_none();
    let user = portico_server::user_value(&state, &who);
    let mut problems: Vec<portico_model::FieldError> = read_errors.into_iter().map(|(f, m)| portico_model::FieldError::new(format!("parameters.{f}"), m)).collect();
    if problems.is_empty() {
        if action == "review" {
            let verdicts = state.runs.policies(&t, &values, &who.subject, &user, entity.as_ref().map(|(k, _)| k.as_str())).await.map_err(|e| PageError::Internal(e.to_string()))?;
            match state.runs.dry_run(&t, &values, user, entity).await {
                Ok(report) => {
                    let mut r = review(&report);
                    r.policies = verdicts;
                    shown.review = Some(r);
                }
                Err(errors) => problems = errors,
            }
        } else {
            match state.runs.submit(&t, &values, &who.subject, user, entity).await {
                Ok(run) => return Ok(Redirect::to(&format!("/create/runs/{}", run.id)).into_response()),
                Err(SubmitError::Invalid(errors)) => problems = errors,
                Err(SubmitError::Busy(m)) => shown.errors.push(m),
                Err(SubmitError::Refused(verdicts)) => shown.errors.extend(verdicts.into_iter().filter(|v| v.refuses()).map(|v| format!("Refused by the policy {}: {}", v.name, v.message.unwrap_or_default()))),
                Err(SubmitError::Store(e)) => return Err(PageError::Internal(e.to_string())),
                Err(e) => shown.errors.push(e.to_string()),
            }
        }
    }
    for p in problems {
        let at = field_of(&p).and_then(|f| shown.sections.iter_mut().flat_map(|s| s.fields.iter_mut()).find(|x| x.name == f));
        match at {
            // At its field, the field's name and page go without saying.
            Some(field) if p.message.contains("is a required property") => field.error = Some("This field is required.".into()),
            Some(field) => field.error = Some(p.message.split(" (page \"").next().unwrap_or(&p.message).to_owned()),
            None => shown.errors.push(p.to_string()),
        }
    }
    let bad = !shown.errors.is_empty() || shown.sections.iter().any(|s| s.fields.iter().any(|f| f.error.is_some()));
    let status = if bad { StatusCode::BAD_REQUEST } else { StatusCode::OK };
    Ok((status, crate::templates::render("create_form.html", shown)?).into_response())
}

#[derive(Serialize)]
struct RunPage {
    nav: &'static str,
    run: RunView,
    /// The output's `text` entries: title and content as HTML (Markdown, sanitised).
    texts: Vec<(String, String)>,
    template_url: Option<String>,
    events_url: String,
    duration: Option<String>,
    log: Vec<portico_store::RunLogLine>,
    finished: bool,
    /// The approvals the reader may decide here.
    decidable: Vec<String>,
    /// Taken up after a worker stopped (not only after waiting for an approval).
    resumed: bool,
}

async fn stored(state: &AppState, id: &str) -> Result<RunView, PageError> {
    let view = state.runs.view(id).await.map_err(|e| PageError::Internal(e.to_string()))?;
    view.ok_or_else(|| PageError::NotFound(format!("there is no run {id}")))
}

pub(crate) async fn run(State(state): State<AppState>, Extension(who): Extension<Arc<Principal>>, Path(id): Path<String>) -> Result<Html<String>, PageError> {
    let run = stored(&state, &id).await?;
    let decidable = super::approvals::decidable(&state, &who, &run.approvals);
    let log = state.runs.store().run_log(&id, 0, 5000).await.map_err(|e| PageError::Internal(e.to_string()))?;
    let (namespace, name) = run.template.strip_prefix("template:").and_then(|r| r.split_once('/')).unwrap_or(("default", ""));
    let template_url = (!name.is_empty()).then(|| format!("/create/{namespace}/{name}"));
    let events_url = format!("/api/v1/actions/{namespace}/{name}/runs/{id}/events");
    let finished = run.finished();
    let texts = run.output["output"]["text"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| (t["title"].as_str().unwrap_or("").to_owned(), crate::markdown::render(t["content"].as_str().unwrap_or(""))))
        .collect();
    let waits = run.approvals.iter().filter(|a| !a.step.starts_with("policy:")).count() as i32;
    let resumed = run.attempts > 1 + waits;
    crate::templates::render("create_run.html", RunPage { nav: "create", duration: duration(&run), run, texts, template_url, events_url, log, finished, decidable, resumed })
}

pub(crate) async fn cancel(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let run = stored(&state, &id).await?;
    state.runs.cancel(&run.id).await.map_err(|e| PageError::Internal(e.to_string()))?;
    Ok(Redirect::to(&run_url(&run)).into_response())
}

/// **Roll back** on a failed or cancelled run's page: undoes its completed steps, then shows the
/// run again with what was and was not undone.
pub(crate) async fn rollback(State(state): State<AppState>, Path(id): Path<String>) -> Result<Response, PageError> {
    let run = stored(&state, &id).await?;
    match state.runs.rollback(&run.id).await {
        Ok(_) => Ok(Redirect::to(&run_url(&run)).into_response()),
        Err(SubmitError::Store(e)) => Err(PageError::Internal(e.to_string())),
        Err(e) => Err(PageError::BadRequest(e.to_string())),
    }
}
