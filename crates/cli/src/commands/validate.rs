//! `portico catalog validate`: lint descriptor files for CI. Prints `file:line:col: message`
//! per problem and exits non-zero when there is any. Needs no database.
//!
//! Each path (a file, a directory of `catalog-info.yaml` files, or a glob; relative to the
//! working directory) is read exactly as `portico catalog import` reads it: `Location` targets
//! are followed, `$text`/`$json`/`$yaml` placeholders are resolved relative to their file, and
//! the same guards apply (allowed roots, size limits). Kinds declared in any of the files apply
//! to all of them.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::process::ExitCode;

use portico_catalog::{LocationSpec, RawEntity, Reader, ReaderConfig, with_declared_kinds};
use portico_model::Validator;

pub async fn validate(paths: &[PathBuf], reading: &ReaderConfig) -> anyhow::Result<ExitCode> {
    let reader = Reader::new(reading.clone());
    let mut problems: Vec<String> = Vec::new();
    let mut docs: Vec<RawEntity> = Vec::new();
    let mut seen_docs: HashSet<(String, usize)> = HashSet::new();
    let mut files = 0;
    for path in paths {
        let spec = LocationSpec { kind: "file".into(), target: path.display().to_string() };
        let outcome = portico_catalog::location::read(&reader, &spec, &|_, _| {}).await;
        files += outcome.files;
        problems.extend(outcome.errors.iter().map(|e| match e.message.starts_with(&e.location) {
            true => e.message.clone(),
            false => format!("{}: {}", e.location, e.message),
        }));
        // The same file reached from two paths (a directory and a file in it) is linted once.
        docs.extend(outcome.entities.into_iter().filter(|d| seen_docs.insert((d.origin.location.clone(), d.origin.document))));
    }
    problems.extend(document_problems(&docs));
    for p in &problems {
        println!("{p}");
    }
    eprintln!("{files} file(s), {} entit{}, {} problem(s)", docs.len(), if docs.len() == 1 { "y" } else { "ies" }, problems.len());
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// What is wrong with each document, positioned `file:line:col: message`: schema and naming
/// errors (kinds declared among the documents apply) and duplicates.
pub(super) fn document_problems(docs: &[RawEntity]) -> Vec<String> {
    let mut problems = Vec::new();
    let validator = match with_declared_kinds(&Validator::default(), docs.iter().map(|d| &d.value)) {
        Ok(v) => v,
        Err(errs) => {
            problems.extend(errs.iter().map(|e| format!("kind declarations: {e}")));
            Validator::default()
        }
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for d in docs {
        match validator.validate(d.value.clone()) {
            Ok(entity) => {
                let here = d.origin.at("metadata.name");
                if let Some(first) = seen.insert(entity.entity_ref().key(), here.clone()) {
                    problems.push(format!("{here}: duplicate entity `{}` (first at {first})", entity.entity_ref()));
                }
            }
            Err(errors) => problems.extend(errors.iter().map(|e| format!("{}: {e}", d.origin.at(&e.path)))),
        }
    }
    problems
}
