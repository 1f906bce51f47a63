//! Pictures drawn on the server: bar charts (in HTML), line charts over time and relation graphs
//! (in SVG). Layout is computed here; the markup comes from templates (`bars.html`,
//! `lines.html`, `graph.svg`), escaped like the pages.

pub(crate) mod chart;
pub(crate) mod graph;
pub(crate) mod burndown;
pub(crate) mod lines;

/// Shortens a label to `max` characters, with an ellipsis.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// The colour class (`c0`…`c7`) of a relation type or kind: stable, spread by a hash of the
/// lowercased name.
pub(crate) fn colour(name: &str) -> String {
    let h = name.bytes().fold(5381u32, |h, b| h.wrapping_mul(33) ^ u32::from(b.to_ascii_lowercase()));
    format!("c{}", h % 8)
}

/// A colour class for each of `names` (in order), none used twice while the eight last: each
/// name's `preferred` colour unless an earlier name took it, else the first one free.
pub(crate) fn distinct_colours(names: &[String], preferred: impl Fn(&str) -> String) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(names.len());
    for name in names {
        let want = preferred(name);
        let taken = |c: &str| out.iter().any(|(_, t)| t == c);
        let colour = if taken(&want) { (0..8).map(|c| format!("c{c}")).find(|c| !taken(c)).unwrap_or(want) } else { want };
        out.push((name.clone(), colour));
    }
    out
}

/// The colour class of a kind: fixed for Backstage's kinds so they read alike on every page.
pub(crate) fn kind_colour(kind: &str) -> String {
    let fixed = match kind.to_ascii_lowercase().as_str() {
        "component" => "c2",
        "api" => "c5",
        "group" => "c0",
        "user" => "c4",
        "system" => "c6",
        "domain" => "c3",
        "resource" => "c7",
        "location" => "c1",
        _ => return colour(kind),
    };
    fixed.to_owned()
}
