//! Sources. Each reads one kind of place; adding a source is one file here and one arm in
//! [`build`].
//!
//! `location` is the Backstage-compatible source (registered locations, read into entities
//! directly). The discovery providers implement [`crate::engine::Provider`] and are declared
//! under `discovery.sources` in `portico.yaml`; [`build`] turns one declaration's
//! type-specific settings into a provider.

use std::sync::Arc;

use serde_json::Value;

use crate::engine::Provider;

pub mod git;
pub mod infer;
pub mod kubernetes;
pub mod ldap;
pub mod location;
pub mod postgres;
pub mod terraform;

/// The source types `build` knows, for error messages and docs.
pub const KINDS: &[&str] = &[git::KIND, kubernetes::KIND, ldap::KIND, "postgres", "terraform"];

/// Builds the provider of a declared source from its type-specific settings (the source's
/// fields other than `name`, `type`, `interval`, `priority` and `webhookSecret`). Errors name
/// the field at fault.
pub fn build(kind: &str, settings: &Value) -> Result<Arc<dyn Provider>, String> {
    match kind {
        git::KIND => Ok(Arc::new(git::GitProvider::from_settings(settings)?)),
        kubernetes::KIND => Ok(Arc::new(kubernetes::KubernetesProvider::from_settings(settings)?)),
        ldap::KIND => Ok(Arc::new(ldap::LdapProvider::from_settings(settings)?)),
        "postgres" => Ok(Arc::new(postgres::PostgresProvider::from_settings(settings)?)),
        "terraform" => Ok(Arc::new(terraform::TerraformProvider::from_settings(settings)?)),
        _ => Err(format!("unknown source type {kind:?}; expected one of: {}", KINDS.join(", "))),
    }
}

/// Deserializes a provider's settings, naming the field at fault.
pub fn settings<T: serde::de::DeserializeOwned>(kind: &str, settings: &Value) -> Result<T, String> {
    serde_json::from_value(settings.clone()).map_err(|e| format!("{kind} source settings: {e}"))
}
