//! API token secrets and scopes. A secret is `pt_` and 64 hex digits of operating-system
//! randomness (two v4 UUIDs' worth, 244 random bits); only its SHA-256 is stored, and tokens
//! are found by that hash.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What a token may do. `admin` covers `write`, which covers `read`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// Every read: entities, queries, history, analytics.
    Read,
    /// Reads, and every change: locations, entities, saved queries, discovery runs.
    Write,
    /// Everything, including service tokens and other people's tokens.
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Read, Scope::Write, Scope::Admin];

    /// Whether holding `self` grants `needed`.
    pub fn covers(self, needed: Scope) -> bool {
        self >= needed
    }

    /// The scopes `held` grants, each listed (`write` gives `read` and `write`).
    pub fn granted_by(held: &[Scope]) -> Vec<Scope> {
        Scope::ALL.into_iter().filter(|s| held.iter().any(|h| h.covers(*s))).collect()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::Write => "write",
            Scope::Admin => "admin",
        }
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Scope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s).ok_or_else(|| format!("{s:?} is not a scope; expected one of read, write, admin"))
    }
}

/// Scopes as a comma-separated list, for messages.
pub fn list(scopes: &[Scope]) -> String {
    if scopes.is_empty() {
        return "none".into();
    }
    scopes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// A new secret: shown once, never stored.
pub fn mint_secret() -> String {
    format!("pt_{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

/// What the store keeps of a secret: its SHA-256, in hex.
pub fn hash_secret(secret: &str) -> String {
    portico_model::hash::hex(&Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets in time that does not depend on where they differ (their hashes are
/// compared, so their lengths do not show either).
pub fn equal_in_constant_time(a: &str, b: &str) -> bool {
    let (a, b) = (Sha256::digest(a.as_bytes()), Sha256::digest(b.as_bytes()));
    a[..].ct_eq(&b[..]).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hashed() {
        let (a, b) = (mint_secret(), mint_secret());
        assert_ne!(a, b);
        assert!(a.starts_with("pt_") && a.len() == 3 + 64, "{a}");
        assert_eq!(hash_secret(&a), hash_secret(&a));
        assert_ne!(hash_secret(&a), hash_secret(&b));
        assert_eq!(hash_secret(&a).len(), 64);
        assert!(!hash_secret(&a).contains(&a[3..]), "the hash does not hold the secret");
    }

    #[test]
    fn scopes_nest_and_parse_with_a_clear_error() {
        assert!(Scope::Admin.covers(Scope::Write) && Scope::Write.covers(Scope::Read));
        assert!(!Scope::Read.covers(Scope::Write) && !Scope::Write.covers(Scope::Admin));
        assert_eq!("write".parse::<Scope>(), Ok(Scope::Write));
        assert_eq!("WRITE".parse::<Scope>().unwrap_err(), "\"WRITE\" is not a scope; expected one of read, write, admin");
        assert_eq!(list(&[Scope::Read, Scope::Write]), "read, write");
    }

    #[test]
    fn comparison_is_exact() {
        assert!(equal_in_constant_time("same-secret", "same-secret"));
        assert!(!equal_in_constant_time("same-secret", "same-secreT"));
        assert!(!equal_in_constant_time("short", "short-and-longer"));
    }
}
