//! APIs from definition files: OpenAPI/Swagger and AsyncAPI documents (YAML or JSON),
//! protobuf `service` blocks (one gRPC API per service) and GraphQL schemas (one API per
//! folder of `.graphql`/`.graphqls` files). The component whose folder holds a definition
//! provides the API. A `.proto` copied into several components (clients keep copies) is
//! provided by the one named like the service (`cartservice` for `CartService`); the others
//! consume it.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use portico_model::naming::sanitize_object_name;
use regex::Regex;
use serde_json::{Value, json};

use super::components::{Component, holder, source_location};
use super::manifests::{Type, source_stem};
use super::readme::cap;
use super::tree::{dir_of, file_name};
use super::{Cx, yaml};
use crate::engine::{Contribution, Evidence};

/// Largest definition kept, in bytes.
pub(crate) const MAX_DEFINITION_BYTES: usize = 256 * 1024;

/// An API found in a file.
struct Api {
    name: String,
    spec_type: &'static str,
    path: String,
    definition: String,
    description: Option<String>,
    /// For gRPC: the service name, to find its provider among several holders.
    service: Option<String>,
}

pub(crate) fn detect(cx: &mut Cx<'_>, components: &mut [Component]) -> Vec<Contribution> {
    let mut found: Vec<Api> = Vec::new();
    for (path, text) in yaml::texts(cx) {
        if let Some(spec_type) = spec_kind_yaml(&text) {
            match portico_model::yaml::parse_documents(&text) {
                Ok(docs) => found.extend(docs.first().map(|d| described(path, spec_type, d, &text))),
                Err(e) => cx.error(path, e.to_string()),
            }
        }
    }
    let paths: Vec<&str> = cx.tree.paths.clone();
    for path in paths.iter().copied().filter(|p| is_api_json(p)) {
        let Some(text) = cx.tree.read(path).ok().flatten() else { continue };
        let Ok(Value::Object(doc)) = serde_json::from_str::<Value>(&text) else { continue };
        let doc = Value::Object(doc);
        let spec_type = ["openapi", "swagger", "asyncapi"].into_iter().find(|k| doc.get(k).is_some());
        if let Some(t) = spec_type {
            found.push(described(path, if t == "asyncapi" { "asyncapi" } else { "openapi" }, &doc, &text));
        }
    }
    for path in paths.iter().copied().filter(|p| p.ends_with(".proto")) {
        if let Some(text) = cx.tree.read(path).ok().flatten() {
            found.extend(grpc(path, &text));
        }
    }
    found.extend(graphql(cx, components, &paths));
    contributions(cx, components, found)
}

/// `openapi`/`swagger`/`asyncapi` as a top-level key of a YAML text.
fn spec_kind_yaml(text: &str) -> Option<&'static str> {
    text.lines().find_map(|l| {
        if l.starts_with("openapi:") || l.starts_with("swagger:") {
            Some("openapi")
        } else if l.starts_with("asyncapi:") {
            Some("asyncapi")
        } else {
            None
        }
    })
}

fn is_api_json(path: &str) -> bool {
    let name = file_name(path).to_ascii_lowercase();
    name.ends_with(".json") && ["openapi", "swagger", "asyncapi", "api"].iter().any(|k| name.contains(k))
}

fn stem(path: &str) -> &str {
    let name = file_name(path);
    name.split('.').next().unwrap_or(name)
}

/// An OpenAPI or AsyncAPI document: named by `info.title`, else by its file.
fn described(path: &str, spec_type: &'static str, doc: &Value, text: &str) -> Api {
    let title = doc.pointer("/info/title").and_then(Value::as_str).and_then(sanitize_object_name);
    let description = doc.pointer("/info/description").and_then(Value::as_str).and_then(|d| d.lines().map(str::trim).find(|l| !l.is_empty())).map(str::to_owned);
    Api {
        name: title.or_else(|| sanitize_object_name(stem(path))).unwrap_or_else(|| "api".to_owned()),
        spec_type,
        path: path.to_owned(),
        definition: cap(text.to_owned(), MAX_DEFINITION_BYTES),
        description,
        service: None,
    }
}

static PROTO_COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)/\*.*?\*/|//[^\n]*").unwrap());
static PROTO_PACKAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\s*package\s+([A-Za-z0-9_.]+)\s*;").unwrap());
static PROTO_SERVICE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?m)^\s*service\s+([A-Za-z0-9_]+)\s*\{").unwrap());

/// One gRPC API per `service` of a `.proto` file, named `package.Service`.
fn grpc(path: &str, text: &str) -> Vec<Api> {
    let code = PROTO_COMMENT.replace_all(text, "");
    let package = PROTO_PACKAGE.captures(&code).map(|c| c[1].to_owned());
    PROTO_SERVICE
        .captures_iter(&code)
        .filter_map(|c| {
            let service = c[1].to_owned();
            let full = package.as_ref().map_or(service.clone(), |p| format!("{p}.{service}"));
            Some(Api {
                name: sanitize_object_name(&full)?,
                spec_type: "grpc",
                path: path.to_owned(),
                definition: cap(text.to_owned(), MAX_DEFINITION_BYTES),
                description: None,
                service: Some(service),
            })
        })
        .collect()
}

static GRAPHQL_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?m)^\s*(extend\s+)?(type|schema|interface|input|enum|scalar|union|directive)\b").unwrap());

/// File stems too generic to name an API on their own.
const GENERIC_STEMS: &[&str] = &["schema", "index", "api", "types", "main", "root", "typedefs"];

/// One GraphQL API per folder of schema files (query documents are skipped).
fn graphql(cx: &Cx<'_>, components: &[Component], paths: &[&str]) -> Vec<Api> {
    let mut by_dir: BTreeMap<&str, Vec<(&str, String)>> = BTreeMap::new();
    for path in paths.iter().copied().filter(|p| p.ends_with(".graphql") || p.ends_with(".graphqls") || p.ends_with(".gql")) {
        if let Some(text) = cx.tree.read(path).ok().flatten().filter(|t| GRAPHQL_TYPE.is_match(t)) {
            by_dir.entry(dir_of(path)).or_default().push((path, text));
        }
    }
    by_dir
        .into_iter()
        .filter_map(|(dir, files)| {
            let first = files[0].0;
            let base = holder(components, first).map_or_else(
                || if dir.is_empty() { cx.repo.name.clone() } else { file_name(dir).to_owned() },
                |i| components[i].name.clone(),
            );
            let own = stem(first);
            let name = if files.len() == 1 && !GENERIC_STEMS.contains(&own.to_ascii_lowercase().as_str()) {
                own.to_owned()
            } else {
                format!("{base}-graphql")
            };
            let definition = files.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n");
            Some(Api {
                name: sanitize_object_name(&name)?,
                spec_type: "graphql",
                path: first.to_owned(),
                definition: cap(definition, MAX_DEFINITION_BYTES),
                description: None,
                service: None,
            })
        })
        .collect()
}

fn normalized(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase()
}

/// The contributions of the APIs found, one per name; relations set on the components.
fn contributions(cx: &mut Cx<'_>, components: &mut [Component], found: Vec<Api>) -> Vec<Contribution> {
    let mut by_name: BTreeMap<String, Vec<Api>> = BTreeMap::new();
    for api in found {
        by_name.entry(api.name.to_ascii_lowercase()).or_default().push(api);
    }
    let services: Vec<&str> = {
        let mut v: Vec<&str> = by_name.values().filter_map(|c| c[0].service.as_deref()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let uses = stub_uses(cx, components, &services);
    let mut out = Vec::new();
    for copies in by_name.values() {
        let api = &copies[0];
        if api.service.is_none() {
            for dup in &copies[1..] {
                cx.error(&dup.path, format!("API name {:?} is already used by {}; this one is skipped", api.name, api.path));
            }
        }
        // Copies of a gRPC definition are kept by clients too; other duplicates are skipped.
        let considered = if api.service.is_some() { &copies[..] } else { &copies[..1] };
        let mut holders: Vec<usize> = considered.iter().filter_map(|a| holder(components, &a.path)).collect();
        holders.sort_unstable();
        holders.dedup();
        let api_ref = format!("api:{}/{}", cx.namespace(), api.name);
        // The code's own word first: a component registering the service's server provides it,
        // those creating its client stub call it.
        let k = api.service.as_deref().and_then(|s| services.iter().position(|x| *x == s));
        let servers: Vec<usize> = k.map(|k| (0..components.len()).filter(|i| uses[*i][k].serves).collect()).unwrap_or_default();
        let callers: Vec<usize> = k.map(|k| (0..components.len()).filter(|i| uses[*i][k].calls).collect()).unwrap_or_default();
        let by_files = match holders.as_slice() {
            [only] => Some(*only),
            many => api.service.as_deref().map(normalized).and_then(|s| {
                many.iter().copied().find(|i| components[*i].aliases.iter().any(|a| normalized(a) == s))
            }),
        };
        let provider = match servers.as_slice() {
            [only] => Some(*only),
            _ => by_files,
        };
        holders.extend(servers.iter().chain(&callers).copied());
        holders.sort_unstable();
        holders.dedup();
        for i in holders.iter().copied() {
            if Some(i) == provider {
                components[i].provides_apis.insert(api_ref.clone());
            } else {
                components[i].consumes_apis.insert(api_ref.clone());
            }
        }
        let def_at = provider.and_then(|p| copies.iter().find(|a| holder(components, &a.path) == Some(p))).unwrap_or(api);
        let owner = provider.map_or_else(|| cx.owner_of(dir_of(&def_at.path)).0, |p| components[p].owner.clone());
        let mut metadata = cx.with_namespace(json!({
            "name": api.name,
            "annotations": {"backstage.io/source-location": source_location(cx, dir_of(&def_at.path))},
        }));
        if let Some(d) = &def_at.description {
            metadata["description"] = json!(d);
        }
        let document = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "API",
            "metadata": metadata,
            "spec": {"type": def_at.spec_type, "lifecycle": cx.options.lifecycle, "owner": owner, "definition": def_at.definition},
        });
        out.push(Contribution::new(Evidence::Inferred, cx.location(&def_at.path), document));
    }
    out
}

/// Code files of a component looked at for gRPC stubs, at most.
const MAX_STUB_FILES: usize = 80;

/// What a component's code does with a gRPC service `S`: serves it (`RegisterSServer`,
/// `SServicer`, `SImplBase`, `S.SBase`, `add_SServicer_to_server`, `S.service`) or calls it
/// (`NewSClient`, `SStub`, `SClient(`, `SGrpc.new…Stub`).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StubUse {
    pub serves: bool,
    pub calls: bool,
}

fn stub_use(text: &str, service: &str) -> StubUse {
    let s = service;
    let serves = [format!("Register{s}Server("), format!("{s}Servicer"), format!("{s}ImplBase"), format!("{s}.{s}Base"), format!("{s}.service")]
        .iter()
        .any(|p| text.contains(p.as_str()));
    let calls = [format!("New{s}Client("), format!("{s}Stub("), format!("{s}Client("), format!("{s}Grpc.new"), format!("{s}.{s}Client")]
        .iter()
        .any(|p| text.contains(p.as_str()));
    StubUse { serves, calls }
}

/// Code files where stubs are used: sources named like servers, clients, handlers or mains.
fn is_stub_code(path: &str) -> bool {
    const WORDS: &[&str] = &["main", "server", "client", "service", "handler", "grpc", "rpc", "app", "program", "startup", "index", "api", "controller"];
    source_stem(path).is_some_and(|stem| WORDS.iter().any(|w| stem.contains(w))) && !super::facts::is_test_path(path)
}

/// Per component, how its code uses each of `services`.
fn stub_uses(cx: &Cx<'_>, components: &[Component], services: &[&str]) -> Vec<Vec<StubUse>> {
    components
        .iter()
        .map(|c| {
            let mut uses = vec![StubUse::default(); services.len()];
            if services.is_empty() || c.spec_type == Type::Library {
                return uses;
            }
            for path in c.own.iter().filter(|p| is_stub_code(p)).take(MAX_STUB_FILES) {
                let Some(text) = cx.tree.read(path).ok().flatten() else { continue };
                for (u, s) in uses.iter_mut().zip(services) {
                    let found = stub_use(&text, s);
                    u.serves |= found.serves;
                    u.calls |= found.calls;
                }
            }
            uses
        })
        .collect()
}
