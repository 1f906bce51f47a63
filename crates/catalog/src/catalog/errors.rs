//! Which entities have errors, in the read model: a source's last run may report errors for
//! an entity (an invalid or unreadable document; the entity keeps its last good version). The
//! read model knows them so that expressions can ask (`has_errors()`,
//! `no_dependencies_with_errors()`), kept in step on commit, at open, and when following
//! another replica's changes.

use std::collections::HashMap;

use portico_store::ErrorRecord;

use super::Catalog;
use crate::IngestError;

/// The entity keys of a source's errors.
fn keys(errors: &[ErrorRecord]) -> impl Iterator<Item = &str> {
    errors.iter().filter_map(|e| e.key.as_deref())
}

impl Catalog {
    /// Puts a source's errors, as just committed, in the read model.
    pub(crate) fn apply_errors(graph: &mut portico_graph::CatalogGraph, source: &str, errors: &[ErrorRecord]) {
        graph.set_source_errors(source, keys(errors));
    }

    /// Reads the stored errors of one source (`Some`) or of all (`None`) into the read model.
    pub(crate) async fn sync_errors(&self, source: Option<&str>) -> Result<(), IngestError> {
        match source {
            Some(s) => {
                let errors = self.store.source_errors(s).await?;
                Self::apply_errors(&mut self.graph.write(), s, &errors);
            }
            None => {
                let all = self.store.errors(None).await?;
                let mut by_source: HashMap<&str, Vec<&str>> = HashMap::new();
                for e in &all {
                    let keys = by_source.entry(e.source.as_str()).or_default();
                    keys.extend(e.key.as_deref());
                }
                let mut graph = self.graph.write();
                // Sources whose errors are gone are cleared too.
                for s in graph.sources_with_errors() {
                    if !by_source.contains_key(s.as_str()) {
                        graph.set_source_errors(&s, std::iter::empty());
                    }
                }
                for (s, keys) in by_source {
                    graph.set_source_errors(s, keys);
                }
            }
        }
        Ok(())
    }
}
