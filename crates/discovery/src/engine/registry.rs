//! The source types the engine can run. Providers register a factory under their type name
//! (`git`, `terraform`, ...); the engine builds declared sources through it and names no
//! provider itself.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;

use super::Provider;

/// Builds a provider from a declared source's type-specific settings; errors name the field.
pub type Factory = fn(&Value) -> Result<Arc<dyn Provider>, String>;

/// Source types and their factories.
#[derive(Clone, Default)]
pub struct Registry {
    factories: BTreeMap<&'static str, Factory>,
}

impl Registry {
    /// Adds a source type; a later registration of the same type replaces the earlier one.
    pub fn register(&mut self, kind: &'static str, factory: Factory) {
        self.factories.insert(kind, factory);
    }

    /// The registered type names, in order.
    pub fn kinds(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.factories.keys().copied()
    }

    /// Builds the provider of a declared source of type `kind`.
    pub fn build(&self, kind: &str, settings: &Value) -> Result<Arc<dyn Provider>, String> {
        match self.factories.get(kind) {
            Some(factory) => factory(settings),
            None => Err(format!("unknown source type {kind:?}; expected one of: {}", self.kinds().collect::<Vec<_>>().join(", "))),
        }
    }
}
