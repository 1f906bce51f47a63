//! Credentials recently read from the database (API tokens, sessions), by the hash of their
//! secret, for [`TTL`]: a CI job's burst of requests, or a page's, reads its credential once a
//! second rather than once per request. A revocation on this replica empties the cache at once;
//! another replica sees it within [`TTL`]. Expiry is checked on every use against the
//! credential's own times.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a credential read from the database is used without reading it again.
pub const TTL: Duration = Duration::from_secs(1);
/// Credentials kept before the cache starts over.
const CAPACITY: usize = 10_000;

#[derive(Debug)]
pub struct Recent<T> {
    items: Mutex<HashMap<String, (T, Instant)>>,
}

impl<T> Default for Recent<T> {
    fn default() -> Self {
        Self { items: Mutex::default() }
    }
}

impl<T: Clone> Recent<T> {
    /// The credential of `hash`, if it was read less than [`TTL`] ago.
    pub fn get(&self, hash: &str) -> Option<T> {
        let items = self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        items.get(hash).filter(|(_, at)| at.elapsed() < TTL).map(|(t, _)| t.clone())
    }

    pub fn put(&self, hash: &str, item: T) {
        let mut items = self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if items.len() >= CAPACITY {
            items.clear();
        }
        items.insert(hash.to_owned(), (item, Instant::now()));
    }

    /// Forgets everything (after a revocation on this replica).
    pub fn clear(&self) {
        self.items.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}
