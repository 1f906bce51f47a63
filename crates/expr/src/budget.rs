//! Cost limits. CEL has no loops, so an expression's own work is bounded by its size and the
//! sizes of the lists it ranges over; the lists that can be large come from the graph
//! functions, and every one of them charges the budget for each entity it visits. A clock
//! bounds the rest.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The limits an expression runs under. The defaults suit an interactive query over a catalog
/// of a few hundred thousand entities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest accepted source, in bytes.
    pub max_length: usize,
    /// Most operators (`==`, `&&`, `+`, `.`, ...) in one expression: each is a level of the tree.
    pub max_operators: usize,
    /// Entities and edges the graph functions may visit, summed over a whole run.
    pub max_steps: u64,
    /// Wall time for a whole run.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_length: 8 * 1024, max_operators: 1000, max_steps: 5_000_000, timeout: Duration::from_secs(10) }
    }
}

/// The budget of one run (a query over many entities shares one). Cheap to charge from any
/// thread.
#[derive(Debug)]
pub struct Budget {
    used: AtomicU64,
    max: u64,
    started: Instant,
    deadline: Instant,
    timeout: Duration,
    exceeded: AtomicBool,
}

impl Budget {
    pub fn new(limits: &Limits) -> Self {
        let started = Instant::now();
        Self {
            used: AtomicU64::new(0),
            max: limits.max_steps,
            started,
            deadline: started + limits.timeout,
            timeout: limits.timeout,
            exceeded: AtomicBool::new(false),
        }
    }

    /// Takes `steps` from the budget; fails once it is spent or the time is up.
    pub fn charge(&self, steps: u64) -> Result<(), String> {
        let used = self.used.fetch_add(steps, Ordering::Relaxed) + steps;
        if used > self.max {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(format!(
                "the expression visited more than {} entities and relations, its limit; narrow it (for example a kind, an owner or a max depth for reachable())",
                self.max
            ));
        }
        self.check_time()
    }

    /// Fails once the time is up.
    pub fn check_time(&self) -> Result<(), String> {
        if Instant::now() > self.deadline {
            self.exceeded.store(true, Ordering::Relaxed);
            return Err(format!("the expression ran longer than {} ms, its limit", self.timeout.as_millis()));
        }
        Ok(())
    }

    /// Whether a limit was hit: such an error ends a whole run, not just one entity.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_run_out() {
        let b = Budget::new(&Limits { max_steps: 10, ..Limits::default() });
        assert!(b.charge(10).is_ok());
        assert!(!b.exceeded());
        let e = b.charge(1).unwrap_err();
        assert!(e.contains("more than 10"), "{e}");
        assert!(b.exceeded());
    }

    #[test]
    fn time_runs_out() {
        let b = Budget::new(&Limits { timeout: Duration::ZERO, ..Limits::default() });
        std::thread::sleep(Duration::from_millis(2));
        assert!(b.check_time().unwrap_err().contains("longer than 0 ms"));
    }
}
