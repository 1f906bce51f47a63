//! JUnit XML test reports (Maven Surefire, Gradle, pytest `--junitxml`, jest-junit,
//! go-junit-report): `<testsuites>` or one `<testsuite>`, counted from their `<testcase>`s (a
//! case with `<failure>` or `<error>` failed, one with `<skipped>` was skipped), so reports whose
//! suite attributes are missing or wrong still count right. Facts `tests.total`, `tests.passed`,
//! `tests.failed`, `tests.skipped`, `tests.passRate` (percent of the cases run) and
//! `tests.durationSeconds`.

use serde_json::json;

use super::Facts;

pub(super) fn read(text: &str) -> Result<Facts, String> {
    let doc = super::xml(text)?;
    let root = doc.root_element();
    if !matches!(root.tag_name().name(), "testsuites" | "testsuite") {
        return Err(format!("line {}: <{}>: expected <testsuites> or <testsuite> (a JUnit XML report)", line_of(&doc, root), root.tag_name().name()));
    }
    let (mut total, mut failed, mut skipped) = (0u64, 0u64, 0u64);
    let mut seconds = 0.0f64;
    for case in root.descendants().filter(|n| n.has_tag_name("testcase")) {
        total += 1;
        let child = |name: &str| case.children().any(|c| c.has_tag_name(name));
        if child("failure") || child("error") {
            failed += 1;
        } else if child("skipped") {
            skipped += 1;
        }
        seconds += case.attribute("time").and_then(|t| t.replace(',', "").parse::<f64>().ok()).unwrap_or(0.0);
    }
    if total == 0 {
        return Err("no <testcase> in the report".into());
    }
    // The suites' own time when given: it includes set-up the cases do not.
    let suite_time: f64 = root
        .descendants()
        .filter(|n| n.has_tag_name("testsuite") && !n.children().any(|c| c.has_tag_name("testsuite")))
        .filter_map(|s| s.attribute("time").and_then(|t| t.replace(',', "").parse::<f64>().ok()))
        .sum();
    let ran = total - skipped;
    let passed = ran - failed;
    let rate = if ran == 0 { 100.0 } else { (passed as f64 * 10_000.0 / ran as f64).round() / 100.0 };
    let at = root
        .descendants()
        .find_map(|n| n.attribute("timestamp"))
        .and_then(super::time_ms);
    let mut facts = Facts::of(vec![
        ("tests.total", json!(total)),
        ("tests.passed", json!(passed)),
        ("tests.failed", json!(failed)),
        ("tests.skipped", json!(skipped)),
        ("tests.passRate", json!(rate)),
        ("tests.durationSeconds", json!((suite_time.max(seconds) * 1000.0).round() / 1000.0)),
    ]);
    facts.at = at;
    Ok(facts)
}

pub(super) fn line_of(doc: &roxmltree::Document, node: roxmltree::Node) -> u32 {
    doc.text_pos_at(node.range().start).row
}
