//! Failed authentications per client address: after [`MAX_FAILURES`] within [`WINDOW`], that
//! address's requests with a credential are refused (429, with `Retry-After`) until the window
//! ends, so a token cannot be guessed by brute force. Requests without a credential are not
//! limited here. Behind a proxy every client has the proxy's address: the limit then applies to
//! all of them together.

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

#[derive(Debug, Default)]
pub struct FailureLimit {
    windows: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl FailureLimit {
    /// Refuses an address that has failed too often in its current window.
    pub fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        let windows = self.windows.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match windows.get(&ip) {
            Some((start, count)) if *count >= MAX_FAILURES && start.elapsed() < WINDOW => {
                let retry_after_secs = (WINDOW - start.elapsed()).as_secs().max(1);
                Err(ApiError::TooManyRequests {
                    message: format!("too many failed attempts to authenticate from {ip}; try again in {retry_after_secs} s"),
                    retry_after_secs,
                })
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
        if entry.1 == MAX_FAILURES {
            tracing::warn!(%ip, failures = MAX_FAILURES, "too many failed authentications: refusing this address's credentials for a while");
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
    }
}
