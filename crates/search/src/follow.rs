//! Keeping the index current: a thread of its own builds it from the read model, then applies
//! each batch of [`CatalogEvent`]s as they come. Indexing is CPU work that must not hold up the
//! async runtime, and the read model's lock is held only to copy out `Arc`s of the entities.
//! The thread ends when the catalog is dropped (its event channel closes).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};

use portico_catalog::{Catalog, CatalogEvent};
use tokio::sync::broadcast::error::{RecvError, TryRecvError};

use crate::{Indexable, SearchError, SearchIndex, snapshot};

thread_local! {
    /// The runtime the indexer thread reads docs from the store with (none outside one).
    static DOCS_RUNTIME: std::cell::RefCell<Option<tokio::runtime::Handle>> = const { std::cell::RefCell::new(None) };
}

/// Adds the text of the docs discovery found to the discovered entities among `docs`.
fn attach_docs(catalog: &Catalog, docs: &mut [Indexable]) {
    let keys: Vec<String> = docs.iter().filter(|d| d.discovered).map(|d| d.key.clone()).collect();
    if keys.is_empty() {
        return;
    }
    let Some(runtime) = DOCS_RUNTIME.with(|r| r.borrow().clone()) else { return };
    match runtime.block_on(portico_catalog::docs::docs_text(catalog, &keys)) {
        Ok(mut texts) => {
            for d in docs.iter_mut().filter(|d| d.discovered) {
                d.docs = texts.remove(&d.key);
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read docs to index; searching them waits for the next change"),
    }
}

/// Background priority for the calling thread and the threads it starts: ten nice steps below
/// the process (a tenth of a normal thread's share of a busy core), at most the lowest (19).
/// Failing to lower it changes nothing else.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use rustix::process::{getpriority_process, setpriority_process};
        let me = Some(rustix::thread::gettid());
        let lowered = getpriority_process(me).and_then(|nice| setpriority_process(me, (nice + BACKGROUND).min(19)));
        if let Err(e) = lowered {
            tracing::debug!(error = %e, "cannot lower the search indexer's priority");
        }
    }
}

/// How many nice steps indexing threads run below the process.
#[cfg(target_os = "linux")]
const BACKGROUND: i32 = 10;

impl SearchIndex {
    /// An index of `catalog`, built in the background and then kept current from its events.
    /// Returns at once; the index is [ready](Self::is_ready) when the first build is done.
    ///
    /// Indexing runs below the rest of the process in CPU priority (on Linux): on a machine
    /// with few cores, re-indexing after a change must not delay what answers requests, such
    /// as re-scoring the changed entity for a deploy gate. The index is made on the indexer's
    /// thread so that the threads its writer starts (indexing, merging) inherit that priority.
    pub fn follow(catalog: &Arc<Catalog>) -> Result<Arc<Self>, SearchError> {
        let events = catalog.subscribe();
        let weak = Arc::downgrade(catalog);
        // Docs live in the store: the indexer thread reads them through the caller's runtime.
        let runtime = tokio::runtime::Handle::try_current().ok();
        let (hand_over, handed) = std::sync::mpsc::sync_channel(1);
        let spawned = std::thread::Builder::new().name("search-index".into()).spawn(move || {
            lower_priority();
            let index = match Self::new() {
                Ok(index) => Arc::new(index),
                Err(e) => return drop(hand_over.send(Err(e))),
            };
            if hand_over.send(Ok(index.clone())).is_err() {
                return;
            }
            DOCS_RUNTIME.with(|r| *r.borrow_mut() = runtime);
            index.run(&weak, events)
        });
        match spawned.ok().and_then(|_| handed.recv().ok()) {
            Some(index) => index,
            None => {
                tracing::error!("cannot start the search indexer; full-text filters will scan");
                Ok(Arc::new(Self::new()?))
            }
        }
    }

    fn run(&self, catalog: &Weak<Catalog>, mut events: tokio::sync::broadcast::Receiver<CatalogEvent>) {
        let started = std::time::Instant::now();
        if !self.rebuild_from(catalog) {
            return;
        }
        tracing::info!(documents = self.len(), ms = started.elapsed().as_millis() as u64, "search index built");
        loop {
            let mut batch = match events.blocking_recv() {
                Ok(e) => vec![e],
                Err(RecvError::Lagged(_)) => {
                    if !self.rebuild_from(catalog) {
                        return;
                    }
                    continue;
                }
                Err(RecvError::Closed) => return,
            };
            let mut lagged = false;
            loop {
                match events.try_recv() {
                    Ok(e) => batch.push(e),
                    Err(TryRecvError::Lagged(_)) => lagged = true,
                    Err(TryRecvError::Empty | TryRecvError::Closed) => break,
                }
            }
            if lagged {
                if !self.rebuild_from(catalog) {
                    return;
                }
                continue;
            }
            let Some(catalog) = catalog.upgrade() else { return };
            let (changed, removed): (Vec<String>, Vec<String>) = batch.into_iter().fold((Vec::new(), Vec::new()), |mut acc, e| {
                acc.0.extend(e.changed);
                acc.1.extend(e.removed);
                acc
            });
            let mut docs = snapshot(&catalog.read(), changed.iter().map(String::as_str));
            attach_docs(&catalog, &mut docs);
            drop(catalog);
            let gone: Vec<&str> = changed.iter().chain(&removed).map(String::as_str).collect();
            if let Err(e) = self.write(docs, &gone, false) {
                tracing::error!(error = %e, "search index update failed");
            }
        }
    }

    /// Rebuilds from the catalog's read model; false when the catalog is gone.
    fn rebuild_from(&self, catalog: &Weak<Catalog>) -> bool {
        let Some(catalog) = catalog.upgrade() else { return false };
        let mut docs = {
            let graph = catalog.read();
            snapshot(&graph, graph.entries().map(|e| e.key.as_str()))
        };
        attach_docs(&catalog, &mut docs);
        drop(catalog);
        match self.write(docs, &[], true) {
            Ok(()) => self.ready.store(true, Ordering::Release),
            Err(e) => tracing::error!(error = %e, "search index build failed; full-text filters will scan"),
        }
        true
    }
}
