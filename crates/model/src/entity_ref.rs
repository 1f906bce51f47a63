use std::fmt;

use crate::error::ModelError;
use crate::DEFAULT_NAMESPACE;

/// A reference to an entity: `[kind:][namespace/]name`, as in Backstage.
///
/// Kind and namespace are stored lowercased (they compare case-insensitively); the name keeps
/// its spelling, and [`EntityRef::key`] gives the fully lowercased form used for lookups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EntityRef {
    kind: String,
    namespace: String,
    name: String,
}

/// Defaults applied to the parts a reference string leaves out.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefDefaults<'a> {
    pub kind: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

impl EntityRef {
    /// Builds a reference from parts that are already known to be valid.
    pub fn new(kind: &str, namespace: &str, name: &str) -> Self {
        Self { kind: kind.to_ascii_lowercase(), namespace: namespace.to_ascii_lowercase(), name: name.to_owned() }
    }

    /// Parses `[kind:][namespace/]name`, filling the missing parts from `defaults`.
    pub fn parse(input: &str, defaults: RefDefaults<'_>) -> Result<Self, ModelError> {
        let err = |reason: &str| ModelError::InvalidRef { input: input.to_owned(), reason: reason.to_owned() };
        let mut colon = input.find(':');
        let slash = input.find('/');
        if let (Some(s), Some(c)) = (slash, colon)
            && s < c {
                colon = None;
            }
        let kind = colon.map(|c| &input[..c]);
        let namespace = slash.map(|s| &input[colon.map_or(0, |c| c + 1)..s]);
        let name = &input[colon.map_or(0, |c| c + 1).max(slash.map_or(0, |s| s + 1))..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(err("expected the form [<kind>:][<namespace>/]<name>"));
        }
        let kind = kind.or(defaults.kind).ok_or_else(|| {
            err("missing kind (e.g. did not start with \"component:\" or similar)")
        })?;
        let namespace = namespace.or(defaults.namespace).unwrap_or(DEFAULT_NAMESPACE);
        if !crate::naming::is_valid_kind(kind) {
            return Err(err(&format!("kind {kind:?} is not valid; {}", crate::naming::KIND_RULE)));
        }
        if !crate::naming::is_valid_namespace(&namespace.to_ascii_lowercase()) {
            return Err(err(&format!("namespace {namespace:?} is not valid; {}", crate::naming::NAMESPACE_RULE)));
        }
        if name.contains([':', '/']) || name.trim() != name {
            return Err(err("name must not contain ':' or '/' or surrounding spaces"));
        }
        Ok(Self::new(kind, namespace, name))
    }

    /// Parses a complete reference (`kind:namespace/name`, namespace defaulting to `default`).
    pub fn parse_full(input: &str) -> Result<Self, ModelError> {
        Self::parse(input, RefDefaults::default())
    }

    pub fn kind(&self) -> &str {
        &self.kind
    }
    pub fn namespace(&self) -> &str {
        &self.namespace
    }
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The lowercased `kind:namespace/name` used as a lookup key everywhere.
    pub fn key(&self) -> String {
        let mut s = String::with_capacity(self.kind.len() + self.namespace.len() + self.name.len() + 2);
        s.push_str(&self.kind);
        s.push(':');
        s.push_str(&self.namespace);
        s.push('/');
        for c in self.name.chars() {
            s.push(c.to_ascii_lowercase());
        }
        s
    }

    /// The reference as people write it: the kind left out when it is `usual_kind`, the
    /// namespace when it is `default` (`platform`, `user:jane`, `ops/sre`).
    pub fn short(&self, usual_kind: Option<&str>) -> String {
        let usual = usual_kind.is_some_and(|k| k.eq_ignore_ascii_case(&self.kind));
        match (usual, self.namespace == DEFAULT_NAMESPACE) {
            (true, true) => self.name.clone(),
            (false, true) => format!("{}:{}", self.kind, self.name),
            (true, false) => format!("{}/{}", self.namespace, self.name),
            (false, false) => self.to_string(),
        }
    }
}

impl fmt::Display for EntityRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}/{}", self.kind, self.namespace, self.name)
    }
}

impl serde::Serialize for EntityRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EntityRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        EntityRef::parse_full(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> RefDefaults<'static> {
        RefDefaults { kind: Some("Group"), namespace: Some("default") }
    }

    #[test]
    fn parses_all_three_forms() {
        assert_eq!(EntityRef::parse("team-a", group()).unwrap().to_string(), "group:default/team-a");
        assert_eq!(EntityRef::parse("user:guest", group()).unwrap().to_string(), "user:default/guest");
        assert_eq!(EntityRef::parse("User:Dev/guest", group()).unwrap().to_string(), "user:dev/guest");
        assert_eq!(EntityRef::parse("ns/x", group()).unwrap().to_string(), "group:ns/x");
    }

    #[test]
    fn kind_is_case_insensitive_name_keeps_case_but_keys_do_not() {
        let a = EntityRef::parse_full("COMPONENT:default/Cart").unwrap();
        assert_eq!(a.to_string(), "component:default/Cart");
        assert_eq!(a.key(), "component:default/cart");
    }

    #[test]
    fn colon_after_slash_belongs_to_the_name_and_is_rejected() {
        let err = EntityRef::parse("ns/a:b", group()).unwrap_err().to_string();
        assert!(err.contains("must not contain"), "{err}");
    }

    #[test]
    fn missing_kind_without_default_is_an_error() {
        let err = EntityRef::parse_full("cart").unwrap_err().to_string();
        assert!(err.contains("missing kind"), "{err}");
    }

    #[test]
    fn empty_parts_are_errors() {
        for bad in [":a", "a:/b", "component:default/", "", "/x"] {
            assert!(EntityRef::parse(bad, group()).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn invalid_namespace_is_an_error() {
        assert!(EntityRef::parse("component:Bad_Ns/x", group()).is_err());
    }
}
