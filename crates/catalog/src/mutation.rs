use std::sync::Arc;

use serde_json::Value;

/// Where a document came from, for error messages (`file:line:col`) and annotations.
#[derive(Debug, Clone)]
pub struct Origin {
    /// A path or URL.
    pub location: String,
    /// The file's text, when positions can be computed from it.
    pub text: Option<Arc<str>>,
    /// Index of the (non-empty) document within the file.
    pub document: usize,
}

impl Origin {
    /// `location:line:col` of a field, or `location` when it cannot be found.
    pub fn at(&self, path: &str) -> String {
        match self.text.as_deref().and_then(|t| portico_model::yaml::locate(t, self.document, path)) {
            Some((line, col)) => format!("{}:{line}:{col}", self.location),
            None => self.location.clone(),
        }
    }
}

/// A document a source emits, not yet validated.
#[derive(Debug, Clone)]
pub struct RawEntity {
    pub value: Value,
    pub origin: Origin,
    /// Key of the entity (usually a Location) that led to this one.
    pub parent: Option<String>,
    /// Part of the document could not be resolved (e.g. a placeholder): when the entity
    /// already exists, its previous version is kept instead.
    pub degraded: bool,
}

/// What a source hands the catalog.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Everything the source sees. `complete: false` (some part could not be read) means the
    /// catalog adds and updates but removes nothing.
    Full { source: String, entities: Vec<RawEntity>, errors: Vec<SourceError>, complete: bool },
    /// Changes only: upserts, and removals by entity key.
    Delta { source: String, upserts: Vec<RawEntity>, removals: Vec<String> },
}

/// A problem a source met while reading (a file it could not read, a placeholder it could not
/// resolve). `key` names the entity concerned when known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub location: String,
    pub key: Option<String>,
    pub message: String,
}

/// A best-effort key for a document that may be invalid (used to keep its last good version,
/// and to name Location parents before validation).
pub fn raw_key(v: &Value) -> Option<String> {
    let kind = v.get("kind")?.as_str()?;
    let name = v.pointer("/metadata/name")?.as_str()?;
    let ns = v.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or(portico_model::DEFAULT_NAMESPACE);
    Some(format!("{kind}:{ns}/{name}").to_lowercase())
}

/// A document after validation: its origin, and the entity or what is wrong with it. The raw
/// value is consumed by validation, so a large batch is never held twice.
pub(crate) struct Validated {
    pub origin: Origin,
    pub parent: Option<String>,
    pub degraded: bool,
    /// The document's key as written, when it has one (for invalid documents).
    pub key_hint: Option<String>,
    pub outcome: Outcome,
}

/// What validation made of a document.
pub(crate) enum Outcome {
    /// Valid: the entity, its content hash, and the relations its fields create
    /// (type, inverse, target key).
    Valid { entity: Box<portico_model::Entity>, hash: String, relations: Vec<(String, String, String)> },
    Invalid(Vec<portico_model::FieldError>),
    /// Byte-for-byte what this source stored last time (same content hash): not validated again.
    Unchanged { key: String },
}
