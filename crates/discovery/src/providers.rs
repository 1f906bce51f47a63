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
pub mod location;

/// The source types `build` knows, for error messages and docs.
pub const KINDS: &[&str] = &[git::KIND];

/// Builds the provider of a declared source from its type-specific settings (the source's
/// fields other than `name`, `type`, `interval`, `priority` and `webhookSecret`). Errors name
/// the field at fault.
pub fn build(kind: &str, settings: &Value) -> Result<Arc<dyn Provider>, String> {
    match kind {
        git::KIND => Ok(Arc::new(git::GitProvider::from_settings(settings)?)),
        _ => Err(format!("unknown source type {kind:?}; expected one of: {}", KINDS.join(", "))),
    }
}

/// Deserializes a provider's settings, naming the field at fault.
pub fn settings<T: serde::de::DeserializeOwned>(kind: &str, settings: &Value) -> Result<T, String> {
    serde_json::from_value(settings.clone()).map_err(|e| format!("{kind} source settings: {e}"))
}
