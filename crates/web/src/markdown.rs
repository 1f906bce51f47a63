//! Markdown documents (READMEs, `docs/`) rendered for the Docs tab: CommonMark with GitHub's
//! tables, strikethrough and task lists by `pulldown-cmark`, then sanitized by `ammonia` (its
//! allow-list of tags and attributes; scripts, event handlers, `javascript:` URLs and styles
//! are removed; links keep only the schemes entity links may have, [`SAFE_SCHEMES`]), since
//! the text comes from repositories anyone may write to.

use pulldown_cmark::{Options, Parser, html};

use crate::view::SAFE_SCHEMES;

/// Safe HTML for a Markdown document.
pub(crate) fn render(markdown: &str) -> String {
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TASKLISTS | Options::ENABLE_HEADING_ATTRIBUTES;
    let mut out = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut out, Parser::new_ext(markdown, options));
    ammonia::Builder::default()
        .url_schemes(SAFE_SCHEMES.iter().copied().collect())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&out)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn markdown_is_rendered_and_sanitized() {
        let html = render("# Cart\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n- [x] done\n\n<script>alert(1)</script>\n[x](javascript:alert(1)) <img src=x onerror=alert(1)> [d](data:text/html,x) [m](mailto:a@example.com)");
        assert!(html.contains("<h1>Cart</h1>"), "{html}");
        assert!(html.contains("<table>") && html.contains("<td>2</td>"), "{html}");
        assert!(!html.contains("<script") && !html.contains("onerror") && !html.contains("javascript:"), "{html}");
        assert!(!html.contains("data:") && html.contains("href=\"mailto:a@example.com\""), "the schemes of entity links: {html}");
    }
}
