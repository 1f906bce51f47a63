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
}

impl Default for UserMatch {
    fn default() -> Self {
        Self { by: MatchBy::Email, claim: None, annotation: None }
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
        if claim == "email" && claims.get("email_verified") == Some(&Value::Bool(false)) {
            return Err(format!("the provider says the email {value} is not verified"));
        }
        let (wanted, what) = match self.by {
            MatchBy::Email => (value.to_lowercase(), format!("spec.profile.email {value}")),
            MatchBy::EmailLocalPart => {
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
