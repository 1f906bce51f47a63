//! `debug:wait`: waits, up to ten minutes (for trying out timeouts, cancel and live logs).

use std::time::Duration;

use serde_json::{Value, json};

use crate::action::{Action, ActionError, Context};

pub struct DebugWait;

/// The longest wait allowed.
const MAX: Duration = Duration::from_secs(600);

#[async_trait::async_trait]
impl Action for DebugWait {
    fn id(&self) -> &'static str {
        "debug:wait"
    }

    fn description(&self) -> &'static str {
        "Waits for the given minutes, seconds and milliseconds (at most ten minutes in all)."
    }

    fn input_schema(&self) -> Value {
        json!({"type": "object", "properties": {
            "minutes": {"type": "number", "minimum": 0},
            "seconds": {"type": "number", "minimum": 0},
            "milliseconds": {"type": "number", "minimum": 0}
        }})
    }

    fn example(&self) -> &'static str {
        "- id: pause\n  name: Give the pipeline a moment\n  action: debug:wait\n  input:\n    seconds: 5\n"
    }

    fn dry_run_safe(&self) -> bool {
        true
    }

    async fn run(&self, cx: &mut Context<'_>, input: Value) -> Result<Value, ActionError> {
        let n = |k: &str| input.get(k).and_then(Value::as_f64).unwrap_or(0.0);
        let ms = n("minutes") * 60_000.0 + n("seconds") * 1000.0 + n("milliseconds");
        let wait = Duration::from_millis(ms as u64);
        if wait > MAX {
            return Err(ActionError::new(format!("asks to wait {} s; the most is {} s", wait.as_secs(), MAX.as_secs())));
        }
        cx.log(format!("waiting {} ms", wait.as_millis()));
        tokio::time::sleep(wait).await;
        Ok(json!({}))
    }
}
