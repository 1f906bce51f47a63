//! Parsing of the Backstage catalog `filter` query parameter
//! (`GET /entities?filter=...`), mirroring `parseEntityFilterParams` /
//! `parseEntityFilterString` from `@backstage/plugin-catalog-backend`.
//!
//! Semantics:
//!
//! * Every `filter` parameter is one alternative; the result is an
//!   [`EntityFilter`] whose `anyOf` holds one [`AllOf`] per parameter.
//! * Inside one filter string, statements are separated by `,` and must all
//!   match (`allOf`). Each statement is trimmed; empty statements (e.g. the
//!   middle of `a=1,,b=2`) are skipped, like Backstage's `.filter(Boolean)`.
//! * A statement is split at its *first* `=`: `key=value` matches that value
//!   (the value may itself contain `=`), `key=` matches the empty string, and
//!   a bare `key` means "the key exists" (`values: None`). Keys and values
//!   are trimmed. A statement whose key is empty (`=a`, `=`) is an error:
//!   `Invalid filter, '<statement>' is not a valid statement (expected a string on the form a=b or a= or a)`.
//! * Statements with the same key (compared exactly as written; case-insensitive
//!   matching happens later, in the query layer) are merged into one, keeping
//!   first-occurrence order of keys and the order of values. If any occurrence
//!   has a value, the merged statement has `values` (a value match implies
//!   existence), exactly like Backstage.
//! * A filter string with no statements yields `None`; such strings are dropped
//!   from `anyOf`, and if nothing remains there is no filter at all (`None`).
//! * From JSON (request bodies) a string or an array of strings is accepted;
//!   `null` is treated as absent. Anything else fails with Backstage's message
//!   `Invalid filter, not a string` (plus the offending JSON type).

use serde::Serialize;

/// One statement: `key` as written (trimmed); `values: None` means "key exists".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilterStatement {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub values: Option<Vec<String>>,
}

/// Conjunction of statements (one `filter=` parameter).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AllOf {
    #[serde(rename = "allOf")]
    pub all_of: Vec<FilterStatement>,
}

/// Disjunction of [`AllOf`] groups (all `filter=` parameters of a request).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntityFilter {
    #[serde(rename = "anyOf")]
    pub any_of: Vec<AllOf>,
}

/// Invalid filter input; the message is Backstage-compatible.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FilterError(pub String);

/// Most statements one request's filters may hold in all (Backstage sets no limit; a few
/// thousand values of one key, `metadata.name=a,metadata.name=b,…`, are the largest real use).
pub const MAX_STATEMENTS: usize = 10_000;

/// Each element is one `filter=` query parameter value.
/// Empty input (or only empty strings) yields `Ok(None)`.
pub fn parse_filter_params(values: &[&str]) -> Result<Option<EntityFilter>, FilterError> {
    let mut any_of = Vec::new();
    let mut statements = 0usize;
    for v in values {
        statements += v.split(',').filter(|st| !st.trim().is_empty()).count();
        if statements > MAX_STATEMENTS {
            return Err(too_many());
        }
        if let Some(all_of) = parse_filter_string(v)? {
            any_of.push(AllOf { all_of });
        }
    }
    Ok((!any_of.is_empty()).then_some(EntityFilter { any_of }))
}

fn too_many() -> FilterError {
    FilterError(format!("Invalid filter, more than {MAX_STATEMENTS} statements in all; split the request"))
}

/// One filter string: comma-separated statements; same key merged (values in
/// order); a string without statements yields `Ok(None)`. Linear in the
/// length of the string, however many keys it has.
pub fn parse_filter_string(s: &str) -> Result<Option<Vec<FilterStatement>>, FilterError> {
    let mut out: Vec<FilterStatement> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (n, statement) in s.split(',').map(str::trim).filter(|st| !st.is_empty()).enumerate() {
        if n >= MAX_STATEMENTS {
            return Err(too_many());
        }
        let (key, value) = match statement.split_once('=') {
            Some((k, v)) => (k.trim(), Some(v.trim())),
            None => (statement, None),
        };
        if key.is_empty() {
            return Err(FilterError(format!(
                "Invalid filter, '{statement}' is not a valid statement \
                 (expected a string on the form a=b or a= or a)"
            )));
        }
        let idx = *index.entry(key).or_insert_with(|| {
            out.push(FilterStatement {
                key: key.to_string(),
                values: None,
            });
            out.len() - 1
        });
        if let Some(v) = value {
            out[idx]
                .values
                .get_or_insert_with(Vec::new)
                .push(v.to_string());
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

/// Accept a JSON value (for request bodies): a string or an array of strings.
/// `null` means "no filter". Anything else is an error mentioning "string".
pub fn parse_filter_json(v: &serde_json::Value) -> Result<Option<EntityFilter>, FilterError> {
    use serde_json::Value;
    let not_a_string = |v: &Value| {
        FilterError(format!(
            "Invalid filter, not a string (got {})",
            json_type(v)
        ))
    };
    match v {
        Value::Null => Ok(None),
        Value::String(s) => parse_filter_params(&[s.as_str()]),
        Value::Array(items) => {
            let strs = items
                .iter()
                .map(|i| i.as_str().ok_or_else(|| not_a_string(i)))
                .collect::<Result<Vec<_>, _>>()?;
            parse_filter_params(&strs)
        }
        other => Err(not_a_string(other)),
    }
}

fn json_type(v: &serde_json::Value) -> &'static str {
    use serde_json::Value;
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    const FIXTURE: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/fixtures/backstage/filter-params.json"
    );

    fn check<T: Serialize>(name: &str, case: &Value, got: Result<Option<T>, FilterError>) {
        if let Some(expected) = case.get("expected") {
            let got = got.unwrap_or_else(|e| panic!("{name}: unexpected error {e}"));
            assert_eq!(serde_json::to_value(&got).unwrap(), *expected, "{name}");
        } else if let Some(msg) = case.get("expected_error").and_then(Value::as_str) {
            assert_eq!(got.err().map(|e| e.0).as_deref(), Some(msg), "{name}");
        } else if let Some(pat) = case.get("expected_error_pattern").and_then(Value::as_str) {
            let err = got
                .err()
                .unwrap_or_else(|| panic!("{name}: expected an error"));
            assert!(err.0.contains(pat), "{name}: {err} lacks {pat:?}");
        } else {
            panic!("{name}: case has no expectation");
        }
    }

    #[test]
    fn backstage_fixture_cases() {
        let text = std::fs::read_to_string(FIXTURE).expect("read fixture");
        let fixture: Value = serde_json::from_str(&text).unwrap();
        let cases = fixture["cases"].as_array().expect("cases array");
        assert!(cases.len() >= 10);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            match case["function"].as_str().unwrap() {
                "parseEntityFilterParams" => {
                    let filter = case["query"].get("filter").unwrap_or(&Value::Null);
                    check(name, case, parse_filter_json(filter));
                    // Same case through the query-string entry point.
                    if let Some(q) = case.get("url_query").and_then(Value::as_str) {
                        let params: Vec<&str> = q
                            .split('&')
                            .filter_map(|p| p.strip_prefix("filter="))
                            .collect();
                        check(name, case, parse_filter_params(&params));
                    }
                }
                "parseEntityFilterString" => {
                    check(
                        name,
                        case,
                        parse_filter_string(case["input"].as_str().unwrap()),
                    );
                }
                f => panic!("{name}: unknown function {f}"),
            }
        }
    }

    fn st(key: &str, values: Option<&[&str]>) -> FilterStatement {
        let values = values.map(|v| v.iter().map(|s| s.to_string()).collect());
        FilterStatement {
            key: key.into(),
            values,
        }
    }

    #[test]
    fn empty_statements_are_skipped() {
        let got = parse_filter_string("a=1,,b=2, ,").unwrap().unwrap();
        assert_eq!(got, vec![st("a", Some(&["1"])), st("b", Some(&["2"]))]);
        assert_eq!(parse_filter_string(" , ,").unwrap(), None);
        assert_eq!(parse_filter_params(&["", " , "]).unwrap(), None);
        assert_eq!(parse_filter_params(&[]).unwrap(), None);
        let f = parse_filter_params(&["", "kind=component"])
            .unwrap()
            .unwrap();
        assert_eq!(f.any_of.len(), 1);
    }

    #[test]
    fn splits_at_first_equals_and_keeps_key_case() {
        let got = parse_filter_string("Metadata.Name = a=b ,kind")
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            vec![st("Metadata.Name", Some(&["a=b"])), st("kind", None)]
        );
        // Exact-key merging; existence + value merges into a value match.
        let got = parse_filter_string("a,A=1,a=2").unwrap().unwrap();
        assert_eq!(got, vec![st("a", Some(&["2"])), st("A", Some(&["1"]))]);
    }

    #[test]
    fn many_keys_parse_in_linear_time_and_too_many_are_refused() {
        // 9,000 distinct keys (a 140 KB filter) took seconds when each key was looked up in a list.
        let many: String = (0..9_000).map(|i| format!("metadata.annotations.k{i}=v")).collect::<Vec<_>>().join(",");
        let started = std::time::Instant::now();
        let got = parse_filter_string(&many).unwrap().unwrap();
        assert_eq!(got.len(), 9_000);
        assert!(started.elapsed() < std::time::Duration::from_millis(200), "{:?}", started.elapsed());
        let too_many: String = (0..=MAX_STATEMENTS).map(|i| format!("k{i}=v")).collect::<Vec<_>>().join(",");
        assert!(parse_filter_string(&too_many).unwrap_err().0.contains("more than 10000 statements"));
        let halves = [many.as_str(), many.as_str()];
        assert!(parse_filter_params(&halves).unwrap_err().0.contains("more than 10000 statements"), "counted across parameters");
    }

    #[test]
    fn rejects_bad_statements_and_json() {
        let err = parse_filter_params(&["kind=x", "a=1, = 2"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid filter, '= 2' is not a valid statement (expected a string on the form a=b or a= or a)"
        );
        for bad in [
            json!(3),
            json!(true),
            json!({"a": "b"}),
            json!(["a=1", 2]),
            json!([["a"]]),
        ] {
            let err = parse_filter_json(&bad).unwrap_err();
            assert!(err.0.contains("string"), "{bad}: {err}");
        }
        assert_eq!(parse_filter_json(&Value::Null).unwrap(), None);
        assert_eq!(parse_filter_json(&json!([])).unwrap(), None);
        assert_eq!(
            parse_filter_json(&json!("a=1")).unwrap(),
            parse_filter_params(&["a=1"]).unwrap()
        );
    }
}
