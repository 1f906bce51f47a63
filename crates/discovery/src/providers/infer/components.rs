//! Components from manifests: names (the declared one when a descriptor sits in the same
//! folder), type, owner, description, docs, presence facts, and finally the documents.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use portico_model::naming::sanitize_object_name;
use serde_json::{Map, Value, json};

use super::manifests::{Manifest, Type, is_dockerfile};
use super::tree::{ancestors, dir_of, file_name};
use super::{Cx, facts, readme};
use crate::engine::provenance::{DESCRIPTION_FROM, NAME_FROM};
use crate::engine::{Contribution, Doc, Evidence};

/// An inferred component, before its relations are complete.
#[derive(Debug)]
pub(crate) struct Component {
    pub dir: String,
    /// Path of the manifest it was inferred from.
    pub manifest: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub spec_type: Type,
    /// Why inference chose a type other than the manifest's (`tool` for a load generator).
    pub type_reason: Option<String>,
    pub language: Option<&'static str>,
    pub owner: String,
    /// Lower-case names workloads may use for it: its name, its folder's name.
    pub aliases: Vec<String>,
    pub description: Option<String>,
    pub facts: Map<String, Value>,
    pub docs: Vec<Doc>,
    pub provides_apis: BTreeSet<String>,
    pub consumes_apis: BTreeSet<String>,
    pub depends_on: BTreeSet<String>,
    /// Dependency → the file, line and setting that shows it.
    pub evidence: BTreeMap<String, String>,
    /// Its own files (nested components' left out).
    pub own: Vec<String>,
    /// The file and line its name comes from when a deployment named it.
    pub name_from: Option<String>,
}

impl Component {
    /// A component carved out of this one: its folder, the file it was found from, the
    /// rest (owner, language, facts) inherited.
    pub fn derived(&self, dir: &str, manifest: &str) -> Component {
        let name = sanitize_object_name(file_name(dir)).unwrap_or_else(|| self.name.clone());
        Component {
            dir: dir.to_owned(),
            manifest: manifest.to_owned(),
            kind: self.kind.clone(),
            namespace: self.namespace.clone(),
            aliases: vec![name.to_ascii_lowercase()],
            name,
            spec_type: self.spec_type,
            type_reason: None,
            language: self.language,
            owner: self.owner.clone(),
            description: None,
            facts: self.facts.clone(),
            docs: Vec::new(),
            provides_apis: BTreeSet::new(),
            consumes_apis: BTreeSet::new(),
            depends_on: BTreeSet::new(),
            evidence: BTreeMap::new(),
            own: Vec::new(),
            name_from: None,
        }
    }

    /// Entity reference, `component:default/cart`.
    pub fn entity_ref(&self) -> String {
        format!("{}:{}/{}", self.kind.to_ascii_lowercase(), self.namespace, self.name)
    }
}

/// Name of a folder's entity: the manifest's package name, else the folder's (the
/// repository's for the root).
fn component_name(cx: &Cx<'_>, m: &Manifest) -> Option<String> {
    let folder = if m.dir.is_empty() { cx.repo.name.as_str() } else { file_name(&m.dir) };
    m.found.name.as_deref().and_then(sanitize_object_name).or_else(|| sanitize_object_name(folder))
}

/// Which component each kept path belongs to: the nearest component folder above it.
fn own_files<'a>(cx: &Cx<'a>, dirs: &[&str]) -> Vec<Vec<&'a str>> {
    let index: HashMap<&str, usize> = dirs.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut own = vec![Vec::new(); dirs.len()];
    for p in &cx.tree.paths {
        if let Some(i) = ancestors(dir_of(p)).find_map(|a| index.get(a)) {
            own[*i].push(*p);
        }
    }
    own
}

pub(crate) fn build(cx: &mut Cx<'_>, manifests: Vec<Manifest>) -> Vec<Component> {
    let dirs: Vec<&str> = manifests.iter().map(|m| m.dir.as_str()).collect();
    let own = own_files(cx, &dirs);
    let repo = cx.repo;
    let mut out: Vec<Component> = Vec::new();
    // Tooling last, so that a deployed folder keeps a name both use (`backoffice` for the
    // application, `automation-ui-backoffice` for its UI tests).
    let mut order: Vec<(&Manifest, Vec<&str>)> = manifests.iter().zip(own).collect();
    order.sort_by_key(|(m, _)| tool_folder(&m.dir).is_some());
    for (m, own) in order {
        let declared = repo.declared.iter().find(|d| d.dir == m.dir && d.kind.eq_ignore_ascii_case("component"));
        let (kind, namespace, name) = match (declared, component_name(cx, m)) {
            (Some(d), _) => (d.kind.clone(), d.namespace.clone(), d.name.clone()),
            (None, Some(n)) => ("Component".to_owned(), cx.namespace().to_owned(), n),
            (None, None) => {
                cx.error(&m.path, "no usable name: the package name and the folder name are empty".to_owned());
                continue;
            }
        };
        let taken = |n: &str| out.iter().find(|c| c.namespace == namespace && c.name.eq_ignore_ascii_case(n)).map(|c| c.manifest.clone());
        let name = match taken(&name) {
            None => name,
            Some(other) => {
                // Two folders give the same name: the second is told apart by its parent
                // folder (`automation-ui-backoffice`), never dropped.
                let parent = file_name(dir_of(&m.dir));
                let Some(alt) = sanitize_object_name(&format!("{parent}-{name}")).filter(|a| !parent.is_empty() && taken(a).is_none()) else {
                    cx.error(&m.path, format!("component name {name:?} is already used by {other}; this one is skipped"));
                    continue;
                };
                alt
            }
        };
        let has_dockerfile = own.iter().any(|p| is_dockerfile(file_name(p)));
        let spec_type = m.found.kind.unwrap_or(if has_dockerfile { Type::Service } else { Type::Library });
        let service_like = matches!(spec_type, Type::Service | Type::Website);
        let (spec_type, type_reason) = match (tool_folder(&m.dir), generated_folder(&m.dir)) {
            (_, Some(seg)) if service_like => (Type::Library, Some(format!("in the folder {seg:?}: generated code, not a deployed service"))),
            (Some(seg), _) if service_like => {
                (Type::Tool, Some(format!("in the folder {seg:?}: test, load or build tooling, not a deployed service")))
            }
            _ => (spec_type, None),
        };
        let (owner, owned) = cx.owner_of(&m.dir);
        let techdocs = declared.and_then(|d| d.techdocs_ref.as_deref());
        let described = readme::readme_of(&cx.tree, &m.dir)
            .and_then(|p| Some((cx.tree.read(&p).ok().flatten()?, p)))
            .and_then(|(t, p)| readme::description_at(&t).map(|(d, line)| (d, format!("{p}:{line}"))));
        let (description, description_from) = described.map_or((None, None), |(d, at)| (Some(d), Some(at)));
        let mut aliases = vec![name.to_ascii_lowercase()];
        let folder = if m.dir.is_empty() { cx.repo.name.as_str() } else { file_name(&m.dir) };
        for a in [m.found.name.as_deref(), Some(folder)].into_iter().flatten() {
            let a = a.to_ascii_lowercase();
            if !aliases.contains(&a) {
                aliases.push(a);
            }
        }
        let mut facts = cx.repo.facts.clone();
        facts.extend(facts::presence(cx, &m.dir, &own, m.found.language, owned));
        if let Some(at) = description_from {
            // Provenance of the description: the README paragraph it was taken from.
            facts.insert(DESCRIPTION_FROM.into(), json!(at));
        }
        out.push(Component {
            docs: readme::docs(&cx.tree, &m.dir, techdocs),
            dir: m.dir.clone(),
            manifest: m.path.clone(),
            kind,
            namespace,
            name,
            spec_type,
            type_reason,
            language: m.found.language,
            owner,
            aliases,
            description,
            facts,
            provides_apis: BTreeSet::new(),
            consumes_apis: BTreeSet::new(),
            depends_on: BTreeSet::new(),
            evidence: BTreeMap::new(),
            own: own.iter().map(|p| (*p).to_owned()).collect(),
            name_from: None,
        });
    }
    out
}

/// Folder names of test, load and build tooling: a service-looking folder there is a `tool`.
const TOOL_FOLDERS: &[&str] = &[
    "load-generator", "loadgenerator", "load-generators", "loadtest", "loadtests", "load-test", "load-tests", "locust", "k6", "perf",
    "performance", "benchmark", "benchmarks", "e2e", "automation", "automation-ui", "cypress", "playwright", "integration-tests",
    "ui-tests", "smoke-tests", "tools", "tool", "hack", "scripts",
];

/// The segment of `dir` that makes it tooling, if any.
fn tool_folder(dir: &str) -> Option<&str> {
    dir.split('/').find(|s| TOOL_FOLDERS.contains(&s.to_ascii_lowercase().as_str()))
}

/// Folder names of generated code (protobuf and OpenAPI output).
const GENERATED_FOLDERS: &[&str] = &["gen", "generated", "genproto", "protogen", "proto-gen", "pb", "__generated__", "codegen", "gen-src"];

/// The segment of `dir` that makes it generated code, if any.
fn generated_folder(dir: &str) -> Option<&str> {
    dir.split('/').find(|s| GENERATED_FOLDERS.contains(&s.to_ascii_lowercase().as_str()))
}

/// The component whose folder is nearest above `path`.
pub(crate) fn holder(components: &[Component], path: &str) -> Option<usize> {
    ancestors(dir_of(path)).find_map(|a| components.iter().position(|c| c.dir == a))
}

/// The `backstage.io/source-location` of a folder.
pub(crate) fn source_location(cx: &Cx<'_>, dir: &str) -> String {
    if let Some(root) = &cx.repo.source_base {
        return if dir.is_empty() { root.clone() } else { format!("{}/{dir}/", root.trim_end_matches('/')) };
    }
    let base = cx.repo.location.rsplit_once('@').map_or(cx.repo.location.as_str(), |(url, _)| url);
    let base = base.trim_end_matches(".git").trim_end_matches('/');
    if dir.is_empty() { format!("url:{base}/") } else { format!("url:{base}/{dir}/") }
}

/// The contribution of a component.
pub(crate) fn contribution(cx: &Cx<'_>, c: Component) -> Contribution {
    let mut metadata = json!({
        "name": c.name,
        "annotations": {"backstage.io/source-location": source_location(cx, &c.dir)},
    });
    if c.namespace != portico_model::DEFAULT_NAMESPACE {
        metadata["namespace"] = json!(c.namespace);
    }
    if let Some(l) = c.language {
        metadata["annotations"]["portico.dev/language"] = json!(l);
        metadata["tags"] = json!([l]);
    }
    if let Some(d) = &c.description {
        metadata["description"] = json!(d);
    }
    if let Some(why) = &c.type_reason {
        metadata["annotations"]["portico.dev/type-reason"] = json!(why);
    }
    let mut spec = json!({"type": c.spec_type.as_str(), "lifecycle": cx.options.lifecycle, "owner": c.owner});
    let mut facts = c.facts;
    // Provenance of the name: the deployment line that named it, else the manifest.
    facts.insert(NAME_FROM.into(), json!(c.name_from.as_deref().unwrap_or(&c.manifest)));
    let lists = [("providesApis", &c.provides_apis), ("consumesApis", &c.consumes_apis), ("dependsOn", &c.depends_on)];
    for (field, set) in lists {
        if !set.is_empty() {
            spec[field] = json!(set);
        }
    }
    if !c.depends_on.is_empty() {
        facts.insert(super::OBSERVED_DEPENDS_ON.into(), json!(c.depends_on));
        facts.insert(super::edges::DEPENDENCY_EVIDENCE.into(), json!(c.evidence));
    }
    let document = json!({
        "apiVersion": "backstage.io/v1alpha1",
        "kind": c.kind,
        "metadata": metadata,
        "spec": spec,
        "status": {"facts": facts},
    });
    let mut contribution = Contribution::new(Evidence::Inferred, cx.location(&c.manifest), document);
    contribution.docs = c.docs;
    contribution
}
