//! Several replicas, one database: each replica's read model follows the changes the others
//! commit. A change set announces `(replica, source)` when it commits (PostgreSQL `NOTIFY`);
//! every other replica reloads that source's entities from the store and applies the
//! difference to its read model. If the announcement channel breaks, the follower reconnects
//! and resynchronizes everything, since announcements may have been missed meanwhile.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;

use super::{Catalog, CatalogEvent};
use crate::IngestError;

impl Catalog {
    /// This process's identity among the replicas sharing the store.
    pub fn replica(&self) -> &str {
        &self.replica
    }

    /// Brings the read model in step with the store for one source: entities added, changed
    /// or removed by another replica. Returns how many entities changed.
    pub async fn sync_source(&self, source: &str) -> Result<usize, IngestError> {
        let stored = self.store.load_source(source).await?;
        let changed = self.sync(Some(source), stored);
        self.sync_errors(Some(source)).await?;
        Ok(changed)
    }

    /// Brings the whole read model in step with the store.
    pub async fn sync_all(&self) -> Result<usize, IngestError> {
        let stored = self.store.load_entities().await?;
        let changed = self.sync(None, stored);
        self.sync_errors(None).await?;
        Ok(changed)
    }

    fn sync(&self, source: Option<&str>, stored: Vec<portico_model::CatalogEntry>) -> usize {
        let validator = self.validator();
        let mut event = CatalogEvent { source: source.unwrap_or("*").to_owned(), changed: Vec::new(), removed: Vec::new() };
        let mut graph = self.graph.write();
        let keep: HashSet<&str> = stored.iter().map(|e| e.key.as_str()).collect();
        let gone: Vec<String> = graph
            .entries()
            .filter(|e| source.is_none_or(|s| e.source == s) && !keep.contains(e.key.as_str()))
            .map(|e| e.key.clone())
            .collect();
        drop(keep);
        for key in gone {
            graph.remove(&key);
            event.removed.push(key);
        }
        let mut kinds_changed = false;
        for entry in stored {
            let same = graph.get(&entry.key).is_some_and(|e| e.version == entry.version && e.hash == entry.hash && e.orphan == entry.orphan);
            if !same {
                kinds_changed |= entry.entity.kind == "Kind";
                event.changed.push(entry.key.clone());
                graph.upsert(entry, &validator);
            }
        }
        kinds_changed |= event.removed.iter().any(|k| k.starts_with("kind:"));
        if kinds_changed {
            self.reload_kinds(&graph);
        }
        drop(graph);
        let n = event.changed.len() + event.removed.len();
        if n > 0 {
            let _ = self.events.send(event);
        }
        n
    }

    /// Follows other replicas' changes in the background. Returns `None` when the store has no
    /// other replicas to hear from (SQLite).
    pub async fn follow(self: &Arc<Self>) -> Result<Option<tokio::task::JoinHandle<()>>, IngestError> {
        let Some(mut changes) = self.store.changes().await? else { return Ok(None) };
        let catalog = self.clone();
        Ok(Some(tokio::spawn(async move {
            loop {
                while let Some(next) = changes.next().await {
                    match next {
                        Ok((replica, source)) if replica != catalog.replica => {
                            if let Some(key) = source.strip_prefix("facts:") {
                                if let Err(e) = catalog.sync_facts(key).await {
                                    tracing::error!(entity = %key, error = %e, "cannot follow another replica's facts");
                                }
                            } else if let Err(e) = catalog.sync_source(&source).await {
                                tracing::error!(%source, error = %e, "cannot follow a change from another replica");
                            }
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!(error = %e, "change announcements interrupted; reconnecting");
                            break;
                        }
                    }
                }
                // Announcements may have been missed: reconnect, then resynchronize everything.
                loop {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    match catalog.store.changes().await {
                        Ok(Some(s)) => {
                            changes = s;
                            break;
                        }
                        Ok(None) => return,
                        Err(e) => tracing::warn!(error = %e, "cannot listen for changes yet"),
                    }
                }
                let facts = catalog.resync_facts().await;
                match catalog.sync_all().await {
                    Ok(n) => tracing::info!(changed = n, facts_changed = ?facts.ok(), "resynchronized with the store"),
                    Err(e) => tracing::error!(error = %e, "resynchronization failed"),
                }
            }
        })))
    }
}
