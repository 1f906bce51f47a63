//! The drift report: where what people declared and what discovery observed disagree.
//!
//! - **declared, not running**: service components declared in a descriptor with no runtime
//!   evidence (no contribution from a runtime source — Kubernetes, Terraform, a database
//!   server — about them, and nothing from such a source related to them);
//! - **running, not declared**: workloads and resources found by runtime sources that belong
//!   to no declared component, or have no owner;
//! - **dependencies observed, not declared** (manifests, env vars, compose) and **declared, not
//!   observed** (only for components whose dependencies discovery could observe at all);
//! - **owners that do not exist**: `spec.owner` pointing at no entity in the catalog.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use portico_model::EntityRef;
use portico_store::ContributionRow;
use serde_json::Value;

use super::EngineError;
use portico_catalog::Catalog;

/// Source types whose contributions are evidence that something runs or exists.
pub const RUNTIME_KINDS: &[&str] = &["kubernetes", "terraform", "postgres"];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DriftKind {
    DeclaredNotRunning,
    RunningNotDeclared,
    RunningWithoutOwner,
    UndeclaredDependency,
    UnobservedDependency,
    MissingOwner,
}

impl DriftKind {
    pub const ALL: [DriftKind; 6] = [
        DriftKind::DeclaredNotRunning,
        DriftKind::RunningNotDeclared,
        DriftKind::RunningWithoutOwner,
        DriftKind::UndeclaredDependency,
        DriftKind::UnobservedDependency,
        DriftKind::MissingOwner,
    ];

    pub fn title(self) -> &'static str {
        match self {
            DriftKind::DeclaredNotRunning => "Declared, not running",
            DriftKind::RunningNotDeclared => "Running, not declared",
            DriftKind::RunningWithoutOwner => "Running without an owner",
            DriftKind::UndeclaredDependency => "Dependency observed, not declared",
            DriftKind::UnobservedDependency => "Dependency declared, not observed",
            DriftKind::MissingOwner => "Owner does not exist",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            DriftKind::DeclaredNotRunning => "declaredNotRunning",
            DriftKind::RunningNotDeclared => "runningNotDeclared",
            DriftKind::RunningWithoutOwner => "runningWithoutOwner",
            DriftKind::UndeclaredDependency => "undeclaredDependency",
            DriftKind::UnobservedDependency => "unobservedDependency",
            DriftKind::MissingOwner => "missingOwner",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftItem {
    pub kind: DriftKind,
    pub entity_ref: String,
    /// The other end, for dependencies and owners.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    pub detail: String,
    /// The sources that say so.
    pub sources: Vec<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DriftReport {
    pub generated_at: i64,
    /// Count per kind, every kind present (zero included).
    pub counts: BTreeMap<DriftKind, usize>,
    /// Whether a runtime source is configured: without one, nothing can be "running".
    pub runtime_sources: bool,
    pub items: Vec<DriftItem>,
}

/// Computes the report. `source_kinds` maps source names to their types.
pub async fn report(catalog: &Catalog, source_kinds: &HashMap<String, String>) -> Result<DriftReport, EngineError> {
    let rows = catalog.store().all_contributions().await?;
    let graph = catalog.read();
    let runtime = |source: &str| source_kinds.get(source).is_some_and(|k| RUNTIME_KINDS.contains(&k.as_str()));
    let runtime_sources = source_kinds.values().any(|k| RUNTIME_KINDS.contains(&k.as_str()));
    let mut by_key: BTreeMap<&str, Vec<&ContributionRow>> = BTreeMap::new();
    for r in &rows {
        by_key.entry(r.key.as_str()).or_default().push(r);
    }
    // Declared: by a descriptor a source found, or registered as a location (a descriptor too).
    let declared = |key: &str| {
        by_key.get(key).is_some_and(|rs| rs.iter().any(|r| r.evidence == "declared"))
            || graph.get(key).is_some_and(|e| e.source != super::CATALOG_SOURCE)
    };
    let runtime_keys: HashSet<&str> = rows.iter().filter(|r| runtime(&r.source)).map(|r| r.key.as_str()).collect();
    let mut items = Vec::new();

    // Runtime entities and what they point at.
    let mut evidenced: HashSet<String> = HashSet::new();
    for key in &runtime_keys {
        let Some(entry) = graph.get(key) else { continue };
        let sources: Vec<String> = by_key[key].iter().map(|r| r.source.clone()).collect();
        evidenced.insert((*key).to_owned());
        let related: Vec<String> = graph
            .relations(key)
            .into_iter()
            .filter_map(|r| EntityRef::parse_full(&r.target_ref).ok().map(|t| t.key()))
            .collect();
        let belongs = related.iter().any(|t| t.starts_with("component:") && declared(t));
        evidenced.extend(related.into_iter().filter(|t| t.starts_with("component:")));
        let kind = entry.entity.kind.as_str();
        if matches!(kind, "Kind" | "Cluster" | "Group" | "User" | "Domain" | "System") {
            continue;
        }
        let this = entry.entity.entity_ref().to_string();
        if !belongs && !declared(key) {
            items.push(DriftItem {
                kind: DriftKind::RunningNotDeclared,
                entity_ref: this.clone(),
                target: None,
                detail: format!("{kind} found by {} belongs to no declared component", sources.join(", ")),
                sources: sources.clone(),
            });
        }
        if entry.entity.annotation(super::ANNOTATION_NO_OWNER).is_some() && !belongs {
            items.push(DriftItem {
                kind: DriftKind::RunningWithoutOwner,
                entity_ref: this,
                target: None,
                detail: format!("{kind} found by {} has no owner", sources.join(", ")),
                sources,
            });
        }
    }

    // Declared services nothing runs: from discovered descriptors and registered locations.
    if runtime_sources {
        for entry in graph.entries() {
            let is_service = entry.entity.kind == "Component" && entry.entity.spec_str("type") == Some("service");
            if !is_service || evidenced.contains(&entry.key) || !declared(&entry.key) {
                continue;
            }
            let sources = match by_key.get(entry.key.as_str()) {
                Some(rs) => rs.iter().filter(|r| r.evidence == "declared").map(|r| r.source.clone()).collect(),
                None => vec![entry.source.clone()],
            };
            items.push(DriftItem {
                kind: DriftKind::DeclaredNotRunning,
                entity_ref: entry.entity.entity_ref().to_string(),
                target: None,
                detail: "service declared in a descriptor, but no runtime source has seen it".into(),
                sources,
            });
        }
    }

    for (key, rs) in &by_key {
        let Some(entry) = graph.get(key) else { continue };
        let this = entry.entity.entity_ref();
        let declared_rows: Vec<&&ContributionRow> = rs.iter().filter(|r| r.evidence == "declared").collect();
        if declared_rows.is_empty() {
            continue;
        }
        // Dependencies: what descriptors say against what manifests, env vars and compose show.
        let deps = |rows: &mut dyn Iterator<Item = &&ContributionRow>| -> BTreeSet<String> {
            rows.flat_map(|r| dependencies(&r.document, &this)).collect()
        };
        let said = deps(&mut rs.iter().filter(|r| r.evidence == "declared"));
        let observing: Vec<&&ContributionRow> = rs.iter().filter(|r| r.evidence != "declared" && observes_dependencies(&r.document)).collect();
        if observing.is_empty() {
            continue;
        }
        let seen = deps(&mut observing.iter().copied());
        let observers: Vec<String> = observing.iter().map(|r| r.source.clone()).collect();
        for target in seen.difference(&said) {
            items.push(DriftItem {
                kind: DriftKind::UndeclaredDependency,
                entity_ref: this.to_string(),
                target: Some(target.clone()),
                detail: format!("depends on {target} (seen by {}) but its descriptor does not say so", observers.join(", ")),
                sources: observers.clone(),
            });
        }
        for target in said.difference(&seen) {
            items.push(DriftItem {
                kind: DriftKind::UnobservedDependency,
                entity_ref: this.to_string(),
                target: Some(target.clone()),
                detail: format!("declares a dependency on {target} that {} did not observe", observers.join(", ")),
                sources: declared_rows.iter().map(|r| r.source.clone()).collect(),
            });
        }
    }

    // Owners that do not exist, for every entity in the catalog.
    for u in graph.unresolved() {
        if u.relation == "ownedBy" && u.target != super::UNOWNED {
            items.push(DriftItem {
                kind: DriftKind::MissingOwner,
                entity_ref: u.source.clone(),
                target: Some(u.target.clone()),
                detail: format!("owner {} is not in the catalog", u.target),
                sources: graph
                    .get(&EntityRef::parse_full(&u.source).map(|r| r.key()).unwrap_or_default())
                    .map(|e| vec![e.source.clone()])
                    .unwrap_or_default(),
            });
        }
    }
    items.sort();
    items.dedup();
    let mut counts: BTreeMap<DriftKind, usize> = DriftKind::ALL.iter().map(|k| (*k, 0)).collect();
    for i in &items {
        *counts.entry(i.kind).or_default() += 1;
    }
    Ok(DriftReport { generated_at: portico_catalog::now_ms(), counts, runtime_sources, items })
}

/// Whether a contribution carries observed dependencies (its source could see them).
fn observes_dependencies(doc: &Value) -> bool {
    doc.pointer("/status/facts/discovery.observedDependsOn").is_some() || doc.pointer("/spec/dependsOn").is_some_and(|d| d.as_array().is_some_and(|a| !a.is_empty()))
}

/// The dependency keys a document states, references resolved against the entity.
fn dependencies(doc: &Value, of: &EntityRef) -> Vec<String> {
    let mut out = Vec::new();
    let lists = [doc.pointer("/spec/dependsOn"), doc.pointer("/status/facts/discovery.observedDependsOn")];
    for list in lists.into_iter().flatten() {
        for v in list.as_array().into_iter().flatten() {
            if let Some(s) = v.as_str()
                && let Ok(r) = EntityRef::parse(s, portico_model::RefDefaults { kind: Some("component"), namespace: Some(of.namespace()) })
            {
                out.push(r.key());
            }
        }
    }
    out
}
