//! Who a subject is in the catalog: a signed-in subject (`user:default/ada`) maps to its User
//! entity, to its groups — `memberOf`, then transitively each group's parents (`childOf`) — and
//! so to everything it and its groups own.

use portico_graph::CatalogGraph;
use portico_model::{EntityRef, RefDefaults};

/// A subject as the catalog knows it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The subject: an entity reference (`user:default/ada`), `service:<name>`, `bootstrap`,
    /// `guest` or `cli`.
    #[serde(rename = "ref")]
    pub subject: String,
    /// Whether the User entity of `subject` is in the catalog.
    pub in_catalog: bool,
    /// Its groups, direct and inherited, as entity references, sorted.
    pub groups: Vec<String>,
}

impl Identity {
    /// The references that count as "me" for ownership: the subject and its groups.
    pub fn owners(&self) -> Vec<String> {
        std::iter::once(self.subject.clone()).chain(self.groups.iter().cloned()).collect()
    }

    /// Whether the subject or one of its groups is `reference`.
    pub fn is_or_belongs_to(&self, reference: &str) -> bool {
        self.subject.eq_ignore_ascii_case(reference) || self.groups.iter().any(|g| g.eq_ignore_ascii_case(reference))
    }
}

/// Groups deeper than this are not followed (a guard against absurd hierarchies; cycles are
/// handled by the visited set).
const MAX_GROUPS: usize = 10_000;

/// Resolves `subject` against the read model.
pub fn resolve(graph: &CatalogGraph, subject: &str) -> Identity {
    let user = EntityRef::parse(subject, RefDefaults { kind: None, namespace: Some("default") }).ok().filter(|r| r.kind() == "user");
    let Some(id) = user.and_then(|r| graph.id_of(&r.key())).filter(|&id| graph.entry(id).is_some()) else {
        return Identity { subject: subject.to_owned(), ..Default::default() };
    };
    let mut seen = std::collections::HashSet::new();
    let mut queue: Vec<portico_graph::Id> = graph.related(id, "memberOf");
    let mut groups = Vec::new();
    while let Some(g) = queue.pop() {
        if !seen.insert(g) || seen.len() > MAX_GROUPS {
            continue;
        }
        // A membership of a group not (yet) in the catalog still names the group.
        groups.push(graph.entry(g).map_or_else(|| graph.key_of(g).to_owned(), |e| e.entity_ref().to_string()));
        queue.extend(graph.related(g, "childOf"));
    }
    groups.sort();
    Identity { subject: graph.entry(id).map_or_else(|| subject.to_owned(), |e| e.entity_ref().to_string()), in_catalog: true, groups }
}
