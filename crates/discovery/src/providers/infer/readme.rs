//! Descriptions and docs: a README's first paragraph as plain text, and the Markdown pages
//! shown on an entity's Docs tab (its README and `docs/**/*.md`, or the folder a
//! `backstage.io/techdocs-ref: dir:` annotation names).

use std::sync::LazyLock;

use regex::Regex;

use super::tree::{Tree, join, resolve};
use crate::engine::Doc;

/// README names, in order of preference.
pub(crate) const README_NAMES: &[&str] = &["README.md", "README.markdown", "README.rst", "README.txt", "README", "readme.md"];
/// Largest doc kept, in bytes.
pub(crate) const MAX_DOC_BYTES: usize = 256 * 1024;
/// Most docs kept per entity.
pub(crate) const MAX_DOCS: usize = 50;
/// Longest description, in characters.
const MAX_DESCRIPTION: usize = 600;

/// The README of a folder, if it has one.
pub(crate) fn readme_of(tree: &Tree<'_>, dir: &str) -> Option<String> {
    tree.find_ci(dir, README_NAMES)
}

/// The first paragraph of prose of a README, as plain text.
#[cfg(test)]
pub(crate) fn description(text: &str) -> Option<String> {
    description_at(text).map(|(d, _)| d)
}

/// Commands a paragraph may be made of (an install step, not a description).
const COMMANDS: &[&str] = &[
    "$ ", "npm ", "npx ", "yarn ", "pnpm ", "pip ", "pip3 ", "python ", "go ", "cargo ", "mvn ", "./mvnw", "gradle", "./gradlew", "docker ",
    "kubectl ", "helm ", "make ", "git ", "curl ", "brew ", "apt", "dotnet ", "./", "sudo ", "cd ",
];

/// True for a paragraph that describes: prose of a few words, not a command, a code span or a
/// bare link.
fn describes(raw: &[&str], plain: &str) -> bool {
    let first = raw.first().map_or("", |l| l.trim());
    let command = COMMANDS.iter().any(|c| first.to_ascii_lowercase().starts_with(c)) || raw.iter().all(|l| l.starts_with("    "));
    let code_chars: usize = raw.iter().map(|l| l.split('`').skip(1).step_by(2).map(str::len).sum::<usize>()).sum();
    let total: usize = raw.iter().map(|l| l.len()).sum::<usize>().max(1);
    let words = plain.split_whitespace().filter(|w| w.chars().any(char::is_alphabetic)).count();
    !command && code_chars * 2 < total && words >= 3
}

/// The first paragraph of a README that describes, as plain text, and its 1-based line.
pub(crate) fn description_at(text: &str) -> Option<(String, usize)> {
    let mut para: Vec<String> = Vec::new();
    let mut raw_para: Vec<&str> = Vec::new();
    let mut start = 0;
    let mut found: Option<(String, usize)> = None;
    let mut in_code = false;
    let mut in_front_matter = false;
    let mut in_html_comment = false;
    let lines: Vec<&str> = text.lines().collect();
    for (i, raw) in lines.iter().enumerate() {
        let line = raw.trim();
        if i == 0 && line == "---" {
            in_front_matter = true;
            continue;
        }
        if in_front_matter {
            in_front_matter = line != "---";
            continue;
        }
        if in_html_comment {
            in_html_comment = !line.contains("-->");
            continue;
        }
        if line.starts_with("<!--") {
            in_html_comment = !line.contains("-->");
            continue;
        }
        if line.starts_with("```") || line.starts_with("~~~") {
            in_code = !in_code;
            if take(&mut para, &mut raw_para, start, &mut found) {
                break;
            }
            continue;
        }
        if in_code {
            continue;
        }
        let is_structure = line.starts_with('#')
            || line.starts_with(".. ")
            || line.starts_with(':')
            || line.starts_with('|')
            || is_underline(line)
            || lines.get(i + 1).is_some_and(|n| is_underline(n.trim()));
        if line.is_empty() || is_structure {
            if take(&mut para, &mut raw_para, start, &mut found) {
                break;
            }
            continue;
        }
        let plain = strip_markup(line);
        if plain.is_empty() {
            continue;
        }
        if para.is_empty() {
            start = i + 1;
        }
        para.push(plain);
        raw_para.push(raw);
    }
    take(&mut para, &mut raw_para, start, &mut found);
    found
}

/// Ends a paragraph: keeps it when it describes (true: the search is over), else drops it.
fn take(para: &mut Vec<String>, raw: &mut Vec<&str>, start: usize, found: &mut Option<(String, usize)>) -> bool {
    if found.is_some() {
        return true;
    }
    if para.is_empty() {
        return false;
    }
    let joined = para.join(" ");
    let keep = describes(raw, &joined);
    if keep {
        *found = Some((truncate_words(&joined, MAX_DESCRIPTION), start));
    }
    para.clear();
    raw.clear();
    keep
}

/// An RST or setext heading underline (`=====`, `-----`, `~~~~`).
fn is_underline(line: &str) -> bool {
    line.len() >= 3 && line.chars().all(|c| matches!(c, '=' | '-' | '~' | '^' | '*' | '+' | '#'))
}

static IMAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"!\[[^\]]*\]\([^)]*\)|!\[[^\]]*\]\[[^\]]*\]").unwrap());
static LINKED_IMAGE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[\s*!\[[^\]]*\]\([^)]*\)\s*\]\([^)]*\)").unwrap());
static LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\[([^\]]*)\](?:\([^)]*\)|\[[^\]]*\])").unwrap());
static RST_LINK: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"`([^`<]*?)\s*<[^>]*>`_+").unwrap());
static HTML: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").unwrap());
static EMPHASIS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\*\*|__|\*|`+|~~").unwrap());
static UNDERSCORE_EMPHASIS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(^|\s)_([^_]+)_(\s|[.,;:!?]|$)").unwrap());
static SPACES: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+").unwrap());

/// A Markdown/RST line as plain text: badges, images and HTML dropped, links reduced to their
/// text, emphasis and code marks removed, list and quote markers dropped.
fn strip_markup(line: &str) -> String {
    let s = line.trim_start_matches(['>', ' ']);
    let s = s.strip_prefix("- ").or_else(|| s.strip_prefix("* ")).unwrap_or(s);
    let s = LINKED_IMAGE.replace_all(s, "");
    let s = IMAGE.replace_all(&s, "");
    let s = RST_LINK.replace_all(&s, "$1");
    let s = LINK.replace_all(&s, "$1");
    let s = HTML.replace_all(&s, "");
    let s = EMPHASIS.replace_all(&s, "");
    let s = UNDERSCORE_EMPHASIS.replace_all(&s, "$1$2$3");
    let s = s.replace("&nbsp;", " ").replace("&amp;", "&");
    SPACES.replace_all(s.trim(), " ").into_owned()
}

fn truncate_words(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let cut: String = s.chars().take(max).collect();
    let cut = cut.rsplit_once(' ').map_or(cut.as_str(), |(a, _)| a);
    format!("{}…", cut.trim_end_matches([',', ';', ':']))
}

/// The folder holding an entity's Markdown docs: the one a `dir:` techdocs reference names
/// (relative to the descriptor's folder; when it holds `mkdocs.yml`, its `docs_dir`), else
/// `<dir>/docs`.
pub(crate) fn docs_dir(tree: &Tree<'_>, dir: &str, techdocs_ref: Option<&str>) -> Option<String> {
    let Some(target) = techdocs_ref.and_then(|r| r.trim().strip_prefix("dir:")) else {
        return Some(join(dir, "docs"));
    };
    let root = resolve(dir, target.trim())?;
    let Some(mkdocs) = tree.find_ci(&root, &["mkdocs.yml", "mkdocs.yaml"]) else {
        return Some(root);
    };
    let docs_dir = tree
        .read(&mkdocs)
        .ok()
        .flatten()
        .and_then(|t| portico_model::yaml::parse_documents(&t).ok())
        .and_then(|d| d.first().and_then(|v| v.get("docs_dir")).and_then(|v| v.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "docs".to_owned());
    resolve(&root, &docs_dir)
}

/// The docs of an entity whose folder is `dir`: its README (Markdown only) and the `.md`
/// files below its docs folder, each capped, at most [`MAX_DOCS`].
pub(crate) fn docs(tree: &Tree<'_>, dir: &str, techdocs_ref: Option<&str>) -> Vec<Doc> {
    let mut paths: Vec<String> = Vec::new();
    if let Some(readme) = tree.find_ci(dir, &["README.md", "README.markdown"]) {
        paths.push(readme);
    }
    if let Some(docs) = docs_dir(tree, dir, techdocs_ref) {
        let in_docs = tree.under(if docs.is_empty() { "" } else { &docs }).filter(|p| {
            let lower = p.to_ascii_lowercase();
            lower.ends_with(".md") || lower.ends_with(".markdown")
        });
        for p in in_docs {
            if !paths.iter().any(|q| q == p) {
                paths.push(p.to_owned());
            }
        }
    }
    paths
        .into_iter()
        .filter_map(|path| {
            let text = tree.read(&path).ok().flatten()?;
            Some(Doc { markdown: cap(text, MAX_DOC_BYTES), path })
        })
        .take(MAX_DOCS)
        .collect()
}

/// A text cut to at most `max` bytes, on a character boundary.
pub(crate) fn cap(mut text: String, max: usize) -> String {
    if text.len() > max {
        let mut end = max;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
    }
    text
}
