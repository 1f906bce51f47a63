//! Vulnerability reports: Trivy's JSON (`trivy image -f json`, schema version 2) and Grype's
//! (`grype -o json`). Both become counts of findings by severity (a vulnerability in a package
//! at a version counts once, however many layers or paths report it), the scanner, and what it
//! scanned: facts `security.critical`, `security.high`, `security.medium`, `security.low`,
//! `security.unknown`, `security.scanner`, `security.target`.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::Facts;

pub(super) fn trivy(report: &Value) -> Result<Facts, String> {
    let results = report.get("Results").ok_or("Results: missing; is this a Trivy JSON report (trivy -f json)?")?;
    let results = results.as_array().ok_or("Results: expected a list")?;
    let mut findings = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let Some(vulns) = r.get("Vulnerabilities") else { continue };
        let vulns = vulns.as_array().ok_or_else(|| format!("Results[{i}].Vulnerabilities: expected a list"))?;
        for (j, v) in vulns.iter().enumerate() {
            let field = |name: &str| v.get(name).and_then(Value::as_str).unwrap_or_default().to_owned();
            let severity = v.get("Severity").and_then(Value::as_str).ok_or_else(|| format!("Results[{i}].Vulnerabilities[{j}].Severity: missing"))?;
            findings.push((field("VulnerabilityID"), field("PkgName"), field("InstalledVersion"), severity.to_owned()));
        }
    }
    let target = report.get("ArtifactName").and_then(Value::as_str).map(str::to_owned);
    let at = report.get("CreatedAt").and_then(Value::as_str).and_then(super::time_ms);
    Ok(Facts { at, ..counts("trivy", target, findings) })
}

pub(super) fn grype(report: &Value) -> Result<Facts, String> {
    let matches = report.get("matches").ok_or("matches: missing; is this a Grype JSON report (grype -o json)?")?;
    let matches = matches.as_array().ok_or("matches: expected a list")?;
    let mut findings = Vec::new();
    for (i, m) in matches.iter().enumerate() {
        let v = m.get("vulnerability").ok_or_else(|| format!("matches[{i}].vulnerability: missing"))?;
        let severity = v.get("severity").and_then(Value::as_str).ok_or_else(|| format!("matches[{i}].vulnerability.severity: missing"))?;
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
        findings.push((s(v.get("id")), s(m.pointer("/artifact/name")), s(m.pointer("/artifact/version")), severity.to_owned()));
    }
    let target = report
        .pointer("/source/target/userInput")
        .or_else(|| report.pointer("/source/target"))
        .and_then(Value::as_str)
        .map(str::to_owned);
    let at = report.pointer("/descriptor/timestamp").and_then(Value::as_str).and_then(super::time_ms);
    Ok(Facts { at, ..counts("grype", target, findings) })
}

/// Findings `(id, package, version, severity)` counted by severity, each once.
fn counts(scanner: &str, target: Option<String>, findings: Vec<(String, String, String, String)>) -> Facts {
    let unique: BTreeSet<(String, String, String, String)> = findings.into_iter().map(|(id, p, v, s)| (id, p, v, s.to_ascii_lowercase())).collect();
    let count = |severity: &[&str]| json!(unique.iter().filter(|f| severity.contains(&f.3.as_str())).count());
    let mut facts = vec![
        ("security.critical", count(&["critical"])),
        ("security.high", count(&["high"])),
        ("security.medium", count(&["medium"])),
        ("security.low", count(&["low", "negligible"])),
        ("security.unknown", count(&["unknown", ""])),
        ("security.scanner", json!(scanner)),
    ];
    if let Some(t) = target {
        facts.push(("security.target", json!(t)));
    }
    Facts::of(facts)
}
