//! Expressions that would allocate gigabytes or loop for days stop at their budget, fast and
//! with an error naming the limit; everything else answers exactly as the standard evaluator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cel::Value;

use crate::*;

struct Empty;
impl Graph for Empty {
    fn id(&self, _: &str) -> Option<EntityId> {
        None
    }
    fn entity(&self, _: EntityId) -> Option<Value> {
        None
    }
    fn neighbours(&self, _: EntityId, _: &str, _: bool, _: &mut Vec<EntityId>) {}
    fn has_relation(&self, _: EntityId, _: &str, _: Option<&str>) -> bool {
        false
    }
    fn fact(&self, _: EntityId, _: &str) -> Option<Value> {
        None
    }
}
struct Access;
impl GraphAccess for Access {
    fn with_graph(&self, f: &mut dyn FnMut(&dyn Graph)) {
        f(&Empty)
    }
}

fn eval_with(budget: Arc<Budget>, source: &str) -> Result<Value, ExprError> {
    let expr = Expr::compile(source, &Vocabulary::entity(), budget.limits())?;
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-27T00:00:00Z").unwrap();
    on_big_stack(|| {
        let ctx = context(Arc::new(Access), budget.clone(), now);
        expr.eval(&ctx)
    })
}

fn eval(limits: Limits, source: &str) -> Result<Value, ExprError> {
    eval_with(Arc::new(Budget::new(&limits)), source)
}

/// The standard evaluator's answer, without Portico's rewrites.
fn standard(source: &str) -> Result<Value, String> {
    let program = env().compile(source).map_err(|e| e.to_string())?;
    on_big_stack(|| program.execute(&cel::Context::with_env(env())).map_err(|e| e.to_string()))
}

fn limit_error(limits: Limits, source: &str) -> (ExprError, Duration) {
    let started = Instant::now();
    let e = eval(limits, source).expect_err(source);
    (e, started.elapsed())
}

/// `'x'` grown tenfold `times` times with chained `replace()`: 10^times bytes.
fn chained_replace(times: usize) -> String {
    let mut s = "'x'".to_owned();
    for _ in 0..times {
        s.push_str(".replace('x', 'xxxxxxxxxx')");
    }
    s
}

#[test]
fn chained_replace_that_would_allocate_gigabytes_fails_fast_naming_the_limit() {
    // 10^12 bytes asked for in a 300-byte expression.
    let (e, took) = limit_error(Limits::default(), &chained_replace(12));
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(e.message.contains("the string built by replace() would be"), "{e}");
    assert!(e.message.contains("the limit for one value is 8.0 MiB (max_value_bytes)"), "{e}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // Under the limit it works.
    let Value::String(s) = eval(Limits::default(), &chained_replace(5)).unwrap() else { panic!() };
    assert_eq!(s.len(), 100_000);
}

#[test]
fn every_way_of_building_a_large_value_is_measured() {
    let big = chained_replace(6); // 1 MB
    let limits = Limits { max_value_bytes: 4 << 20, ..Limits::default() };
    for (source, what) in [
        (format!("[0,1,2,3,4,5,6,7,8,9].map(i, {big}).join('')"), "join()"),
        (format!("['a','b'].join({big}) + ['c','d','e','f','g'].join({big})"), "'+'"),
        (format!("({big}).split('').size()"), "split()"),
        (format!("'%s%s%s%s%s'.format([{big}, {big}, {big}, {big}, {big}])"), "a value"),
        (format!("[{big}] + [{big}] + [{big}] + [{big}] + [{big}]"), "'+'"),
    ] {
        let (e, took) = limit_error(limits, &source);
        assert_eq!(e.kind, ErrorKind::Limit, "{source}: {e}");
        assert!(e.message.contains(what) && e.message.contains("limit for one value"), "{what}: {e}");
        assert!(took < Duration::from_secs(2), "{what} took {took:?}");
    }
}

#[test]
fn values_kept_by_a_loop_count_against_the_run() {
    let big = chained_replace(6); // 1 MB each
    let limits = Limits { max_produced_bytes: 50 << 20, ..Limits::default() };
    let source = format!("[{}].map(i, {big}).size()", (0..100).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let (e, _) = limit_error(limits, &source);
    assert!(e.message.contains("produced more than 50.0 MiB"), "{e}");
}

fn nested_loops(levels: usize, width: usize) -> String {
    let range = format!("[{}]", (0..width).map(|i| i.to_string()).collect::<Vec<_>>().join(","));
    let mut s = "true".to_owned();
    for l in 0..levels {
        s = format!("{range}.all(v{l}, {s})");
    }
    s
}

#[test]
fn nested_loops_stop_at_the_iteration_limit() {
    // 30^5 = 24 million iterations inside one evaluation.
    let limits = Limits { max_iterations: 200_000, ..Limits::default() };
    let (e, took) = limit_error(limits, &nested_loops(5, 30));
    assert_eq!(e.kind, ErrorKind::Limit, "{e}");
    assert!(e.message.contains("more than 200000 loop iterations"), "{e}");
    assert!(took < Duration::from_secs(2), "took {took:?}");
    // map and filter (run by the evaluator as in-place appends) count too.
    for source in ["[0,1,2,3,4,5,6,7,8,9].map(a, [0,1,2,3,4,5,6,7,8,9].map(b, [0,1,2,3,4,5,6,7,8,9].map(c, [0,1,2,3,4,5,6,7,8,9].filter(d, d > a)))).size() > 0",
                   "[0,1,2,3,4,5,6,7,8,9].exists_one(a, [0,1,2,3,4,5,6,7,8,9].exists(b, [0,1,2,3,4,5,6,7,8,9].all(c, [0,1,2,3,4,5,6,7,8,9].all(d, [0,1,2,3,4,5,6,7,8,9].all(e, e >= 0)))))"] {
        let (e, _) = limit_error(Limits { max_iterations: 5_000, ..Limits::default() }, source);
        assert!(e.message.contains("more than 5000 loop iterations"), "{source}: {e}");
    }
}

#[test]
fn nested_loops_stop_at_the_time_limit_inside_one_evaluation() {
    let limits = Limits { timeout: Duration::from_millis(200), max_iterations: u64::MAX, ..Limits::default() };
    let (e, took) = limit_error(limits, &nested_loops(6, 40));
    assert!(e.message.contains("ran longer than 200 ms"), "{e}");
    assert!(took < Duration::from_millis(700), "took {took:?}");
}

#[test]
fn a_cancelled_evaluation_stops_within_milliseconds() {
    let cancel = Cancel::new();
    let budget = Arc::new(Budget::with_cancel(&Limits { max_iterations: u64::MAX, timeout: Duration::from_secs(600), ..Limits::default() }, cancel.clone()));
    let canceller = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(100));
        cancel.cancel();
        Instant::now()
    });
    let e = eval_with(budget.clone(), &nested_loops(6, 40)).unwrap_err();
    let cancelled_at = canceller.join().unwrap();
    assert!(e.message.contains("cancelled"), "{e}");
    assert!(cancelled_at.elapsed() < Duration::from_millis(200), "stopped {:?} after the cancel", cancelled_at.elapsed());
    assert!(budget.exceeded());
}

#[test]
fn bounded_steps_answer_exactly_as_the_standard_evaluator() {
    for source in [
        "'a-b-c'.replace('-', '+')",
        "'a-b-c'.replace('-', '', 1)",
        "'a-b-c'.replace('-', '==', -1)",
        "'a-b-c'.replace('-', '==', 0)",
        "'abc'.replace('', '.')",
        "'abc'.replace('', '.', 2)",
        "'héllo'.replace('é', 'e')",
        "'a,b,,c'.split(',')",
        "'a,b,,c'.split(',', 2)",
        "'a,b,,c'.split(',', 0)",
        "'a,b,,c'.split(',', -1)",
        "'héllo'.split('')",
        "'héllo'.split('', 3)",
        "''.split(',')",
        "['a', 'b', 'c'].join()",
        "['a', 'b', 'c'].join(', ')",
        "[].join('-')",
        "'%s is %d years and %.2f'.format(['x', 3, 1.5])",
        "'ab' + 'cd'",
        "[1, 2] + [3]",
        "b'ab' + b'c'",
        "1 + 2",
        "1.5 + 2.0",
        "9223372036854775807 + 1",
        "duration('1h') + duration('30m')",
        "timestamp('2026-01-01T00:00:00Z') + duration('1h')",
        "1 + 'a'",
        "[1, 2, 3].map(x, x * 2)",
        "[1, 2, 3].map(x, x > 1, x * 2)",
        "[1, 2, 3].filter(x, x % 2 == 1)",
        "[1, 2, 3].exists(x, x == 2)",
        "[1, 2, 3].all(x, x > 0)",
        "[1, 2, 3].exists_one(x, x > 2)",
        "[1, 0].exists(x, 1 / x == 1)",
        "[0, 1].all(x, 1 / x == 1)",
        "[1, 0].all(x, 1 / x == 1)",
        "{'a': 1, 'b': 2}.exists(k, k == 'b')",
        "{'a': [1, 2]}.a.map(x, [x, x + 1])",
        "{'k': 'a' + 'b', 'a' + 'c': 2}",
        "'x' in ['a' + 'x', 'x']",
        "[1, 2].map(x, {'v': x})",
        "size(['a', 'b'].map(s, s + s).join('-'))",
        "['a', 1].join('-')",
        "1.replace('a', 'b')",
        "'a'.split(1)",
    ] {
        let ours = eval(Limits::default(), source).map_err(|e| e.message);
        let theirs = standard(source);
        match (&ours, &theirs) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{source}"),
            (Err(_), Err(_)) => {}
            _ => panic!("{source}: ours {ours:?}, standard {theirs:?}"),
        }
    }
}
