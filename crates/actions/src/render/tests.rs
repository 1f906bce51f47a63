use serde_json::json;

use super::*;

fn ctx(v: serde_json::Value) -> minijinja::Value {
    context(&v)
}

#[test]
fn one_expression_keeps_its_type() {
    let r = Renderer::new();
    let c = ctx(json!({"parameters": {"topics": ["a", "b"], "n": 3, "dryRun": false, "empty": ""}}));
    assert_eq!(r.render_string("${{ parameters.topics }}", &c).unwrap(), Some(json!(["a", "b"])));
    assert_eq!(r.render_string(" ${{parameters.n}} ", &c).unwrap(), Some(json!(3)));
    assert_eq!(r.render_string("${{ parameters.dryRun !== true }}", &c).unwrap(), Some(json!(true)));
    // Text around an expression makes a string; nothing makes no value (Backstage's undefined).
    assert_eq!(r.render_string("n=${{ parameters.n }}", &c).unwrap(), Some(json!("n=3")));
    assert_eq!(r.render_string("${{ parameters.missing }}", &c).unwrap(), None);
    assert_eq!(r.render_string("${{ parameters.empty }}", &c).unwrap(), None);
    assert_eq!(r.render_string("plain", &c).unwrap(), Some(json!("plain")));
}

#[test]
fn values_render_depth_first_and_drop_empty_fields() {
    let r = Renderer::new();
    let c = ctx(json!({"parameters": {"name": "cart"}}));
    let v = json!({"a": "${{ parameters.name }}", "b": ["x-${{ parameters.name }}", "${{ parameters.nope }}"], "c": "${{ parameters.nope }}", "d": 1});
    assert_eq!(r.render_value(&v, &c, "input").unwrap(), Some(json!({"a": "cart", "b": ["x-cart"], "d": 1})));
    let (path, e) = r.render_value(&json!({"x": [{"y": "${{ parameters.name | nosuchfilter }}"}]}), &c, "spec.steps[0].input").unwrap_err();
    assert_eq!(path, "spec.steps[0].input.x[0].y");
    assert!(e.message.contains("nosuchfilter"), "{e}");
}

#[test]
fn nunjucks_forms_backstage_templates_use() {
    let r = Renderer::new();
    let c = ctx(json!({"parameters": {"targetPath": "", "nothing": null, "repoUrl": "github.com?owner=o&repo=r"}, "secrets": {}}));
    assert_eq!(r.render_string("${{ parameters.targetPath if parameters.targetPath else '.' }}", &c).unwrap(), Some(json!(".")));
    assert_eq!(r.render_string("${{ secrets.USER_OAUTH_TOKEN or false }}", &c).unwrap(), Some(json!(false)));
    assert_eq!(r.render_string("${{ (parameters.repoUrl | parseRepoUrl).owner }}", &c).unwrap(), Some(json!("o")));
    assert_eq!(r.render_string("${{ parameters.repoUrl | parseRepoUrl | dump }}", &c).unwrap(), Some(json!(r#"{"host":"github.com","owner":"o","repo":"r"}"#)));
    assert_eq!(r.render_string("{% if parameters.targetPath === '' %}root{% endif %}", &c).unwrap(), Some(json!("root")));
    assert_eq!(r.render_string("${{ parameters.nothing === null }}", &c).unwrap(), Some(json!(true)));
    // As in JavaScript, a missing value is not null.
    assert_eq!(r.render_string("${{ parameters.missing === null }}", &c).unwrap(), Some(json!(false)));
}

#[test]
fn rendering_reads_no_file() {
    let r = Renderer::new();
    let c = ctx(json!({}));
    for text in ["{% include '/etc/passwd' %}", "{% import '/etc/passwd' as p %}x", "{% extends '/etc/hostname' %}"] {
        let e = r.render_string(text, &c).unwrap_err();
        assert!(e.message.contains("not found") || e.message.contains("template"), "{text}: {e}");
    }
}

#[test]
fn loops_and_growth_are_bounded() {
    let r = Renderer::new();
    let c = ctx(json!({}));
    let e = r.render_string("{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}", &c).unwrap_err();
    assert!(e.message.contains("budget"), "{e}");
    // Refused by minijinja's own cap on repeated strings, or by the budget, which counts
    // the characters a repetition would make: either way before it allocates.
    let e = r.render_string("${{ 'x' * 1000000000000 }}", &c).unwrap_err();
    assert!(e.message.contains("too large") || e.message.contains("budget"), "{e}");
    let e = r.render_string("{% for i in range(3) %}${{ 'x' * 5000000 }}{% endfor %}", &c).unwrap_err();
    assert!(e.message.contains("limit"), "{e}");
    // Doubling a string: the budget counts every byte made, so this stops near 64 MB.
    let bomb = format!("{{% set s = 'x' * 1000 %}}{}${{{{ s | length }}}}", "{% set s = s ~ s %}".repeat(40));
    let e = r.render_string(&bomb, &c).unwrap_err();
    assert!(e.message.contains("budget"), "{e}");
    let e = r.render_string("{% macro f(n) %}${{ f(n) }}{% endmacro %}${{ f(1) }}", &c).unwrap_err();
    assert!(e.message.contains("recursion") || e.message.contains("budget"), "{e}");
}

#[test]
fn check_reports_the_line() {
    let r = Renderer::new();
    assert!(r.check("fine ${{ parameters.x }}").is_ok());
    let e = r.check("line one\nline two ${{ parameters.x | }}\n").unwrap_err();
    assert_eq!(e.line, Some(2));
    assert!(r.check("${{ parameters.x ").is_err());
}

#[test]
fn cookiecutter_style() {
    let r = Renderer::new();
    let c = ctx(json!({"cookiecutter": {"name": "docs"}}));
    let style = Style { dialect: Dialect::Cookiecutter, trim_blocks: false, lstrip_blocks: false };
    assert_eq!(r.render_text("site_name: {{ cookiecutter.name }}\n", &c, style).unwrap(), "site_name: docs\n");
    // The Backstage style leaves `{{ }}` alone (a GitHub workflow's `${{ }}` aside).
    assert_eq!(r.render_text("a {{ b }}\n", &c, Style::BACKSTAGE).unwrap(), "a {{ b }}\n");
}

#[test]
fn text_with_quotes_around_an_expression() {
    let r = Renderer::new();
    let c = context(&json!({"values": {"name": "cart"}}));
    assert_eq!(r.render_text("name = '${{ values.name }}'\n", &c, Style::BACKSTAGE).unwrap(), "name = 'cart'\n");
    assert_eq!(r.render_text("${{ values.missing.deeper }}|\n", &c, Style::BACKSTAGE).unwrap(), "|\n");
}
