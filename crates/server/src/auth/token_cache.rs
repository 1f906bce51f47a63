//! API tokens recently read, by the hash of their secret, for [`TTL`]: a CI job's burst of
//! requests reads its token from the database once a second rather than once per request.
//! Revoking a token on this replica empties the cache at once; another replica sees the
//! revocation within [`TTL`]. Expiry is checked on every use against the token's own time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use portico_store::ApiToken;

/// How long a token read from the database is used without reading it again.
pub const TTL: Duration = Duration::from_secs(1);
/// Tokens kept before the cache starts over.
const CAPACITY: usize = 10_000;

#[derive(Debug, Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, (ApiToken, Instant)>>,
}

impl TokenCache {
    /// The token of `hash`, if it was read less than [`TTL`] ago.
    pub fn get(&self, hash: &str) -> Option<ApiToken> {
        let tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        tokens.get(hash).filter(|(_, at)| at.elapsed() < TTL).map(|(t, _)| t.clone())
    }

    pub fn put(&self, hash: &str, token: ApiToken) {
        let mut tokens = self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if tokens.len() >= CAPACITY {
            tokens.clear();
        }
        tokens.insert(hash.to_owned(), (token, Instant::now()));
    }

    /// Forgets every token (after a revocation on this replica).
    pub fn clear(&self) {
        self.tokens.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clear();
    }
}
