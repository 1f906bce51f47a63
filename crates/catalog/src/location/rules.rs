//! `catalog.rules`: which kinds of entity registered locations may hold, as Backstage's catalog
//! rules say it. With no rules, every kind is allowed (Portico's default; Backstage's is
//! Component, API and Location). With rules, an entity is kept when one rule allows its kind
//! and either names no locations or names the file or URL it was read from; others are refused
//! with an error naming the file and the place of `kind`, and never stored. So registering a
//! location can be opened to more people while Users and Groups come only from the files the
//! operator names. Location entities are always allowed: they are how a registered location
//! leads to its files.

use crate::mutation::{RawEntity, SourceError, raw_key};

/// One rule of `catalog.rules`.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CatalogRule {
    /// Kinds this rule allows (case-insensitive): `[Component, API]`.
    pub allow: Vec<String>,
    /// Where from: none means any location.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<RuleLocation>,
}

/// A place a rule applies to: a file or URL (`target`), or those a glob matches (`pattern`).
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RuleLocation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
}

/// The rules, checked and ready.
#[derive(Debug, Clone, Default)]
pub struct CatalogRules {
    rules: Vec<Compiled>,
}

#[derive(Debug, Clone)]
struct Compiled {
    kinds: Vec<String>,
    places: Vec<Place>,
}

#[derive(Debug, Clone)]
enum Place {
    Exactly { url: bool, target: String },
    Matching { url: bool, pattern: glob::Pattern },
}

impl CatalogRules {
    /// Checks `catalog.rules`; a mistake names the rule and field.
    pub fn compile(rules: &[CatalogRule]) -> Result<Self, String> {
        let mut out = Vec::with_capacity(rules.len());
        for (i, r) in rules.iter().enumerate() {
            let at = format!("catalog.rules[{i}]");
            if r.allow.is_empty() || r.allow.iter().any(|k| k.trim().is_empty()) {
                return Err(format!("{at}.allow: name at least one kind, and no empty one"));
            }
            let mut places = Vec::with_capacity(r.locations.len());
            for (j, l) in r.locations.iter().enumerate() {
                let at = format!("{at}.locations[{j}]");
                let url = match l.kind.as_str() {
                    "file" => false,
                    "url" => true,
                    other => return Err(format!("{at}.type: {other:?} is neither \"file\" nor \"url\"")),
                };
                places.push(match (&l.target, &l.pattern) {
                    (Some(t), None) => {
                        let spec = crate::LocationSpec { kind: l.kind.clone(), target: t.clone() };
                        let target = super::LocationService::normalize(&spec).map_err(|e| format!("{at}.target: {e}"))?.target;
                        Place::Exactly { url, target }
                    }
                    (None, Some(p)) => Place::Matching { url, pattern: glob::Pattern::new(p).map_err(|e| format!("{at}.pattern: {e}"))? },
                    _ => return Err(format!("{at}: give either `target` or `pattern`")),
                });
            }
            out.push(Compiled { kinds: r.allow.iter().map(|k| k.trim().to_ascii_lowercase()).collect(), places });
        }
        Ok(Self { rules: out })
    }

    /// Whether an entity of `kind` read from `from` (a path or URL) may be kept.
    pub fn allows(&self, kind: &str, from: &str) -> bool {
        if self.rules.is_empty() || kind.eq_ignore_ascii_case("location") {
            return true;
        }
        let kind = kind.to_ascii_lowercase();
        let is_url = from.starts_with("http://") || from.starts_with("https://");
        self.rules.iter().any(|r| {
            r.kinds.contains(&kind)
                && (r.places.is_empty()
                    || r.places.iter().any(|p| match p {
                        Place::Exactly { url, target } => *url == is_url && target == from,
                        Place::Matching { url, pattern } => *url == is_url && pattern.matches(from),
                    }))
        })
    }

    /// Keeps what the rules allow; the rest become errors.
    pub(crate) fn split(&self, chunk: Vec<RawEntity>) -> (Vec<RawEntity>, Vec<SourceError>) {
        if self.rules.is_empty() {
            return (chunk, Vec::new());
        }
        let mut refused = Vec::new();
        let kept = chunk
            .into_iter()
            .filter(|raw| {
                let kind = raw.value.get("kind").and_then(|k| k.as_str()).unwrap_or_default();
                // A document without a kind is for validation to report.
                if kind.is_empty() || self.allows(kind, &raw.origin.location) {
                    return true;
                }
                refused.push(SourceError {
                    location: raw.origin.at("kind"),
                    key: raw_key(&raw.value),
                    message: format!("an entity of kind {kind} is not allowed from {} (catalog.rules)", raw.origin.location),
                });
                false
            })
            .collect();
        (kept, refused)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(v: serde_json::Value) -> Result<CatalogRules, String> {
        CatalogRules::compile(&serde_json::from_value::<Vec<CatalogRule>>(v).unwrap())
    }

    #[test]
    fn kinds_are_allowed_everywhere_or_from_the_places_a_rule_names() {
        let r = rules(serde_json::json!([
            {"allow": ["Component", "api"]},
            {"allow": ["User", "Group"], "locations": [{"type": "file", "target": "/srv/org.yaml"}, {"type": "url", "pattern": "https://git.example.com/org/*"}]}
        ]))
        .unwrap();
        assert!(r.allows("Component", "/anywhere/catalog-info.yaml") && r.allows("API", "https://x.example/a.yaml"));
        assert!(r.allows("User", "/srv/org.yaml") && r.allows("group", "https://git.example.com/org/teams.yaml"));
        assert!(!r.allows("User", "/home/mallory/catalog-info.yaml"), "a User from anywhere else");
        assert!(!r.allows("Group", "/srv/org.yaml.bak") && !r.allows("Group", "file:///srv/org.yaml/https://git.example.com/org/x"));
        assert!(!r.allows("System", "/srv/org.yaml"));
        assert!(r.allows("Location", "/anywhere/all.yaml"), "locations lead to files: always");
        assert!(CatalogRules::default().allows("User", "/anywhere"), "no rules: everything");
    }

    #[test]
    fn mistakes_name_the_rule_and_field() {
        let e = |v| rules(v).unwrap_err();
        assert_eq!(e(serde_json::json!([{"allow": []}])), "catalog.rules[0].allow: name at least one kind, and no empty one");
        assert_eq!(e(serde_json::json!([{"allow": ["User"], "locations": [{"type": "git", "target": "x"}]}])), "catalog.rules[0].locations[0].type: \"git\" is neither \"file\" nor \"url\"");
        assert_eq!(e(serde_json::json!([{"allow": ["User"], "locations": [{"type": "file"}]}])), "catalog.rules[0].locations[0]: give either `target` or `pattern`");
        assert!(e(serde_json::json!([{"allow": ["User"], "locations": [{"type": "file", "pattern": "[a"}]}])).starts_with("catalog.rules[0].locations[0].pattern: "));
    }
}
