//! Identity and permissions: who a subject is in the catalog ([`identity`]), the named
//! permissions of every action ([`permission`]), policies written in the expression language
//! that decide them ([`policy`]), and API token secrets and scopes ([`tokens`]). The HTTP side
//! (reading credentials, asking the policy once per request, the audit log) is the server's.

pub mod identity;
pub mod permission;
pub mod policy;
pub mod sign_in;
pub mod tokens;

pub use identity::{Identity, resolve};
pub use permission::{Pattern, Permission, Resource};
pub use policy::{Combine, DEFAULT_POLICY, Decision, Effect, Policy, PolicyConfig, PolicyEntity, Question, RequestInfo, RuleConfig, Subject};
pub use sign_in::{MatchBy, UserMatch};
pub use tokens::{Scope, equal_in_constant_time, hash_secret, mint_secret};

#[cfg(test)]
mod tests;
