//! One module per page (or group of pages sharing a URL prefix).

pub(crate) mod audit;
pub(crate) mod catalog;
pub(crate) mod approvals;
pub(crate) mod create;
pub(crate) mod create_form;
pub(crate) mod dashboards;
pub(crate) mod discovery;
pub(crate) mod docs;
pub(crate) mod entity;
pub(crate) mod entity_actions;
pub(crate) mod graph;
pub(crate) mod history;
pub(crate) mod me;
pub(crate) mod home;
pub(crate) mod query;
pub(crate) mod register;
pub(crate) mod catalog_levels;
pub(crate) mod dora;
pub(crate) mod initiatives;
pub(crate) mod scorecards;
pub(crate) mod search;
pub(crate) mod sign_in;
