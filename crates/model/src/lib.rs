//! The catalog's data model: entities in Backstage's descriptor format, entity references,
//! kinds (built-in and custom, each with a JSON Schema for its `spec` and the relations its
//! fields create) and validation.
//!
//! This crate does no I/O. Everything that enters the catalog passes through
//! [`Validator::validate`], which turns an untrusted JSON value into an [`Entity`] or a list of
//! [`FieldError`]s that name the offending field. The trade-off: entities keep their `spec` as
//! free-form JSON (validated by schema, not by Rust types), so custom kinds need no code.

mod entity;
mod entity_ref;
mod error;
pub mod hash;
mod kinds;
pub mod naming;
pub mod patch;
mod relation;
mod validate;
pub mod yaml;

pub use entity::{Entity, EntityLink, Metadata};
pub use entity_ref::{EntityRef, RefDefaults};
pub use error::{FieldError, ModelError, with_causes};
pub use kinds::{KindDef, KindRegistry, RelationRule, VariantSchema, PORTICO_API_VERSION};
pub use relation::{Relation, RelationTarget, well_known};
pub use validate::{EntityCheck, Validator, pointer_to_path, register_entity_check};

/// Annotation naming the location (`type:target`) that emitted an entity.
pub const ANNOTATION_LOCATION: &str = "backstage.io/managed-by-location";
/// Annotation naming the root location an entity was ultimately registered through.
pub const ANNOTATION_ORIGIN_LOCATION: &str = "backstage.io/managed-by-origin-location";
/// Annotation pointing at the source file an entity was read from (Backstage's `backstage.io/source-location`).
pub const ANNOTATION_SOURCE_LOCATION: &str = "backstage.io/source-location";
/// The default namespace, as in Backstage.
pub const DEFAULT_NAMESPACE: &str = "default";

mod entry;
pub use entry::CatalogEntry;

pub mod diff;
