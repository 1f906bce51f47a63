//! Resource instances of a state → `Resource` entities. Names come from instance addresses
//! and are stable: the same address always gives the same name, and the rare addresses that
//! would collide after sanitizing (or exceed 63 characters) get a short hash of the full
//! address instead of depending on order.

use std::collections::{HashMap, HashSet};

use portico_model::naming::sanitize_object_name;
use serde_json::{Map, json};
use sha2::{Digest, Sha256};

use super::state::{Attributes, State, module_path, provider_source, without_keys};
use crate::engine::{Contribution, Evidence};

/// How tags map to catalog fields.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    pub owner_tags: Vec<String>,
    pub system_tags: Vec<String>,
    pub component_tags: Vec<String>,
    pub include_data_sources: bool,
    /// Put before every entity name (the state's configured `name`).
    pub prefix: Option<String>,
}

/// Tags whose values become `metadata.tags`, besides the provider's short name.
const ENVIRONMENT_TAGS: &[&str] = &["environment", "Environment", "env", "Env"];

const MAX_NAME: usize = 63;

/// Every managed instance (and data source instance when asked) as a contribution. `file` is
/// the state's location as shown to people.
pub(crate) fn contributions(state: &State, m: &Mapping, file: &str) -> Vec<Contribution> {
    struct Row<'a> {
        address: String,
        resource: &'a super::state::Resource,
        instance: &'a super::state::Instance,
    }
    let rows: Vec<Row> = state
        .resources
        .iter()
        .filter(|r| m.include_data_sources || !r.data)
        .flat_map(|r| {
            let base = r.address();
            r.instances.iter().map(move |i| Row { address: format!("{base}{}", i.key), resource: r, instance: i })
        })
        .collect();

    let names = entity_names(rows.iter().map(|r| r.address.as_str()), m.prefix.as_deref());
    // Dependencies name resources (`module.db.aws_db_instance.main`), not instances.
    let mut by_resource: HashMap<String, Vec<usize>> = HashMap::with_capacity(rows.len());
    for (i, row) in rows.iter().enumerate() {
        by_resource.entry(without_keys(&row.resource.address())).or_default().push(i);
    }

    let modules: Vec<Vec<&str>> = rows.iter().map(|r| module_path(&r.resource.module)).collect();
    let mut providers: HashMap<&str, (String, String)> = HashMap::new();
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let (source, short) = providers.entry(row.resource.provider.as_str()).or_insert_with(|| provider_source(&row.resource.provider)).clone();
            let mut depends_on: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for dep in &row.instance.dependencies {
                let all = by_resource.get(&without_keys(dep)).map_or(&[][..], Vec::as_slice);
                for j in same_module_instance(&modules, i, dep, all) {
                    if j != i && seen.insert(j) {
                        depends_on.push(format!("resource:default/{}", names[j]));
                    }
                }
            }
            let r = row.resource;
            let a = &row.instance.attributes;
            let mut facts = Map::new();
            facts.insert("terraform.type".into(), json!(r.kind));
            facts.insert("terraform.provider".into(), json!(source));
            facts.insert("terraform.providerName".into(), json!(short));
            facts.insert("terraform.mode".into(), json!(if r.data { "data" } else { "managed" }));
            if !r.module.is_empty() {
                facts.insert("terraform.module".into(), json!(r.module));
            }
            if let Some(id) = a.id.as_ref().or(a.arn.as_ref()) {
                facts.insert("terraform.id".into(), json!(id));
            }
            if !a.tags.is_empty() {
                facts.insert("terraform.tags".into(), json!(a.tags));
            }
            if let Some(region) = &a.region {
                facts.insert("terraform.region".into(), json!(region));
            }

            let mut metadata = json!({
                "name": names[i],
                "annotations": {
                    "portico.dev/terraform-address": row.address,
                    "portico.dev/terraform-provider": source,
                },
            });
            if let Some(title) = a.tags.get("Name") {
                metadata["title"] = json!(title);
            }
            let tags = catalog_tags(&short, a);
            if !tags.is_empty() {
                metadata["tags"] = json!(tags);
            }
            let mut spec = json!({ "type": r.kind });
            if let Some(owner) = first_tag(a, &m.owner_tags).and_then(|v| reference(v, "group")) {
                spec["owner"] = json!(owner);
            }
            if let Some(system) = first_tag(a, &m.system_tags).and_then(|v| reference(v, "system")) {
                spec["system"] = json!(system);
            }
            if let Some(component) = first_tag(a, &m.component_tags).and_then(|v| reference(v, "component")) {
                spec["dependencyOf"] = json!([component]);
            }
            if !depends_on.is_empty() {
                spec["dependsOn"] = json!(depends_on);
            }
            let document = json!({
                "apiVersion": "backstage.io/v1alpha1",
                "kind": "Resource",
                "metadata": metadata,
                "spec": spec,
                "status": { "facts": facts },
            });
            Contribution::new(Evidence::Observed, format!("{file}#{}", row.address), document)
        })
        .collect()
}

/// One name per address, in order.
pub(crate) fn entity_names<'a>(addresses: impl Iterator<Item = &'a str>, prefix: Option<&str>) -> Vec<String> {
    let mut names: Vec<(String, String, bool)> = addresses
        .map(|addr| {
            let full = match prefix {
                Some(p) => format!("{p}-{addr}"),
                None => addr.to_owned(),
            };
            let long = full.len() > MAX_NAME;
            let name = sanitize_object_name(&full).unwrap_or_default();
            let name = if long || name.is_empty() { hashed(&name, &full) } else { name };
            (name, full, long)
        })
        .collect();
    let mut seen: HashMap<String, usize> = HashMap::with_capacity(names.len());
    for (n, _, _) in &names {
        *seen.entry(n.clone()).or_default() += 1;
    }
    // Addresses that only differ in characters a name cannot hold (`x["a b"]`, `x["a-b"]`) all
    // get their hash, so none depends on which came first.
    for (n, full, long) in &mut names {
        if !*long && seen[n.as_str()] > 1 {
            *n = hashed(n, full);
        }
    }
    names.into_iter().map(|(n, _, _)| n).collect()
}

fn hashed(name: &str, full: &str) -> String {
    let digest = Sha256::digest(full.as_bytes());
    let hash: String = digest.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let mut base: String = name.chars().take(MAX_NAME - hash.len() - 1).collect();
    while base.ends_with(['-', '_', '.']) {
        base.pop();
    }
    if base.is_empty() { hash } else { format!("{base}-{hash}") }
}

fn first_tag<'a>(a: &'a Attributes, keys: &[String]) -> Option<&'a str> {
    keys.iter().find_map(|k| a.tags.get(k)).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// An entity reference from a tag value: `group:platform` and `user:default/jane` stay as
/// written; a bare `platform` becomes `group:default/platform`.
fn reference(value: &str, kind: &str) -> Option<String> {
    if value.contains(':') {
        return Some(value.to_owned());
    }
    sanitize_object_name(value).map(|n| format!("{kind}:default/{n}"))
}

/// `metadata.tags`: the provider (`aws`) and the environment, in Backstage's tag form
/// (`[a-z0-9:+#]` words joined by `-`).
fn catalog_tags(provider: &str, a: &Attributes) -> Vec<String> {
    let env = ENVIRONMENT_TAGS.iter().find_map(|k| a.tags.get(*k));
    let mut tags: Vec<String> = std::iter::once(provider).chain(env.map(String::as_str)).filter_map(tag_value).collect();
    tags.dedup();
    tags
}

fn tag_value(s: &str) -> Option<String> {
    let lower = s.to_ascii_lowercase();
    let words: Vec<&str> = lower.split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, ':' | '+' | '#'))).filter(|w| !w.is_empty()).collect();
    let mut tag = words.join("-");
    if tag.len() > MAX_NAME {
        tag.truncate(MAX_NAME);
        while tag.ends_with('-') {
            tag.pop();
        }
    }
    (!tag.is_empty()).then_some(tag)
}

/// The instances of a dependency's resource that the dependent instance can depend on.
/// Terraform records dependencies by configuration address, without module instance keys: in a
/// module called with `for_each`, `module.app["a"]`'s service depending on
/// `module.app.aws_security_group.this` means `module.app["a"]`'s group, not the group of every
/// instance of the module. So where the dependency lies in the module instances the dependent is
/// in, only the instances under the same keys are kept; a dependency written with keys (other
/// tools do) keeps those; otherwise, or when nothing would be left, all instances.
fn same_module_instance(modules: &[Vec<&str>], i: usize, dep: &str, all: &[usize]) -> Vec<usize> {
    let mine = &modules[i];
    let theirs = module_path(dep);
    let shared = mine.iter().zip(&theirs).take_while(|(m, t)| without_keys(m) == without_keys(t)).count();
    let wanted: Vec<Option<&str>> = theirs
        .iter()
        .enumerate()
        .map(|(k, t)| match () {
            _ if t.contains('[') => Some(*t),
            _ if k < shared => Some(mine[k]),
            _ => None,
        })
        .collect();
    if wanted.iter().all(Option::is_none) {
        return all.to_vec();
    }
    let fits = |j: usize| wanted.iter().enumerate().all(|(k, w)| w.is_none_or(|w| modules[j].get(k) == Some(&w)));
    let same: Vec<usize> = all.iter().copied().filter(|&j| fits(j)).collect();
    if same.is_empty() { all.to_vec() } else { same }
}
