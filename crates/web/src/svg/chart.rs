//! Horizontal bar charts: entity counts by kind (each bar links to that kind's table), and the
//! groups of a query (each bar links to the query narrowed to that group).

use serde::Serialize;

use crate::error::PageError;

const WIDTH: u32 = 560;
const LABEL: u32 = 110;
const ROW: u32 = 28;
const BAR: u32 = 18;

#[derive(Serialize)]
struct Bar {
    label: String,
    count: u64,
    url: Option<String>,
    y: u32,
    width: u32,
    colour: String,
}

#[derive(Serialize)]
struct Chart {
    title: String,
    width: u32,
    height: u32,
    label: u32,
    bar: u32,
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
    let room = WIDTH - LABEL - 60;
    let bars = counts
        .iter()
        .enumerate()
        .map(|(i, (kind, count))| Bar {
            label: super::clip(kind, 18),
            count: *count,
            url: url(kind),
            y: i as u32 * ROW,
            width: ((*count as f64 / max as f64) * f64::from(room)).round().max(2.0) as u32,
            colour: colour(kind),
        })
        .collect();
    let height = (counts.len() as u32 * ROW).max(ROW);
    crate::templates::render("chart.svg", Chart { title: title.to_owned(), width: WIDTH, height, label: LABEL, bar: BAR, bars }).map(|h| h.0)
}
