use portico_model::CatalogEntry;

/// A relation row: `source_key` states `type` towards `target_key`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationRow {
    pub source_key: String,
    pub relation: String,
    pub target_key: String,
}

/// An entity to write, with the relations its fields create.
#[derive(Debug, Clone)]
pub struct EntityWrite {
    pub entry: CatalogEntry,
    pub relations: Vec<RelationRow>,
}

/// A removal or orphaning of an entity currently stored.
#[derive(Debug, Clone)]
pub struct EntityGone {
    pub key: String,
    pub uid: String,
    pub version: i64,
}

/// Everything one source run changes, applied in one transaction.
#[derive(Debug, Clone, Default)]
pub struct ChangeSet {
    pub source: String,
    /// The replica that made the change (announced with it, so it can ignore its own).
    pub replica: String,
    /// Milliseconds since the Unix epoch.
    pub at: i64,
    pub added: Vec<EntityWrite>,
    pub updated: Vec<EntityWrite>,
    pub removed: Vec<EntityGone>,
    /// Kept but marked orphaned (`orphanStrategy: keep`).
    pub orphaned: Vec<EntityGone>,
    /// Who made the change (a request's principal, or `cli`); none for the system's own reads.
    pub actor: Option<String>,
    /// When set, replaces every error recorded for this source.
    pub errors: Option<Vec<ErrorRecord>>,
    /// When set, recorded as the source's latest run.
    pub run: Option<SourceRecord>,
    /// When set, a location registered in the same transaction as its entities (unless one
    /// with the same type and target exists).
    pub location: Option<LocationRecord>,
}

impl ChangeSet {
    /// Whether applying it would change any entity.
    pub fn changes_entities(&self) -> bool {
        !(self.added.is_empty() && self.updated.is_empty() && self.removed.is_empty() && self.orphaned.is_empty())
    }

    /// Whether there is anything to write at all.
    pub fn is_empty(&self) -> bool {
        !self.changes_entities() && self.errors.is_none() && self.location.is_none()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ApplyStats {
    pub rows_written: u64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct VersionRecord {
    pub key: String,
    pub version: i64,
    pub uid: String,
    pub at: i64,
    pub source: String,
    /// `added`, `updated`, `removed` or `orphaned`.
    pub change: String,
    pub hash: Option<String>,
    pub body: Option<serde_json::Value>,
    /// Who made the change, when a person, token or the command line did.
    pub actor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorRecord {
    pub source: String,
    /// Where: `file:line:col`, a URL, or a location id.
    pub location: String,
    /// The entity concerned, when known.
    pub key: Option<String>,
    pub message: String,
    pub at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LocationRecord {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub target: String,
    #[serde(skip)]
    pub created_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceRecord {
    pub name: String,
    pub last_run_at: Option<i64>,
    /// `ok`, `partial` or `failed`.
    pub last_status: Option<String>,
    pub last_error: Option<String>,
    pub entity_count: i64,
}

/// A saved query. `query` is the query as JSON (expression, fields, orderBy, groupBy, limit);
/// the store keeps it as given, the server checks it before saving.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SavedQuery {
    pub name: String,
    pub title: String,
    pub description: String,
    /// An entity reference, usually a group.
    pub owner: String,
    pub query: serde_json::Value,
    pub created_at: i64,
    pub updated_at: i64,
}

/// What the history holds up to a time: two times with the same marker see the same catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HistoryMarker {
    pub versions: i64,
    pub last_at: i64,
}

/// One version, reduced for analytics ([`crate::Store::version_summaries`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionSummary {
    pub key: String,
    pub at: i64,
    /// `added`, `updated`, `removed` or `orphaned`.
    pub change: String,
    pub owner: Option<String>,
    pub lifecycle: Option<String>,
}
