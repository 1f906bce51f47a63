//! `docs/reference/actions.md` documents every built-in action and every input it takes.

use portico_actions::Registry;

#[test]
fn every_action_and_input_is_in_the_reference() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/reference/actions.md")).unwrap();
    for action in Registry::builtin().iter() {
        let heading = format!("### `{}`\n", action.id());
        let start = doc.find(&heading).unwrap_or_else(|| panic!("no section {heading:?}"));
        let section = &doc[start + heading.len()..];
        let section = &section[..section.find("\n### ").or_else(|| section.find("\n## ")).unwrap_or(section.len())];
        for input in action.input_schema()["properties"].as_object().into_iter().flatten().map(|(k, _)| k) {
            assert!(section.contains(&format!("`{input}`")), "{}: input {input} is not documented", action.id());
        }
    }
}
