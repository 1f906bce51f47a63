//! `portico bench discovery-accuracy`: scores inference on public repositories it was never
//! tuned on, against hand-checked ground truth (`bench/discovery-accuracy/*.yaml`). Each
//! repository present in `--repos` is read at its pinned commit, with no descriptors; recall
//! and precision of services (with language), datastores and dependencies are printed per
//! repository and in total.

mod score;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use clap::Args;
use portico_discovery::providers::{git, infer};

use score::{Counts, Found, Score, Truth};

#[derive(Args)]
pub struct AccuracyBench {
    /// Folder holding the repositories: clones or bare mirrors named `<owner>+<name>`
    /// (optionally with the git directory in `repo/` below it) or `<name>`.
    #[arg(long)]
    repos: PathBuf,
    /// Folder of the ground-truth files.
    #[arg(long, default_value = "bench/discovery-accuracy")]
    truth: PathBuf,
    /// List what was missed and what was wrong, per repository.
    #[arg(long, short)]
    verbose: bool,
    /// Print every inferred service, datastore and dependency with its evidence.
    #[arg(long)]
    entities: bool,
    /// Score only repositories whose `owner/name` contains this text.
    #[arg(long)]
    only: Option<String>,
}

/// The ground-truth files of a folder, parsed and checked, sorted by repository.
fn load(dir: &Path) -> anyhow::Result<Vec<(PathBuf, Truth)>> {
    let entries = std::fs::read_dir(dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let truth: Truth = serde_saphyr::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        truth.check().map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        out.push((path, truth));
    }
    out.sort_by(|a, b| a.1.repository.cmp(&b.1.repository));
    Ok(out)
}

/// Where a repository lives under `dir`, if it is there.
fn locate(dir: &Path, repository: &str) -> Option<PathBuf> {
    let plus = repository.replace('/', "+");
    let name = repository.rsplit('/').next().unwrap_or(repository);
    let candidates = [dir.join(&plus).join("repo"), dir.join(&plus), dir.join(name), dir.join(format!("{name}.git"))];
    candidates.into_iter().find(|p| p.join("HEAD").is_file() || p.join(".git").exists())
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

fn cell(c: &Counts) -> String {
    format!("{}/{} {} · {}", c.found, c.expected, pct(c.recall()), pct(c.precision()))
}

pub async fn run(opts: AccuracyBench) -> anyhow::Result<ExitCode> {
    let truths = load(&opts.truth)?;
    anyhow::ensure!(!truths.is_empty(), "{}: no ground-truth files (*.yaml)", opts.truth.display());
    let mut total = Score::default();
    let mut rows = Vec::new();
    let mut absent = Vec::new();
    for (file, truth) in &truths {
        if opts.only.as_deref().is_some_and(|o| !truth.repository.contains(o)) {
            continue;
        }
        let Some(path) = locate(&opts.repos, &truth.repository) else {
            absent.push(truth.repository.clone());
            continue;
        };
        let name = truth.repository.rsplit('/').next().unwrap_or(&truth.repository).to_owned();
        let started = Instant::now();
        let inference = git::infer_commit(&path, Some(&truth.commit), &name, &infer::InferOptions::default())
            .map_err(|e| anyhow::anyhow!("{} ({}): {e}", truth.repository, file.display()))?;
        let took = started.elapsed();
        let found: Vec<Found> = inference.contributions.iter().filter_map(|c| Found::from_document(&c.document)).collect();
        let root = format!("url:{}", path.display());
        let s = score::score(truth, &found, &root);
        if opts.entities {
            println!("\n## {}: inferred", truth.repository);
            for c in &inference.contributions {
                let d = &c.document;
                let Some(f) = Found::from_document(d) else { continue };
                println!("  {} [{}] {} in {}", f.entity_ref, f.spec_type, f.language.as_deref().unwrap_or("-"), f.dir.as_deref().unwrap_or("-"));
                let evidence = d.pointer("/status/facts").and_then(|f| f.get(infer::DEPENDENCY_EVIDENCE)).and_then(|e| e.as_object());
                for (target, at) in evidence.into_iter().flatten() {
                    println!("      → {target}  ({})", at.as_str().unwrap_or(""));
                }
            }
        }
        if opts.verbose {
            println!("\n## {} ({} inferred entities, {} file errors)", truth.repository, found.len(), inference.errors.len());
            if let Some(n) = &truth.notes {
                println!("  notes   {}", n.split_whitespace().collect::<Vec<_>>().join(" "));
            }
            for m in &s.missed {
                println!("  missed  {m}");
            }
            for w in &s.wrong {
                println!("  wrong   {w}");
            }
        }
        total.services.add(s.services);
        total.services_any_language += s.services_any_language;
        total.datastores.add(s.datastores);
        total.dependencies.add(s.dependencies);
        rows.push((truth.repository.clone(), truth.layout.join(", "), s, took));
    }
    println!("\nrecall found/expected, then precision; services count only with the right language\n");
    println!("| repository | layout | services | datastores | dependencies | time |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (repo, layout, s, took) in &rows {
        let ms = took.as_secs_f64() * 1000.0;
        println!("| {repo} | {layout} | {} | {} | {} | {ms:.0} ms |", cell(&s.services), cell(&s.datastores), cell(&s.dependencies));
    }
    println!("| **total** ({} repositories) | | {} | {} | {} | |", rows.len(), cell(&total.services), cell(&total.datastores), cell(&total.dependencies));
    println!(
        "\nservices found whatever their language: {}/{}; service-to-service and service-to-datastore dependencies: recall {}, precision {}",
        total.services_any_language,
        total.services.expected,
        pct(total.dependencies.recall()),
        pct(total.dependencies.precision()),
    );
    if !absent.is_empty() {
        println!("not in {}: {}", opts.repos.display(), absent.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
