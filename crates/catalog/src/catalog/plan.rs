//! Planning a change set: validated documents diffed against what the source contributed
//! before. Pure: reads the graph, writes nothing.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use portico_graph::CatalogGraph;
use portico_model::{CatalogEntry, Entity};
use portico_store::{ChangeSet, EntityGone, EntityWrite, ErrorRecord, RelationRow};

use super::{IngestReport, OrphanStrategy, record};
use crate::mutation::{Outcome, Validated};

pub(super) struct Input<'a> {
    pub source: &'a str,
    pub at: i64,
    pub validated: Vec<Validated>,
    /// A full mutation: entities not emitted are gone (when `complete`).
    pub full: bool,
    pub complete: bool,
    /// Keys a delta removes.
    pub removals: Vec<String>,
    pub orphan_strategy: OrphanStrategy,
}

/// A validated entity ready to be diffed.
struct Candidate {
    entity: Entity,
    key: String,
    hash: String,
    parent: Option<String>,
    relations: Vec<(String, String, String)>,
}

pub(super) fn plan(
    graph: &CatalogGraph,
    input: Input<'_>,
    errors: &mut Vec<ErrorRecord>,
) -> (ChangeSet, IngestReport) {
    let Input { source, at, validated, full, complete, removals, orphan_strategy } = input;
    // Keys that stay as they are even if not emitted: invalid documents keep their last good version.
    let mut retained: HashSet<String> = HashSet::new();
    // Files with an invalid document keep everything they provided: an invalid document may be
    // a renamed entity, and a typo must not delete the original.
    let mut retained_files: HashSet<String> = HashSet::new();
    // Where each key was first seen; positions are computed only when an error needs one,
    // since locating a field re-parses its file.
    let mut seen: HashMap<String, crate::Origin> = HashMap::new();
    let mut candidates = Vec::with_capacity(validated.len());
    let mut report = IngestReport { source: source.to_owned(), ..Default::default() };
    for r in validated {
        let here = || r.origin.at("metadata.name");
        let (entity, hash, relations) = match r.outcome {
            Outcome::Invalid(field_errors) => {
                let key = r.key_hint;
                retained_files.insert(r.origin.location.clone());
                if let Some(k) = &key {
                    retained.insert(k.clone());
                }
                for fe in field_errors {
                    errors.push(record(source, at, r.origin.at(&fe.path), key.clone(), fe.to_string()));
                }
                continue;
            }
            Outcome::Unchanged { key } => {
                if let Some(first) = seen.get(&key) {
                    let message = format!("duplicate entity `{key}` in this source; the one at {} is kept", first.at("metadata.name"));
                    errors.push(record(source, at, here(), Some(key), message));
                } else {
                    report.unchanged += 1;
                    seen.insert(key, r.origin);
                }
                continue;
            }
            Outcome::Valid { entity, hash, relations } => (*entity, hash, relations),
        };
        let key = entity.entity_ref().key();
        // A placeholder ($text, $yaml, $json) that could not be read: the last good version
        // stays; an entity never read whole is not added (as Backstage does), rather than
        // served with the placeholder's address as its content. The reader recorded why.
        if r.degraded {
            if graph.get(&key).is_some_and(|e| e.source == *source) {
                retained.insert(key);
            }
            continue;
        }
        if let Some(first) = seen.get(&key) {
            let message = format!(
                "duplicate entity `{}` in this source; the one at {} is kept",
                entity.entity_ref(),
                first.at("metadata.name")
            );
            errors.push(record(source, at, here(), Some(key.clone()), message));
            continue;
        }
        if let Some(existing) = graph.get(&key)
            && existing.source != *source
        {
            let message = format!(
                "conflict: entity `{}` is already provided by source `{}`; this one is ignored",
                entity.entity_ref(),
                existing.source
            );
            errors.push(record(source, at, here(), Some(key.clone()), message));
            continue;
        }
        seen.insert(key.clone(), r.origin);
        candidates.push(Candidate { entity, key, hash, parent: r.parent, relations });
    }

    let mut changes = ChangeSet { source: source.to_owned(), at, ..Default::default() };
    for c in candidates {
        let existing = graph.get(&c.key);
        if let Some(old) = existing
            && old.hash == c.hash && !old.orphan {
                report.unchanged += 1;
                continue;
            }
        // A re-added entity continues the history its removal ended.
        let version = graph.last_version(&c.key) + 1;
        let uid = existing.map_or_else(|| uuid::Uuid::new_v4().to_string(), |o| o.uid.clone());
        let created_at = existing.map_or(at, |o| o.created_at);
        let mut entity = c.entity;
        entity.metadata.uid = Some(uid.clone());
        entity.metadata.etag = Some(format!("{}-{version}", &c.hash[..12]));
        let write = EntityWrite {
            relations: c.relations.iter().map(|(t, _, target)| RelationRow { source_key: c.key.clone(), relation: t.clone(), target_key: target.clone() }).collect(),
            entry: CatalogEntry {
                entity: Arc::new(entity),
                key: c.key,
                uid,
                hash: c.hash,
                source: source.to_owned(),
                parent: c.parent,
                orphan: false,
                version,
                created_at,
                updated_at: at,
            },
        };
        if existing.is_some() { changes.updated.push(write) } else { changes.added.push(write) }
    }

    if full && complete {
        for entry in graph.entries().filter(|e| e.source == *source) {
            let from_retained_file = entry
                .entity
                .annotation(portico_model::ANNOTATION_LOCATION)
                .and_then(|l| l.split_once(':'))
                .is_some_and(|(_, file)| retained_files.contains(file));
            if seen.contains_key(&entry.key) || retained.contains(&entry.key) || from_retained_file {
                continue;
            }
            let gone = EntityGone { key: entry.key.clone(), uid: entry.uid.clone(), version: entry.version + 1 };
            match orphan_strategy {
                OrphanStrategy::Delete => changes.removed.push(gone),
                OrphanStrategy::Keep if !entry.orphan => changes.orphaned.push(gone),
                OrphanStrategy::Keep => {}
            }
        }
    }
    for key in removals {
        if let Some(entry) = graph.get(&key).filter(|e| e.source == *source) {
            changes.removed.push(EntityGone { key, uid: entry.uid.clone(), version: entry.version + 1 });
        }
    }

    (changes, report)
}
