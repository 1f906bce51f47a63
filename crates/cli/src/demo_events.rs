//! The demo's delivery history: twelve weeks of production deployments and incidents for four
//! of its services, made relative to now when the demo starts, so that DORA metrics, their
//! bands and the weekly charts show something true to life. `artist-lookup` deploys daily with
//! short lead times, `podcast-api` every other day, `scorecard-worker` weekly with some
//! failures, `billing-export` now and then, with an incident still open. (`portico` itself is
//! left to the docs' how-to, which records its first deployment.)

use serde_json::{Value, json};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

/// A service's habits: days between deployments, lead time in hours, every how many
/// deployments one fails, and incidents (days ago, hours to restore; `None`: still open).
struct Habit {
    entity: &'static str,
    every_days: i64,
    lead_hours: i64,
    fail_every: usize,
    incidents: &'static [(i64, Option<i64>)],
}

const HABITS: &[Habit] = &[
    Habit { entity: "component:default/artist-lookup", every_days: 1, lead_hours: 5, fail_every: 25, incidents: &[(20, Some(1)), (55, Some(2))] },
    Habit { entity: "component:default/podcast-api", every_days: 2, lead_hours: 30, fail_every: 9, incidents: &[(30, Some(6))] },
    Habit { entity: "component:default/scorecard-worker", every_days: 6, lead_hours: 60, fail_every: 5, incidents: &[(10, Some(20)), (40, Some(30))] },
    Habit { entity: "component:default/billing-export", every_days: 25, lead_hours: 400, fail_every: 3, incidents: &[(3, None), (60, Some(100))] },
];

/// The events, as the API takes them: deployments every `every_days` for 84 days, lead times
/// varying around the habit's, each `fail_every`-th one rolled back.
pub fn events(now: i64) -> Value {
    let mut events = Vec::new();
    let time = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).map(|t| t.to_rfc3339()).unwrap_or_default();
    for h in HABITS {
        let name = h.entity.rsplit('/').next().unwrap_or(h.entity);
        let mut n = 0;
        let mut day = 84;
        while day > 0 {
            n += 1;
            let finished = now - day * DAY + 10 * HOUR;
            // A lead time that varies by a third either way, the same at every start.
            let lead = h.lead_hours * HOUR * (2 + (n % 3) as i64) / 3;
            let status = if n % h.fail_every == 0 { "rolled_back" } else { "succeeded" };
            events.push(json!({"type": "deployment", "id": format!("demo-{name}-{n}"), "entity": h.entity, "environment": "production",
                "version": format!("1.{}.0", n), "commitTime": time(finished - lead), "startedAt": time(finished - 20 * 60_000),
                "finishedAt": time(finished), "status": status}));
            day -= h.every_days;
        }
        for (i, (ago, restore)) in h.incidents.iter().enumerate() {
            let opened = now - ago * DAY;
            let mut incident = json!({"type": "incident", "id": format!("DEMO-{name}-{i}"), "entity": h.entity, "openedAt": time(opened),
                "severity": if restore.is_none() { "sev2" } else { "sev3" }, "title": format!("{name} errors above their budget")});
            if let Some(hours) = restore {
                incident["resolvedAt"] = json!(time(opened + hours * HOUR));
            }
            events.push(incident);
        }
    }
    json!({ "events": events })
}

/// Records the history once (a demo started again on its kept data directory has it already),
/// for the services the demo's catalog has.
pub async fn seed(recorder: &portico_scorecards::Recorder, catalog: &portico_catalog::Catalog) {
    let store = catalog.store();
    match store.events(&portico_store::EventFilter { limit: 1, ..Default::default() }).await {
        Ok(some) if !some.is_empty() => return,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the demo's events");
            return;
        }
        Ok(_) => {}
    }
    let mut all = events(portico_catalog::now_ms());
    if let Some(list) = all["events"].as_array_mut() {
        let graph = catalog.read();
        list.retain(|e| e["entity"].as_str().is_some_and(|k| graph.get(k).is_some()));
    }
    match recorder.record(&all).await {
        Ok(done) => tracing::info!(events = done.added, "the demo's delivery history recorded"),
        Err(e) => tracing::warn!(error = %e, "the demo's delivery history could not be recorded"),
    }
}
