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

/// Waits until the catalog has stopped growing for two seconds (discovery's first runs done),
/// twenty seconds at most.
pub async fn settle(catalog: &portico_catalog::Catalog) {
    let mut last = (catalog.read().len(), std::time::Instant::now());
    let started = std::time::Instant::now();
    while last.1.elapsed() < std::time::Duration::from_secs(2) && started.elapsed() < std::time::Duration::from_secs(20) {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let now = catalog.read().len();
        if now != last.0 {
            last = (now, std::time::Instant::now());
        }
    }
}

/// The progress the demo's initiatives made before it started: a row a week from each one's
/// start (at most twelve weeks back) to yesterday, what was left shrinking steadily to what is
/// left now, for the whole of each initiative and for each owner, so their burn-downs and
/// per-owner charts have a past to draw. Written once; the history writer goes on from there.
pub async fn seed_progress(scorecards: &std::sync::Arc<portico_scorecards::Scorecards>, catalog: &portico_catalog::Catalog) {
    use portico_scorecards::initiative;
    let now = portico_catalog::now_ms();
    let s = scorecards.clone();
    // The counts the history writer would store now, and where each initiative began.
    let current = match tokio::task::spawn_blocking(move || {
        s.update();
        let starts: std::collections::HashMap<String, i64> = initiative::all(&s.graph().read()).into_iter().flatten().map(|i| (i.key, i.start.unwrap_or(now - 84 * DAY))).collect();
        (portico_scorecards::history::current_progress(&s, now), starts)
    })
    .await
    {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = %e, "cannot compute the demo's initiatives' progress");
            return;
        }
    };
    let (counts_of, starts) = current;
    let store = catalog.store();
    let mut rows = Vec::new();
    for (key, counts) in counts_of {
        let start = starts.get(&key).copied().unwrap_or(now - 84 * DAY);
        if store.progress(&key, 0, now + 1).await.map(|r| !r.is_empty()).unwrap_or(true) {
            continue;
        }
        let first = start.max(now - 84 * DAY);
        let weeks = ((now - DAY - first) / (7 * DAY)).max(1);
        for (owner, (done, total)) in counts {
            let left_now = total - done;
            let left_then = (left_now + (total as f64 * 0.45).ceil() as i32).min(total);
            for w in 0..=weeks {
                let at = if w == weeks { now - DAY } else { first + w * 7 * DAY };
                let left = left_then - ((left_then - left_now) as i64 * w / weeks) as i32;
                rows.push(portico_store::ProgressRow { initiative: key.clone(), owner: owner.clone(), at, done: total - left, total });
            }
        }
    }
    if let Err(e) = store.append_progress(&rows).await {
        tracing::warn!(error = %e, "the demo's initiatives' progress could not be recorded");
    }
}
