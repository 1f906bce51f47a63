//! Per-field provenance of an entity: which source, location and time set each field.
//!
//! For discovered entities it is what the merge recorded. For entities from registered
//! locations or the API, whose single source wrote every field, it is read from the version
//! history, like `git blame`: each field is attributed to the oldest version since which it
//! has had its current value.

use serde_json::Value;

use super::merge::{FieldProvenance, leaves, select};
use super::{CATALOG_SOURCE, EngineError, Evidence};
use portico_catalog::Catalog;

/// What the API returns for `/entities/{ref}/provenance`.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub entity_ref: String,
    /// `merge` for discovered entities, `history` otherwise.
    pub method: &'static str,
    /// Every source that describes the entity, strongest first.
    pub sources: Vec<SourceSummary>,
    pub fields: Vec<FieldProvenance>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SourceSummary {
    pub source: String,
    pub evidence: Evidence,
    pub location: String,
    pub updated_at: i64,
}

/// Provenance of the entity `key`; `None` when it is not in the catalog.
pub async fn provenance(catalog: &Catalog, key: &str) -> Result<Option<Provenance>, EngineError> {
    let Some(entry) = catalog.read().get(key).cloned() else { return Ok(None) };
    let entity_ref = entry.entity.entity_ref().to_string();
    let store = catalog.store();
    if entry.source == CATALOG_SOURCE {
        let mut fields: Vec<FieldProvenance> =
            store.provenance(key).await?.and_then(|v| serde_json::from_value(v).ok()).unwrap_or_default();
        inferred_lines(&mut fields, entry.entity.status.as_ref());
        let mut sources: Vec<SourceSummary> = store
            .contributions_to(&[key.to_owned()])
            .await?
            .into_iter()
            .map(|r| SourceSummary {
                evidence: Evidence::parse(&r.evidence),
                source: r.source,
                location: r.location,
                updated_at: r.updated_at,
            })
            .collect();
        sources.sort_by(|a, b| b.evidence.cmp(&a.evidence).then(a.source.cmp(&b.source)));
        return Ok(Some(Provenance { entity_ref, method: "merge", sources, fields }));
    }
    let history = store.history(key).await?;
    let location = entry.entity.annotation(portico_model::ANNOTATION_LOCATION).unwrap_or(&entry.source).to_owned();
    let current = serde_json::to_value(&*entry.entity).unwrap_or_default();
    let mut fields = Vec::new();
    leaves(&current, "", &mut |path, value| {
        if path.starts_with("relations") || path == "metadata.uid" || path == "metadata.etag" {
            return;
        }
        // Walk back while the value stays the same: the oldest such version set it.
        let mut set = (entry.updated_at, entry.source.clone());
        for v in history.iter().rev() {
            let Some(body) = &v.body else { break };
            if select(body, path) != *value {
                break;
            }
            set = (v.at, v.source.clone());
        }
        fields.push(FieldProvenance {
            path: path.to_owned(),
            source: set.1,
            evidence: Evidence::Declared,
            location: location.clone(),
            set_at: set.0,
            also: Vec::new(),
            overridden: Vec::new(),
            value_hash: String::new(),
            lines: Vec::new(),
        });
    });
    let sources = vec![SourceSummary { source: entry.source.clone(), evidence: Evidence::Declared, location, updated_at: entry.updated_at }];
    Ok(Some(Provenance { entity_ref, method: "history", sources, fields }))
}

/// Fact naming, per dependency, the file, line and setting that shows it
/// (`{"resource:default/db": "docker-compose.yml:14 DATABASE_URL"}`).
pub const DEPENDENCY_EVIDENCE: &str = "discovery.dependencyEvidence";
/// Fact naming the file (and line) an inferred component's name was taken from.
pub const NAME_FROM: &str = "discovery.nameFrom";
/// Fact naming the README line an inferred description was taken from.
pub const DESCRIPTION_FROM: &str = "discovery.descriptionFrom";

/// Inference says which file and line gave a field (the facts above): inferred fields show
/// them.
fn inferred_lines(fields: &mut [FieldProvenance], status: Option<&Value>) {
    let Some(facts) = status.and_then(|s| s.get("facts")) else { return };
    for f in fields.iter_mut().filter(|f| f.evidence == Evidence::Inferred) {
        f.lines = match f.path.as_str() {
            "spec.dependsOn" => facts
                .get(DEPENDENCY_EVIDENCE)
                .and_then(Value::as_object)
                .map(|m| m.iter().map(|(target, at)| format!("{target} ← {}", at.as_str().unwrap_or_default())).collect())
                .unwrap_or_default(),
            "metadata.name" => facts.get(NAME_FROM).and_then(Value::as_str).map(str::to_owned).into_iter().collect(),
            "metadata.description" => facts.get(DESCRIPTION_FROM).and_then(Value::as_str).map(str::to_owned).into_iter().collect(),
            _ => continue,
        };
    }
}

/// The value of a provenance path in an entity (for pages that show both).
pub fn value_at(entity: &Value, path: &str) -> Value {
    select(entity, path)
}
