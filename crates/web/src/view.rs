//! What templates see of entities: plain serializable summaries with their links worked out,
//! taken from the read model while its lock is held (a few strings each).

use portico_graph::Visible;
use portico_model::{CatalogEntry, Entity, EntityRef, RefDefaults};
use serde::Serialize;

/// URL schemes that may become links: entity descriptors come from repositories anyone may
/// write to, so `javascript:`, `data:` and the like must never reach an `href`.
pub(crate) const SAFE_SCHEMES: &[&str] = &["http", "https", "mailto"];

/// `url` (trimmed) when it may go into an `href`: an `http:`, `https:` or `mailto:` address, or
/// a relative one. `None` for anything else, to be shown as text instead.
pub(crate) fn safe_href(url: &str) -> Option<&str> {
    let url = url.trim();
    // Browsers drop tabs and newlines inside a URL (`java\tscript:` is `javascript:`), so a
    // URL holding any control character is refused rather than reasoned about.
    if url.is_empty() || url.chars().any(char::is_control) {
        return None;
    }
    match url.find([':', '/', '?', '#']) {
        Some(end) if url[end..].starts_with(':') => {
            let scheme = &url[..end];
            SAFE_SCHEMES.iter().any(|s| s.eq_ignore_ascii_case(scheme)).then_some(url)
        }
        // No scheme: a path, query or fragment relative to this page.
        _ => Some(url),
    }
}

/// A reference as shown: a short label, and a link when the entity exists.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct RefLink {
    pub label: String,
    /// `kind:namespace/name`, as Backstage writes it.
    pub full: String,
    pub kind: String,
    pub url: Option<String>,
}

/// An entity in a list or table.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EntitySummary {
    #[serde(rename = "ref")]
    pub full: String,
    pub url: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub owner: Option<RefLink>,
    pub system: Option<RefLink>,
    #[serde(rename = "type")]
    pub spec_type: Option<String>,
    pub lifecycle: Option<String>,
    pub tags: Vec<String>,
    pub updated_at: i64,
    pub orphan: bool,
}

/// Percent-encodes one path segment.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page of an entity: `/catalog/<namespace>/<kind>/<name>`, as in Backstage.
pub(crate) fn entity_url(r: &EntityRef) -> String {
    format!("/catalog/{}/{}/{}", segment(r.namespace()), segment(r.kind()), segment(r.name()))
}

/// A reference's label: the name alone where kind and namespace go without saying.
pub(crate) fn short_label(r: &EntityRef, usual_kind: Option<&str>) -> String {
    r.short(usual_kind)
}

/// A link to `r`, with the entity's own spelling of its name when it exists.
pub(crate) fn ref_link(graph: &Visible<'_>, r: &EntityRef, usual_kind: Option<&str>) -> RefLink {
    let found = graph.get(&r.key()).map(CatalogEntry::entity_ref);
    let r = found.as_ref().unwrap_or(r);
    RefLink { label: short_label(r, usual_kind), full: r.to_string(), kind: r.kind().to_owned(), url: found.as_ref().map(entity_url) }
}

/// A `spec` field holding a reference (`owner`, `system`), resolved as Backstage does.
pub(crate) fn spec_ref(graph: &Visible<'_>, entity: &Entity, field: &str, default_kind: &str) -> Option<RefLink> {
    let raw = entity.spec_str(field)?;
    let defaults = RefDefaults { kind: Some(default_kind), namespace: Some(&entity.metadata.namespace) };
    match EntityRef::parse(raw, defaults) {
        Ok(r) => Some(ref_link(graph, &r, Some(default_kind))),
        Err(_) => Some(RefLink { label: raw.to_owned(), full: raw.to_owned(), kind: default_kind.to_owned(), url: None }),
    }
}

impl EntitySummary {
    pub fn of(graph: &Visible<'_>, entry: &CatalogEntry) -> Self {
        let e = &entry.entity;
        let r = e.entity_ref();
        Self {
            full: r.to_string(),
            url: entity_url(&r),
            kind: e.kind.clone(),
            namespace: e.metadata.namespace.clone(),
            name: e.metadata.name.clone(),
            title: e.metadata.title.clone().or_else(|| display_name(e)),
            description: e.metadata.description.clone(),
            owner: spec_ref(graph, e, "owner", "group"),
            system: spec_ref(graph, e, "system", "system"),
            spec_type: e.spec_str("type").map(str::to_owned),
            lifecycle: e.spec_str("lifecycle").map(str::to_owned),
            tags: e.metadata.tags.clone(),
            updated_at: entry.updated_at,
            orphan: entry.orphan,
        }
    }
}

/// A user's or group's `spec.profile.displayName`; for the Location generated for a registered
/// location (named after a hash), what was registered: "Registered examples/all.yaml".
fn display_name(e: &Entity) -> Option<String> {
    if e.kind.eq_ignore_ascii_case("location") && e.metadata.name.starts_with("generated-") {
        let target = e.spec_str("target")?.trim_end_matches('/');
        let mut tail: Vec<&str> = target.rsplit('/').take(2).collect();
        tail.reverse();
        return Some(format!("Registered {}", tail.join("/")));
    }
    e.spec.as_ref()?.get("profile")?.get("displayName")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_location_is_titled_by_what_was_registered() {
        let spec = portico_catalog::LocationSpec { kind: "file".into(), target: "/srv/catalog/examples/all.yaml".into() };
        let generated: Entity = serde_json::from_value(portico_catalog::location::generated_location(&spec).value).unwrap();
        assert_eq!(display_name(&generated).as_deref(), Some("Registered examples/all.yaml"));
        let spec = portico_catalog::LocationSpec { kind: "url".into(), target: "https://git.example.com/shop/catalog-info.yaml".into() };
        let generated: Entity = serde_json::from_value(portico_catalog::location::generated_location(&spec).value).unwrap();
        assert_eq!(display_name(&generated).as_deref(), Some("Registered shop/catalog-info.yaml"));
    }

    #[test]
    fn labels_leave_out_what_goes_without_saying() {
        let r = EntityRef::new("group", "default", "team-a");
        assert_eq!(short_label(&r, Some("group")), "team-a");
        assert_eq!(short_label(&r, Some("user")), "group:team-a");
        assert_eq!(short_label(&EntityRef::new("group", "ops", "sre"), Some("group")), "ops/sre");
        assert_eq!(entity_url(&EntityRef::new("Component", "default", "a b")), "/catalog/default/component/a%20b");
    }

    #[test]
    fn only_web_and_mail_addresses_and_relative_urls_become_links() {
        for ok in ["https://example.com/x", " HTTP://example.com", "mailto:team-a@example.com", "/docs/x", "docs/a:b", "?q=1", "#top", "//example.com/x"] {
            assert_eq!(safe_href(ok), Some(ok.trim()), "{ok}");
        }
        for bad in ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "java\tscript:alert(1)", "java\nscript:x", "data:text/html,<script>alert(1)</script>", "vbscript:x", ":x", "", "file:///etc/passwd"] {
            assert_eq!(safe_href(bad), None, "{bad:?}");
        }
    }
}
