//! The expression language on arbitrary input: compiling must never panic or overflow the
//! stack, and whatever compiles must evaluate (to a value or an error) within its limits.
//!
//! Run: `RUSTC_BOOTSTRAP=1 cargo fuzz run expr -- -max_total_time=600` from the repository root
//! (or `cargo +nightly fuzz run expr`); the seed corpus is `fuzz/corpus/expr`.

#![no_main]

use std::sync::Arc;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use portico_expr::cel::Value;
use portico_expr::{Budget, EntityId, Expr, Graph, GraphAccess, Limits, Vocabulary};

/// A graph of two entities that depend on each other.
struct Two;

impl Graph for Two {
    fn id(&self, reference: &str) -> Option<EntityId> {
        match reference {
            "component:default/a" => Some(0),
            "component:default/b" => Some(1),
            _ => None,
        }
    }
    fn entity(&self, id: EntityId) -> Option<Value> {
        let r = if id == 0 { "component:default/a" } else { "component:default/b" };
        Some(portico_expr::value::map([("ref", Value::from(r))]))
    }
    fn neighbours(&self, id: EntityId, _relation: &str, _inverse: bool, out: &mut Vec<EntityId>) {
        out.push(1 - id);
    }
    fn has_relation(&self, _id: EntityId, _relation: &str, _target: Option<&str>) -> bool {
        true
    }
    fn fact(&self, _id: EntityId, _name: &str) -> Option<Value> {
        None
    }
}

struct Access;

impl GraphAccess for Access {
    fn with_graph(&self, f: &mut dyn FnMut(&dyn Graph)) {
        f(&Two)
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else { return };
    // Small limits, so that the fuzzer reaches them: whatever it writes, evaluation must stop
    // at a limit rather than allocate without bound or run on.
    let limits = Limits {
        max_steps: 10_000,
        max_iterations: 100_000,
        max_value_bytes: 1 << 20,
        max_produced_bytes: 16 << 20,
        timeout: Duration::from_millis(200),
        ..Limits::default()
    };
    let Ok(expr) = Expr::compile(source, &Vocabulary::entity(), &limits) else { return };
    portico_expr::on_big_stack(|| {
        let now = chrono::Utc::now().fixed_offset();
        let mut ctx = portico_expr::context(Arc::new(Access), Arc::new(Budget::new(&limits)), now);
        ctx.add_variable_from_value("ref", "component:default/a");
        ctx.add_variable_from_value("kind", "Component");
        let _ = expr.eval(&ctx);
    });
});
