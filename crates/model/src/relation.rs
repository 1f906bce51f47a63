use crate::EntityRef;

/// A computed relation from an entity to another, in Backstage's response shape.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Relation {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "targetRef")]
    pub target_ref: String,
    /// Deprecated in Backstage, which no longer returns it; read from input for compatibility,
    /// never written by Portico (it made a full list half again as large).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<RelationTarget>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct RelationTarget {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl Relation {
    pub fn new(kind: &str, target: &EntityRef) -> Self {
        Self::to(kind, target.to_string())
    }

    /// A relation to a target already written as a reference (`kind:namespace/name`).
    pub fn to(kind: &str, target_ref: String) -> Self {
        Self { kind: kind.to_owned(), target_ref, target: None }
    }
}

/// Backstage's well-known relation types.
pub mod well_known {
    pub const OWNED_BY: &str = "ownedBy";
    pub const OWNER_OF: &str = "ownerOf";
    pub const PART_OF: &str = "partOf";
    pub const HAS_PART: &str = "hasPart";
    pub const DEPENDS_ON: &str = "dependsOn";
    pub const DEPENDENCY_OF: &str = "dependencyOf";
    pub const PROVIDES_API: &str = "providesApi";
    pub const API_PROVIDED_BY: &str = "apiProvidedBy";
    pub const CONSUMES_API: &str = "consumesApi";
    pub const API_CONSUMED_BY: &str = "apiConsumedBy";
    pub const PARENT_OF: &str = "parentOf";
    pub const CHILD_OF: &str = "childOf";
    pub const MEMBER_OF: &str = "memberOf";
    pub const HAS_MEMBER: &str = "hasMember";
}
