//! Coverage reports: Cobertura XML (coverage.py, JaCoCo's converters, Istanbul's `cobertura`
//! reporter, gcovr) and LCOV tracefiles (Istanbul/nyc, c8, lcov, cargo-llvm-cov). Facts
//! `coverage.lines` and, when the report has them, `coverage.branches` and
//! `coverage.functions` (percent, two decimals), with `coverage.linesCovered` and
//! `coverage.linesValid`.

use serde_json::json;

use super::Facts;

fn percent(hit: u64, found: u64) -> f64 {
    if found == 0 { 100.0 } else { (hit as f64 * 10_000.0 / found as f64).round() / 100.0 }
}

pub(super) fn cobertura(text: &str) -> Result<Facts, String> {
    let doc = super::xml(text)?;
    let root = doc.root_element();
    if !root.has_tag_name("coverage") {
        return Err(format!("line {}: <{}>: expected <coverage> (a Cobertura XML report)", super::junit::line_of(&doc, root), root.tag_name().name()));
    }
    let number = |name: &str| -> Result<Option<f64>, String> {
        root.attribute(name)
            .map(|v| v.parse::<f64>().map_err(|_| format!("line {}: <coverage {name}=\"{v}\">: not a number", super::junit::line_of(&doc, root))))
            .transpose()
    };
    // Counted from the lines when the root's totals are missing (older Cobertura writers).
    let (valid, covered) = match (number("lines-valid")?, number("lines-covered")?) {
        (Some(v), Some(c)) => (v as u64, c as u64),
        _ => {
            let lines: Vec<bool> = root
                .descendants()
                .filter(|n| n.has_tag_name("line") && n.parent().is_some_and(|p| p.has_tag_name("lines") && p.parent().is_some_and(|c| c.has_tag_name("class"))))
                .map(|l| l.attribute("hits").and_then(|h| h.parse::<u64>().ok()).unwrap_or(0) > 0)
                .collect();
            (lines.len() as u64, lines.iter().filter(|h| **h).count() as u64)
        }
    };
    let lines = match number("line-rate")? {
        Some(rate) if valid == 0 => (rate * 10_000.0).round() / 100.0,
        _ => percent(covered, valid),
    };
    let mut facts = vec![("coverage.lines", json!(lines)), ("coverage.linesCovered", json!(covered)), ("coverage.linesValid", json!(valid))];
    let branches_valid = number("branches-valid")?.unwrap_or(0.0);
    if let Some(rate) = number("branch-rate")?
        && (branches_valid > 0.0 || root.attribute("branches-valid").is_none())
    {
        facts.push(("coverage.branches", json!((rate * 10_000.0).round() / 100.0)));
    }
    let mut out = Facts::of(facts);
    out.at = number("timestamp")?.map(|t| if t < 1e11 { (t * 1000.0) as i64 } else { t as i64 });
    Ok(out)
}

pub(super) fn lcov(text: &str) -> Result<Facts, String> {
    let (mut lf, mut lh, mut brf, mut brh, mut fnf, mut fnh) = (0u64, 0u64, 0u64, 0u64, 0u64, 0u64);
    let mut records = 0;
    let mut seen_branches = false;
    let mut seen_functions = false;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        let Some((key, value)) = line.split_once(':') else {
            if line == "end_of_record" {
                records += 1;
            }
            continue;
        };
        let n = || value.trim().parse::<u64>().map_err(|_| format!("line {}: {key}:{value}: not a count", i + 1));
        match key {
            "LF" => lf += n()?,
            "LH" => lh += n()?,
            "BRF" => {
                brf += n()?;
                seen_branches = true;
            }
            "BRH" => brh += n()?,
            "FNF" => {
                fnf += n()?;
                seen_functions = true;
            }
            "FNH" => fnh += n()?,
            _ => {}
        }
    }
    if records == 0 {
        return Err("no end_of_record: is this an LCOV tracefile (lcov.info)?".into());
    }
    let mut facts = vec![("coverage.lines", json!(percent(lh, lf))), ("coverage.linesCovered", json!(lh)), ("coverage.linesValid", json!(lf))];
    if seen_branches && brf > 0 {
        facts.push(("coverage.branches", json!(percent(brh, brf))));
    }
    if seen_functions && fnf > 0 {
        facts.push(("coverage.functions", json!(percent(fnh, fnf))));
    }
    Ok(Facts::of(facts))
}
