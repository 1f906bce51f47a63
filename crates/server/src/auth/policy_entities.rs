//! `Policy` entities (`portico.dev/v1`): rules kept in the catalog beside the configured ones,
//! put ahead of them. Only those read from a location named in `auth.policyLocations` count
//! (`backstage.io/managed-by-location` or `…/managed-by-origin-location`): anyone who may
//! register a location could otherwise write themselves a rule that allows everything. The
//! server loads them at start and again whenever a Policy entity changes; a set that does not
//! compile is refused whole (the rules in force stay), and every load that changes the rules or
//! fails is in the audit log as `policy.load`.

use std::sync::Arc;

use portico_auth::{Policy, PolicyEntity, RuleConfig};
use portico_graph::CatalogGraph;
use portico_store::AuditEvent;

use super::Authorizer;
use crate::AppState;

/// What a load of the Policy entities found and did.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PolicyLoad {
    /// The Policy entities whose rules are in force, in the order asked.
    pub entities: Vec<String>,
    /// Policy entities left out, each with why.
    pub ignored: Vec<Ignored>,
    /// Why the last load was refused (the rules before it stay in force).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Ignored {
    #[serde(rename = "ref")]
    pub reference: String,
    pub reason: String,
}

/// Whether a location target names a trusted one: `file:/srv/p.yaml`, or a bare path.
fn trusted(locations: &[String], annotation: Option<&str>) -> bool {
    let Some(value) = annotation else { return false };
    locations.iter().any(|l| {
        let l = l.trim();
        l == value || (!l.contains(':') && value.strip_prefix("file:") == Some(l))
    })
}

impl Authorizer {
    /// Reads the Policy entities of `graph` and puts their rules in force ahead of the
    /// configured ones; `None` when nothing changed since the last load. `conflicts` are the
    /// recorded conflicts over Policy entities ([`conflicts`]): a Policy of a trusted location
    /// that lost its name to another location's is missing, so the whole load is refused.
    pub fn load_policies(&self, graph: &CatalogGraph, conflicts: &[String]) -> Option<PolicyLoad> {
        let mut load = PolicyLoad::default();
        let mut found: Vec<(String, String, Result<Vec<RuleConfig>, String>)> = Vec::new();
        for entry in graph.entries().filter(|e| e.key.starts_with("policy:")) {
            let entity = &entry.entity;
            let reference = entity.entity_ref().to_string();
            let location = entity.annotation("backstage.io/managed-by-location");
            let origin = entity.annotation("backstage.io/managed-by-origin-location");
            if !trusted(&self.config.policy_locations, location) && !trusted(&self.config.policy_locations, origin) {
                let from = location.unwrap_or("no location");
                load.ignored.push(Ignored { reference, reason: format!("read from {from}, which auth.policyLocations does not name") });
                continue;
            }
            let rules = entity.spec.as_ref().and_then(|s| s.get("rules")).cloned().unwrap_or_default();
            let parsed = serde_json::from_value::<Vec<RuleConfig>>(rules).map_err(|e| format!("{reference} spec.rules: {e}"));
            found.push((reference, entry.hash.clone(), parsed));
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let fingerprint: Vec<(String, String)> = found
            .iter()
            .map(|(r, h, _)| (r.clone(), h.clone()))
            .chain(load.ignored.iter().map(|i| (i.reference.clone(), String::new())))
            .chain(conflicts.iter().map(|c| (c.clone(), "conflict".to_owned())))
            .collect();
        {
            let mut last = self.policy_fingerprint.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if *last == Some(fingerprint.clone()) {
                return None;
            }
            *last = Some(fingerprint);
        }
        if let Some(c) = conflicts.first() {
            load.error = Some(format!("a Policy entity is claimed by two locations, so one of them is missing (a trusted one may have lost its name): {c}"));
        }
        let mut entities = Vec::new();
        for (reference, _, rules) in found {
            match rules {
                Ok(rules) => entities.push(PolicyEntity { reference, rules }),
                Err(e) => load.error = Some(e),
            }
        }
        if load.error.is_none() {
            match Policy::with_entities(&self.config.policy, "auth.policy", &entities) {
                Ok(policy) => {
                    *self.policy.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(policy);
                    load.entities = entities.into_iter().map(|e| e.reference).collect();
                }
                Err(e) => load.error = Some(e),
            }
        }
        if load.error.is_some() {
            // The rules in force stay, and so does the list of their entities.
            load.entities = self.policy_load.read().unwrap_or_else(std::sync::PoisonError::into_inner).entities.clone();
        }
        *self.policy_load.write().unwrap_or_else(std::sync::PoisonError::into_inner) = load.clone();
        Some(load)
    }

    /// The last load of the Policy entities.
    pub fn policy_load(&self) -> PolicyLoad {
        self.policy_load.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The names of the rules in force, in the order they are asked.
    pub fn rule_names(&self) -> Vec<String> {
        self.policy().rule_names().into_iter().map(str::to_owned).collect()
    }
}

/// Loads the Policy entities now and again whenever one changes (a task that lives as long as
/// the catalog's change feed).
pub fn follow(state: &AppState) {
    let state = state.clone();
    let mut events = state.catalog.subscribe();
    tokio::spawn(async move {
        load_and_record(&state).await;
        loop {
            match events.recv().await {
                // Policy entities come from locations: a location's read may also have lost one
                // to a conflict, which changes no Policy entity but must refuse the set.
                Ok(e) if !e.source.starts_with("location:") && !e.changed.iter().chain(&e.removed).any(|k| k.starts_with("policy:")) => {}
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => load_and_record(&state).await,
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            }
        }
    });
}

/// The recorded conflicts over Policy entities (`policy:default/x: conflict: …`).
pub async fn conflicts(store: &dyn portico_store::Store) -> Vec<String> {
    match store.errors(None).await {
        Ok(errors) => errors
            .into_iter()
            .filter(|e| e.key.as_deref().is_some_and(|k| k.starts_with("policy:")) && e.message.starts_with("conflict"))
            .map(|e| format!("{}: {}", e.key.unwrap_or_default(), e.message))
            .collect(),
        // Unknown: refuse rather than load what may be missing a rule.
        Err(e) => vec![format!("the recorded errors could not be read: {e}")],
    }
}

async fn load_and_record(state: &AppState) {
    let conflicts = conflicts(state.catalog.store().as_ref()).await;
    let load = state.auth.load_policies(&state.catalog.read(), &conflicts);
    let Some(load) = load else { return };
    let (outcome, detail) = match &load.error {
        Some(e) => {
            tracing::error!(error = %e, "the Policy entities were not loaded; the rules before stay in force");
            ("failed", format!("refused, the rules before stay in force: {e}"))
        }
        None => {
            tracing::info!(entities = load.entities.len(), ignored = load.ignored.len(), "Policy entities loaded");
            ("allowed", format!("{} Policy entities in force: {}", load.entities.len(), load.entities.join(", ")))
        }
    };
    let ignored = if load.ignored.is_empty() { String::new() } else { format!("; ignored: {}", load.ignored.iter().map(|i| format!("{} ({})", i.reference, i.reason)).collect::<Vec<_>>().join(", ")) };
    super::gate::record(state, AuditEvent::of("portico", "system", "policy.load", None, outcome).with(None, None, format!("{detail}{ignored}"))).await;
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_location_is_trusted_as_written_or_as_a_bare_path() {
        let locations = vec!["file:/srv/policies/all.yaml".to_owned(), "/srv/more.yaml".to_owned(), "url:https://git.example.com/p.yaml".to_owned()];
        for (annotation, expected) in [
            (Some("file:/srv/policies/all.yaml"), true),
            (Some("file:/srv/more.yaml"), true),
            (Some("url:https://git.example.com/p.yaml"), true),
            (Some("file:/srv/policies/other.yaml"), false),
            (Some("url:/srv/more.yaml"), false),
            (None, false),
        ] {
            assert_eq!(super::trusted(&locations, annotation), expected, "{annotation:?}");
        }
    }
}
