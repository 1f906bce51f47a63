//! A template's form, generated from its parameters' JSON Schema: one section per page, a field
//! per property with the widget its type and `ui:*` hints ask for (text, text area, password,
//! number, checkbox, select, radio buttons, checkboxes for a list of choices, one item per line
//! for other lists, JSON for objects, a host/owner/repository trio for `RepoUrlPicker`, and a
//! list of catalog entities for `OwnerPicker` and `EntityPicker`). The posted form is read back
//! into parameters with the types the schema gives, so the server checks exactly what the API
//! would.

use portico_graph::Visible;
use serde::Serialize;
use serde_json::{Map, Value, json};

use portico_actions::template::Page;

/// One choice of a select, radio or checkbox group.
#[derive(Serialize)]
pub(crate) struct Choice {
    value: String,
    label: String,
    selected: bool,
}

/// One field as the template draws it.
#[derive(Serialize, Default)]
pub(crate) struct Field {
    pub name: String,
    title: String,
    description: Option<String>,
    required: bool,
    /// `text`, `textarea`, `password`, `number`, `checkbox`, `select`, `radio`, `checkboxes`,
    /// `lines`, `json`, `repo`.
    widget: &'static str,
    value: String,
    checked: bool,
    choices: Vec<Choice>,
    min: Option<String>,
    max: Option<String>,
    step: Option<&'static str>,
    pattern: Option<String>,
    autofocus: bool,
    rows: u64,
    /// Catalog entities offered (`OwnerPicker`, `EntityPicker`).
    suggestions: Vec<String>,
    /// `RepoUrlPicker`: the hosts allowed, and the host, owner and repository given.
    hosts: Vec<String>,
    repo: [String; 3],
    pub error: Option<String>,
}

/// One page of the form.
#[derive(Serialize)]
pub(crate) struct Section {
    title: String,
    description: Option<String>,
    pub fields: Vec<Field>,
}

fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The kinds a picker offers: `ui:options.allowedKinds`, or `catalogFilter.kind`.
fn picker_kinds(schema: &Value, default: &[&str]) -> Vec<String> {
    let options = &schema["ui:options"];
    let from = |v: &Value| -> Vec<String> {
        match v {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => Vec::new(),
        }
    };
    let mut kinds = from(&options["allowedKinds"]);
    if kinds.is_empty() {
        kinds = from(&options["catalogFilter"]["kind"]);
    }
    if kinds.is_empty() {
        kinds = default.iter().map(|s| (*s).to_owned()).collect();
    }
    kinds
}

/// Entity references of `kinds` the reader may read (at most 500, sorted).
fn suggestions(graph: &Visible<'_>, kinds: &[String]) -> Vec<String> {
    let mut out: Vec<String> = graph
        .entries()
        .filter(|e| kinds.is_empty() || kinds.iter().any(|k| k.eq_ignore_ascii_case(&e.entity.kind)))
        .map(|e| e.entity.entity_ref().to_string())
        .take(500)
        .collect();
    out.sort();
    out
}

/// The sections of a template's form, with `values` filled in (defaults when none).
pub(crate) fn sections(pages: &[Page], values: &Value, graph: &Visible<'_>) -> Vec<Section> {
    pages
        .iter()
        .enumerate()
        .map(|(i, page)| {
            let required: Vec<&str> = page.schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
            let fields = page.schema["properties"]
                .as_object()
                .into_iter()
                .flatten()
                .map(|(name, schema)| field(name, schema, required.contains(&name.as_str()), values.get(name).or(schema.get("default")), graph))
                .collect();
            Section { title: page.title.clone().unwrap_or_else(|| format!("Step {}", i + 1)), description: page.description.clone(), fields }
        })
        .collect()
}

fn field(name: &str, schema: &Value, required: bool, value: Option<&Value>, graph: &Visible<'_>) -> Field {
    let kind = schema["type"].as_str().unwrap_or("string");
    let ui_field = schema["ui:field"].as_str().unwrap_or("");
    let ui_widget = schema["ui:widget"].as_str().unwrap_or("");
    let options = |list: &Value, names: &Value, selected: &dyn Fn(&Value) -> bool| -> Vec<Choice> {
        list.as_array()
            .into_iter()
            .flatten()
            .enumerate()
            .map(|(i, v)| Choice { value: text(v), label: names.get(i).and_then(Value::as_str).map_or_else(|| text(v), str::to_owned), selected: selected(v) })
            .collect()
    };
    let value_text = value.map(text).unwrap_or_default();
    let mut f = Field {
        name: name.to_owned(),
        title: schema["title"].as_str().unwrap_or(name).to_owned(),
        description: schema["description"].as_str().map(str::to_owned),
        required,
        widget: "text",
        value: value_text.clone(),
        autofocus: schema["ui:autofocus"].as_bool().unwrap_or(false),
        pattern: schema["pattern"].as_str().map(str::to_owned),
        rows: schema["ui:options"]["rows"].as_u64().unwrap_or(4).clamp(2, 20),
        ..Field::default()
    };
    match (kind, ui_field) {
        (_, "RepoUrlPicker") => {
            f.widget = "repo";
            f.hosts = schema["ui:options"]["allowedHosts"].as_array().into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect();
            if let Ok(parts) = portico_actions::filters::parse_repo_url(&value_text) {
                let get = |k: &str| parts.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
                f.repo = [get("host"), get("owner"), get("repo")];
            } else if let Some(h) = f.hosts.first() {
                f.repo[0] = h.clone();
            }
        }
        (_, "OwnerPicker") => f.suggestions = suggestions(graph, &picker_kinds(schema, &["Group", "User"])),
        (_, "EntityPicker" | "MyGroupsPicker" | "OwnedEntityPicker") => f.suggestions = suggestions(graph, &picker_kinds(schema, &[])),
        ("boolean", _) => {
            f.widget = "checkbox";
            f.checked = value.and_then(Value::as_bool).unwrap_or(false);
        }
        ("integer" | "number", _) => {
            f.widget = "number";
            f.step = Some(if kind == "integer" { "1" } else { "any" });
            f.min = schema.get("minimum").map(text);
            f.max = schema.get("maximum").map(text);
        }
        ("array", _) if schema["items"]["enum"].is_array() => {
            f.widget = "checkboxes";
            let chosen: Vec<Value> = value.and_then(Value::as_array).cloned().unwrap_or_default();
            f.choices = options(&schema["items"]["enum"], &schema["items"]["enumNames"], &|v| chosen.contains(v));
        }
        ("array", _) => {
            f.widget = "lines";
            f.value = value.and_then(Value::as_array).map(|a| a.iter().map(text).collect::<Vec<_>>().join("\n")).unwrap_or_default();
        }
        ("object", _) => {
            f.widget = "json";
            f.value = value.map(|v| serde_json::to_string_pretty(v).unwrap_or_default()).unwrap_or_default();
        }
        (_, _) if schema["enum"].is_array() => {
            f.widget = if ui_widget == "radio" { "radio" } else { "select" };
            f.choices = options(&schema["enum"], &schema["enumNames"], &|v| value == Some(v));
        }
        _ => {
            f.widget = match ui_widget {
                "textarea" => "textarea",
                "password" => "password",
                _ if schema["ui:options"]["rows"].is_u64() => "textarea",
                _ => "text",
            };
        }
    }
    f
}

/// The posted form read back into parameters, typed as each property declares; a value that
/// does not read (a number that is not one, JSON that is not) is an error by field.
pub(crate) fn parameters(pages: &[Page], form: &[(String, String)]) -> (Value, Vec<(String, String)>) {
    let get = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.trim().to_owned());
    let all = |k: &str| form.iter().filter(|(n, _)| n == k).map(|(_, v)| v.clone()).collect::<Vec<_>>();
    let mut out = Map::new();
    let mut errors = Vec::new();
    for (name, schema) in portico_actions::params::properties(pages) {
        let key = format!("p.{name}");
        let kind = schema["type"].as_str().unwrap_or("string");
        let value = if schema["ui:field"] == "RepoUrlPicker" {
            let part = |p: &str| get(&format!("{key}.{p}")).unwrap_or_default();
            let (host, owner, repo) = (part("host"), part("owner"), part("repo"));
            (!repo.is_empty()).then(|| {
                let q: String = form_urlencoded::Serializer::new(String::new()).append_pair("owner", &owner).append_pair("repo", &repo).finish();
                json!(format!("{host}?{q}"))
            })
        } else {
            match kind {
                "boolean" => Some(json!(get(&key).is_some_and(|v| v == "on" || v == "true"))),
                "integer" | "number" => match get(&key).filter(|v| !v.is_empty()) {
                    None => None,
                    Some(v) => match serde_json::from_str::<serde_json::Number>(&v) {
                        Ok(n) => Some(Value::Number(n)),
                        Err(_) => {
                            errors.push((name.to_owned(), format!("{v:?} is not a number")));
                            None
                        }
                    },
                },
                "array" if schema["items"]["enum"].is_array() => {
                    let items = schema["items"]["enum"].as_array().cloned().unwrap_or_default();
                    Some(Value::Array(all(&key).iter().filter_map(|v| items.iter().find(|i| text(i) == *v).cloned()).collect()))
                }
                "array" => get(&key).map(|v| Value::Array(v.lines().map(str::trim).filter(|l| !l.is_empty()).map(|l| json!(l)).collect())),
                "object" => match get(&key).filter(|v| !v.is_empty()) {
                    None => None,
                    Some(v) => match serde_json::from_str::<Value>(&v) {
                        Ok(o) => Some(o),
                        Err(e) => {
                            errors.push((name.to_owned(), format!("not JSON: {e}")));
                            None
                        }
                    },
                },
                _ => get(&key).filter(|v| !v.is_empty()).map(|v| {
                    // An enum of numbers keeps its type.
                    schema["enum"].as_array().and_then(|e| e.iter().find(|i| text(i) == v).cloned()).unwrap_or(Value::String(v))
                }),
            }
        };
        if let Some(v) = value {
            out.insert(name.to_owned(), v);
        }
    }
    (Value::Object(out), errors)
}

/// Which field an engine error names: `parameters.name: …` or `"name" is a required property`.
pub(crate) fn field_of(e: &portico_model::FieldError) -> Option<String> {
    if let Some(rest) = e.path.strip_prefix("parameters.") {
        return Some(rest.split(['.', '[']).next().unwrap_or(rest).to_owned());
    }
    let quoted = e.message.strip_prefix('"')?;
    let end = quoted.find('"')?;
    e.message.contains("is a required property").then(|| quoted[..end].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pages() -> Vec<Page> {
        let schema = json!({"required": ["name"], "properties": {
            "name": {"type": "string", "ui:autofocus": true},
            "port": {"type": "integer", "minimum": 1024},
            "public": {"type": "boolean"},
            "tier": {"type": "string", "enum": ["t1", "t2"], "enumNames": ["Critical", "Other"], "ui:widget": "radio"},
            "topics": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}},
            "hosts": {"type": "array", "items": {"type": "string"}},
            "extra": {"type": "object"},
            "repoUrl": {"type": "string", "ui:field": "RepoUrlPicker", "ui:options": {"allowedHosts": ["github.com"]}},
            "owner": {"type": "string", "ui:field": "OwnerPicker"}
        }});
        vec![Page { title: Some("Basics".into()), description: None, schema }]
    }

    #[test]
    fn a_posted_form_reads_back_with_the_schema_types() {
        let form: Vec<(String, String)> = [
            ("p.name", "cart"), ("p.port", "8080"), ("p.public", "on"), ("p.tier", "t2"), ("p.topics", "a"), ("p.topics", "b"), ("p.topics", "zz"),
            ("p.hosts", "a.example\n\n b.example "), ("p.extra", "{\"x\": 1}"), ("p.repoUrl.host", "github.com"), ("p.repoUrl.owner", "acme"), ("p.repoUrl.repo", "cart"), ("p.owner", "group:default/team-a"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        let (v, errors) = parameters(&pages(), &form);
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(v, json!({"name": "cart", "port": 8080, "public": true, "tier": "t2", "topics": ["a", "b"], "hosts": ["a.example", "b.example"], "extra": {"x": 1}, "repoUrl": "github.com?owner=acme&repo=cart", "owner": "group:default/team-a"}));
        let (v, errors) = parameters(&pages(), &[("p.port".into(), "eighty".into()), ("p.extra".into(), "{".into())]);
        assert_eq!(errors.iter().map(|(f, _)| f.as_str()).collect::<Vec<_>>(), ["port", "extra"]);
        assert_eq!(v, json!({"public": false, "topics": []}), "unchecked boxes are false, not missing");
    }

    #[test]
    fn fields_take_the_widget_their_schema_asks_for() {
        let graph = portico_graph::CatalogGraph::default();
        let vis = portico_graph::Visibility::all();
        let visible = Visible::new(&graph, &vis);
        let s = sections(&pages(), &json!({"repoUrl": "github.com?owner=acme&repo=cart", "tier": "t2"}), &visible);
        let widget = |n: &str| s[0].fields.iter().find(|f| f.name == n).unwrap();
        assert_eq!(["name", "port", "public", "tier", "topics", "hosts", "extra", "repoUrl", "owner"].map(|n| widget(n).widget), ["text", "number", "checkbox", "radio", "checkboxes", "lines", "json", "repo", "text"]);
        assert_eq!(widget("repoUrl").repo, ["github.com", "acme", "cart"]);
        assert!(widget("tier").choices[1].selected && widget("tier").choices[1].label == "Other");
        assert!(widget("name").required && widget("name").autofocus);
        assert_eq!(widget("port").min.as_deref(), Some("1024"));
    }

    #[test]
    fn errors_find_their_field() {
        let e = |path: &str, message: &str| field_of(&portico_model::FieldError::new(path, message));
        assert_eq!(e("parameters.name", "does not match"), Some("name".into()));
        assert_eq!(e("parameters.topics[1]", "x"), Some("topics".into()));
        assert_eq!(e("parameters", "\"owner\" is a required property (page \"Basics\")"), Some("owner".into()));
        assert_eq!(e("spec.steps[0].action", "unknown"), None);
    }
}
