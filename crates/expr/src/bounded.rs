//! Evaluation steps that loop or build values, made to account for themselves. The evaluator
//! (the `cel` crate) has no hooks of its own, so the tree it evaluates is rewritten
//! (`rewrite::bound`) to route those steps through the functions here:
//!
//! - `@tick(x)` is one loop iteration, evaluated inside every `exists`, `all`, `existsOne`,
//!   `map` and `filter`, so a loop nested in a loop is counted (and can be stopped) where it
//!   runs, not only between entities;
//! - `@sized(x)` measures a value about to be copied into a list or map literal (the evaluator
//!   copies values deeply), and the result of calls that grow their input by a bounded factor
//!   (`strings.quote`, `format`);
//! - `@add`, `@replace`, `@join` and `@split` work out the size of their result from their
//!   arguments *before* building it, since each can multiply its input (`s.replace('a', s)`).
//!
//! A value over [`Limits::max_value_bytes`](crate::Limits), or a run past its produced bytes,
//! iterations or time, fails with an error naming the limit, and sets the budget's `exceeded`
//! flag so that the whole run ends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use cel::common::types::{CelBytes, CelList, CelString, Kind};
use cel::common::value::{CowVal, Val};
use cel::{Context, ExecutionError, FunctionContext, Value};

use crate::budget::Budget;

/// The name under which limit errors travel: [`crate::check`] reports them as limits.
pub(crate) const LIMIT: &str = "@limit";
pub(crate) const TICK: &str = "@tick";
pub(crate) const SIZED: &str = "@sized";
pub(crate) const ADD: &str = "@add";
/// String functions measured before they run (and `matches`, whose patterns are compiled
/// once), by the names users write.
pub(crate) const MEASURED: &[&str] = &["replace", "join", "split", "matches"];

/// Compiled patterns kept by `matches` before the cache starts over: a policy or a query asks
/// the same pattern of every entity, and compiling it each time cost more than the rest.
const PATTERNS: usize = 256;

/// Iterations counted locally before they are charged to the shared budget: a context
/// belongs to one thread, so ticks cost an uncontended add.
const TICK_BATCH: u64 = 1024;

/// Bookkeeping per element of a list or entry of a map, on top of what it holds.
const SLOT: usize = 32;

/// Installs the functions on a root context.
pub(crate) fn install(ctx: &mut Context<'_, '_>, budget: Arc<Budget>) {
    let meter = Arc::new(Meter { budget, pending: AtomicU64::new(0) });
    let m = meter.clone();
    add(ctx, TICK, Box::new(move |ftx: &mut FunctionContext| {
        m.tick()?;
        one(ftx)
    }));
    let m = meter.clone();
    add(ctx, SIZED, Box::new(move |ftx: &mut FunctionContext| {
        let v = one(ftx)?;
        m.value(deep_size(v.as_ref(), m.cap()), "a value")?;
        Ok(v)
    }));
    let m = meter.clone();
    add(ctx, ADD, Box::new(move |ftx: &mut FunctionContext| plus(&m, ftx)));
    let m = meter.clone();
    add(ctx, "@replace", Box::new(move |ftx: &mut FunctionContext| replace(&m, ftx)));
    let m = meter.clone();
    add(ctx, "@join", Box::new(move |ftx: &mut FunctionContext| join(&m, ftx)));
    let m = meter;
    add(ctx, "@split", Box::new(move |ftx: &mut FunctionContext| split(&m, ftx)));
    add(ctx, "@matches", Box::new(matches));
}

/// `s.matches(re)`, as the standard function answers, with each pattern compiled once.
fn matches<'c, 'v>(ftx: &mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> {
    static CACHE: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, regex::Regex>>> = std::sync::LazyLock::new(Default::default);
    let args = std::mem::take(&mut ftx.args);
    if args.len() != 2 {
        return Err(ExecutionError::no_such_member_overload("matches", type_names(&args)));
    }
    let s = strings("matches", &args, 2)?;
    let (this, pattern) = (s[0], s[1]);
    let cached = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(pattern).cloned();
    let re = match cached {
        Some(re) => re,
        None => {
            let re = regex::Regex::new(pattern).map_err(|e| ExecutionError::function_error("matches", format!("'{pattern}' not a valid regex:\n{e}")))?;
            let mut cache = CACHE.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            if cache.len() >= PATTERNS {
                cache.clear();
            }
            cache.insert(pattern.to_owned(), re.clone());
            re
        }
    };
    Ok(CowVal::owned(cel::common::types::CelBool::from(re.is_match(this))))
}

/// A function that takes its arguments as they are (no conversion, no copy): the `cel`
/// crate's own function type, which it accepts as is.
type Raw = Box<dyn for<'c, 'v> Fn(&mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> + Send + Sync>;

fn add(ctx: &mut Context<'_, '_>, name: &str, f: Raw) {
    ctx.add_function(name, f).expect("internal function names are not standard CEL overloads");
}

struct Meter {
    budget: Arc<Budget>,
    pending: AtomicU64,
}

impl Meter {
    fn tick(&self) -> Result<(), ExecutionError> {
        // Once any limit is hit, every iteration fails at once: a loop that defers an error of
        // its body (`all`, `exists`) must not run on.
        if self.budget.exceeded() {
            return Err(limit(self.budget.reason().unwrap_or("a cost limit was reached").to_owned()));
        }
        let pending = self.pending.fetch_add(1, Ordering::Relaxed) + 1;
        if pending >= TICK_BATCH {
            self.pending.store(0, Ordering::Relaxed);
            self.budget.charge_iterations(pending).map_err(limit)?;
        }
        Ok(())
    }

    fn value(&self, bytes: usize, what: &str) -> Result<(), ExecutionError> {
        self.budget.charge_value(bytes, what).map_err(limit)
    }

    /// Where measuring can stop: anything larger fails anyway.
    fn cap(&self) -> usize {
        self.budget.limits().max_value_bytes.saturating_add(1)
    }
}

fn limit(message: String) -> ExecutionError {
    ExecutionError::function_error(LIMIT, message)
}

/// The single argument of a wrapper, moved out (no copy).
fn one<'c, 'v>(ftx: &mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> {
    match ftx.args.len() {
        1 => Ok(ftx.args.pop().expect("one argument")),
        n => Err(ExecutionError::invalid_argument_count(1, n)),
    }
}

/// Bytes a value takes, counted deeply, stopping once past `cap`.
pub(crate) fn deep_size(v: &dyn Val, cap: usize) -> usize {
    let mut total = 0usize;
    measure(v, cap, &mut total);
    total
}

fn measure(v: &dyn Val, cap: usize, total: &mut usize) {
    if *total > cap {
        return;
    }
    match v.get_type().kind() {
        Kind::String => *total += SLOT + str_of(v).map_or(0, str::len),
        Kind::Bytes => *total += SLOT + v.downcast_ref::<CelBytes>().map_or(0, |b| b.inner().len()),
        Kind::List => {
            *total += SLOT;
            if let Some(items) = v.as_iterable() {
                let mut items = items.iter();
                while let Some(item) = items.next() {
                    *total += SLOT;
                    measure(item, cap, total);
                    if *total > cap {
                        return;
                    }
                }
            }
        }
        Kind::Map => {
            *total += SLOT;
            let (Some(keys), Some(indexer)) = (v.as_iterable(), v.as_indexer()) else { return };
            let mut keys = keys.iter();
            while let Some(key) = keys.next() {
                *total += SLOT;
                measure(key, cap, total);
                if let Ok(value) = indexer.get(key) {
                    measure(value.as_ref(), cap, total);
                }
                if *total > cap {
                    return;
                }
            }
        }
        _ => *total += SLOT,
    }
}

fn str_of(v: &dyn Val) -> Option<&str> {
    v.downcast_ref::<CelString>().map(|s| s.inner())
}

fn type_names(args: &[CowVal<'_, '_>]) -> Vec<String> {
    args.iter().map(|a| a.get_type().name().to_owned()).collect()
}

/// `a + b`, with strings, bytes and lists measured before they are joined.
fn plus<'c, 'v>(meter: &Meter, ftx: &mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> {
    let [a, b] = std::mem::take(&mut ftx.args).try_into().map_err(|args: Vec<_>| ExecutionError::invalid_argument_count(2, args.len()))?;
    let (ka, kb) = (a.get_type().kind(), b.get_type().kind());
    let bytes = match (ka, kb) {
        (Kind::String, Kind::String) | (Kind::Bytes, Kind::Bytes) | (Kind::List, Kind::List) => {
            let cap = meter.cap();
            Some(deep_size(a.as_ref(), cap).saturating_add(deep_size(b.as_ref(), cap)))
        }
        _ => None,
    };
    if let Some(bytes) = bytes {
        let what = match ka {
            Kind::List => "the list built by '+'",
            _ => "the string built by '+'",
        };
        meter.value(bytes, what)?;
    }
    let Some(adder) = a.as_adder() else {
        return Err(ExecutionError::UnsupportedBinaryOperator(
            "add",
            Value::try_from(a.as_ref()).unwrap_or(Value::Null),
            Value::try_from(b.as_ref()).unwrap_or(Value::Null),
        ));
    };
    Ok(CowVal::Owned(adder.add(b.as_ref())?.into_owned()))
}

/// The string arguments of a measured string function, or the error the standard function
/// gives for others.
fn strings<'a>(name: &str, args: &'a [CowVal<'_, '_>], count: usize) -> Result<Vec<&'a str>, ExecutionError> {
    args.iter()
        .take(count)
        .map(|a| str_of(a.as_ref()))
        .collect::<Option<Vec<_>>>()
        .filter(|s| s.len() == count)
        .ok_or_else(|| ExecutionError::no_such_member_overload(name, type_names(args)))
}

/// The optional count argument (`replace`'s and `split`'s last): negative means all.
fn count_arg(name: &str, args: &[CowVal<'_, '_>], at: usize) -> Result<Option<usize>, ExecutionError> {
    match args.get(at) {
        None => Ok(None),
        Some(v) => match Value::try_from(v.as_ref()) {
            Ok(Value::Int(n)) => Ok(usize::try_from(n).ok()),
            _ => Err(ExecutionError::no_such_member_overload(name, type_names(args))),
        },
    }
}

/// `s.replace(from, to[, n])`: the result's length is known from the number of matches.
fn replace<'c, 'v>(meter: &Meter, ftx: &mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> {
    let args = std::mem::take(&mut ftx.args);
    if !(3..=4).contains(&args.len()) {
        return Err(ExecutionError::no_such_member_overload("replace", type_names(&args)));
    }
    let s = strings("replace", &args, 3)?;
    let (this, from, to) = (s[0], s[1], s[2]);
    let n = count_arg("replace", &args, 3)?;
    if n == Some(0) || (!from.is_empty() && to.len() <= from.len()) {
        // Never longer than the input.
        meter.value(SLOT + this.len(), "the string built by replace()")?;
    } else {
        let found = if from.is_empty() { this.chars().count() + 1 } else { this.matches(from).count() };
        let replaced = n.map_or(found, |n| n.min(found));
        let len = (this.len() + replaced.saturating_mul(to.len())).saturating_sub(replaced * from.len());
        meter.value(SLOT + len, "the string built by replace()")?;
    }
    let out = match n {
        Some(n) => this.replacen(from, to, n),
        None => this.replace(from, to),
    };
    Ok(CowVal::owned(CelString::from(out)))
}

/// `list.join([sep])`: the sum of the parts and the separators between them.
fn join<'c, 'v>(meter: &Meter, ftx: &mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> {
    let args = std::mem::take(&mut ftx.args);
    let sep = match args.len() {
        1 => "",
        2 => str_of(args[1].as_ref()).ok_or_else(|| ExecutionError::no_such_member_overload("join", type_names(&args)))?,
        _ => return Err(ExecutionError::no_such_member_overload("join", type_names(&args))),
    };
    let items = args[0].as_iterable().ok_or_else(|| ExecutionError::no_such_member_overload("join", type_names(&args)))?;
    let mut parts = Vec::new();
    let mut iter = items.iter();
    while let Some(item) = iter.next() {
        let part = str_of(item).ok_or_else(|| ExecutionError::UnexpectedType { got: item.get_type().name().to_owned(), want: "string".to_owned() })?;
        parts.push(part);
    }
    let len = parts.iter().map(|p| p.len()).sum::<usize>().saturating_add(parts.len().saturating_sub(1).saturating_mul(sep.len()));
    meter.value(SLOT + len, "the string built by join()")?;
    Ok(CowVal::owned(CelString::from(parts.join(sep))))
}

/// `s.split(sep[, n])`: as many strings as separators found (code points for an empty one).
fn split<'c, 'v>(meter: &Meter, ftx: &mut FunctionContext<'c, 'v>) -> Result<CowVal<'c, 'v>, ExecutionError> {
    let args = std::mem::take(&mut ftx.args);
    if !(2..=3).contains(&args.len()) {
        return Err(ExecutionError::no_such_member_overload("split", type_names(&args)));
    }
    let s = strings("split", &args, 2)?;
    let (this, sep) = (s[0], s[1]);
    let n = count_arg("split", &args, 2)?;
    let found = if sep.is_empty() { this.chars().count() } else { this.matches(sep).count() + 1 };
    let parts = n.map_or(found, |n| n.min(found));
    meter.value(SLOT + this.len() + parts.saturating_mul(2 * SLOT), "the list built by split()")?;
    let pieces: Vec<&str> = match (n, sep.is_empty()) {
        (Some(0), _) => Vec::new(),
        (Some(n), true) => {
            let mut pieces = Vec::new();
            let mut rest = this;
            while let Some(c) = rest.chars().next() {
                if pieces.len() + 1 == n {
                    break;
                }
                let (head, tail) = rest.split_at(c.len_utf8());
                pieces.push(head);
                rest = tail;
            }
            if !rest.is_empty() {
                pieces.push(rest);
            }
            pieces
        }
        (Some(n), false) => this.splitn(n, sep).collect(),
        (None, true) => this.char_indices().map(|(i, c)| &this[i..i + c.len_utf8()]).collect(),
        (None, false) => this.split(sep).collect(),
    };
    let list: Vec<Box<dyn Val>> = pieces.into_iter().map(|p| Box::new(CelString::from(p.to_owned())) as Box<dyn Val>).collect();
    Ok(CowVal::owned(CelList::from(list)))
}

#[cfg(test)]
mod tests;
