//! Counts per client address within a window: failed authentications (after [`MAX_FAILURES`]
//! within [`WINDOW`], that address's requests with a credential are refused, 429 with
//! `Retry-After`, until the window ends, so a token cannot be guessed by brute force), and
//! sign-ins started (each writes a row until its callback or its expiry, so their number is
//! bounded per address and in all). Behind a proxy, `server.trustedProxies` gives each client
//! its own address; without it, the limit applies to all the proxy's clients together.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Failures allowed per address and window.
pub const MAX_FAILURES: u32 = 10;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// Addresses tracked before the expired ones are dropped.
const PRUNE_AT: usize = 10_000;

/// Sign-ins one address may start per window.
pub const MAX_SIGN_INS: u32 = 30;
/// Sign-ins all addresses together may start per window.
pub const MAX_SIGN_INS_IN_ALL: u32 = 1000;

#[derive(Debug)]
pub struct FailureLimit {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
    max: u32,
    /// What is counted, for the refusal: `failed attempts to authenticate`.
    what: &'static str,
}

impl Default for FailureLimit {
    /// Failed authentications.
    fn default() -> Self {
        Self::new(MAX_FAILURES, "failed attempts to authenticate")
    }
}

impl FailureLimit {
    /// At most `max` of `what` per address and window.
    pub fn new(max: u32, what: &'static str) -> Self {
        Self { windows: Mutex::default(), max, what }
    }

    /// Refuses an address that has reached the limit in its current window.
    pub fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match windows.get(&ip) {
            Some((start, count)) if *count >= self.max && start.elapsed() < WINDOW => {
                let retry_after_secs = (WINDOW - start.elapsed()).as_secs().max(1);
                let from = if ip.is_unspecified() { String::new() } else { format!(" from {ip}") };
                Err(ApiError::TooManyRequests { message: format!("too many {}{from}; try again in {retry_after_secs} s", self.what), retry_after_secs })
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure of `ip`.
    pub fn fail(&self, ip: IpAddr) {
        let mut windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if windows.len() >= PRUNE_AT {
            windows.retain(|_, (start, _)| start.elapsed() < WINDOW);
        }
        let entry = windows.entry(ip).or_insert((Instant::now(), 0));
        if entry.0.elapsed() >= WINDOW {
            *entry = (Instant::now(), 0);
        }
        entry.1 += 1;
        if entry.1 == self.max {
            tracing::warn!(%ip, count = self.max, what = self.what, "limit reached: refusing this address for a while");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_refused_after_its_failures_and_others_are_not() {
        let limit = FailureLimit::default();
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        for _ in 0..MAX_FAILURES - 1 {
            limit.fail(a);
        }
        assert!(limit.check(a).is_ok());
        limit.fail(a);
        let e = limit.check(a).unwrap_err();
        assert!(matches!(e, ApiError::TooManyRequests { retry_after_secs: 1..=60, .. }), "{e:?}");
        assert!(limit.check(b).is_ok());
        let starts = FailureLimit::new(2, "sign-ins started");
        starts.fail(b);
        starts.fail(b);
        assert_eq!(starts.check(b).unwrap_err().to_string().split(';').next(), Some("too many sign-ins started from 10.0.0.2"));
    }
}
