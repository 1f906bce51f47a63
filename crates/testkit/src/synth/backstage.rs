//! The catalog shape of Backstage's own benchmark harness (`shared/backstage-harness/
//! gen-catalog.js`), generated in Rust for `portico bench catalog --shape backstage`: files of
//! 1,000 documents each, a root file of one `Location` per part, and
//!
//! * 2% Groups in a five-ary tree (title, description, `profile.displayName`, `parent`),
//! * 5% Systems (description, tags, owner),
//! * 20% APIs (owner, system, an inline multi-line OpenAPI `definition`),
//! * the rest Components (title, description, two tags, two annotations, owner, system, three
//!   `dependsOn` components, one `providesApis`, two `consumesApis`): about six relations each,
//!   twice the project's own synthetic catalog, and the shape on which peak memory was first
//!   measured at 1.6 GiB.
//!
//! Deterministic for a seed, like [`super::generate`]; not byte-identical to the harness's output
//! (its random sequence is JavaScript's), but the same mix and fields.

use std::fmt::Write as _;
use std::io::{self, BufWriter, Write as _};
use std::path::Path;

use super::{Rng, SynthSummary};

/// Documents per part file, as the harness writes them for 100,000 entities.
pub const PER_FILE: usize = 1000;

/// Writes the catalog into `dir` (created if missing).
pub fn generate(dir: &Path, entities: usize, seed: u64) -> io::Result<SynthSummary> {
    if entities < 100 {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "the Backstage shape needs at least 100 entities"));
    }
    let g = (entities * 2 / 100).max(5);
    let s = entities * 5 / 100;
    let a = entities * 20 / 100;
    let c = entities - g - s - a;
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng::new(seed, entities as u64);
    let mut owned = vec![0usize; g];
    // Written a file at a time, so that the generator leaves nothing behind in the memory of
    // the benchmark that runs it.
    let mut docs = Parts { dir, current: Vec::with_capacity(PER_FILE), roots: Vec::new() };
    for i in 0..g {
        let mut d = format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: group-{i}\n  title: Team {i}\n  description: Synthetic team {i}\nspec:\n  type: team\n  profile:\n    displayName: Team {i}\n"
        );
        if i > 0 {
            let _ = writeln!(d, "  parent: group-{}", (i - 1) / 5);
        }
        d.push_str("  children: []\n");
        docs.push(d)?;
    }
    for i in 0..s {
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: System\nmetadata:\n  name: system-{i}\n  description: Synthetic system {i}\n  tags: [synthetic, tier-{}]\nspec:\n  owner: group-{}\n",
            i % 3,
            i % g
        ))?;
    }
    for i in 0..a {
        docs.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: API\nmetadata:\n  name: api-{i}\n  description: Synthetic API {i}\n  tags: [rest]\nspec:\n  type: openapi\n  lifecycle: production\n  owner: group-{}\n  system: system-{}\n  definition: |\n    openapi: 3.0.0\n    info: {{ title: api-{i}, version: 1.0.0 }}\n    paths:\n      /items/{{id}}:\n        get:\n          parameters: [{{ name: id, in: path, required: true, schema: {{ type: string }} }}]\n          responses: {{ '200': {{ description: ok }} }}\n",
            rng.below(g),
            i % s
        ))?;
    }
    let langs = ["go", "java", "rust", "ts"];
    for i in 0..c {
        let owner = rng.below(g);
        owned[owner] += 1;
        let system = rng.below(s);
        let mut deps: Vec<usize> = Vec::with_capacity(3);
        while deps.len() < 3 {
            let d = rng.below(c);
            if d != i && !deps.contains(&d) {
                deps.push(d);
            }
        }
        let provides = i % a;
        let mut consumes: Vec<usize> = Vec::with_capacity(2);
        while consumes.len() < 2 {
            let x = rng.below(a);
            if x != provides && !consumes.contains(&x) {
                consumes.push(x);
            }
        }
        let mut d = format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: component-{i}\n  title: Component {i}\n  description: Synthetic service {i} owned by group-{owner}\n  tags: [service, lang-{}]\n  annotations:\n    backstage.io/techdocs-ref: dir:.\n    github.com/project-slug: example/component-{i}\nspec:\n  type: service\n  lifecycle: {}\n  owner: group-{owner}\n  system: system-{system}\n  dependsOn:\n",
            langs[i % 4],
            if i % 5 == 0 { "experimental" } else { "production" }
        );
        for dep in deps {
            let _ = writeln!(d, "    - component:component-{dep}");
        }
        let _ = writeln!(d, "  providesApis:\n    - api-{provides}\n  consumesApis:");
        for x in consumes {
            let _ = writeln!(d, "    - api-{x}");
        }
        docs.push(d)?;
    }
    docs.flush()?;
    let roots = docs.roots;
    let root = dir.join("catalog-info.yaml");
    std::fs::write(&root, roots.join("---\n"))?;
    let hot = (0..g).max_by_key(|&o| owned[o]).unwrap_or(0);
    Ok(SynthSummary {
        entities,
        files: roots.len(),
        root,
        sample_component: "component:default/component-42".into(),
        sample_owner: format!("group:default/group-{hot}"),
        sample_owner_components: owned[hot],
        // No resources in this shape: the most depended-on entity is any component (about three
        // dependents each).
        hub_resource: format!("component:default/component-{}", c - 1),
        hub_dependents: 3,
        kinds: vec![("Group", g), ("System", s), ("API", a), ("Component", c)],
    })
}

/// Documents gathered into part files of [`PER_FILE`] documents each.
struct Parts<'a> {
    dir: &'a Path,
    current: Vec<String>,
    /// The root file's `Location` documents, one per part written.
    roots: Vec<String>,
}

impl Parts<'_> {
    fn push(&mut self, doc: String) -> io::Result<()> {
        self.current.push(doc);
        if self.current.len() == PER_FILE { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.current.is_empty() {
            return Ok(());
        }
        let path = self.dir.join(format!("part-{}.yaml", self.roots.len()));
        let mut w = BufWriter::with_capacity(1 << 16, std::fs::File::create(&path)?);
        w.write_all(self.current.join("---\n").as_bytes())?;
        w.flush()?;
        self.current.clear();
        self.roots.push(format!(
            "apiVersion: backstage.io/v1alpha1\nkind: Location\nmetadata:\n  name: anchor-part-{}\nspec:\n  type: file\n  target: {}\n",
            self.roots.len(),
            path.display()
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_and_files_match_the_harness() {
        let dir = tempfile::tempdir().unwrap();
        let summary = generate(dir.path(), 2500, 7).unwrap();
        assert_eq!(summary.files, 3);
        assert_eq!(summary.kinds, vec![("Group", 50), ("System", 125), ("API", 500), ("Component", 1825)]);
        let part = std::fs::read_to_string(dir.path().join("part-0.yaml")).unwrap();
        assert_eq!(part.matches("\napiVersion:").count() + 1, PER_FILE);
        let root = std::fs::read_to_string(&summary.root).unwrap();
        assert_eq!(root.matches("kind: Location").count(), 3);
        let last = std::fs::read_to_string(dir.path().join("part-2.yaml")).unwrap();
        assert!(last.contains("dependsOn:\n    - component:component-") && last.contains("consumesApis:\n    - api-"));
        assert_eq!(generate(dir.path(), 2500, 7).unwrap(), summary, "deterministic");
    }
}
