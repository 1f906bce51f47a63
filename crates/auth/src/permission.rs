//! Named permissions: one for every action a person or a pipeline can take, on the API, the
//! pages and the command line. Policies name them (`catalog.entity.delete`, or a pattern such as
//! `catalog.*`); a token's scope bounds them (each permission needs a scope).

use crate::tokens::Scope;

/// What a permission acts on, when it acts on one thing the policy can look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Resource {
    /// One entity: the policy sees it as `entity`.
    Entity,
}

macro_rules! permissions {
    ($($variant:ident = $name:literal, $scope:ident, $resource:expr, $description:literal;)*) => {
        /// A named permission.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Permission {
            $($variant,)*
        }

        impl Permission {
            /// Every permission, in the order the reference lists them.
            pub const ALL: &[Permission] = &[$(Permission::$variant,)*];

            /// The name policies use.
            pub fn name(self) -> &'static str {
                match self {
                    $(Permission::$variant => $name,)*
                }
            }

            /// The scope a token needs for it.
            pub fn scope(self) -> Scope {
                match self {
                    $(Permission::$variant => Scope::$scope,)*
                }
            }

            /// What it acts on, if one thing: the policy then sees it.
            pub fn resource(self) -> Option<Resource> {
                match self {
                    $(Permission::$variant => $resource,)*
                }
            }

            pub fn description(self) -> &'static str {
                match self {
                    $(Permission::$variant => $description,)*
                }
            }
        }
    };
}

const ENTITY: Option<Resource> = Some(Resource::Entity);

permissions! {
    EntityRead = "catalog.entity.read", Read, None, "Read entities: lists, one entity, relations, history, facets, search, graphs and dashboards.";
    EntityRefresh = "catalog.entity.refresh", Write, ENTITY, "Ask for an entity to be read again from its location.";
    EntityDelete = "catalog.entity.delete", Write, ENTITY, "Delete an entity (an orphan, or one its location will bring back).";
    LocationRead = "catalog.location.read", Read, None, "List registered locations and find an entity's location.";
    LocationAnalyze = "catalog.location.analyze", Read, None, "Analyze a location or validate an entity without storing anything.";
    LocationCreate = "catalog.location.create", Write, None, "Register a location (and what it holds).";
    LocationDelete = "catalog.location.delete", Write, None, "Unregister a location, removing what it held.";
    DiscoveryRead = "discovery.read", Read, None, "See discovery sources, runs, drift and each field's provenance.";
    DiscoveryRun = "discovery.run", Write, None, "Run a discovery source now.";
    QueryRun = "query.run", Read, None, "Run queries in the expression language, saved ones included.";
    SavedQueryRead = "query.saved.read", Read, None, "List and read saved queries.";
    SavedQueryCreate = "query.saved.create", Write, None, "Save a new query.";
    SavedQueryUpdate = "query.saved.update", Write, None, "Change a saved query.";
    SavedQueryDelete = "query.saved.delete", Write, None, "Delete a saved query.";
    AnalyticsRead = "analytics.read", Read, None, "Read the catalog's analytics series.";
    TokenCreate = "token.create", Write, None, "Create a personal API token (with scopes one has).";
    TokenRead = "token.read", Read, None, "List one's own API tokens.";
    TokenRevoke = "token.revoke", Write, None, "Revoke one of one's own API tokens.";
    TokenAdmin = "token.admin", Admin, None, "Create service tokens and tokens for others; list and revoke anyone's.";
    AuditRead = "audit.read", Read, None, "Read the audit log.";
    EventRecord = "events.record", Write, None, "Record deployments, incidents and facts about entities (CI pipelines, incident tools, report importers).";
    ActionRun = "action.run", Write, None, "Run a self-service template (dry runs too) and cancel a run.";
    ActionRunRead = "action.run.read", Read, None, "See runs of templates: their steps, logs and outputs.";
    ActionApprove = "action.approve", Write, None, "Decide approvals asked of one's groups: approve or reject a run someone else asked for, with a comment.";
}

impl Permission {
    /// The permission of a name.
    pub fn named(name: &str) -> Option<Permission> {
        Permission::ALL.iter().copied().find(|p| p.name() == name)
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A permission pattern as policies write it: a name, `*`, or a prefix ending in `.*`
/// (`catalog.*`, `query.saved.*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern(String);

impl Pattern {
    /// Parses a pattern; it must name at least one permission.
    pub fn parse(s: &str) -> Result<Self, String> {
        let p = Pattern(s.trim().to_owned());
        if Permission::ALL.iter().any(|&x| p.matches(x)) {
            return Ok(p);
        }
        let close: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).filter(|n| n.split('.').next() == s.split('.').next()).collect();
        let hint = if close.is_empty() { "see docs/reference/permissions.md for the list".to_owned() } else { format!("did you mean one of {}?", close.join(", ")) };
        Err(format!("{s:?} names no permission; {hint}"))
    }

    pub fn matches(&self, p: Permission) -> bool {
        match self.0.as_str() {
            "*" => true,
            pattern => match pattern.strip_suffix(".*") {
                Some(prefix) => p.name().strip_prefix(prefix).is_some_and(|rest| rest.starts_with('.')),
                None => p.name() == pattern,
            },
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_dotted() {
        let mut names: Vec<&str> = Permission::ALL.iter().map(|p| p.name()).collect();
        assert!(names.iter().all(|n| n.split('.').count() >= 2 && n.chars().all(|c| c.is_ascii_lowercase() || c == '.')));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Permission::ALL.len());
        assert_eq!(Permission::named("audit.read"), Some(Permission::AuditRead));
        assert_eq!(Permission::named("audit"), None);
    }

    #[test]
    fn patterns_match_names_prefixes_and_everything() {
        let p = |s: &str| Pattern::parse(s).unwrap();
        assert!(p("*").matches(Permission::AuditRead));
        assert!(p("catalog.*").matches(Permission::EntityDelete));
        assert!(p("query.saved.*").matches(Permission::SavedQueryDelete));
        assert!(!p("query.saved.*").matches(Permission::QueryRun));
        assert!(p("catalog.entity.delete").matches(Permission::EntityDelete));
        assert!(!p("catalog.entity.delete").matches(Permission::EntityRefresh));
        // `catalog.ent.*` is not a prefix of a segment: it names nothing.
        let e = Pattern::parse("catalog.ent.*").unwrap_err();
        assert!(e.contains("names no permission") && e.contains("catalog.entity.delete"), "{e}");
        assert!(Pattern::parse("catalog.entity.remove").unwrap_err().contains("did you mean"));
    }
}
