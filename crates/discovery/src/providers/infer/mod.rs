//! Inference: entities guessed from what a repository's files look like, for code that has
//! no descriptor. Pure functions over a file tree ([`Files`]); the git provider supplies the
//! tree (a commit's), tests supply an in-memory one.
//!
//! Per folder: Components from build manifests (with language and type), APIs from
//! OpenAPI/AsyncAPI/protobuf/GraphQL files (provided by the component that holds them), owner
//! from CODEOWNERS, description from the README, dependencies and Resources from Kubernetes
//! manifests, Helm templates and docker-compose, and presence facts for scorecards.

mod apis;
mod aspire;
mod charts;
mod codeowners;
mod components;
mod compose;
mod edges;
mod facts;
mod kubernetes;
mod manifests;
mod readme;
mod settings;
mod tree;
mod workloads;
mod yaml;

#[cfg(test)]
mod tests;

use serde_json::{Map, Value};

use crate::engine::Contribution;
use portico_catalog::SourceError;

/// Fact listing the dependencies found in deployment files (Kubernetes manifests, Helm
/// templates, docker-compose), for the drift report to compare with declared ones.
pub const OBSERVED_DEPENDS_ON: &str = "discovery.observedDependsOn";
pub use edges::DEPENDENCY_EVIDENCE;

/// A file tree to infer from.
pub trait Files: Sync {
    /// Every file path, `/`-separated and relative to the root, sorted.
    fn paths(&self) -> &[String];
    /// A file's text: `Ok(None)` when it is binary or larger than the reader's limit, `Err`
    /// with a message when it cannot be read.
    fn read(&self, path: &str) -> Result<Option<String>, String>;
}

/// An entity a descriptor (`catalog-info.yaml`) declares, and the folder it was found in.
/// Inference for that folder uses the declared name, so both describe the same entity.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Declared {
    /// Folder of the descriptor, relative to the root (`""` for the root).
    pub dir: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    /// Its `backstage.io/techdocs-ref` annotation, when it has one: a `dir:<path>` reference
    /// (relative to `dir`) names the folder its docs are read from.
    pub techdocs_ref: Option<String>,
}

/// What the caller knows about the tree.
#[derive(Debug, Clone, Default)]
pub struct RepoInfo {
    /// Short name of the repository (`shop` for `https://git.example.com/acme/shop.git`).
    pub name: String,
    /// Prefix for contribution locations: `<repo url>@<commit>`; a file's location is
    /// `<prefix>:<path>`.
    pub location: String,
    /// Repository-wide facts (`git.lastCommitAt`, `git.commits90d`, `git.contributors90d`)
    /// copied into every inferred Component's `status.facts`.
    pub facts: Map<String, Value>,
    pub declared: Vec<Declared>,
    /// The root folder's `backstage.io/source-location` (`file:/srv/shop/` for a repository
    /// with its files on disk, as descriptors get); `None` derives `url:<repository>/`.
    pub source_base: Option<String>,
}

/// Options from the source's settings.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// Owner of inferred components when CODEOWNERS names none.
    pub default_owner: String,
    /// Lifecycle given to inferred components.
    pub lifecycle: String,
    /// Paths left out of inference (besides dependencies, build output and fixtures): examples,
    /// documentation samples, a demo's own data.
    pub exclude: Vec<glob::Pattern>,
    /// Namespace of the inferred entities (a repository's `namespace` setting), `None` for
    /// `default`.
    pub namespace: Option<String>,
}

impl Default for InferOptions {
    fn default() -> Self {
        Self { default_owner: "group:default/unowned".into(), lifecycle: "production".into(), exclude: Vec::new(), namespace: None }
    }
}

/// What inference found.
#[derive(Debug, Clone, Default)]
pub struct Inference {
    pub contributions: Vec<Contribution>,
    /// Files that could not be understood (an invalid `package.json`): named, never fatal.
    pub errors: Vec<SourceError>,
}

/// Infers the entities of a tree. Reads only the files whose paths may matter (manifests,
/// READMEs, docs, CODEOWNERS, API definitions, YAML), never the whole tree.
pub fn infer(repo: &RepoInfo, files: &dyn Files, options: &InferOptions) -> Inference {
    let mut cx = Cx::new(repo, files, options);
    let manifests = manifests::detect(&mut cx);
    let mut components = components::build(&mut cx, manifests);
    let mut deployments = workloads::collect(&mut cx);
    workloads::identify(&mut cx, &mut components, &mut deployments);
    let mut contributions = apis::detect(&mut cx, &mut components);
    contributions.extend(edges::apply(&mut cx, &mut components, &deployments));
    let mut all: Vec<Contribution> = components.into_iter().map(|c| components::contribution(&cx, c)).collect();
    all.extend(contributions);
    Inference { contributions: all, errors: cx.errors }
}

/// What every part of inference shares: the tree, the caller's information, owners, and the
/// errors met so far.
pub(crate) struct Cx<'a> {
    pub repo: &'a RepoInfo,
    pub options: &'a InferOptions,
    pub tree: tree::Tree<'a>,
    pub owners: codeowners::CodeOwners,
    pub errors: Vec<SourceError>,
    /// YAML files and their text, read once for APIs and workloads.
    yaml: std::cell::OnceCell<Vec<(&'a str, std::sync::Arc<str>)>>,
}

impl<'a> Cx<'a> {
    fn new(repo: &'a RepoInfo, files: &'a dyn Files, options: &'a InferOptions) -> Self {
        let tree = tree::Tree::new(files, &options.exclude);
        let owners = codeowners::CodeOwners::load(&tree);
        Self { repo, options, tree, owners, errors: Vec::new(), yaml: std::cell::OnceCell::new() }
    }

    /// Location of a file: `<repo location>:<path>`.
    pub fn location(&self, path: &str) -> String {
        format!("{}:{path}", self.repo.location)
    }

    /// Records a problem with a file; `message` may start with `line:col: `.
    pub fn error(&mut self, path: &str, message: String) {
        let message = if message.starts_with(|c: char| c.is_ascii_digit()) {
            format!("{path}:{message}")
        } else {
            format!("{path}: {message}")
        };
        self.errors.push(SourceError { location: self.location(path), key: None, message });
    }

    /// Namespace of inferred entities.
    pub fn namespace(&self) -> &str {
        self.options.namespace.as_deref().unwrap_or(portico_model::DEFAULT_NAMESPACE)
    }

    /// `metadata` with the namespace when it is not `default`.
    pub fn with_namespace(&self, mut metadata: serde_json::Value) -> serde_json::Value {
        if self.namespace() != portico_model::DEFAULT_NAMESPACE {
            metadata["namespace"] = serde_json::json!(self.namespace());
        }
        metadata
    }

    /// Owner of a folder, and whether CODEOWNERS named it.
    pub fn owner_of(&self, dir: &str) -> (String, bool) {
        match self.owners.owner_of_dir(dir) {
            Some(o) => (o.to_owned(), true),
            None => (self.options.default_owner.clone(), false),
        }
    }
}
