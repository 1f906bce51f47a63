//! Backstage's own answers, recorded from its catalog backend (4.0.5) on the same example catalog
//! (`backstage_answers.json`), replayed against Portico: predicate queries (`POST
//! /entities/by-query`, `POST /entity-facets`), `by-refs` slots, empty filters, facet order and
//! error names. Where Portico answers differently on purpose, the case says so (`portico`) and why.

use portico_store::testing::TestDb;
use serde_json::Value;

use crate::helpers::TestApp;

const ANSWERS: &str = include_str!("backstage_answers.json");


fn refs_of(items: &Value) -> Vec<String> {
    let mut refs: Vec<String> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|e| format!("{}:{}/{}", e["kind"].as_str().unwrap_or_default().to_lowercase(), e["metadata"]["namespace"].as_str().unwrap_or("default"), e["metadata"]["name"].as_str().unwrap_or_default()))
        .collect();
    refs.sort();
    refs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn portico_answers_as_backstage_does() {
    let app = TestApp::spawn(TestDb::sqlite().await).await;
    let data: Value = serde_json::from_str(ANSWERS).unwrap();
    // What Backstage's catalog held: Portico's answers are compared on these entities only.
    let known: std::collections::HashSet<&str> = data["backstageCatalog"].as_array().unwrap().iter().map(|r| r.as_str().unwrap()).collect();
    let mut failures = Vec::new();
    for case in data["cases"].as_array().unwrap() {
        let name = case["case"].as_str().unwrap();
        let path = case["path"].as_str().unwrap().trim_start_matches("/api/catalog");
        let query = case["query"].as_str().unwrap();
        let url = format!("{}/api/catalog{path}{}{query}", app.url, if query.is_empty() { "" } else { "?" });
        let request = match case["method"].as_str().unwrap() {
            "GET" => app.client.get(&url),
            _ => match &case["body"] {
                Value::Null => app.client.post(&url),
                Value::String(text) => app.client.post(&url).header("content-type", "text/plain").body(text.clone()),
                body => app.client.post(&url).json(body),
            },
        };
        let res = request.send().await.unwrap();
        let status = res.status().as_u16();
        let body: Value = serde_json::from_str(&res.text().await.unwrap()).unwrap_or(Value::Null);
        let expected = case["portico"]["status"].as_u64().or(case["status"].as_u64()).unwrap() as u16;
        if status != expected {
            failures.push(format!("{name}: status {status}, Backstage {expected}: {body}"));
            continue;
        }
        if status >= 400 {
            if body["error"]["name"] != "InputError" {
                failures.push(format!("{name}: error name {}", body["error"]["name"]));
            }
            let message = body["error"]["message"].as_str().unwrap_or_default();
            if case["exactMessage"] == true && !message.starts_with(case["errorPrefix"].as_str().unwrap()) {
                failures.push(format!("{name}: message {message:?}, Backstage {:?}", case["errorPrefix"]));
            }
            continue;
        }
        if case["portico"].is_object() {
            continue;
        }
        if let Some(refs) = case["refs"].as_array() {
            let want: Vec<String> = refs.iter().map(|r| r.as_str().unwrap().to_owned()).collect();
            let all = refs_of(&body["items"]);
            let extra = all.iter().filter(|r| !known.contains(r.as_str())).count();
            let got: Vec<String> = all.into_iter().filter(|r| known.contains(r.as_str())).collect();
            if got != want {
                failures.push(format!("{name}: refs differ: {got:?} vs Backstage {want:?}"));
            }
            if let Some(total) = case["totalItems"].as_u64()
                && body["totalItems"].as_u64() != Some(total + extra as u64)
                && case["body"]["totalItems"] != "exclude"
            {
                failures.push(format!("{name}: totalItems {}, Backstage {total}", body["totalItems"]));
            }
        }
        if let Some(nulls) = case["nullSlots"].as_array() {
            let got: Vec<u64> = body["items"].as_array().unwrap().iter().enumerate().filter(|(_, x)| x.is_null()).map(|(i, _)| i as u64).collect();
            let want: Vec<u64> = nulls.iter().map(|n| n.as_u64().unwrap()).collect();
            if got != want {
                failures.push(format!("{name}: null slots {got:?}, Backstage {want:?}"));
            }
        }
        // Facets: values in Backstage's order (ascending), and Backstage's values with its counts
        // (Portico's catalog has a few more entities, so it may have more values).
        if let Some(facets) = case["facets"].as_object() {
            for (key, values) in facets {
                let ours = body["facets"][key].as_array().cloned().unwrap_or_default();
                let names: Vec<&str> = ours.iter().map(|v| v["value"].as_str().unwrap_or_default()).collect();
                if !names.is_sorted() {
                    failures.push(format!("{name}: facet {key} not in ascending order: {names:?}"));
                }
                for v in values.as_array().unwrap() {
                    if !ours.contains(v) {
                        failures.push(format!("{name}: facet {key} lacks {v}: {}", body["facets"][key]));
                    }
                }
            }
        }
        if case.get("bodyEquals").is_some() && body != case["bodyEquals"] {
            failures.push(format!("{name}: {body}, Backstage {}", case["bodyEquals"]));
        }
        if let Some(keys) = case["shape"].as_array() {
            let ours: Vec<&str> = body.as_object().map(|o| o.keys().map(String::as_str).collect()).unwrap_or_default();
            if keys.iter().any(|k| !ours.contains(&k.as_str().unwrap())) {
                failures.push(format!("{name}: keys {ours:?}, Backstage {keys:?}"));
            }
        }
        if let Some(items) = case["items"].as_array()
            && case["ordered"] == true
            && body["items"].as_array() != Some(items)
        {
            failures.push(format!("{name}: items {}, Backstage {}", body["items"], Value::Array(items.clone())));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases differ from Backstage:\n{}", failures.len(), data["cases"].as_array().unwrap().len(), failures.join("\n"));
}
