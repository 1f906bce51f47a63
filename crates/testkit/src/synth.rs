//! Synthetic Backstage catalog generator for tests and benchmarks.
//!
//! [`generate`] writes `backstage.io/v1alpha1` descriptors into a directory:
//! `part-0000.yaml`, `part-0001.yaml`, ... (multi-document YAML, `---`
//! separated) and a root `catalog-info.yaml` of `kind: Location` whose
//! `spec.targets` lists every part file as a relative `./part-NNNN.yaml`.
//!
//! The shape is realistic but fully deterministic for a given seed: each entity
//! is produced from its own splitmix64 stream seeded by `(seed, index)`, so the
//! output does not depend on how entities are spread across files. Kind mix is
//! roughly 1% Domain, 5% Group, 5% User, 4% System, 20% API, 10% Resource and
//! the rest (~55%) Component; every kind except User has at least one entity.
//! Entity `k` goes to file `k % files`, so every file mixes kinds.
//!
//! * Groups (`team-NNNN`, `spec.type: team`, `children: []`) form a tree via
//!   `spec.parent` (group 0 is the root). Users (`user-NNNNN`) have 1-2
//!   `memberOf` groups. Domains (`dom-NNNN`) and Systems (`sys-NNNN`) are owned
//!   by groups; systems belong to a domain.
//! * Components (`svc-NNNNN`) have type/lifecycle/owner/system, 0-1
//!   `providesApis`, 0-2 `consumesApis` and 0-2 `dependsOn` (`resource:` or
//!   `component:` refs). APIs (`api-NNNNN`) and Resources (`res-NNNNN`) have
//!   owner and system; APIs carry a small inline `definition`.
//! * Skew: ~30% of components are owned by the "hot" group
//!   ([`SynthSummary::sample_owner`], >100 components from ~1000 entities up),
//!   other owners are picked with a bias towards low-numbered groups; ~25% of
//!   components depend on the hub resource `res-00000`.
//! * References use the Backstage short forms where a default kind exists
//!   (`owner: team-0003`, `system: sys-0001`, `memberOf: [team-0001]`), with
//!   ~20% of owners written as `group:team-0003` / `group:default/team-0003`;
//!   `dependsOn` always carries the kind. Every reference resolves to a
//!   generated entity. On average an entity declares ~3 relations.
//!
//! Names, tags and refs contain only `[a-z0-9-]`; free text is double-quoted.

pub mod backstage;

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write as _};
use std::path::{Path, PathBuf};

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthOptions {
    /// Total number of entities (excluding the root Location); at least 10.
    pub entities: usize,
    pub seed: u64,
    /// Number of part files to spread entities over; 0 means `entities / 500`.
    /// Entities average ~370 bytes, so keep files >= entities / 20_000 to stay
    /// under the 8 MiB per-file limit of `portico_model::yaml`.
    pub files: usize,
}

impl SynthOptions {
    /// `entities` entities, seed 42, one file per ~500 entities.
    pub fn with_entities(entities: usize) -> Self {
        SynthOptions {
            entities,
            seed: 42,
            files: 0,
        }
    }
}

/// What was generated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthSummary {
    pub entities: usize,
    /// Number of part files (the root Location file not included).
    pub files: usize,
    /// Path of the root `catalog-info.yaml` Location file.
    pub root: PathBuf,
    /// e.g. `component:default/svc-00042`.
    pub sample_component: String,
    /// The hot group, e.g. `group:default/team-0003`, owning many components.
    pub sample_owner: String,
    /// Number of components owned by `sample_owner`.
    pub sample_owner_components: usize,
    /// `resource:default/res-00000`, depended on by many components.
    pub hub_resource: String,
    /// Number of components with a `dependsOn` on `hub_resource`.
    pub hub_dependents: usize,
    /// Entity count per kind, in generation order.
    pub kinds: Vec<(&'static str, usize)>,
}

/// splitmix64: tiny, fast, good enough for synthetic data.
struct Rng(u64);

impl Rng {
    fn new(seed: u64, k: u64) -> Self {
        let mut r = Rng(seed ^ k.wrapping_mul(0xD1B5_4A32_D192_ED03));
        r.next();
        r
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in `0..n` (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 11) as u128 * n as u128) >> 53) as usize
    }
    /// True with probability `pct`%.
    fn pct(&mut self, pct: usize) -> bool {
        self.below(100) < pct
    }
    /// Biased towards 0 (square of a uniform variate).
    fn skewed(&mut self, n: usize) -> usize {
        let u = (self.next() >> 11) as f64 / (1u64 << 53) as f64;
        ((u * u * n as f64) as usize).min(n - 1)
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const KINDS: [&str; 7] = [
    "Domain",
    "Group",
    "User",
    "System",
    "Component",
    "API",
    "Resource",
];
const TAGS: [&str; 14] = [
    "java",
    "rust",
    "go",
    "python",
    "typescript",
    "frontend",
    "backend",
    "data",
    "ml",
    "infra",
    "critical",
    "pci",
    "gdpr",
    "experimental-ui",
];
const LIFECYCLES: [&str; 3] = ["production", "experimental", "deprecated"];

struct Plan {
    counts: [usize; 7],
    hot_group: usize,
}

fn name(kind: usize, i: usize) -> String {
    match kind {
        0 => format!("dom-{i:04}"),
        1 => format!("team-{i:04}"),
        2 => format!("user-{i:05}"),
        3 => format!("sys-{i:04}"),
        4 => format!("svc-{i:05}"),
        5 => format!("api-{i:05}"),
        _ => format!("res-{i:05}"),
    }
}

impl Plan {
    fn new(n: usize) -> io::Result<Self> {
        let m = |pct: usize| (n * pct / 100).max(1);
        let mut counts = [m(1), m(5), n * 5 / 100, m(4), 0, m(20), m(10)];
        let rest: usize = counts.iter().sum();
        counts[4] = n
            .checked_sub(rest)
            .filter(|c| *c > 0 && n >= 10)
            .ok_or_else(|| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "synth: need at least 10 entities",
                )
            })?;
        Ok(Plan {
            counts,
            hot_group: 3.min(counts[1] - 1),
        })
    }

    /// Owner ref for a non-user entity, mostly short form.
    fn owner(&self, rng: &mut Rng, hot_pct: usize) -> (usize, String) {
        let g = if rng.pct(hot_pct) {
            self.hot_group
        } else {
            rng.skewed(self.counts[1])
        };
        let n = name(1, g);
        let r = match rng.below(10) {
            0 => format!("group:{n}"),
            1 => format!("group:default/{n}"),
            _ => n,
        };
        (g, r)
    }

    /// Appends entity `k` to `out`; returns (owned by hot group, depends on hub).
    fn entity(&self, seed: u64, k: usize, out: &mut String) -> (bool, bool) {
        let (mut kind, mut i) = (0, k);
        while i >= self.counts[kind] {
            i -= self.counts[kind];
            kind += 1;
        }
        let rng = &mut Rng::new(seed, k as u64);
        let me = name(kind, i);
        let c = &self.counts;
        let (mut hot, mut hub) = (false, false);
        let _ = writeln!(
            out,
            "apiVersion: backstage.io/v1alpha1\nkind: {}\nmetadata:",
            KINDS[kind]
        );
        let _ = writeln!(out, "  name: {me}");
        if rng.pct(10) {
            out.push_str("  namespace: default\n");
        }
        let _ = writeln!(
            out,
            "  description: \"Synthetic {} {me}, generated for \\\"load\\\" tests.\"",
            KINDS[kind].to_lowercase()
        );
        let (t1, t2) = (rng.below(TAGS.len()), rng.below(TAGS.len()));
        if t1 == t2 {
            let _ = writeln!(out, "  tags: [{}]", TAGS[t1]);
        } else {
            let _ = writeln!(out, "  tags: [{}, {}]", TAGS[t1], TAGS[t2]);
        }
        if rng.pct(25) {
            let _ = writeln!(
                out,
                "  labels:\n    tier: \"{}\"\n    cost-center: \"cc-{}\"",
                1 + rng.below(3),
                rng.below(1000)
            );
        }
        if rng.pct(30) {
            let _ = writeln!(
                out,
                "  annotations:\n    backstage.io/techdocs-ref: \"dir:.\"\n    github.com/project-slug: \"acme/{me}\""
            );
        }
        out.push_str("spec:\n");
        match kind {
            0 => {
                let _ = writeln!(out, "  owner: {}", self.owner(rng, 5).1);
            }
            1 => {
                let _ = writeln!(
                    out,
                    "  type: team\n  profile:\n    displayName: \"Team {i}\"\n    email: \"{me}@example.com\""
                );
                if i > 0 {
                    let _ = writeln!(out, "  parent: {}", name(1, rng.below(i)));
                }
                out.push_str("  children: []\n");
            }
            2 => {
                let _ = writeln!(
                    out,
                    "  profile:\n    displayName: \"User {i}\"\n    email: \"{me}@example.com\""
                );
                let (a, b) = (rng.below(c[1]), rng.below(c[1]));
                if a == b || rng.pct(60) {
                    let _ = writeln!(out, "  memberOf: [{}]", name(1, a));
                } else {
                    let _ = writeln!(out, "  memberOf: [{}, {}]", name(1, a), name(1, b));
                }
            }
            3 => {
                let _ = writeln!(
                    out,
                    "  owner: {}\n  domain: {}",
                    self.owner(rng, 5).1,
                    name(0, rng.below(c[0]))
                );
            }
            4 => {
                let ty = rng.pick(&["service", "service", "website", "library"]);
                let (g, owner) = self.owner(rng, 30);
                hot = g == self.hot_group;
                let _ = writeln!(
                    out,
                    "  type: {ty}\n  lifecycle: {}\n  owner: {owner}\n  system: {}",
                    rng.pick(&LIFECYCLES),
                    name(3, rng.below(c[3]))
                );
                if rng.pct(50) {
                    let _ = writeln!(out, "  providesApis: [{}]", name(5, rng.below(c[5])));
                }
                let mut apis: Vec<String> = (0..rng.below(3))
                    .map(|_| name(5, rng.below(c[5])))
                    .collect();
                apis.dedup();
                if !apis.is_empty() {
                    let _ = writeln!(out, "  consumesApis: [{}]", apis.join(", "));
                }
                let mut deps = Vec::new();
                let hub_ref = format!("resource:{}", name(6, 0));
                if rng.pct(25) {
                    deps.push(hub_ref.clone());
                }
                for _ in 0..rng.below(3 - deps.len()) {
                    let d = if rng.pct(50) {
                        format!("resource:{}", name(6, rng.below(c[6])))
                    } else {
                        format!("component:{}", name(4, rng.below(c[4])))
                    };
                    if d != format!("component:{me}") && !deps.contains(&d) {
                        deps.push(d);
                    }
                }
                hub = deps.contains(&hub_ref);
                if !deps.is_empty() {
                    out.push_str("  dependsOn:\n");
                    for d in deps {
                        let _ = writeln!(out, "    - {d}");
                    }
                }
            }
            5 => {
                let ty = rng.pick(&["openapi", "openapi", "grpc", "graphql"]);
                let _ = writeln!(
                    out,
                    "  type: {ty}\n  lifecycle: {}\n  owner: {}\n  system: {}",
                    rng.pick(&LIFECYCLES),
                    self.owner(rng, 10).1,
                    name(3, rng.below(c[3]))
                );
                match ty {
                    "openapi" => {
                        let _ = writeln!(
                            out,
                            "  definition: |\n    openapi: 3.0.0\n    info:\n      title: {me}\n      version: 1.0.{i}\n    paths: {{}}"
                        );
                    }
                    "grpc" => {
                        let _ = writeln!(
                            out,
                            "  definition: \"syntax = \\\"proto3\\\";\\nservice Api{i} {{}}\""
                        );
                    }
                    _ => out.push_str("  definition: \"type Query { ping: String }\"\n"),
                }
            }
            _ => {
                let ty = rng.pick(&["database", "queue", "bucket"]);
                let _ = writeln!(
                    out,
                    "  type: {ty}\n  owner: {}\n  system: {}",
                    self.owner(rng, 5).1,
                    name(3, rng.below(c[3]))
                );
            }
        }
        (hot, hub)
    }
}

/// Writes the synthetic catalog into `dir` (created if missing).
pub fn generate(dir: &Path, opts: &SynthOptions) -> io::Result<SynthSummary> {
    let plan = Plan::new(opts.entities)?;
    let n = opts.entities;
    let files = if opts.files == 0 { n / 500 } else { opts.files }.clamp(1, n);
    std::fs::create_dir_all(dir)?;
    let (mut hot, mut hub, mut buf) = (0, 0, String::with_capacity(4096));
    let mut targets = String::new();
    for f in 0..files {
        let file_name = format!("part-{f:04}.yaml");
        let _ = writeln!(targets, "    - ./{file_name}");
        let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(dir.join(&file_name))?);
        for (j, k) in (f..n).step_by(files).enumerate() {
            buf.clear();
            if j > 0 {
                buf.push_str("---\n");
            }
            let (h, d) = plan.entity(opts.seed, k, &mut buf);
            hot += h as usize;
            hub += d as usize;
            w.write_all(buf.as_bytes())?;
        }
        w.flush()?;
    }
    let root = dir.join("catalog-info.yaml");
    std::fs::write(
        &root,
        format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: synthetic-catalog\n  description: \"Synthetic catalog ({n} entities, seed {})\"\nspec:\n  targets:\n{targets}",
            opts.seed
        ),
    )?;
    Ok(SynthSummary {
        entities: n,
        files,
        root,
        sample_component: format!("component:default/{}", name(4, 42.min(plan.counts[4] - 1))),
        sample_owner: format!("group:default/{}", name(1, plan.hot_group)),
        sample_owner_components: hot,
        hub_resource: format!("resource:default/{}", name(6, 0)),
        hub_dependents: hub,
        kinds: KINDS.iter().copied().zip(plan.counts).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn tmp(tag: &str) -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        std::env::temp_dir().join(format!(
            "portico-synth-{tag}-{}-{nanos}",
            std::process::id()
        ))
    }

    /// Resolves a ref with Backstage defaults to "kind:name" (lowercase).
    fn resolve(r: &str, default_kind: &str) -> String {
        let (kind, rest) = r.split_once(':').unwrap_or((default_kind, r));
        let name = rest.rsplit('/').next().unwrap();
        format!("{}:{name}", kind.to_lowercase())
    }

    #[test]
    fn generates_consistent_catalog() {
        let dir = tmp("1k");
        let s = generate(
            &dir,
            &SynthOptions {
                entities: 1000,
                seed: 7,
                files: 3,
            },
        )
        .unwrap();
        assert_eq!((s.entities, s.files), (1000, 3));
        let root = std::fs::read_to_string(&s.root).unwrap();
        let mut text = String::new();
        for f in 0..3 {
            assert!(root.contains(&format!("    - ./part-{f:04}.yaml\n")));
            text += &std::fs::read_to_string(dir.join(format!("part-{f:04}.yaml"))).unwrap();
            text += "\n---\n";
        }
        let kinds = |t: &str| t.lines().filter(|l| l.starts_with("kind:")).count();
        assert_eq!(kinds(&text) + kinds(&root), 1001);
        assert_eq!(s.kinds.iter().map(|k| k.1).sum::<usize>(), 1000);

        let (mut defined, mut refs) = (HashSet::new(), Vec::new());
        let mut owners: HashMap<String, usize> = HashMap::new();
        let mut hub = 0;
        for doc in text.split("\n---\n").filter(|d| !d.trim().is_empty()) {
            let kind = doc
                .lines()
                .find_map(|l| l.strip_prefix("kind: "))
                .unwrap()
                .to_lowercase();
            let name = doc
                .lines()
                .find_map(|l| l.strip_prefix("  name: "))
                .unwrap();
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            );
            assert!(defined.insert(format!("{kind}:{name}")), "duplicate {name}");
            let mut list_kind = None;
            for l in doc.lines() {
                if let Some(item) = l.strip_prefix("    - ") {
                    refs.push(resolve(item, list_kind.unwrap()));
                    hub += (kind == "component" && item == "resource:res-00000") as usize;
                    continue;
                }
                list_kind = None;
                let Some((field, value)) = l.trim_start().split_once(':') else {
                    continue;
                };
                let default_kind = match field {
                    "owner" | "parent" | "memberOf" => "group",
                    "system" | "domain" => field,
                    "providesApis" | "consumesApis" => "api",
                    "dependsOn" => {
                        list_kind = Some("?");
                        continue;
                    }
                    _ => continue,
                };
                let value = value.trim().trim_start_matches('[').trim_end_matches(']');
                for r in value.split(", ") {
                    refs.push(resolve(r, default_kind));
                    if field == "owner" && kind == "component" {
                        *owners.entry(resolve(r, "group")).or_default() += 1;
                    }
                }
            }
        }
        assert_eq!(defined.len(), 1000);
        assert!(refs.len() > 2500, "only {} refs", refs.len());
        for r in &refs {
            assert!(defined.contains(r), "dangling ref {r}");
        }
        let hot = s.sample_owner.replace("default/", "");
        assert_eq!(owners[&hot], s.sample_owner_components);
        assert!(
            s.sample_owner_components > 100,
            "{}",
            s.sample_owner_components
        );
        assert_eq!(hub, s.hub_dependents);
        assert!(hub > 100, "{hub}");
        assert!(defined.contains(&s.sample_component.replace("default/", "")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn deterministic_and_file_count_independent() {
        let (a, b) = (tmp("a"), tmp("b"));
        let sa = generate(
            &a,
            &SynthOptions {
                entities: 100,
                seed: 1,
                files: 1,
            },
        )
        .unwrap();
        let sb = generate(
            &b,
            &SynthOptions {
                entities: 100,
                seed: 1,
                files: 1,
            },
        )
        .unwrap();
        let read = |d: &Path| std::fs::read_to_string(d.join("part-0000.yaml")).unwrap();
        assert_eq!(read(&a), read(&b));
        assert_eq!(sa.kinds, sb.kinds);
        let sc = generate(
            &b,
            &SynthOptions {
                entities: 100,
                seed: 1,
                files: 7,
            },
        )
        .unwrap();
        assert_eq!((sc.files, sc.hub_dependents), (7, sa.hub_dependents));
        assert!(
            generate(
                &b,
                &SynthOptions {
                    entities: 5,
                    seed: 1,
                    files: 1
                }
            )
            .is_err()
        );
        let _ = (std::fs::remove_dir_all(&a), std::fs::remove_dir_all(&b));
    }
}
