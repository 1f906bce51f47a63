//! `portico catalog validate`: lint descriptor files for CI. Prints `file:line:col: message`
//! per problem and exits non-zero when there is any. Needs no database.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use portico_catalog::{Origin, Reader, ReaderConfig, find_descriptor_files, with_declared_kinds};
use portico_model::{Validator, yaml};
use serde_json::Value;

pub fn validate(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let mut problems: Vec<String> = Vec::new();
    let mut docs: Vec<(Origin, Value)> = Vec::new();
    let mut files = 0;
    let reader = Reader::new(ReaderConfig::default());
    for path in paths {
        let found = find_descriptor_files(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if found.is_empty() {
            problems.push(format!("{}: no catalog-info.yaml files found", path.display()));
        }
        for file in found {
            files += 1;
            let shown = file.display().to_string();
            // The same guards as ingest (size limit, text only), rooted at the file itself.
            let root = file.parent().map(std::path::Path::to_path_buf).unwrap_or_default();
            let text = match reader.read_file(&file, &[root]) {
                Ok((_, text)) => text,
                Err(e) => {
                    problems.push(e.to_string());
                    continue;
                }
            };
            match yaml::parse_documents(&text) {
                Ok(values) => {
                    let text: std::sync::Arc<str> = text.into();
                    for (i, v) in values.into_iter().enumerate() {
                        docs.push((Origin { location: shown.clone(), text: Some(text.clone()), document: i }, v));
                    }
                }
                Err(e) => problems.push(format!("{shown}:{}:{}: {}", e.line, e.column, e.message)),
            }
        }
    }
    // Kinds declared in the files being linted apply to the other files.
    let validator = match with_declared_kinds(&Validator::default(), docs.iter().map(|(_, v)| v)) {
        Ok(v) => v,
        Err(errs) => {
            problems.extend(errs.iter().map(|e| format!("kind declarations: {e}")));
            Validator::default()
        }
    };
    let mut seen: HashMap<String, String> = HashMap::new();
    for (origin, v) in &docs {
        match validator.validate(v.clone()) {
            Ok(entity) => {
                let here = origin.at("metadata.name");
                if let Some(first) = seen.insert(entity.entity_ref().key(), here.clone()) {
                    problems.push(format!("{here}: duplicate entity `{}` (first at {first})", entity.entity_ref()));
                }
            }
            Err(errors) => problems.extend(errors.iter().map(|e| format!("{}: {e}", origin.at(&e.path)))),
        }
    }
    for p in &problems {
        println!("{p}");
    }
    eprintln!("{files} file(s), {} entit{}, {} problem(s)", docs.len(), if docs.len() == 1 { "y" } else { "ies" }, problems.len());
    Ok(if problems.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
