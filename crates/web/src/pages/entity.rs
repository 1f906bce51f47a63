//! `/catalog/{namespace}/{kind}/{name}`: one entity. Header (kind, name, title, owner,
//! lifecycle, tags), about (description, links, system, domain, source), relations grouped by
//! type, the relation graph around it (`?depth=1..3&rel=<type>…`), its API definition, the
//! descriptor as YAML, its latest versions and its errors. Groups and users also show their
//! organisation: parent, children, members, memberships and what they own.

use std::sync::Arc;

use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::response::Html;
use portico_graph::Visible;
use portico_model::{Entity, EntityRef, RefDefaults};
use portico_server::AppState;
use serde::Serialize;

use crate::definition::Definition;
use crate::error::PageError;
use crate::params::Params;
use crate::pages::graph::{GraphOptions, GraphView};
use crate::view::{EntitySummary, RefLink, ref_link, safe_href, spec_ref};

/// Versions listed on the page; the history page has them all.
const VERSIONS: usize = 8;

/// The reference a page path names: 400 when it cannot be one.
fn path_ref(namespace: &str, kind: &str, name: &str) -> Result<EntityRef, PageError> {
    let bad = |why: String| PageError::BadRequest(format!("{kind}:{namespace}/{name} is not a valid entity reference: {why}"));
    let r = EntityRef::parse_full(&format!("{kind}:{namespace}/{name}")).map_err(|e| bad(e.to_string()))?;
    if !portico_model::naming::is_valid_object_name(name) {
        return Err(bad("a name is 1 to 63 letters, digits and `-_.`, starting and ending with a letter or digit".into()));
    }
    Ok(r)
}

/// The entity a page's path (`/catalog/{namespace}/{kind}/{name}/…`) names; a path that
/// cannot name one is a 400.
pub(crate) struct EntityPath(pub EntityRef);

impl<S: Send + Sync> FromRequestParts<S> for EntityPath {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let Path((namespace, kind, name)) = Path::<(String, String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|e| PageError::BadRequest(e.body_text()))?;
        path_ref(&namespace, &kind, &name).map(Self)
    }
}

/// 404 for a reference the catalog does not hold, pointing at search.
pub(crate) fn not_found(r: &EntityRef) -> PageError {
    PageError::NotFound(format!("the catalog has no entity {r}; search for \"{}\" to find similar ones", r.name()))
}

#[derive(Serialize)]
pub(crate) struct RelationGroup {
    #[serde(rename = "type")]
    pub relation: String,
    pub items: Vec<RefLink>,
}

/// One of `metadata.links`: a link only when its address is safe to open (see [`safe_href`]).
#[derive(Serialize)]
struct LinkLine {
    href: Option<String>,
    url: String,
    title: Option<String>,
}

#[derive(Serialize)]
struct About {
    links: Vec<LinkLine>,
    domain: Option<RefLink>,
    source: Option<String>,
    /// The source as a link, when it is an address a browser may open.
    source_href: Option<String>,
    /// `backstage.io/view-url` and `backstage.io/edit-url`, when safe to open.
    view_url: Option<String>,
    edit_url: Option<String>,
    /// `spec.profile.email` of users and groups.
    email: Option<String>,
    /// A Location's targets, each as written and as a link when it is one.
    targets: Vec<LinkLine>,
    /// A Kind's `spec.schema`, as YAML.
    schema: Option<String>,
    annotations: Vec<(String, String)>,
    labels: Vec<(String, String)>,
}

#[derive(Serialize)]
struct VersionLine {
    version: i64,
    at: i64,
    change: String,
    source: String,
}

#[derive(Serialize)]
struct ErrorLine {
    location: String,
    message: String,
    at: i64,
}

#[derive(Serialize)]
struct EntityPage {
    nav: &'static str,
    /// Whether the person asking starred it.
    starred: bool,
    e: EntitySummary,
    about: About,
    relations: Vec<RelationGroup>,
    org: Vec<RelationGroup>,
    graph: GraphView,
    definition: Option<Definition>,
    yaml: String,
    versions: Vec<VersionLine>,
    more_versions: usize,
    history_url: String,
    errors: Vec<ErrorLine>,
    provenance: Option<ProvenanceView>,
    docs_url: Option<String>,
    /// After the Refresh button: `location` or `discovery`.
    refreshed: Option<&'static str>,
    /// Entities a Location provided.
    provided: Vec<RefLink>,
    /// Its results on the scorecards that apply to it.
    scorecards: Vec<crate::pages::scorecards::ResultView>,
    /// DORA's four keys, when deployments or incidents were recorded.
    dora: Option<crate::pages::dora::DoraView>,
    /// The initiatives it is part of.
    initiatives: Vec<crate::pages::initiatives::MembershipView>,
    /// The day-2 templates that run on it, and its latest runs.
    actions: crate::pages::create::EntityActions,
}

/// Who set each field: the sources, and one line per field.
#[derive(Serialize)]
struct ProvenanceView {
    method: &'static str,
    sources: Vec<(String, String, String)>,
    fields: Vec<FieldLine>,
}

#[derive(Serialize)]
struct FieldLine {
    path: String,
    value: String,
    source: String,
    evidence: String,
    location: String,
    set_at: i64,
    also: String,
    overridden: Vec<String>,
    /// Files and lines inside the location (inferred fields).
    lines: Vec<String>,
}

const PARAMS: &[&str] = &["depth", "rel", "refreshed"];

pub(crate) async fn page(
    State(state): State<AppState>,
    seen: portico_server::auth::Seen,
    axum::Extension(who): axum::Extension<std::sync::Arc<portico_server::auth::Principal>>,
    EntityPath(r): EntityPath,
    RawQuery(raw): RawQuery,
) -> Result<Html<String>, PageError> {
    let params = Params::parse(raw.as_deref(), PARAMS)?;
    let options = GraphOptions::parse(&params, 1)?;
    let refreshed = match params.one("refreshed")? {
        None => None,
        Some("location") => Some("location"),
        Some("discovery") => Some("discovery"),
        Some(other) => return Err(PageError::BadRequest(format!("`refreshed`: {other:?} is neither `location` nor `discovery`"))),
    };
    let key = r.key();
    portico_server::fresh_scorecards_for_pages(&state).await?;
    let (summary, entity, about, relations, org, graph, provided, source, parent, id) = {
        let graph = state.catalog.read();
        let graph = Visible::new(&graph, &seen.0);
        let entry = graph.get(&key).ok_or_else(|| not_found(&r))?;
        let id = graph.id_of(&key).ok_or_else(|| not_found(&r))?;
        let summary = EntitySummary::of(&graph, entry);
        let relations = grouped(&graph, &key);
        let view = GraphView::around(&graph, &[id], &options, &format!("{}/graph.svg", summary.url), &summary.url, &summary.full)?;
        let mut provided: Vec<RefLink> = if summary.kind.eq_ignore_ascii_case("location") {
            graph.entries().filter(|x| x.parent.as_deref() == Some(key.as_str())).map(|x| ref_link(&graph, &x.entity_ref(), None)).collect()
        } else {
            Vec::new()
        };
        provided.sort_by(|a, b| a.full.cmp(&b.full));
        (summary, entry.entity.clone(), about(&graph, &entry.entity), relations.0, relations.1, view, provided, entry.source.clone(), entry.parent.clone(), id)
    };
    let scorecards = crate::pages::scorecards::entity_card(&state, &seen, id);
    let initiatives = crate::pages::initiatives::entity_card(&state, &seen, id);
    let actions = crate::pages::create::entity_card(&state, &seen, &key).await?;
    let dora = crate::pages::dora::entity_card(&state, &key, &format!("{}/{}/{}", r.kind().to_ascii_lowercase(), r.namespace(), r.name())).await?;
    let provenance = portico_discovery::engine::provenance::provenance(&state.catalog, &key)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?
        .map(|p| provenance_view(p, &entity))
        .filter(|p| !p.fields.is_empty());
    let has_docs = !state.discovery.docs(&key).await.map_err(|e| PageError::Internal(e.to_string()))?.is_empty();
    let history = state.catalog.store().history(&key).await?;
    let starred = state.catalog.store().stars(&who.subject).await?.iter().any(|s| s.entity_key == key);
    let mut errors = state.catalog.store().errors(Some(&key)).await?;
    // A file that no longer reads names no entity (its errors are the Location's that led to it):
    // they belong to the entities it held too.
    if let Some(file) = entity.annotation(portico_model::ANNOTATION_LOCATION).and_then(|l| l.split_once(':')).map(|l| l.1) {
        let of_file = state.catalog.store().source_errors(&source).await?;
        let about_the_file = |e: &portico_store::ErrorRecord| e.key.is_none() || e.key == parent;
        errors.extend(of_file.into_iter().filter(|e| about_the_file(e) && e.location.strip_prefix(file).is_some_and(|rest| rest.is_empty() || rest.starts_with(':'))));
    }
    let yaml = serde_saphyr::to_string(&*entity).unwrap_or_else(|e| format!("# cannot show as YAML: {e}"));
    let more_versions = history.len().saturating_sub(VERSIONS);
    let page = EntityPage {
        nav: "catalog",
        starred,
        scorecards,
        dora,
        initiatives,
        actions,
        refreshed,
        provided,
        provenance,
        docs_url: has_docs.then(|| format!("{}/docs", summary.url)),
        history_url: format!("{}/history", summary.url),
        e: summary,
        about,
        relations,
        org,
        graph,
        definition: crate::definition::of(&entity),
        yaml,
        versions: history
            .into_iter()
            .rev()
            .take(VERSIONS)
            .map(|v| VersionLine { version: v.version, at: v.at, change: v.change, source: v.source })
            .collect(),
        more_versions,
        errors: errors.into_iter().map(|e| ErrorLine { location: e.location, message: e.message, at: e.at }).collect(),
    };
    crate::templates::render("entity.html", page)
}

fn provenance_view(p: portico_discovery::engine::provenance::Provenance, entity: &Entity) -> ProvenanceView {
    let value = serde_json::to_value(entity).unwrap_or_default();
    let short = |v: &serde_json::Value| {
        let s = match v {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        crate::svg::clip(&s, 240)
    };
    ProvenanceView {
        method: p.method,
        sources: p.sources.into_iter().map(|s| (s.source, s.evidence.as_str().to_owned(), s.location)).collect(),
        fields: p
            .fields
            .into_iter()
            .map(|f| FieldLine {
                value: short(&portico_discovery::engine::provenance::value_at(&value, &f.path)),
                overridden: f.overridden.iter().map(|o| format!("{} ({}): {}", o.source, o.evidence.as_str(), short(&o.value))).collect(),
                also: f.also.join(", "),
                path: f.path,
                source: f.source,
                evidence: f.evidence.as_str().to_owned(),
                location: f.location,
                lines: f.lines,
                set_at: f.set_at,
            })
            .collect(),
    }
}

/// The entity's relations grouped by type, and the organisation groups for groups and users.
fn grouped(graph: &Visible<'_>, key: &str) -> (Vec<RelationGroup>, Vec<RelationGroup>) {
    let mut groups: Vec<RelationGroup> = Vec::new();
    for rel in graph.relations(key) {
        let Ok(target) = EntityRef::parse_full(&rel.target_ref) else { continue };
        let link = ref_link(graph, &target, None);
        match groups.last_mut() {
            Some(g) if g.relation == rel.kind => g.items.push(link),
            _ => groups.push(RelationGroup { relation: rel.kind.clone(), items: vec![link] }),
        }
    }
    let kind = key.split(':').next().unwrap_or_default();
    let org_types: &[(&str, &str)] = match kind {
        "group" => &[("childOf", "Parent"), ("parentOf", "Children"), ("hasMember", "Members"), ("ownerOf", "Owns")],
        "user" => &[("memberOf", "Member of"), ("ownerOf", "Owns")],
        _ => &[],
    };
    let org = org_types
        .iter()
        .map(|(t, label)| RelationGroup {
            relation: (*label).to_owned(),
            items: groups.iter().find(|g| g.relation == *t).map(|g| g.items.clone()).unwrap_or_default(),
        })
        .collect();
    (groups, org)
}

fn about(graph: &Visible<'_>, e: &Arc<Entity>) -> About {
    let m = &e.metadata;
    // A system names its domain; a component's domain is its system's.
    let domain = spec_ref(graph, e, "domain", "domain").or_else(|| {
        let system = EntityRef::parse(e.spec_str("system")?, RefDefaults { kind: Some("system"), namespace: Some(&m.namespace) }).ok()?;
        let system = graph.get(&system.key())?;
        spec_ref(graph, &system.entity, "domain", "domain")
    });
    let source = e
        .annotation(portico_model::ANNOTATION_SOURCE_LOCATION)
        .or_else(|| e.annotation(portico_model::ANNOTATION_LOCATION))
        .map(str::to_owned);
    // `url:https://…` is an address; `file:/…` is a path on the server, shown as text.
    let href = |v: &str| safe_href(v.strip_prefix("url:").unwrap_or(v)).filter(|h| h.contains("://")).map(str::to_owned);
    let spec = e.spec.as_ref();
    let email = spec
        .and_then(|s| s.get("profile"))
        .and_then(|p| p.get("email"))
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned);
    let targets = spec
        .into_iter()
        .flat_map(|s| s.get("target").into_iter().chain(s.get("targets").and_then(serde_json::Value::as_array).into_iter().flatten()))
        .filter_map(serde_json::Value::as_str)
        .map(|t| LinkLine { href: href(t), url: t.to_owned(), title: None })
        .collect();
    let schema = (e.kind == "Kind")
        .then(|| spec.and_then(|s| s.get("schema")))
        .flatten()
        .map(|schema| serde_saphyr::to_string(schema).unwrap_or_else(|e| format!("# cannot show as YAML: {e}")));
    About {
        source_href: source.as_deref().and_then(href),
        view_url: e.annotation("backstage.io/view-url").and_then(href),
        edit_url: e.annotation("backstage.io/edit-url").and_then(href),
        email,
        targets,
        schema,
        links: m
            .links
            .iter()
            .map(|l| LinkLine { href: safe_href(&l.url).map(str::to_owned), url: l.url.clone(), title: l.title.clone() })
            .collect(),
        domain,
        source,
        annotations: m.annotations.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        labels: m.labels.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    }
}
