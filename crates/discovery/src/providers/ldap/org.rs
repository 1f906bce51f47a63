//! From directory entries to `User` and `Group` entities. Membership is read from the groups'
//! member attributes: a member DN naming a user makes a member, one naming a group makes a
//! child group (and this group its parent), a `memberUid` names a user by its name attribute.
//! Members that are neither a user nor a group found below the bases are ignored.

use std::collections::{BTreeSet, HashMap};

use base64::Engine as _;
use ldap3::SearchEntry;
use portico_model::naming::sanitize_object_name;
use serde_json::{Map, Value, json};

use super::{GroupSettings, Settings, UserSettings};
use crate::engine::{Contribution, Evidence};
use portico_catalog::SourceError;

/// Attributes a user search asks for (`uid` always, for `memberUid` lookups).
pub(crate) fn user_attributes(u: &UserSettings) -> Vec<String> {
    let a = &u.attributes;
    let mut out = vec![a.name.clone(), a.display_name.clone(), a.email.clone(), "uid".into()];
    out.extend(a.picture.clone());
    out
}

pub(crate) fn group_attributes(g: &GroupSettings) -> Vec<String> {
    let a = &g.attributes;
    let mut out = vec![a.name.clone(), a.description.clone()];
    out.extend(a.display_name.clone());
    out.extend(a.email.clone());
    out.extend(a.members.iter().cloned());
    out
}

/// A DN in a form that compares equal however the server or a member attribute spelled it:
/// lower case, no blanks around `,` and `=`, and no `#…` unique identifier (`uniqueMember`).
pub(crate) fn normalize_dn(dn: &str) -> String {
    let dn = match dn.rfind("#'") {
        Some(i) if dn.ends_with("'B") => &dn[..i],
        _ => dn,
    };
    let mut out = String::with_capacity(dn.len());
    let (mut escaped, mut after_separator) = (false, false);
    for c in dn.trim().chars() {
        if !escaped && matches!(c, ',' | '=') {
            while out.ends_with(' ') {
                out.pop();
            }
            out.push(c);
            after_separator = true;
        } else if c == ' ' && after_separator {
            continue;
        } else {
            out.extend(c.to_lowercase());
            after_separator = false;
        }
        escaped = !escaped && c == '\\';
    }
    out
}

/// The first value of an attribute, matched without regard to case as LDAP does.
fn first<'a>(e: &'a SearchEntry, attr: &str) -> Option<&'a str> {
    all(e, attr).next()
}

fn all<'a>(e: &'a SearchEntry, attr: &str) -> impl Iterator<Item = &'a str> {
    e.attrs.iter().filter(move |(k, _)| k.eq_ignore_ascii_case(attr)).flat_map(|(_, v)| v.iter().map(String::as_str))
}

fn picture(e: &SearchEntry, attr: &str) -> Option<String> {
    if let Some(url) = first(e, attr) {
        // labeledURI may carry a label after the URL.
        return url.split_whitespace().next().map(str::to_owned);
    }
    let (_, values) = e.bin_attrs.iter().find(|(k, _)| k.eq_ignore_ascii_case(attr))?;
    let bytes = values.first()?;
    Some(format!("data:image/jpeg;base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes)))
}

struct Named<'a> {
    entry: &'a SearchEntry,
    name: String,
}

/// Names entries from `attr`, sanitized; entries without a usable name or whose name another
/// entry already took are reported.
fn name_entries<'a>(
    kind: &str,
    entries: &'a [SearchEntry],
    attr: &str,
    errors: &mut Vec<SourceError>,
) -> Vec<Named<'a>> {
    let mut taken: HashMap<String, &str> = HashMap::new();
    let mut out = Vec::new();
    for entry in entries {
        let raw = first(entry, attr);
        let Some(name) = raw.and_then(sanitize_object_name) else {
            errors.push(SourceError {
                location: entry.dn.clone(),
                key: None,
                message: match raw {
                    Some(v) => format!("{kind} name {v:?} (attribute {attr}) has no usable characters"),
                    None => format!("{kind} entry has no {attr} attribute"),
                },
            });
            continue;
        };
        if let Some(other) = taken.get(&name.to_lowercase()) {
            errors.push(SourceError {
                location: entry.dn.clone(),
                key: Some(format!("{kind}:{name}").to_lowercase()),
                message: format!("{kind} name {name:?} is already taken by {other}; entry skipped"),
            });
            continue;
        }
        taken.insert(name.to_lowercase(), &entry.dn);
        out.push(Named { entry, name });
    }
    out
}

pub(crate) fn contributions(s: &Settings, users: &[SearchEntry], groups: &[SearchEntry]) -> (Vec<Contribution>, Vec<SourceError>) {
    let mut errors = Vec::new();
    let (ua, ga) = (
        s.users.as_ref().map(|u| u.attributes.clone()).unwrap_or_default(),
        s.groups.as_ref().map(|g| g.attributes.clone()).unwrap_or_default(),
    );
    let users = name_entries("user", users, &ua.name, &mut errors);
    let groups = name_entries("group", groups, &ga.name, &mut errors);
    let user_by_dn: HashMap<String, usize> = users.iter().enumerate().map(|(i, u)| (normalize_dn(&u.entry.dn), i)).collect();
    let group_by_dn: HashMap<String, usize> = groups.iter().enumerate().map(|(i, g)| (normalize_dn(&g.entry.dn), i)).collect();
    let user_by_uid: HashMap<&str, usize> = users
        .iter()
        .enumerate()
        .flat_map(|(i, u)| all(u.entry, "uid").chain(first(u.entry, &ua.name)).map(move |v| (v, i)))
        .collect();

    let mut members: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); groups.len()];
    let mut children: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); groups.len()];
    let mut parents: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); groups.len()];
    let mut member_of: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); users.len()];
    for (gi, g) in groups.iter().enumerate() {
        for attr in &ga.members {
            for value in all(g.entry, attr) {
                let dn = normalize_dn(value);
                if let Some(&ui) = user_by_dn.get(&dn).or_else(|| user_by_uid.get(value)) {
                    members[gi].insert(ui);
                    member_of[ui].insert(gi);
                } else if let Some(&ci) = group_by_dn.get(&dn)
                    && ci != gi
                {
                    children[gi].insert(ci);
                    parents[ci].insert(gi);
                }
            }
        }
    }

    let ns = &s.namespace;
    let names = |set: &BTreeSet<usize>, of: &[Named<'_>]| -> Vec<String> {
        let mut v: Vec<String> = set.iter().map(|&i| of[i].name.clone()).collect();
        v.sort();
        v
    };
    let mut out = Vec::new();
    for (ui, u) in users.iter().enumerate() {
        let mut profile = Map::new();
        let mut put = |key: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                profile.insert(key.into(), Value::String(v));
            }
        };
        put("displayName", first(u.entry, &ua.display_name).map(str::to_owned));
        put("email", first(u.entry, &ua.email).map(str::to_owned));
        put("picture", ua.picture.as_deref().and_then(|p| picture(u.entry, p)));
        let doc = json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "User",
            "metadata": { "name": u.name, "namespace": ns, "annotations": { "backstage.io/ldap-dn": u.entry.dn } },
            "spec": { "profile": profile, "memberOf": names(&member_of[ui], &groups) },
        });
        out.push(Contribution::new(Evidence::Observed, &u.entry.dn, doc));
    }
    for (gi, g) in groups.iter().enumerate() {
        let mut profile = Map::new();
        if let Some(d) = ga.display_name.as_deref().and_then(|a| first(g.entry, a)) {
            profile.insert("displayName".into(), json!(d));
        }
        if let Some(e) = ga.email.as_deref().and_then(|a| first(g.entry, a)) {
            profile.insert("email".into(), json!(e));
        }
        let mut spec = json!({
            "type": "team",
            "profile": profile,
            "children": names(&children[gi], &groups),
            "members": names(&members[gi], &users),
        });
        // Backstage allows one parent: the first by name when a group sits in several.
        if let Some(parent) = names(&parents[gi], &groups).into_iter().next() {
            spec["parent"] = json!(parent);
        }
        let mut metadata = json!({ "name": g.name, "namespace": ns, "annotations": { "backstage.io/ldap-dn": g.entry.dn } });
        if let Some(d) = first(g.entry, &ga.description).filter(|d| !d.is_empty()) {
            metadata["description"] = json!(d);
        }
        let doc = json!({ "apiVersion": "backstage.io/v1alpha1", "kind": "Group", "metadata": metadata, "spec": spec });
        out.push(Contribution::new(Evidence::Observed, &g.entry.dn, doc));
    }
    (out, errors)
}
