//! Discovery: providers that read the outside world (git repositories, Terraform states,
//! Kubernetes, LDAP, PostgreSQL) and the engine that runs them, merges what they contribute by
//! evidence and priority with per-field provenance, and hands the result to the catalog's one
//! write path (`portico_catalog::Catalog`). Providers never touch the store.

pub mod engine;
pub mod providers;
