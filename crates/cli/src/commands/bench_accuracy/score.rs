//! Scoring inferred entities against a repository's hand-checked ground truth: which services,
//! datastores and dependencies were found, which were wrong, by the rules of
//! `bench/discovery-accuracy/README.md`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use serde_json::Value;

/// A repository's ground truth, as committed under `bench/discovery-accuracy/`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Truth {
    /// `owner/name` on GitHub.
    pub repository: String,
    pub commit: String,
    #[serde(default)]
    pub layout: Vec<String>,
    #[serde(default)]
    pub notes: Option<String>,
    #[serde(default)]
    pub services: Vec<Service>,
    #[serde(default)]
    pub datastores: Vec<Datastore>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub optional: Vec<Folder>,
    #[serde(default)]
    pub not_services: Vec<Folder>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub path: String,
    pub language: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub evidence: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Datastore {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub aliases: Vec<String>,
    pub evidence: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Dependency {
    pub from: String,
    pub to: String,
    pub evidence: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Folder {
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    pub why: String,
}

impl Truth {
    /// Checks what serde cannot: names are unique and dependencies name listed entries.
    pub fn check(&self) -> Result<(), String> {
        if self.commit.len() != 40 || !self.commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("commit: expected 40 hex digits, got {:?}", self.commit));
        }
        let mut names = BTreeSet::new();
        let all = self.services.iter().map(|s| &s.name).chain(self.datastores.iter().map(|d| &d.name));
        for (i, n) in all.enumerate() {
            if !names.insert(norm(n)) {
                return Err(format!("entry {i} ({n:?}): the name is used twice"));
            }
        }
        for (i, d) in self.dependencies.iter().enumerate() {
            for (field, n) in [("from", &d.from), ("to", &d.to)] {
                if !names.contains(&norm(n)) {
                    return Err(format!("dependencies[{i}].{field}: {n:?} is neither a listed service nor a datastore"));
                }
            }
        }
        Ok(())
    }
}

/// A name as matching sees it: lower case, letters and digits only.
pub fn norm(name: &str) -> String {
    name.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

/// An inferred entity, as scoring needs it.
#[derive(Debug, Clone, Default)]
pub struct Found {
    /// `component:default/cart`.
    pub entity_ref: String,
    pub kind: String,
    pub name: String,
    pub spec_type: String,
    pub language: Option<String>,
    /// Folder of its code (from `backstage.io/source-location`), `""` for the root.
    pub dir: Option<String>,
    pub depends_on: Vec<String>,
}

impl Found {
    /// Reads an inferred document; `None` for kinds scoring ignores (APIs, Systems).
    pub fn from_document(doc: &Value) -> Option<Found> {
        let kind = doc.get("kind")?.as_str()?.to_owned();
        if !matches!(kind.as_str(), "Component" | "Resource") {
            return None;
        }
        let name = doc.pointer("/metadata/name")?.as_str()?.to_owned();
        let namespace = doc.pointer("/metadata/namespace").and_then(Value::as_str).unwrap_or("default");
        let text = |p: &str| doc.pointer(p).and_then(Value::as_str).map(str::to_owned);
        let dir = text("/metadata/annotations/backstage.io~1source-location").map(|l| folder_of_location(&l));
        let depends_on = doc
            .pointer("/spec/dependsOn")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        Some(Found {
            entity_ref: format!("{}:{namespace}/{name}", kind.to_ascii_lowercase()),
            spec_type: text("/spec/type").unwrap_or_default(),
            language: text("/metadata/annotations/portico.dev~1language"),
            kind,
            name,
            dir,
            depends_on,
        })
    }

    fn is_service(&self) -> bool {
        self.kind == "Component" && matches!(self.spec_type.as_str(), "service" | "website")
    }
}

/// The repository folder of a source location (`url:file:///r@abc/src/cart/` → `src/cart`,
/// `url:https://h/o/r/tree/main/src/cart/` → `src/cart`): the part after the commit or the
/// repository's path, as inference writes it (`<repo>/<dir>/`).
fn folder_of_location(location: &str) -> String {
    location.trim_end_matches('/').to_owned()
}

/// Counts for one measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Ground-truth items found.
    pub found: usize,
    /// Ground-truth items.
    pub expected: usize,
    /// Inferred items that are right.
    pub right: usize,
    /// Inferred items counted.
    pub inferred: usize,
}

impl Counts {
    pub fn add(&mut self, o: Counts) {
        self.found += o.found;
        self.expected += o.expected;
        self.right += o.right;
        self.inferred += o.inferred;
    }

    pub fn recall(&self) -> Option<f64> {
        (self.expected > 0).then(|| self.found as f64 / self.expected as f64)
    }

    pub fn precision(&self) -> Option<f64> {
        (self.inferred > 0).then(|| self.right as f64 / self.inferred as f64)
    }
}

/// The score of one repository, with what was missed and what was wrong.
#[derive(Debug, Clone, Default)]
pub struct Score {
    /// `found` counts services found as services with the right language.
    pub services: Counts,
    /// Services found as services, whatever their language.
    pub services_any_language: usize,
    pub datastores: Counts,
    pub dependencies: Counts,
    pub missed: Vec<String>,
    pub wrong: Vec<String>,
}

/// Which ground-truth entry an inferred entity is, if any.
struct Matcher<'t> {
    truth: &'t Truth,
    /// Path of the root source location (`url:<repo>`), to turn locations into folders.
    root: String,
}

impl Matcher<'_> {
    fn dir(&self, f: &Found) -> Option<String> {
        let d = f.dir.as_deref()?;
        let rest = d.strip_prefix(self.root.as_str())?;
        Some(rest.trim_start_matches('/').to_owned())
    }

    fn service(&self, f: &Found) -> Option<&Service> {
        let n = norm(&f.name);
        let dir = self.dir(f);
        self.truth
            .services
            .iter()
            .find(|s| norm(&s.name) == n || s.aliases.iter().any(|a| norm(a) == n))
            .or_else(|| dir.and_then(|d| self.truth.services.iter().find(|s| s.path.trim_matches('/') == d)))
    }

    fn datastore(&self, f: &Found) -> Option<&Datastore> {
        let n = norm(&f.name);
        self.truth.datastores.iter().find(|d| norm(&d.name) == n || d.aliases.iter().any(|a| norm(a) == n))
    }

    fn optional(&self, f: &Found) -> bool {
        let n = norm(&f.name);
        let dir = self.dir(f);
        self.truth.optional.iter().any(|o| {
            o.name.as_deref().is_some_and(|m| norm(m) == n)
                || o.path.as_deref().is_some_and(|p| dir.as_deref().is_some_and(|d| d == p.trim_matches('/')))
        })
    }
}

/// Scores `found` (every inferred entity of the repository) against `truth`. `root` is the
/// source location inference gives the repository's root folder, without its trailing `/`.
pub fn score(truth: &Truth, found: &[Found], root: &str) -> Score {
    let m = Matcher { truth, root: root.trim_end_matches('/').to_owned() };
    let mut s = Score::default();
    // Entity reference → ground-truth name (normalized), or None for optional ones.
    let mut known: BTreeMap<&str, Option<String>> = BTreeMap::new();
    let mut services_found: BTreeMap<String, bool> = BTreeMap::new();
    for f in found.iter().filter(|f| f.is_service()) {
        if let Some(t) = m.service(f) {
            s.services.inferred += 1;
            s.services.right += 1;
            let language_right = f.language.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(&t.language));
            let entry = services_found.entry(norm(&t.name)).or_default();
            *entry |= language_right;
            if !language_right {
                s.wrong.push(format!("service {} ({}): language {:?}, expected {}", t.name, f.entity_ref, f.language, t.language));
            }
            known.insert(&f.entity_ref, Some(norm(&t.name)));
        } else if m.optional(f) {
            known.insert(&f.entity_ref, None);
        } else {
            s.services.inferred += 1;
            let dir = m.dir(f).unwrap_or_default();
            let why = truth.not_services.iter().find(|n| n.path.as_deref().is_some_and(|p| p.trim_matches('/') == dir)).map_or("", |n| n.why.as_str());
            s.wrong.push(format!("not a service: {} ({} in {dir:?}) {why}", f.entity_ref, f.spec_type).trim_end().to_owned());
        }
    }
    s.services.expected = truth.services.len();
    s.services_any_language = services_found.len();
    s.services.found = services_found.values().filter(|v| **v).count();
    for t in truth.services.iter().filter(|t| !services_found.contains_key(&norm(&t.name))) {
        let as_other = found.iter().find(|f| f.kind == "Component" && m.service(f).is_some_and(|x| x.name == t.name));
        let how = as_other.map_or_else(String::new, |f| format!(" (found as {} of type {})", f.entity_ref, f.spec_type));
        s.missed.push(format!("service {} in {}{how} ({})", t.name, t.path, t.evidence));
    }
    let mut stores_found = BTreeSet::new();
    for f in found.iter().filter(|f| f.kind == "Resource") {
        if let Some(t) = m.datastore(f) {
            s.datastores.inferred += 1;
            s.datastores.right += 1;
            stores_found.insert(norm(&t.name));
            known.insert(&f.entity_ref, Some(norm(&t.name)));
        } else if m.optional(f) {
            known.insert(&f.entity_ref, None);
        } else {
            s.datastores.inferred += 1;
            s.wrong.push(format!("not a datastore: {}", f.entity_ref));
        }
    }
    s.datastores.expected = truth.datastores.len();
    s.datastores.found = stores_found.len();
    for t in truth.datastores.iter().filter(|t| !stores_found.contains(&norm(&t.name))) {
        s.missed.push(format!("datastore {} ({}, {})", t.name, t.kind, t.evidence));
    }
    let expected: BTreeSet<(String, String)> = truth.dependencies.iter().map(|d| (norm(&d.from), norm(&d.to))).collect();
    let mut edges_found = BTreeSet::new();
    for f in found.iter().filter(|f| f.is_service() || f.kind == "Resource") {
        let from = known.get(f.entity_ref.as_str());
        if matches!(from, Some(None)) {
            continue;
        }
        for target in &f.depends_on {
            let to = known.get(target.as_str());
            if matches!(to, Some(None)) {
                continue;
            }
            s.dependencies.inferred += 1;
            match (from, to) {
                (Some(Some(a)), Some(Some(b))) if expected.contains(&(a.clone(), b.clone())) => {
                    s.dependencies.right += 1;
                    edges_found.insert((a.clone(), b.clone()));
                }
                _ => s.wrong.push(format!("not a dependency: {} → {target}", f.entity_ref)),
            }
        }
    }
    s.dependencies.expected = expected.len();
    s.dependencies.found = edges_found.len();
    for d in truth.dependencies.iter().filter(|d| !edges_found.contains(&(norm(&d.from), norm(&d.to)))) {
        s.missed.push(format!("dependency {} → {} ({})", d.from, d.to, d.evidence));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn truth() -> Truth {
        serde_saphyr::from_str(
            r#"
repository: acme/shop
commit: 63e9150ca17af4ed05880d4245e486481f73fcb4
services:
  - {name: vote, path: vote, language: python, evidence: "docker-compose.yml:3"}
  - {name: result, path: result, language: javascript, aliases: [result-app], evidence: "docker-compose.yml:9"}
  - {name: worker, path: worker, language: csharp, evidence: "docker-compose.yml:15"}
datastores:
  - {name: redis, type: cache, evidence: "docker-compose.yml:20"}
  - {name: db, type: database, evidence: "docker-compose.yml:25"}
dependencies:
  - {from: vote, to: redis, evidence: "vote/app.py:12"}
  - {from: worker, to: redis, evidence: "worker/Program.cs:20"}
  - {from: worker, to: db, evidence: "worker/Program.cs:19"}
optional:
  - {path: seed-data, why: one-shot loader}
"#,
        )
        .unwrap()
    }

    fn component(name: &str, dir: &str, ty: &str, lang: &str, deps: &[&str]) -> Found {
        Found {
            entity_ref: format!("component:default/{name}"),
            kind: "Component".into(),
            name: name.into(),
            spec_type: ty.into(),
            language: Some(lang.into()),
            dir: Some(format!("url:file:///r/{dir}")),
            depends_on: deps.iter().map(|d| (*d).to_owned()).collect(),
        }
    }

    fn resource(name: &str) -> Found {
        Found { entity_ref: format!("resource:default/{name}"), kind: "Resource".into(), name: name.into(), ..Found::default() }
    }

    #[test]
    fn a_perfect_inference_scores_one_everywhere() {
        let found = vec![
            component("vote", "vote", "service", "python", &["resource:default/redis"]),
            component("result-app", "result", "website", "javascript", &[]),
            component("worker", "worker", "service", "csharp", &["resource:default/redis", "resource:default/db"]),
            resource("redis"),
            resource("db"),
        ];
        let s = score(&truth(), &found, "url:file:///r");
        assert_eq!(s.services, Counts { found: 3, expected: 3, right: 3, inferred: 3 });
        assert_eq!(s.datastores, Counts { found: 2, expected: 2, right: 2, inferred: 2 });
        assert_eq!(s.dependencies, Counts { found: 3, expected: 3, right: 3, inferred: 3 });
        assert!(s.missed.is_empty() && s.wrong.is_empty(), "{s:#?}");
    }

    #[test]
    fn misses_wrong_languages_false_services_and_edges_are_counted() {
        let found = vec![
            // Matched by folder, wrong language.
            component("voting-thing", "vote", "service", "go", &["resource:default/redis", "component:default/tools"]),
            // A library is not a service: the worker is missed.
            component("worker", "worker", "library", "csharp", &[]),
            component("tools", "tools", "service", "go", &[]),
            component("seeder", "seed-data", "service", "python", &["resource:default/db"]),
            resource("redis"),
            resource("grafana"),
        ];
        let s = score(&truth(), &found, "url:file:///r");
        assert_eq!(s.services, Counts { found: 0, expected: 3, right: 1, inferred: 2 });
        assert_eq!(s.services_any_language, 1);
        assert_eq!(s.datastores, Counts { found: 1, expected: 2, right: 1, inferred: 2 });
        // vote→redis right, vote→tools wrong; the optional seeder's edge is not counted.
        assert_eq!(s.dependencies, Counts { found: 1, expected: 3, right: 1, inferred: 2 });
        assert!(s.missed.iter().any(|m| m.contains("worker") && m.contains("type library")), "{:?}", s.missed);
        assert!(s.wrong.iter().any(|w| w.contains("language")), "{:?}", s.wrong);
        assert!(s.wrong.iter().any(|w| w.contains("not a datastore: resource:default/grafana")), "{:?}", s.wrong);
    }

    #[test]
    fn ground_truth_that_names_an_unlisted_entry_is_refused_naming_the_field() {
        let mut t = truth();
        t.dependencies.push(Dependency { from: "vote".into(), to: "cache".into(), evidence: "x:1".into() });
        let e = t.check().unwrap_err();
        assert!(e.starts_with("dependencies[3].to: \"cache\""), "{e}");
        t.commit = "abc".into();
        assert!(t.check().unwrap_err().starts_with("commit:"));
    }

    #[test]
    fn unknown_fields_in_ground_truth_are_refused() {
        let e = serde_saphyr::from_str::<Truth>("repository: a/b\ncommit: x\nservicez: []\n").unwrap_err().to_string();
        assert!(e.contains("servicez"), "{e}");
    }
}
