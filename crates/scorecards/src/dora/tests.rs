use serde_json::json;

use super::*;

const H: i64 = 3_600_000;
const D: i64 = 24 * H;

fn deploy(id: &str, finished: i64, commit: i64, status: &str, env: &str) -> EventRow {
    EventRow {
        id: id.into(),
        kind: "deployment".into(),
        entity_key: "component:default/cart".into(),
        at: finished,
        body: json!({"environment": env, "status": status, "finishedAt": finished, "commitTime": commit}),
        recorded_at: 0,
        updated_at: 0,
    }
}

fn incident(id: &str, opened: i64, resolved: Option<i64>, deployment: Option<&str>) -> EventRow {
    let mut body = json!({"openedAt": opened});
    if let Some(r) = resolved {
        body["resolvedAt"] = json!(r);
    }
    if let Some(d) = deployment {
        body["deployment"] = json!(d);
    }
    EventRow { id: id.into(), kind: "incident".into(), entity_key: "component:default/cart".into(), at: opened, body, recorded_at: 0, updated_at: 0 }
}

#[test]
fn bands_follow_the_published_thresholds() {
    assert_eq!(Band::of_frequency(7.0), Band::Elite);
    assert_eq!(Band::of_frequency(1.0), Band::High);
    assert_eq!(Band::of_frequency(0.25), Band::Medium);
    assert_eq!(Band::of_frequency(0.2), Band::Low);
    assert_eq!(Band::of_lead_time(23.9), Band::Elite);
    assert_eq!(Band::of_lead_time(24.0), Band::High);
    assert_eq!(Band::of_lead_time(200.0), Band::Medium);
    assert_eq!(Band::of_lead_time(720.0), Band::Low);
    assert_eq!(Band::of_failure_rate(0.05), Band::Elite);
    assert_eq!(Band::of_failure_rate(0.1), Band::High);
    assert_eq!(Band::of_failure_rate(0.15), Band::Medium);
    assert_eq!(Band::of_failure_rate(0.16), Band::Low);
    assert_eq!(Band::of_time_to_restore(0.5), Band::Elite);
    assert_eq!(Band::of_time_to_restore(5.0), Band::High);
    assert_eq!(Band::of_time_to_restore(48.0), Band::Medium);
    assert_eq!(Band::of_time_to_restore(200.0), Band::Low);
}

#[test]
fn the_four_keys_count_production_deployments_and_incidents_in_the_window() {
    let to = 100 * D;
    let from = to - 28 * D;
    let events = [
        // Four weeks: eight production deployments, one of them rolled back, one caused an incident.
        deploy("d1", from + D, from + D - 2 * H, "succeeded", "production"),
        deploy("d2", from + 3 * D, from + 3 * D - 4 * H, "succeeded", "Production"),
        deploy("d3", from + 5 * D, from + 5 * D - 6 * H, "rolled_back", "production"),
        deploy("d4", from + 8 * D, from + 8 * D - 10 * H, "succeeded", "prod"),
        deploy("d5", from + 10 * D, from + 10 * D - 30 * H, "succeeded", "production"),
        deploy("d6", from + 15 * D, from + 15 * D - H, "failed", "production"),
        deploy("d7", from + 20 * D, from + 20 * D - 8 * H, "succeeded", "production"),
        deploy("d8", from + 25 * D, from + 25 * D - 8 * H, "succeeded", "production"),
        // Not counted: staging, in progress, before the window.
        deploy("s1", from + 2 * D, from + D, "succeeded", "staging"),
        deploy("p1", from + 2 * D, from + D, "in_progress", "production"),
        deploy("old", from - D, from - 2 * D, "succeeded", "production"),
        incident("i1", from + 10 * D + H, Some(from + 10 * D + 3 * H), Some("d5")),
        incident("i2", from + 12 * D, Some(from + 12 * D + 30 * 60_000), None),
        incident("i3", from + 27 * D, None, None),
        // Opened before the window and still open: open, not counted in the window.
        incident("i0", from - 5 * D, None, None),
    ];
    let refs: Vec<&EventRow> = events.iter().collect();
    let d = compute(&refs, from, to, &DoraConfig::default());
    assert_eq!(d.window_days, 28);
    assert_eq!(d.deployments, 8);
    // Seven reached production (the failed one did not), over four weeks.
    assert_eq!(d.deploys_per_week, 1.75);
    assert_eq!(d.deploy_frequency_band, Some(Band::High));
    // Lead times of the six successes: 2, 4, 8, 8, 10, 30 hours -> median 8.
    assert_eq!(d.lead_time_hours, Some(8.0));
    assert_eq!(d.lead_time_band, Some(Band::Elite));
    // Rolled back, failed, and d5 named by an incident: 3 of 8.
    assert_eq!(d.change_failure_rate, Some(0.38));
    assert_eq!(d.change_failure_band, Some(Band::Low));
    // Restores: 2 h and 0.5 h -> median 1.25.
    assert_eq!(d.time_to_restore_hours, Some(1.25));
    assert_eq!(d.time_to_restore_band, Some(Band::High));
    assert_eq!((d.incidents, d.open_incidents), (3, 2));
    assert_eq!(d.band, Some(Band::Low), "the lowest band measured");
}

#[test]
fn nothing_recorded_is_unmeasured_and_the_dora_variable_knows_every_key() {
    let d = compute(&[], 0, 90 * D, &DoraConfig::default());
    assert_eq!((d.deployments, d.deploys_per_week, d.lead_time_hours, d.band), (0, 0.0, None, None));
    let computed = serde_json::to_value(&d).unwrap();
    let unmeasured = portico_expr::dora_unmeasured();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<std::collections::BTreeSet<_>>();
    assert_eq!(keys(&computed), keys(&unmeasured));
    assert_eq!(computed, unmeasured, "an entity with no events reads the same as one never measured");
}

#[test]
fn history_has_one_row_per_week_oldest_first() {
    let to = 50 * D;
    let events = [deploy("a", to - D, to - D - H, "succeeded", "production"), deploy("b", to - 8 * D, to - 8 * D - 3 * H, "succeeded", "production")];
    let refs: Vec<&EventRow> = events.iter().collect();
    let weeks = history(&refs, to, 3, &DoraConfig::default());
    assert_eq!(weeks.iter().map(|w| w.deployments).collect::<Vec<_>>(), [0, 1, 1]);
    assert_eq!(weeks[1].lead_time_hours, Some(3.0));
    assert_eq!(weeks[2].start, to - 7 * D);
}
