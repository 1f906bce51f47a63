//! Cost limits. An expression's work has four sources, each bounded here: the graph functions
//! (every entity and edge they visit is a step), loops (every iteration of `exists`, `all`,
//! `existsOne`, `map` and `filter` is counted), the values it builds (every string, list or map
//! a step produces is measured before or as it is made: one value may not exceed
//! [`Limits::max_value_bytes`], and all of them together [`Limits::max_produced_bytes`]), and a
//! clock. A run can also be cancelled from outside (the client went away, the server is
//! stopping): evaluation notices at its next step.
//!
//! Every check is made where the work is done — inside a loop, before a string is built — not
//! only between entities, so no single evaluation can outrun its budget.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
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
    /// Loop iterations (`exists`, `all`, `existsOne`, `map`, `filter`), summed over a whole run.
    pub max_iterations: u64,
    /// Largest string, bytes, list or map (counted deeply, in bytes) one step may produce.
    pub max_value_bytes: usize,
    /// Bytes of all the values a run produces, summed.
    pub max_produced_bytes: u64,
    /// Wall time for a whole run.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_length: 8 * 1024,
            max_operators: 1000,
            max_steps: 5_000_000,
            max_iterations: 50_000_000,
            max_value_bytes: 8 << 20,
            max_produced_bytes: 256 << 20,
            timeout: Duration::from_secs(10),
        }
    }
}

/// A flag that stops runs from outside: set it and every run holding it fails at its next
/// step with a cancellation error. Cheap to clone and to check.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

/// The budget of one run (a query over many entities shares one). Cheap to charge from any
/// thread.
#[derive(Debug)]
pub struct Budget {
    limits: Limits,
    used: AtomicU64,
    iterations: AtomicU64,
    produced: AtomicU64,
    started: Instant,
    deadline: Instant,
    exceeded: AtomicBool,
    /// The first limit hit, repeated by every later check.
    reason: OnceLock<String>,
    cancel: Cancel,
}

impl Budget {
    pub fn new(limits: &Limits) -> Self {
        Self::with_cancel(limits, Cancel::new())
    }

    /// A budget that also stops when `cancel` is set.
    pub fn with_cancel(limits: &Limits, cancel: Cancel) -> Self {
        let started = Instant::now();
        Self {
            limits: *limits,
            used: AtomicU64::new(0),
            iterations: AtomicU64::new(0),
            produced: AtomicU64::new(0),
            started,
            deadline: started + limits.timeout,
            exceeded: AtomicBool::new(false),
            reason: OnceLock::new(),
            cancel,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Takes `steps` (entities and edges visited) from the budget; fails once it is spent or
    /// the time is up.
    pub fn charge(&self, steps: u64) -> Result<(), String> {
        let used = self.used.fetch_add(steps, Ordering::Relaxed) + steps;
        if used > self.limits.max_steps {
            return self.fail(format!(
                "the expression visited more than {} entities and relations, its limit; narrow it (for example a kind, an owner or a max depth for reachable())",
                self.limits.max_steps
            ));
        }
        self.check_time()
    }

    /// Takes `n` loop iterations from the budget; fails once they are spent, the time is up or
    /// the run was cancelled.
    pub fn charge_iterations(&self, n: u64) -> Result<(), String> {
        let used = self.iterations.fetch_add(n, Ordering::Relaxed) + n;
        if used > self.limits.max_iterations {
            return self.fail(format!(
                "the expression ran more than {} loop iterations (exists, all, map, filter), its limit",
                self.limits.max_iterations
            ));
        }
        self.check_time()
    }

    /// Accounts for a value of `bytes` about to be (or just) produced: fails when it is larger
    /// than one value may be, or when the run has produced too much in all.
    pub fn charge_value(&self, bytes: usize, what: &str) -> Result<(), String> {
        if bytes > self.limits.max_value_bytes {
            return self.fail(format!(
                "{what} would be {} long; the limit for one value is {} (max_value_bytes)",
                human_bytes(bytes as u64),
                human_bytes(self.limits.max_value_bytes as u64)
            ));
        }
        let produced = self.produced.fetch_add(bytes as u64, Ordering::Relaxed) + bytes as u64;
        if produced > self.limits.max_produced_bytes {
            return self.fail(format!(
                "the expression produced more than {} of strings, lists and maps in all, its limit (max_produced_bytes)",
                human_bytes(self.limits.max_produced_bytes)
            ));
        }
        self.check_time()
    }

    /// Fails once the time is up or the run was cancelled.
    pub fn check_time(&self) -> Result<(), String> {
        if self.cancel.is_cancelled() {
            return self.fail("the query was cancelled (the client went away or the server is stopping)".to_owned());
        }
        if Instant::now() > self.deadline {
            return self.fail(format!("the expression ran longer than {} ms, its limit", self.limits.timeout.as_millis()));
        }
        Ok(())
    }

    fn fail(&self, message: String) -> Result<(), String> {
        let first = self.reason.get_or_init(|| message).clone();
        self.exceeded.store(true, Ordering::Relaxed);
        Err(first)
    }

    /// The limit that ended the run, once one did.
    pub fn reason(&self) -> Option<&str> {
        self.reason.get().map(String::as_str)
    }

    /// Whether a limit was hit (or the run cancelled): such an error ends a whole run, not
    /// just one entity.
    pub fn exceeded(&self) -> bool {
        self.exceeded.load(Ordering::Relaxed)
    }

    pub fn used(&self) -> u64 {
        self.used.load(Ordering::Relaxed)
    }

    /// Loop iterations counted so far.
    pub fn iterations(&self) -> u64 {
        self.iterations.load(Ordering::Relaxed)
    }

    /// Bytes of values produced so far.
    pub fn produced(&self) -> u64 {
        self.produced.load(Ordering::Relaxed)
    }

    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

/// `n` bytes as people read them: `812 bytes`, `4.0 MiB`.
pub fn human_bytes(n: u64) -> String {
    match n {
        n if n >= 1 << 30 => format!("{:.1} GiB", n as f64 / (1u64 << 30) as f64),
        n if n >= 1 << 20 => format!("{:.1} MiB", n as f64 / (1u64 << 20) as f64),
        n if n >= 1 << 10 => format!("{:.1} KiB", n as f64 / 1024.0),
        n => format!("{n} bytes"),
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

    #[test]
    fn iterations_run_out() {
        let b = Budget::new(&Limits { max_iterations: 100, ..Limits::default() });
        assert!(b.charge_iterations(100).is_ok());
        assert!(b.charge_iterations(1).unwrap_err().contains("more than 100 loop iterations"));
        assert!(b.exceeded());
    }

    #[test]
    fn one_value_and_all_values_are_bounded() {
        let b = Budget::new(&Limits { max_value_bytes: 1 << 20, max_produced_bytes: 3 << 20, ..Limits::default() });
        let e = b.charge_value((1 << 20) + 1, "a string").unwrap_err();
        assert!(e.contains("a string would be 1.0 MiB long; the limit for one value is 1.0 MiB"), "{e}");
        let b = Budget::new(&Limits { max_value_bytes: 1 << 20, max_produced_bytes: 3 << 20, ..Limits::default() });
        for _ in 0..3 {
            b.charge_value(1 << 20, "a string").unwrap();
        }
        assert!(b.charge_value(1, "a string").unwrap_err().contains("more than 3.0 MiB"));
    }

    #[test]
    fn a_cancelled_run_stops_at_its_next_check() {
        let cancel = Cancel::new();
        let b = Budget::with_cancel(&Limits::default(), cancel.clone());
        assert!(b.check_time().is_ok());
        cancel.cancel();
        assert!(b.charge_iterations(1).unwrap_err().contains("cancelled"));
        assert!(b.exceeded());
    }
}
