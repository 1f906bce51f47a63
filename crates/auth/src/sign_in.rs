//! Which catalog User a person signing in is: the claims of a verified ID token matched against
//! the User entities, by profile email (the default), by the email's local part or a claim equal
//! to `metadata.name`, or by an annotation. A sign-in matches exactly one User or is refused,
//! with a message that says what was looked for: Portico never makes up a user.

use portico_graph::CatalogGraph;
use serde_json::Value;

/// `auth.oidc.userMatch`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct UserMatch {
    pub by: MatchBy,
    /// The claim compared; by default `email` (`preferred_username` for `name`).
    pub claim: Option<String>,
    /// The annotation compared, for `by: annotation`.
    pub annotation: Option<String>,
    /// The email domains whose addresses may sign in, for `by: emailLocalPart` (required there:
    /// `ada@anything` must not become `ada`).
    pub domains: Vec<String>,
    /// Match an email the provider does not say is verified (`email_verified`). Only for a
    /// provider that never sends the claim and verifies every address itself.
    pub allow_unverified_email: bool,
}

impl Default for UserMatch {
    fn default() -> Self {
        Self { by: MatchBy::Email, claim: None, annotation: None, domains: Vec::new(), allow_unverified_email: false }
    }
}

/// `auth.oidc.userMatch.by`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum MatchBy {
    /// The claim equals the User's `spec.profile.email` (case aside).
    #[default]
    Email,
    /// The claim's part before `@` equals the User's `metadata.name`.
    EmailLocalPart,
    /// The claim equals the User's `metadata.name`.
    Name,
    /// The claim equals the value of the User's annotation `annotation`.
    Annotation,
}

impl UserMatch {
    /// Checks the configuration; the message names the field under `at`.
    pub fn validate(&self, at: &str) -> Result<(), String> {
        if self.by == MatchBy::EmailLocalPart && self.domains.is_empty() {
            return Err(format!("{at}.domains: `by: emailLocalPart` needs the email domains that may sign in (e.g. [example.com]): ada@anything must not become ada"));
        }
        match (self.by, &self.annotation) {
            (MatchBy::Annotation, None) => Err(format!("{at}.annotation: `by: annotation` needs the annotation to compare (e.g. `portico.dev/oidc-subject`)")),
            (MatchBy::Annotation, Some(_)) | (_, None) => Ok(()),
            (_, Some(_)) => Err(format!("{at}.annotation: only used with `by: annotation`")),
        }
    }

    fn claim(&self) -> &str {
        self.claim.as_deref().unwrap_or(match self.by {
            MatchBy::Name => "preferred_username",
            _ => "email",
        })
    }

    /// The reference of the one User the `claims` match, or why there is none.
    pub fn find(&self, graph: &CatalogGraph, claims: &Value) -> Result<String, String> {
        let claim = self.claim();
        let value = match claims.get(claim) {
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim(),
            Some(_) => return Err(format!("the provider's `{claim}` claim is not a text")),
            None => return Err(format!("the provider sent no `{claim}` claim (ask for its scope in auth.oidc.scopes, or match users by another claim)")),
        };
        if claim == "email" && !self.allow_unverified_email {
            match claims.get("email_verified") {
                Some(Value::Bool(true)) => {}
                Some(Value::String(v)) if v == "true" => {}
                Some(Value::Bool(false)) => return Err(format!("the provider says the email {value} is not verified")),
                _ => {
                    return Err(format!(
                        "the provider does not say the email {value} is verified (no email_verified claim); set auth.oidc.userMatch.allowUnverifiedEmail only for a provider that verifies every address and never says so"
                    ));
                }
            }
        }
        let (wanted, what) = match self.by {
            MatchBy::Email => (value.to_lowercase(), format!("spec.profile.email {value}")),
            MatchBy::EmailLocalPart => {
                let domain = value.rsplit_once('@').map(|(_, d)| d.to_lowercase()).unwrap_or_default();
                if !self.domains.iter().any(|d| d.trim().eq_ignore_ascii_case(&domain)) {
                    return Err(format!("the email {value} is not of a domain that may sign in (auth.oidc.userMatch.domains: {})", self.domains.join(", ")));
                }
                let local = value.split('@').next().unwrap_or(value).to_lowercase();
                (local.clone(), format!("the name {local}"))
            }
            MatchBy::Name => (value.to_lowercase(), format!("the name {value}")),
            MatchBy::Annotation => (value.to_owned(), format!("the annotation {}: {value}", self.annotation.as_deref().unwrap_or_default())),
        };
        let mut found: Vec<String> = graph
            .entries()
            .filter(|e| e.key.starts_with("user:") && !e.orphan)
            .filter(|e| {
                let entity = &e.entity;
                match self.by {
                    MatchBy::Email => entity.spec.as_ref().and_then(|s| s.get("profile")).and_then(|p| p.get("email")).and_then(Value::as_str).is_some_and(|m| m.trim().to_lowercase() == wanted),
                    MatchBy::EmailLocalPart | MatchBy::Name => entity.metadata.name.to_lowercase() == wanted,
                    MatchBy::Annotation => entity.metadata.annotations.get(self.annotation.as_deref().unwrap_or_default()).is_some_and(|a| *a == wanted),
                }
            })
            .map(|e| e.entity_ref().to_string())
            .collect();
        found.sort();
        match found.as_slice() {
            [one] => Ok(one.clone()),
            [] => Err(format!("no User in the catalog has {what}")),
            many => Err(format!("{} Users have {what} ({}); a sign-in must match one", many.len(), many.join(", "))),
        }
    }
}
