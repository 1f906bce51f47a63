//! Creating API tokens, for the API and the command line alike: names, scopes (never more than
//! the creator holds), expiry, and who a token belongs to (its creator; a service; or, for an
//! admin, a user).

use portico_auth::Permission;
use portico_graph::eval::SharedGraph;
use portico_store::{ApiToken, Store};

use super::{Authorizer, Principal};
use crate::error::ApiError;
use portico_auth::{Scope, hash_secret, mint_secret};

/// The longest a token may live: two years.
const MAX_DAYS: u32 = 730;

/// A token to create (`POST /api/v1/tokens`, `portico token create`).
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewToken {
    pub name: String,
    pub scopes: Vec<String>,
    /// Days until it expires; none: it does not expire.
    #[serde(default)]
    pub expires_in_days: Option<u32>,
    /// A service name: the token belongs to `service:<name>` rather than to its creator.
    #[serde(default)]
    pub service: Option<String>,
    /// A user (`user:default/ada`): the token belongs to them (an admin's way to hand a person
    /// a token before sign-in exists).
    #[serde(default)]
    pub user: Option<String>,
}

/// Checks and stores a new token for `who`; returns it and its secret.
pub async fn create_token(store: &dyn Store, auth: &Authorizer, graph: &SharedGraph, who: &Principal, body: NewToken) -> Result<(ApiToken, String), ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.len() > 100 {
        return Err(ApiError::Input("name: must be 1 to 100 characters".into()));
    }
    if body.scopes.is_empty() {
        return Err(ApiError::Input("scopes: at least one of read, write, admin".into()));
    }
    // Each entry is a scope (`read`, `write`, `admin`) or one permission (`discovery.run`): a
    // capability, for a token that should do one thing.
    let mut scopes: Vec<String> = Vec::new();
    for (i, s) in body.scopes.iter().enumerate() {
        let (name, held) = match (s.parse::<Scope>(), Permission::named(s)) {
            (Ok(scope), _) => (scope.as_str(), who.may(scope)),
            (Err(_), Some(p)) => (p.name(), who.may_do(p)),
            (Err(_), None) => {
                return Err(ApiError::Input(format!("scopes[{i}]: {s:?} is neither a scope (read, write, admin) nor a permission (such as catalog.entity.refresh; see `portico policy check`)")));
            }
        };
        if !held {
            return Err(ApiError::Forbidden(format!("scopes[{i}]: you cannot give a token {name}, which you do not have")));
        }
        if !scopes.iter().any(|x| x == name) {
            scopes.push(name.to_owned());
        }
    }
    let now = portico_catalog::now_ms();
    let expires_at = match body.expires_in_days {
        Some(0) => return Err(ApiError::Input("expiresInDays: must be at least 1".into())),
        Some(d) if d > MAX_DAYS => return Err(ApiError::Input(format!("expiresInDays: at most {MAX_DAYS}"))),
        Some(d) => Some(now + i64::from(d) * 86_400_000),
        None => None,
    };
    let admin = |field: &str| {
        auth.check(who, Permission::TokenAdmin, None, None, graph).map_err(|e| ApiError::Forbidden(format!("{field}: {e}")))
    };
    let (owner, kind) = match (body.service.as_deref().map(str::trim), body.user.as_deref().map(str::trim)) {
        (Some(_), Some(_)) => return Err(ApiError::Input("service, user: a token belongs to a service or to a user, not both".into())),
        (Some(service), None) => {
            admin("service")?;
            if !portico_model::naming::is_valid_object_name(service) {
                return Err(ApiError::Input(format!("service: {service:?} is not a valid name (letters, digits, `-`, `_`, `.`, up to 63)")));
            }
            (format!("service:{service}"), "service")
        }
        (None, Some(user)) => {
            admin("user")?;
            let user = portico_model::EntityRef::parse(user, portico_model::RefDefaults { kind: Some("user"), namespace: Some("default") })
                .ok()
                .filter(|r| r.kind() == "user")
                .ok_or_else(|| ApiError::Input(format!("user: {user:?} is not a user reference (user:default/ada)")))?;
            (user.to_string(), "personal")
        }
        (None, None) => (who.subject.clone(), "personal"),
    };
    let token = ApiToken {
        id: uuid::Uuid::new_v4().to_string(),
        name: name.to_owned(),
        owner,
        kind: kind.into(),
        scopes,
        created_at: now,
        created_by: who.subject.clone(),
        expires_at,
        last_used_at: None,
        revoked_at: None,
    };
    let secret = mint_secret();
    store.create_token(&token, &hash_secret(&secret)).await?;
    tracing::info!(token = %token.id, owner = %token.owner, by = %who.subject, "API token created");
    Ok((token, secret))
}

