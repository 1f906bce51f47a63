//! Each importer on real reports committed under `fixtures/reports/` (see its README for where
//! each comes from), expected counts computed from the reports themselves, and bad reports
//! refused with where.

use serde_json::{Value, json};

use super::*;

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/reports").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

struct Nothing;

impl CostMatch for Nothing {
    fn entity_of(&self, _: Option<&str>, _: &str) -> Option<String> {
        None
    }
}

/// Matches tagged rows to their tag, and resources whose id ends in `orders-db`.
struct Tagged;

impl CostMatch for Tagged {
    fn entity_of(&self, entity: Option<&str>, resource: &str) -> Option<String> {
        entity.map(|e| format!("component:default/{e}")).or_else(|| resource.ends_with("orders-db").then(|| "resource:default/orders-db".to_owned()))
    }
}

fn get<'a>(facts: &'a Facts, name: &str) -> &'a Value {
    facts.facts.iter().find(|(_, n, _)| n == name).map(|(_, _, v)| v).unwrap_or_else(|| panic!("no fact {name}: {facts:?}"))
}

#[test]
fn formats_are_named_and_an_unknown_one_lists_them() {
    assert_eq!(Format::named("Trivy"), Ok(Format::Trivy));
    assert_eq!(Format::named("sarif").unwrap_err(), "format: \"sarif\" is not one of trivy, grype, junit, cobertura, lcov, billing");
}

#[test]
fn lcov_sums_its_records() {
    let report = "TN:\nSF:a.js\nFNF:4\nFNH:3\nDA:1,1\nLF:10\nLH:8\nBRF:4\nBRH:1\nend_of_record\nSF:b.js\nLF:10\nLH:10\nend_of_record\n";
    let facts = read(Format::Lcov, report.as_bytes(), &Nothing).unwrap();
    assert_eq!(get(&facts, "coverage.lines"), &json!(90.0));
    assert_eq!(get(&facts, "coverage.branches"), &json!(25.0));
    assert_eq!(get(&facts, "coverage.functions"), &json!(75.0));
    assert_eq!(get(&facts, "coverage.linesValid"), &json!(20));
}

#[test]
fn a_billing_export_sums_each_entity_by_month_and_lists_what_matches_nothing() {
    let csv = "identity/LineItemId,lineItem/UsageStartDate,lineItem/ResourceId,lineItem/UnblendedCost,lineItem/CurrencyCode,resourceTags/user:portico-entity\n\
        1,2026-10-03T00:00:00Z,i-1,10.5,USD,cart\n\
        2,2026-11-03T00:00:00Z,i-1,20.25,USD,cart\n\
        3,2026-11-04T00:00:00Z,i-2,4.75,USD,cart\n\
        4,2026-11-04T00:00:00Z,arn:aws:rds:eu-west-1:1:db:orders-db,99,USD,\n\
        5,2026-11-04T00:00:00Z,i-9,3,USD,\n\
        6,2026-11-04T00:00:00Z,,,USD,\n";
    let facts = read(Format::Billing, csv.as_bytes(), &Tagged).unwrap();
    let of = |entity: &str, name: &str| facts.facts.iter().find(|(e, n, _)| e.as_deref() == Some(entity) && n == name).map(|(_, _, v)| v.clone());
    assert_eq!(of("component:default/cart", "cost.monthly"), Some(json!(25.0)), "{facts:?}");
    assert_eq!(of("component:default/cart", "cost.month"), Some(json!("2026-11")));
    assert_eq!(of("component:default/cart", "cost.byMonth"), Some(json!({"2026-10": 10.5, "2026-11": 25.0})));
    assert_eq!(of("component:default/cart", "cost.currency"), Some(json!("USD")));
    assert_eq!(of("resource:default/orders-db", "cost.monthly"), Some(json!(99.0)));
    assert_eq!(facts.skipped, ["i-9 (3): matches no entity"]);

    // Azure's columns, US dates and its tag list.
    let azure = "Date,ResourceId,CostInBillingCurrency,BillingCurrency,Tags\n11/02/2026,/subscriptions/x/resourceGroups/y/providers/Microsoft.Web/sites/shop,12.5,EUR,\"\"\"portico-entity\"\": \"\"shop\"\",\"\"env\"\": \"\"prod\"\"\"\n";
    let facts = read(Format::Billing, azure.as_bytes(), &Tagged).unwrap();
    assert_eq!(facts.facts[0], (Some("component:default/shop".into()), "cost.monthly".into(), json!(12.5)), "{facts:?}");
}

#[test]
fn bad_reports_are_refused_with_where() {
    let err = |format: Format, report: &str| read(format, report.as_bytes(), &Nothing).unwrap_err();
    assert!(err(Format::Trivy, "{\"Results\": [").starts_with("line 1 column 13: not JSON"), "{}", err(Format::Trivy, "{\"Results\": ["));
    assert_eq!(err(Format::Trivy, "{}"), "Results: missing; is this a Trivy JSON report (trivy -f json)?");
    assert_eq!(err(Format::Trivy, r#"{"Results": [{"Vulnerabilities": [{"VulnerabilityID": "CVE-1"}]}]}"#), "Results[0].Vulnerabilities[0].Severity: missing");
    assert_eq!(err(Format::Grype, r#"{"matches": [{"vulnerability": {}}]}"#), "matches[0].vulnerability.severity: missing");
    assert_eq!(err(Format::Grype, r#"{"Results": []}"#), "matches: missing; is this a Grype JSON report (grype -o json)?");
    assert!(err(Format::Junit, "<testsuite><testcase>").starts_with("not XML:"));
    assert_eq!(err(Format::Junit, "\n<coverage/>"), "line 2: <coverage>: expected <testsuites> or <testsuite> (a JUnit XML report)");
    assert_eq!(err(Format::Junit, "<testsuite name=\"x\"/>"), "no <testcase> in the report");
    assert_eq!(err(Format::Cobertura, "<coverage line-rate=\"high\"/>"), "line 1: <coverage line-rate=\"high\">: not a number");
    assert_eq!(err(Format::Cobertura, "<testsuite/>"), "line 1: <testsuite>: expected <coverage> (a Cobertura XML report)");
    assert_eq!(err(Format::Lcov, "SF:a\nLF:x\nend_of_record\n"), "line 2: LF:x: not a count");
    assert_eq!(err(Format::Lcov, "hello"), "no end_of_record: is this an LCOV tracefile (lcov.info)?");
    assert!(err(Format::Billing, "a,b\n1,2\n").starts_with("line 1: no cost column"));
    assert_eq!(err(Format::Billing, "resource,cost,month\nx,ten,2026-11\n"), "line 2: cost: \"ten\" is not a number");
    assert_eq!(err(Format::Billing, "resource,cost,month\nx,1,soon\n"), "line 2: month: \"soon\" is not a date");
    assert_eq!(read(Format::Junit, &[0xff, 0xfe], &Nothing).unwrap_err(), "byte 0: not UTF-8 text");
}

#[test]
fn an_import_is_one_fact_event_per_fact_with_ids_of_the_report() {
    let facts = Facts::of(vec![("tests.failed", json!(0))]);
    let a = events(Format::Junit, &facts, Some("component:default/cart"), b"<report/>", 1_000).unwrap();
    let b = events(Format::Junit, &facts, Some("component:default/cart"), b"<report/>", 2_000).unwrap();
    assert_eq!(a["events"][0]["id"], b["events"][0]["id"], "the same report has the same ids");
    let c = events(Format::Junit, &facts, Some("component:default/cart"), b"<other/>", 1_000).unwrap();
    assert_ne!(a["events"][0]["id"], c["events"][0]["id"]);
    assert!(events(Format::Junit, &facts, None, b"x", 1).unwrap_err().contains("name it"));
}

/// Counts expected below were computed from each report independently (every finding once by
/// vulnerability, package and version; every `<testcase>`).
#[test]
fn vulnerability_reports_count_findings_by_severity() {
    let trivy = read(Format::Trivy, &fixture("trivy.json"), &Nothing).unwrap();
    let counts = |f: &Facts| ["critical", "high", "medium", "low", "unknown"].map(|s| get(f, &format!("security.{s}")).as_u64().unwrap());
    assert_eq!(counts(&trivy), [2, 0, 4, 0, 0]);
    assert_eq!(get(&trivy, "security.scanner"), "trivy");
    assert_eq!(get(&trivy, "security.target"), "testdata/fixtures/images/alpine-39.tar.gz");
    assert_eq!(trivy.at, Some(1_629_894_030_000), "CreatedAt");
    assert_eq!(counts(&read(Format::Trivy, &fixture("trivy-fs.json"), &Nothing).unwrap()), [0, 0, 1, 0, 2]);
    assert_eq!(counts(&read(Format::Trivy, &fixture("trivy-sbom.json"), &Nothing).unwrap()), [1, 1, 0, 1, 0]);

    let grype = read(Format::Grype, &fixture("grype.json"), &Nothing).unwrap();
    assert_eq!(counts(&grype), [1, 6, 2, 2, 0]);
    assert_eq!(get(&grype, "security.scanner"), "grype");
    assert_eq!(get(&grype, "security.target"), "busybox:1.32.1");
    assert_eq!(counts(&read(Format::Grype, &fixture("grype-dir.json"), &Nothing).unwrap()), [2, 2, 5, 0, 0]);
}

#[test]
fn junit_reports_count_their_cases() {
    let facts = |name: &str| read(Format::Junit, &fixture(name), &Nothing).unwrap();
    let counts = |f: &Facts| ["total", "passed", "failed", "skipped"].map(|s| get(f, &format!("tests.{s}")).as_u64().unwrap());
    let generic = facts("junit.xml");
    assert_eq!(counts(&generic), [5, 2, 1, 2]);
    assert_eq!(get(&generic, "tests.passRate"), &json!(66.67), "2 of the 3 cases run");
    assert_eq!(get(&generic, "tests.durationSeconds"), &json!(0.461));
    let pytest = facts("junit-pytest.xml");
    assert_eq!(counts(&pytest), [3, 1, 2, 0]);
    assert_eq!(get(&pytest, "tests.durationSeconds"), &json!(0.052), "the suite's time, set-up included");
    assert!(pytest.at.is_some(), "a timestamp without an offset is UTC");
    assert_eq!(counts(&facts("junit-surefire.xml")), [5, 2, 2, 1]);
}

#[test]
fn coverage_reports_give_percentages() {
    let coverage_py = read(Format::Cobertura, &fixture("cobertura.xml"), &Nothing).unwrap();
    assert_eq!((get(&coverage_py, "coverage.lines"), get(&coverage_py, "coverage.branches")), (&json!(75.0), &json!(50.0)));
    assert_eq!(coverage_py.at, Some(1_684_652_200_649), "coverage.py writes ms");
    // gcovr: a DOCTYPE, rates at full precision, the timestamp in seconds.
    let gcovr = read(Format::Cobertura, &fixture("cobertura-gcovr.xml"), &Nothing).unwrap();
    assert_eq!((get(&gcovr, "coverage.lines"), get(&gcovr, "coverage.linesCovered"), get(&gcovr, "coverage.linesValid")), (&json!(60.31), &json!(345), &json!(572)));
    assert_eq!(get(&gcovr, "coverage.branches"), &json!(39.68));
    assert_eq!(gcovr.at, Some(1_632_549_295_000));

    let istanbul = read(Format::Lcov, &fixture("lcov.info"), &Nothing).unwrap();
    assert_eq!([get(&istanbul, "coverage.lines"), get(&istanbul, "coverage.branches"), get(&istanbul, "coverage.functions")], [&json!(63.64), &json!(31.25), &json!(44.44)]);
    let llvm = read(Format::Lcov, &fixture("lcov-llvm-cov-summary.info"), &Nothing).unwrap();
    assert_eq!((get(&llvm, "coverage.lines"), get(&llvm, "coverage.functions")), (&json!(71.74), &json!(100.0)));
    assert!(!llvm.facts.iter().any(|(_, n, _)| n == "coverage.branches"), "no branches counted, none reported");
}

/// Azure's export: a BOM, US dates, its `Cost` and `ResourceId` columns. Two resources are
/// matched (by the last part of their id), the other rows are listed as skipped.
#[test]
fn an_azure_cost_export_is_summed_per_matched_resource() {
    struct Databases;
    impl CostMatch for Databases {
        fn entity_of(&self, _: Option<&str>, resource: &str) -> Option<String> {
            let name = resource.rsplit('/').next()?.to_ascii_lowercase();
            ["umq-umqoi3-db", "a7q-a7q5gy-db"].contains(&name.as_str()).then(|| format!("resource:default/{name}"))
        }
    }
    let facts = read(Format::Billing, &fixture("billing.csv"), &Databases).unwrap();
    let of = |entity: &str, name: &str| facts.facts.iter().find(|(e, n, _)| e.as_deref() == Some(entity) && n == name).map(|(_, _, v)| v.clone());
    assert_eq!(of("resource:default/umq-umqoi3-db", "cost.monthly"), Some(json!(1.96)), "{facts:?}");
    assert_eq!(of("resource:default/umq-umqoi3-db", "cost.month"), Some(json!("2023-09")));
    assert_eq!(of("resource:default/umq-umqoi3-db", "cost.currency"), Some(json!("USD")));
    assert_eq!(of("resource:default/a7q-a7q5gy-db", "cost.monthly"), Some(json!(0.48)));
    assert_eq!(facts.skipped.len(), 9, "{:?}", facts.skipped);
}
