//! Requests for the same work coalesce: 200 calls to refresh one location (or run one discovery
//! source) while it is being read make at most two reads, not 200 queued ones.
//!
//! A request needs a run that *starts after it was made* (an earlier run may have missed the
//! change the caller is announcing). So while one run is going, every new request waits for
//! the next one, and all of them share it: at most one run going and one waiting per key.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use parking_lot::Mutex;

/// Coalesces runs of work per key; `T` is what a run answers, shared with everyone who joined.
pub struct Coalesce<T: Clone> {
    slots: Mutex<HashMap<String, Arc<Slot<T>>>>,
}

struct Slot<T> {
    /// Held while a run is going.
    turn: tokio::sync::Mutex<()>,
    state: Mutex<SlotState<T>>,
}

struct SlotState<T> {
    /// Requests made so far (each takes the next number).
    requested: u64,
    /// The number of the last request made when the latest run started: that run covers it
    /// and every one before.
    covered: u64,
    last: Option<Result<T, String>>,
}

/// How a request was answered.
pub enum Joined<T, E> {
    /// This request ran the work: its own result.
    Ran(Result<T, E>),
    /// Another request's run, which started after this one was made, answered it (its error as
    /// text).
    Shared(Result<T, String>),
}

impl<T: Clone> Default for Coalesce<T> {
    fn default() -> Self {
        Self { slots: Mutex::new(HashMap::new()) }
    }
}

impl<T: Clone> Coalesce<T> {
    /// Runs `work` for `key`, or joins a run of it that starts after this call.
    pub async fn run<E: std::fmt::Display, F: Future<Output = Result<T, E>>>(&self, key: &str, work: impl FnOnce() -> F) -> Joined<T, E> {
        let slot = self
            .slots
            .lock()
            .entry(key.to_owned())
            .or_insert_with(|| Arc::new(Slot { turn: tokio::sync::Mutex::new(()), state: Mutex::new(SlotState { requested: 0, covered: 0, last: None }) }))
            .clone();
        let mine = {
            let mut s = slot.state.lock();
            s.requested += 1;
            s.requested
        };
        let _turn = slot.turn.lock().await;
        {
            let mut s = slot.state.lock();
            if s.covered >= mine
                && let Some(last) = s.last.clone()
            {
                return Joined::Shared(last);
            }
            s.covered = s.requested;
        }
        let result = work().await;
        slot.state.lock().last = Some(match &result {
            Ok(v) => Ok(v.clone()),
            Err(e) => Err(e.to_string()),
        });
        Joined::Ran(result)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn two_hundred_requests_during_a_run_make_two_runs() {
        let c = Arc::new(Coalesce::<usize>::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let work = |runs: Arc<AtomicUsize>| async move {
            let n = runs.fetch_add(1, Ordering::SeqCst) + 1;
            tokio::time::sleep(Duration::from_millis(50)).await;
            Ok::<_, String>(n)
        };
        let first = {
            let (c, runs) = (c.clone(), runs.clone());
            tokio::spawn(async move { matches!(c.run("loc", || work(runs)).await, Joined::Ran(Ok(1))) })
        };
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut later = Vec::new();
        for _ in 0..200 {
            let (c, runs) = (c.clone(), runs.clone());
            later.push(tokio::spawn(async move {
                match c.run("loc", || work(runs)).await {
                    Joined::Ran(r) | Joined::Shared(r) => r.unwrap(),
                }
            }));
        }
        assert!(first.await.unwrap());
        for h in later {
            // Every later request is answered by the second run, which started after it.
            assert_eq!(h.await.unwrap(), 2);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 2);
        // Another key is not held up, and a request after the runs runs again.
        assert!(matches!(c.run("other", || work(runs.clone())).await, Joined::Ran(Ok(3))));
        assert!(matches!(c.run("loc", || work(runs.clone())).await, Joined::Ran(Ok(4))));
    }
}
