//! Horizontal bar charts: entity counts by kind (each bar links to that kind's table), and the
//! groups of a query (each bar links to the query narrowed to that group). Drawn in HTML and
//! CSS rather than SVG so labels keep the page's text size at every width and are shortened
//! with an ellipsis (the whole label in their tooltip) instead of clipped.

use serde::Serialize;

use crate::error::PageError;

#[derive(Serialize)]
struct Bar {
    label: String,
    count: u64,
    url: Option<String>,
    /// The bar's length, in percent of the longest.
    percent: f64,
    colour: String,
}

#[derive(Serialize)]
struct Chart {
    title: String,
    bars: Vec<Bar>,
}

/// The chart of `counts` (kind, count), largest first as given.
pub(crate) fn kinds(counts: &[(String, u64)]) -> Result<String, PageError> {
    bars("Entities by kind", counts, |kind| Some(format!("/catalog?kind={}", kind.to_ascii_lowercase())), super::kind_colour)
}

/// A chart of `counts` (label, count) in the order given; `url` links a bar, `colour` picks
/// its colour class.
pub(crate) fn bars(
    title: &str,
    counts: &[(String, u64)],
    url: impl Fn(&str) -> Option<String>,
    colour: impl Fn(&str) -> String,
) -> Result<String, PageError> {
    let max = counts.iter().map(|c| c.1).max().unwrap_or(1).max(1);
    let bars = counts
        .iter()
        .map(|(kind, count)| Bar {
            label: kind.clone(),
            count: *count,
            url: url(kind),
            percent: ((*count as f64 / max as f64) * 1000.0).round().max(5.0) / 10.0,
            colour: colour(kind),
        })
        .collect();
    crate::templates::render("bars.html", Chart { title: title.to_owned(), bars }).map(|h| h.0)
}
