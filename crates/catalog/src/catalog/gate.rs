//! Admission of queries. Every query (API, pages, dashboards, CLI) is evaluated through
//! [`Catalog::query`](super::Catalog::query), which passes here first:
//!
//! - at most `maxConcurrent` evaluate at once, each on its own threads; others wait in a
//!   queue of at most `maxQueued` for up to `queueTimeoutMs`, then are refused as busy (the
//!   API answers 503 with `Retry-After`), so a burst of expensive queries cannot take every
//!   core from the rest of the server;
//! - each admitted query holds a [`Ticket`] with its [`Cancel`] flag: dropping the ticket (the
//!   client went away and its request future was dropped) cancels the evaluation, which stops
//!   at its next step; [`Gate::close`] (the server is stopping) cancels every running query and
//!   refuses new ones, so shutdown never waits on a query.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use portico_expr::{Cancel, Limits};
use tokio::sync::{Semaphore, SemaphorePermit};

/// `queries:` in `portico.yaml`: how many queries run at once and under which limits.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct QueryConfig {
    /// Queries evaluated at once; 0 means the number of cores (at least 2).
    pub max_concurrent: usize,
    /// Queries waiting for a turn before new ones are refused as busy.
    pub max_queued: usize,
    /// How long a query waits for a turn before it is refused as busy.
    pub queue_timeout_ms: u64,
    /// Wall time of one query.
    pub timeout_ms: u64,
    /// Entities and relations the graph functions of one query may visit.
    pub max_steps: u64,
    /// Loop iterations (`exists`, `all`, `map`, `filter`) of one query.
    pub max_iterations: u64,
    /// Largest string, list or map one step of a query may produce, in bytes.
    pub max_value_bytes: usize,
    /// Bytes of strings, lists and maps one query may produce in all.
    pub max_produced_bytes: u64,
    /// Wall time of each saved query a dashboard shows.
    pub panel_timeout_ms: u64,
}

impl Default for QueryConfig {
    fn default() -> Self {
        let limits = Limits::default();
        Self {
            max_concurrent: 0,
            max_queued: 64,
            queue_timeout_ms: 5_000,
            timeout_ms: limits.timeout.as_millis() as u64,
            max_steps: limits.max_steps,
            max_iterations: limits.max_iterations,
            max_value_bytes: limits.max_value_bytes,
            max_produced_bytes: limits.max_produced_bytes,
            panel_timeout_ms: 2_000,
        }
    }
}

impl QueryConfig {
    /// The limits of one query.
    pub fn limits(&self) -> Limits {
        Limits {
            max_steps: self.max_steps,
            max_iterations: self.max_iterations,
            max_value_bytes: self.max_value_bytes,
            max_produced_bytes: self.max_produced_bytes,
            timeout: Duration::from_millis(self.timeout_ms),
            ..Limits::default()
        }
    }

    /// The limits of one dashboard panel: a query's, with the panel's time.
    pub fn panel_limits(&self) -> Limits {
        Limits { timeout: Duration::from_millis(self.panel_timeout_ms.min(self.timeout_ms)), ..self.limits() }
    }

    fn concurrency(&self) -> usize {
        match self.max_concurrent {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()).max(2),
            n => n,
        }
    }
}

/// Why a query was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Too many queries are running or waiting; try again after this many seconds.
    Busy { retry_after_secs: u64 },
    /// The server is stopping.
    Stopping,
}

pub(crate) struct Gate {
    config: QueryConfig,
    permits: Semaphore,
    waiting: AtomicUsize,
    running: Mutex<HashMap<u64, Cancel>>,
    next: AtomicU64,
    closed: AtomicBool,
}

impl Gate {
    pub(crate) fn new(config: QueryConfig) -> Self {
        let permits = Semaphore::new(config.concurrency());
        Self { config, permits, waiting: AtomicUsize::new(0), running: Mutex::new(HashMap::new()), next: AtomicU64::new(0), closed: AtomicBool::new(false) }
    }

    pub(crate) fn config(&self) -> &QueryConfig {
        &self.config
    }

    /// Waits for a turn, or refuses.
    pub(crate) async fn enter(&self) -> Result<Ticket<'_>, Refused> {
        if self.closed.load(Ordering::Relaxed) {
            return Err(Refused::Stopping);
        }
        let busy = Refused::Busy { retry_after_secs: (self.config.queue_timeout_ms / 1000).clamp(1, 60) };
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => {
                if self.waiting.fetch_add(1, Ordering::Relaxed) >= self.config.max_queued {
                    self.waiting.fetch_sub(1, Ordering::Relaxed);
                    return Err(busy);
                }
                let waited = tokio::time::timeout(Duration::from_millis(self.config.queue_timeout_ms), self.permits.acquire()).await;
                self.waiting.fetch_sub(1, Ordering::Relaxed);
                match waited {
                    Ok(Ok(permit)) => permit,
                    Ok(Err(_)) => return Err(Refused::Stopping),
                    Err(_) => return Err(busy),
                }
            }
        };
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let cancel = Cancel::new();
        self.running.lock().insert(id, cancel.clone());
        if self.closed.load(Ordering::Relaxed) {
            cancel.cancel();
        }
        Ok(Ticket { gate: self, id, cancel, _permit: permit })
    }

    /// Cancels every running query and refuses new ones.
    pub(crate) fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
        self.permits.close();
        for cancel in self.running.lock().values() {
            cancel.cancel();
        }
    }

    /// Queries evaluating now.
    pub(crate) fn running(&self) -> usize {
        self.running.lock().len()
    }
}

/// An admitted query. Dropping it cancels the evaluation (if still running) and frees the turn.
pub(crate) struct Ticket<'a> {
    gate: &'a Gate,
    id: u64,
    cancel: Cancel,
    _permit: SemaphorePermit<'a>,
}

impl Ticket<'_> {
    pub(crate) fn cancel(&self) -> &Cancel {
        &self.cancel
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.gate.running.lock().remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gate(max_concurrent: usize, max_queued: usize, queue_timeout_ms: u64) -> Gate {
        Gate::new(QueryConfig { max_concurrent, max_queued, queue_timeout_ms, ..QueryConfig::default() })
    }

    #[tokio::test]
    async fn queries_past_the_cap_wait_then_are_refused_as_busy() {
        let g = gate(1, 1, 50);
        let first = g.enter().await.unwrap();
        assert_eq!(g.enter().await.err(), Some(Refused::Busy { retry_after_secs: 1 }));
        drop(first);
        assert!(g.enter().await.is_ok(), "the turn is free again");
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once() {
        let g = std::sync::Arc::new(gate(1, 0, 10_000));
        let _first = g.enter().await.unwrap();
        let started = std::time::Instant::now();
        assert!(matches!(g.enter().await, Err(Refused::Busy { .. })));
        assert!(started.elapsed() < Duration::from_millis(100));
    }

    #[tokio::test]
    async fn dropping_a_ticket_cancels_its_query_and_closing_cancels_all() {
        let g = gate(4, 4, 50);
        let a = g.enter().await.unwrap();
        let cancel_a = a.cancel().clone();
        drop(a);
        assert!(cancel_a.is_cancelled());
        let b = g.enter().await.unwrap();
        assert_eq!(g.running(), 1);
        g.close();
        assert!(b.cancel().is_cancelled());
        assert_eq!(g.enter().await.err(), Some(Refused::Stopping));
    }
}
