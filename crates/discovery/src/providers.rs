//! Discovery sources. Each reads one kind of place; adding a source is one file here and one
//! line in [`registry`].
//!
//! The providers implement [`crate::engine::Provider`] and are declared under
//! `discovery.sources` in `portico.yaml`; the engine turns one declaration's type-specific
//! settings into a provider through the [`Registry`] they register with. (Registered
//! locations, Backstage's own source, live in the catalog crate.)

use std::sync::Arc;

use serde_json::Value;

use crate::engine::{Provider, Registry};

pub mod git;
pub mod infer;
pub mod kubernetes;
pub mod ldap;
pub mod postgres;
pub mod terraform;

/// Every source type of this crate, registered with the engine.
/// How path globs of settings and CODEOWNERS match repository paths: `*` stays within a folder,
/// `**` crosses folders, dot files match like any other.
pub(crate) const PATH_MATCH: glob::MatchOptions =
    glob::MatchOptions { case_sensitive: true, require_literal_separator: true, require_literal_leading_dot: false };

pub fn registry() -> Registry {
    let mut r = Registry::default();
    r.register(git::KIND, |s| Ok(Arc::new(git::GitProvider::from_settings(s)?)));
    r.register(kubernetes::KIND, |s| Ok(Arc::new(kubernetes::KubernetesProvider::from_settings(s)?)));
    r.register(ldap::KIND, |s| Ok(Arc::new(ldap::LdapProvider::from_settings(s)?)));
    r.register(postgres::KIND, |s| Ok(Arc::new(postgres::PostgresProvider::from_settings(s)?)));
    r.register(terraform::KIND, |s| Ok(Arc::new(terraform::TerraformProvider::from_settings(s)?)));
    r
}

/// Builds the provider of a declared source from its type-specific settings (the source's
/// fields other than `name`, `type`, `interval`, `priority` and `webhookSecret`). Errors name
/// the field at fault.
pub fn build(kind: &str, settings: &Value) -> Result<Arc<dyn Provider>, String> {
    registry().build(kind, settings)
}

/// Deserializes a provider's settings, naming the field at fault.
pub fn settings<T: serde::de::DeserializeOwned>(kind: &str, settings: &Value) -> Result<T, String> {
    serde_json::from_value(settings.clone()).map_err(|e| format!("{kind} source settings: {e}"))
}
