//! Self-service actions. A `Template` entity (Backstage's `scaffolder.backstage.io/v1beta3`)
//! declares a form (its parameters, JSON Schema) and steps, each an action (`fetch:template`,
//! `catalog:write`, …) whose input is written with `${{ }}` expressions in Backstage's dialect.
//!
//! - [`template`] reads a Template entity and checks it (registered with the validators by
//!   [`register`]);
//! - [`render`] renders `${{ }}` (minijinja, sandboxed), with Backstage's filters in [`filters`];
//! - [`params`] checks parameters against the form's schema;
//! - [`action`] is the [`Action`] trait and the registry; [`builtin`] the actions shipped;
//! - [`run`] runs a template's steps in a [`workspace::Workspace`], for real or as a dry run.

pub mod action;
mod builtin;
pub mod catalog_port;
mod compat;
pub mod filters;
pub mod params;
pub mod policy;
pub mod render;
pub mod run;
pub mod runs;
pub mod template;
pub mod workspace;

pub use action::{Action, ActionError, Context, Registry, Remotes};
pub use catalog_port::{CatalogPort, Edited, Registered};
pub use render::Renderer;
pub use run::{Engine, Event, Observer, Report, Request, StepReport, StepStatus, UndoReport};
pub use runs::{RunView, Runs, RunsConfig, SubmitError};
pub use template::Template;

/// Whether an address is this machine's or a private network's (what `http:request` refuses
/// unless `actions.remotes.privateAddresses` allows it).
pub fn builtin_is_private(ip: std::net::IpAddr) -> bool {
    builtin::http_is_private(ip)
}

/// Makes every entity validator check Template entities' steps and expressions, so a `${{ }}`
/// that does not parse is an error at its line when the file is read.
pub fn register() {
    portico_model::register_entity_check("Template", template::check_entity);
}
