//! Who is asking and what they may do, decided in one place for the API and the pages
//! ([`gate`]): a credential makes a [`Principal`]; its token's scopes bound what it may do; the
//! [`Authorizer`]'s policy (rules in the expression language, `portico_auth::policy`) decides
//! each named permission, looking at the entity acted on; and every change and every refusal
//! goes to the audit log. A request without a credential is the guest: with `auth.mode: none`
//! (the only mode until sign-in with OpenID Connect) the guest is an admin, as before identity
//! existed.

pub mod gate;
pub mod limit;
pub mod oidc;
pub mod policy_entities;
pub mod recent;
pub mod routes;
pub mod session;
mod token_admin;
pub mod visibility;

use portico_auth::{Decision, Permission, Policy, PolicyConfig, RequestInfo, Scope, Subject};
use portico_graph::eval::SharedGraph;
use std::sync::Arc;

pub use portico_auth::{hash_secret, mint_secret};
pub use token_admin::{NewToken, create_token};
pub use visibility::Seen;

use crate::error::ApiError;

/// `auth:` in `portico.yaml`.
#[derive(Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuthConfig {
    /// `none` (the default, for the local demo): a request without a credential is the guest,
    /// an admin. `oidc`: people sign in with OpenID Connect (`auth.oidc`), scripts send tokens;
    /// nothing but health, metrics, the API description and the sign-in pages answers without
    /// one. `token`: as `oidc` without sign-in (tokens only, or a proxy that adds the header).
    pub mode: AuthMode,
    /// The OpenID Connect provider, for `mode: oidc`.
    pub oidc: Option<oidc::OidcConfig>,
    /// How long sessions last.
    pub sessions: session::SessionConfig,
    /// A static admin token for first set-up (`PORTICO__AUTH__BOOTSTRAP_TOKEN`): it may do
    /// everything, including creating the first service tokens. At least 32 characters.
    pub bootstrap_token: Option<String>,
    /// Groups (or users) whose members are admins: `group:default/platform-admins`.
    pub admin_groups: Vec<String>,
    /// The rules that decide permissions; none: the default policy.
    pub policy: PolicyConfig,
    /// Locations whose `Policy` entities count (`file:/srv/catalog/policies.yaml`, a bare path,
    /// or `url:https://…`); Policy entities from anywhere else are ignored.
    pub policy_locations: Vec<String>,
    pub audit: AuditConfig,
}

/// `auth.mode`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    None,
    Token,
    Oidc,
}

impl AuthMode {
    /// Whether every request needs a credential (no guest).
    pub fn needs_credential(self) -> bool {
        self != AuthMode::None
    }
}

/// `auth.audit`.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct AuditConfig {
    /// Days an audit event is kept; older ones are removed once a day.
    pub retention_days: u32,
}

impl Default for AuditConfig {
    fn default() -> Self {
        Self { retention_days: 365 }
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("mode", &self.mode)
            .field("bootstrap_token", &self.bootstrap_token.as_ref().map(|_| "[redacted]"))
            .field("oidc", &self.oidc)
            .field("sessions", &self.sessions)
            .field("admin_groups", &self.admin_groups)
            .field("policy", &self.policy)
            .field("policy_locations", &self.policy_locations)
            .field("audit", &self.audit)
            .finish()
    }
}

impl AuthConfig {
    /// Checks the configuration, the policy's rules included; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        self.authorizer().map(|_| ())
    }

    /// The authorizer of this configuration.
    pub fn authorizer(&self) -> Result<Authorizer, String> {
        if let Some(t) = &self.bootstrap_token
            && t.len() < 32
        {
            return Err(format!("auth.bootstrapToken: must be at least 32 characters long (it has {})", t.len()));
        }
        for (i, g) in self.admin_groups.iter().enumerate() {
            portico_model::EntityRef::parse_full(g).map_err(|e| format!("auth.adminGroups[{i}]: {e}"))?;
        }
        if self.audit.retention_days == 0 {
            return Err("auth.audit.retentionDays: must be at least 1".into());
        }
        self.sessions.validate()?;
        let oidc = match (self.mode, &self.oidc) {
            (AuthMode::Oidc, None) => return Err("auth.oidc: required with `auth.mode: oidc` (issuer, clientId, clientSecret)".into()),
            (_, Some(config)) => {
                config.validate()?;
                Some(Arc::new(oidc::Oidc::new(config.clone())))
            }
            (_, None) => None,
        };
        let policy = Policy::compile(&self.policy, "auth.policy")?;
        Ok(Authorizer {
            config: self.clone(),
            policy: std::sync::RwLock::new(Arc::new(policy)),
            policy_fingerprint: std::sync::Mutex::default(),
            policy_load: std::sync::RwLock::default(),
            oidc,
            failures: limit::FailureLimit::default(),
            sign_ins: limit::FailureLimit::new(limit::MAX_SIGN_INS, "sign-ins started"),
            sign_ins_in_all: limit::FailureLimit::new(limit::MAX_SIGN_INS_IN_ALL, "sign-ins started on this server"),
            tokens: recent::Recent::default(),
            sessions: recent::Recent::default(),
            seen: visibility::SeenCache::default(),
        })
    }
}

/// The configuration with its policy compiled: asks the policy about principals.
#[derive(Debug)]
pub struct Authorizer {
    pub config: AuthConfig,
    /// The rules in force: the configured ones, with those of trusted Policy entities ahead.
    policy: std::sync::RwLock<Arc<Policy>>,
    /// The Policy entities (reference and content hash) of the last load.
    policy_fingerprint: std::sync::Mutex<Option<Vec<(String, String)>>>,
    policy_load: std::sync::RwLock<policy_entities::PolicyLoad>,
    /// Failed authentications per client address.
    pub failures: limit::FailureLimit,
    /// Sign-ins started per client address, and by all together (each keeps a row a while).
    pub sign_ins: limit::FailureLimit,
    pub sign_ins_in_all: limit::FailureLimit,
    /// The OpenID Connect provider people sign in with, when configured.
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// Tokens recently read from the database.
    pub tokens: recent::Recent<portico_store::ApiToken>,
    /// Sessions recently read from the database.
    pub sessions: recent::Recent<portico_store::Session>,
    /// What each subject may read, decided per entity ([`visibility`]).
    seen: visibility::SeenCache,
}

impl Default for Authorizer {
    fn default() -> Self {
        AuthConfig::default().authorizer().expect("the default configuration is valid")
    }
}

impl Authorizer {
    /// Whether session cookies are `Secure` (and `__Host-` named): Portico is served over https.
    pub fn secure_cookies(&self) -> bool {
        self.oidc.as_ref().is_some_and(|o| o.config.secure())
    }

    /// The rules in force.
    pub fn policy(&self) -> Arc<Policy> {
        self.policy.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The principal as the policy sees it: its User entity and groups from the catalog,
    /// resolved at the first call for this principal.
    pub fn subject<'a>(&self, who: &'a Principal, graph: &SharedGraph) -> &'a Subject {
        who.resolved.0.get_or_init(|| self.resolve(who, graph))
    }

    fn resolve(&self, who: &Principal, graph: &SharedGraph) -> Subject {
        let identity = portico_auth::resolve(&graph.read(), &who.subject);
        // While the mode is `none`, the guest (and the tokens it made) may do everything.
        let admin = matches!(who.via, "bootstrap" | "cli")
            || (who.subject == "guest" && !self.config.mode.needs_credential())
            || self.config.admin_groups.iter().any(|g| identity.is_or_belongs_to(&normalize(g)));
        Subject {
            admin,
            signed_in: who.via != "guest",
            service: who.subject.starts_with("service:"),
            scopes: Scope::granted_by(&who.scopes),
            capabilities: who.capabilities.clone(),
            claims: who.claims.as_deref().cloned().unwrap_or_else(|| serde_json::Value::Object(Default::default())),
            identity,
        }
    }

    /// Whether `who` may do `permission` (on the entity of key `entity`): its scopes first, then
    /// the policy. A refusal is a 403 naming the permission and why.
    pub fn check(&self, who: &Principal, permission: Permission, entity: Option<&str>, request: Option<&RequestInfo>, graph: &SharedGraph) -> Result<Decision, ApiError> {
        if !who.may_do(permission) {
            return Err(ApiError::Forbidden(format!(
                "{permission} needs the {} scope (or the {permission} capability); this token's scopes are {}",
                permission.scope(),
                portico_auth::tokens::list(&who.scopes)
            )));
        }
        // The bootstrap token and the command line are above the policy: a policy cannot lock
        // out the way to repair it.
        if matches!(who.via, "bootstrap" | "cli") {
            return Ok(Decision { allowed: true, rule: None });
        }
        let subject = self.subject(who, graph);
        let decision = self.policy().decide(&portico_auth::Question { subject, permission, entity, request }, graph);
        if decision.allowed {
            Ok(decision)
        } else {
            Err(ApiError::Forbidden(format!("{} may not {permission}: {}", who.subject, decision.reason())))
        }
    }
}

/// A reference as stored in the graph (`group:default/x`), from how configurations write it.
fn normalize(reference: &str) -> String {
    portico_model::EntityRef::parse_full(reference).map_or_else(|_| reference.to_owned(), |r| r.to_string())
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Principal {
    /// An entity reference (`user:default/ada`), `service:<name>`, `bootstrap` or `guest`.
    pub subject: String,
    /// `guest`, `session`, `token`, `bootstrap`, `webhook` or `cli`.
    pub via: &'static str,
    pub scopes: Vec<Scope>,
    /// Single permissions the credential holds besides its scopes (a token made for one job).
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "permission_names")]
    pub capabilities: Vec<Permission>,
    /// The API token used, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    /// The session signed in with, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The ID token's claims of a signed-in person (policies read them as `user.claims`).
    #[serde(skip)]
    pub claims: Option<Arc<serde_json::Value>>,
    /// Its [`Subject`], resolved from the catalog at the first permission asked.
    #[serde(skip)]
    pub resolved: Resolved,
}

/// A principal's [`Subject`], resolved once per request: a request may ask several permissions
/// (`/api/v1/me` asks every one), and each would otherwise walk the user's groups again.
#[derive(Debug, Clone, Default)]
pub struct Resolved(Arc<std::sync::OnceLock<Subject>>);

impl PartialEq for Resolved {
    /// A cache: equal principals are equal whether or not it is filled.
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Principal {
    /// The guest of `auth.mode: none`: every scope.
    pub fn guest() -> Self {
        Self { subject: "guest".into(), via: "guest", scopes: vec![Scope::Admin], capabilities: Vec::new(), token_id: None, session_id: None, claims: None, resolved: Resolved::default() }
    }

    /// Whoever runs `portico token …` on the server's own data directory: an admin, as anyone
    /// who can read the database is.
    pub fn local_admin() -> Self {
        Self { subject: "cli".into(), via: "cli", scopes: vec![Scope::Admin], capabilities: Vec::new(), token_id: None, session_id: None, claims: None, resolved: Resolved::default() }
    }

    /// A person or service recognised by a credential with `scopes` (what `portico policy
    /// explain` asks about).
    pub fn signed_in(subject: &str, scopes: Vec<Scope>) -> Self {
        Self { subject: subject.to_owned(), via: "token", scopes, capabilities: Vec::new(), token_id: None, session_id: None, claims: None, resolved: Resolved::default() }
    }

    fn bootstrap() -> Self {
        Self { subject: "bootstrap".into(), via: "bootstrap", scopes: vec![Scope::Admin], capabilities: Vec::new(), token_id: None, session_id: None, claims: None, resolved: Resolved::default() }
    }

    fn of_token(t: &portico_store::ApiToken) -> Self {
        let scopes = t.scopes.iter().filter_map(|s| s.parse().ok()).collect();
        let capabilities = t.scopes.iter().filter_map(|s| Permission::named(s)).collect();
        Self { subject: t.owner.clone(), via: "token", scopes, capabilities, token_id: Some(t.id.clone()), session_id: None, claims: None, resolved: Resolved::default() }
    }

    /// Whether the principal's scopes hold `needed` (admin holds write, write holds read).
    pub fn may(&self, needed: Scope) -> bool {
        self.scopes.iter().any(|s| s.covers(needed))
    }

    /// Whether the credential allows `permission`: by a scope, or as a capability. (The policy
    /// decides next.)
    pub fn may_do(&self, permission: Permission) -> bool {
        self.may(permission.scope()) || self.capabilities.contains(&permission)
    }
}

fn permission_names<S: serde::Serializer>(permissions: &[Permission], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(permissions.iter().map(|p| p.name()))
}
