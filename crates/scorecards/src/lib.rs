//! Scorecards: standards as code. A `Scorecard` entity (`portico.dev/v1`) names the entities it
//! applies to (`spec.filter`), its ordered levels (Bronze, Silver, Gold unless it names its own)
//! and its rules, each an expression of the one language, often a built-in check
//! (`has_owner()`, see [`portico_expr::CHECKS`]). An entity reaches a level when it passes every
//! rule of that level and of all lower ones; its score is the weighted share of rules passed.
//!
//! [`Scorecards`] keeps every scorecard's results current with the read model, scoring again
//! only what a change may have changed; [`report`] has what the API, pages and command line
//! show, the deploy gate included.

mod definition;
pub mod dora;
mod engine;
mod evaluate;
pub mod events;
pub mod history;
pub mod import;
pub mod initiative;
pub mod record;
pub mod report;
mod scores;

pub use definition::{Remediation, Rule, Scorecard, DEFAULT_LEVELS};
pub use engine::{follow, Broken, Card, Scorecards, Update};
pub use history::{History, keep_history};
pub use record::{CostGroup, GroupBy, Group, Imported, RecordError, Recorded, RecordedEvent, Recorder, keep_dora_current};
pub use evaluate::{affected, full, partial, score, Evaluated, Score};
pub use scores::Scores;

/// Makes every entity validator check Scorecard entities' expressions, levels and rule ids (and
/// Initiative entities' dates, target and filter),
/// so a mistake is an error at its line when the file is read, not a surprise later.
pub fn register() {
    portico_model::register_entity_check("Scorecard", definition::check_entity);
    portico_model::register_entity_check("Initiative", initiative::check_entity);
}

#[cfg(test)]
mod tests;
