//! Initiatives over the scorecards' test catalog (cart Gold, pay Silver, ledger Bronze, orphan
//! at no level; all owned by `team` but orphan, owned by `nobody`).

use chrono::Utc;
use portico_graph::Visibility;
use portico_store::ProgressRow;
use serde_json::{Value, json};

use super::*;
use crate::Scorecards;
use crate::tests::{catalog, validator};

const DAY: i64 = 86_400_000;

fn initiative(spec: Value) -> Initiative {
    let entity = validator().validate(json!({"apiVersion": "portico.dev/v1", "kind": "Initiative", "metadata": {"name": "ready", "title": "Ready for launch"}, "spec": spec})).unwrap();
    Initiative::from_entity(&entity, "h").unwrap()
}

fn scorecards() -> std::sync::Arc<Scorecards> {
    let s = Scorecards::new(catalog());
    s.update();
    s
}

fn now() -> chrono::DateTime<chrono::FixedOffset> {
    Utc::now().fixed_offset()
}

#[test]
fn progress_counts_entities_at_the_target_level_per_owner_least_done_first() {
    let s = scorecards();
    let i = initiative(json!({"scorecard": "readiness", "level": "Silver", "deadline": "2999-12-31", "owner": "team"}));
    let scope = scope(&i, &s, &Visibility::all(), now(), None).unwrap();
    let p = progress(&i, &scope, Utc::now().timestamp_millis());
    assert_eq!((p.total, p.done, p.percent, p.overdue, p.past_deadline), (4, 2, 50.0, 0, false));
    assert_eq!(p.level.as_deref(), Some("Silver"));
    assert_eq!(p.deadline, "2999-12-31T23:59:59Z");
    let owners: Vec<(&str, usize, usize)> = p.owners.iter().map(|o| (o.owner.as_str(), o.total, o.done)).collect();
    assert_eq!(owners, [("group:default/nobody", 1, 0), ("group:default/team", 3, 2)]);
    assert!(p.days_left > 300_000, "{}", p.days_left);
}

#[test]
fn each_team_gets_the_rules_that_keep_its_entities_from_the_target_with_their_fix() {
    let s = scorecards();
    let i = initiative(json!({"scorecard": "readiness", "level": "Silver", "deadline": "2999-12-31"}));
    let scope = scope(&i, &s, &Visibility::all(), now(), None).unwrap();
    let g = s.graph().read();
    let team = todo(&i, &scope, &g, Some("group:default/team"), 0, 0..100).1;
    assert_eq!(team.len(), 1, "{team:?}");
    assert_eq!(team[0].reference, "component:default/ledger");
    assert_eq!(team[0].fix.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["lifecycle"]);
    let all = todo(&i, &scope, &g, None, 0, 0..100).1;
    let orphan = all.iter().find(|t| t.reference == "component:default/orphan").unwrap();
    // Gold's rules do not keep it from Silver; the Bronze rule it fails comes with its fix.
    assert_eq!(orphan.fix.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["owner", "description"]);
    assert_eq!(orphan.fix[0].remediation.as_ref().and_then(|r| r.url.as_deref()), Some("https://example.com/owners"));
    assert!(!orphan.overdue);
    // A page of the list: how many in all, and only the page's entities.
    let (total, page) = todo(&i, &scope, &g, None, 0, 1..2);
    assert_eq!((total, page.len()), (2, 1));
    assert_eq!(page[0].reference, "component:default/ledger", "by owner key: nobody's orphan first, then team's ledger");
}

#[test]
fn a_rule_target_a_filter_and_a_passed_deadline_narrow_and_mark_overdue() {
    let s = scorecards();
    let i = initiative(json!({"scorecard": "scorecard:default/readiness", "rules": ["domain"], "filter": "spec.lifecycle == 'production'", "deadline": "2020-01-01"}));
    let scope = scope(&i, &s, &Visibility::all(), now(), None).unwrap();
    let p = progress(&i, &scope, Utc::now().timestamp_millis());
    // cart, pay and orphan are in production; only cart has a domain.
    assert_eq!((p.total, p.done, p.overdue, p.past_deadline), (3, 1, 2, true));
    assert!(p.days_left < 0);
    let g = s.graph().read();
    assert!(todo(&i, &scope, &g, None, Utc::now().timestamp_millis(), 0..100).1.iter().all(|t| t.overdue && t.fix.iter().all(|r| r.id == "domain")));
    // Asked about a few entities (an entity's page): the same filter, evaluated on them alone.
    let ids: Vec<_> = ["component:default/ledger", "component:default/pay"].iter().filter_map(|k| g.id_of(k)).collect();
    drop(g);
    let few = super::scope(&i, &s, &Visibility::all(), now(), Some(&ids)).unwrap();
    assert_eq!(few.entities.len(), 1, "ledger is in beta: out of scope");
}

#[test]
fn a_reader_counts_only_what_it_may_read() {
    let s = scorecards();
    let i = initiative(json!({"scorecard": "readiness", "level": "Bronze", "deadline": "2999-01-01"}));
    let cart = s.graph().read().id_of("component:default/cart").unwrap();
    let vis = Visibility::only([cart].into_iter().collect());
    let p = progress(&i, &scope(&i, &s, &vis, now(), None).unwrap(), 0);
    assert_eq!((p.total, p.done), (1, 1));
}

#[test]
fn an_unknown_scorecard_level_or_rule_is_named_with_what_exists() {
    let s = scorecards();
    let err = |spec: Value| scope(&initiative(spec), &s, &Visibility::all(), now(), None).unwrap_err();
    let e = err(json!({"scorecard": "readyness", "level": "Gold", "deadline": "2999-01-01"}));
    assert!(e.starts_with("spec.scorecard:") && e.contains("readiness"), "{e}");
    let e = err(json!({"scorecard": "readiness", "level": "Platinum", "deadline": "2999-01-01"}));
    assert!(e.starts_with("spec.level:") && e.contains("Bronze, Silver, Gold"), "{e}");
    let e = err(json!({"scorecard": "readiness", "rules": ["owner", "tests"], "deadline": "2999-01-01"}));
    assert!(e.starts_with("spec.rules:") && e.contains("\"tests\"") && e.contains("no-deprecated"), "{e}");
}

#[test]
fn validation_names_the_field_of_each_problem() {
    let bad = json!({"apiVersion": "portico.dev/v1", "kind": "Initiative", "metadata": {"name": "bad"},
        "spec": {"scorecard": "readiness", "deadline": "next spring", "start": "2027-13-01", "filter": "has_ownr()"}});
    let errors = validator().validate(bad).unwrap_err();
    let paths: Vec<&str> = errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["spec", "spec.deadline", "spec.start", "spec.filter"], "{errors:?}");
    assert!(errors[0].message.contains("spec.level"), "{errors:?}");
    assert!(errors[1].message.contains("next spring"), "{errors:?}");
    assert!(errors[3].message.contains("has_owner"), "{errors:?}");
    let late_start = json!({"apiVersion": "portico.dev/v1", "kind": "Initiative", "metadata": {"name": "late"},
        "spec": {"scorecard": "readiness", "level": "Gold", "deadline": "2027-01-01", "start": "2027-02-01"}});
    assert_eq!(validator().validate(late_start).unwrap_err()[0].path, "spec.start");
    // The schema: a scorecard and a deadline are required, nothing else is allowed.
    let schema = json!({"apiVersion": "portico.dev/v1", "kind": "Initiative", "metadata": {"name": "s"}, "spec": {"level": "Gold", "colour": "red"}});
    assert!(validator().validate(schema).is_err());
}

#[test]
fn dates_are_a_day_s_end_or_start_and_times_are_exact() {
    assert_eq!(parse_date("2027-03-31", true).unwrap(), 1_806_537_599_999);
    assert_eq!(parse_date("2027-03-31", false).unwrap(), 1_806_451_200_000);
    assert_eq!(parse_date("2027-03-31T12:00:00+02:00", true).unwrap(), 1_806_487_200_000);
    assert!(parse_date("31/03/2027", true).unwrap_err().contains("31/03/2027"));
}

#[test]
fn the_burndown_starts_where_the_initiative_began_and_follows_stored_progress() {
    let i = initiative(json!({"scorecard": "readiness", "level": "Gold", "start": "2027-01-01", "deadline": "2027-03-31"}));
    let start = parse_date("2027-01-01", false).unwrap();
    let row = |owner: &str, at: i64, done: i32| ProgressRow { initiative: i.key.clone(), owner: owner.into(), at, done, total: 10 };
    assert_eq!(burndown(&i, &[]), None);
    let rows = [row("", start - DAY, 1), row("group:default/a", start, 2), row("", start + DAY, 4), row("", start + 9 * DAY, 9)];
    let b = burndown(&i, &rows).unwrap();
    assert_eq!((b.start, b.deadline, b.remaining_at_start), (start, i.deadline, 9));
    assert_eq!(b.points, [(start, 9, 10), (start + DAY, 6, 10), (start + 9 * DAY, 1, 10)]);
    // With no start, the ideal line begins at the first stored progress.
    let mut j = initiative(json!({"scorecard": "readiness", "level": "Gold", "deadline": "2027-03-31"}));
    j.start = None;
    assert_eq!(burndown(&j, &rows).unwrap().start, start - DAY);
}

#[test]
fn each_owner_s_share_done_is_sampled_over_time_from_its_rows() {
    let row = |owner: &str, at: i64, done: i32, total: i32| ProgressRow { initiative: "initiative:default/x".into(), owner: owner.into(), at, done, total };
    let rows = [row("", 0, 0, 4), row("a", 10 * DAY, 1, 4), row("b", 10 * DAY, 0, 2), row("a", 15 * DAY, 3, 4), row("b", 18 * DAY, 0, 0)];
    let owners = vec!["a".to_owned(), "b".to_owned()];
    let (times, values) = owners_over_time(&rows, &owners, 20 * DAY, 3).unwrap();
    assert_eq!(times, [10 * DAY, 15 * DAY, 20 * DAY], "from the owners' first row to now");
    assert_eq!(values, [vec![25, 75, 75], vec![0, 0, 0]], "an owner with nothing left in scope counts 0");
    assert_eq!(owners_over_time(&rows, &["c".to_owned()], 20 * DAY, 3), None);
}
