//! A line chart of counts over time (the dashboards' "catalog over time"): one line per group,
//! a labelled y axis, dates along the x axis (the first and last kept inside the chart), and a
//! legend in HTML under it naming each line with its latest value.

use portico_catalog::Series;
use serde::Serialize;

use crate::error::PageError;

pub(crate) const WIDTH: f64 = 480.0;
pub(crate) const HEIGHT: f64 = 200.0;
const LEFT: f64 = 48.0;
pub(crate) const RIGHT: f64 = 16.0;
pub(crate) const TOP: f64 = 12.0;
pub(crate) const BOTTOM: f64 = 28.0;

#[derive(Serialize)]
struct Line {
    name: String,
    colour: String,
    points: String,
    last: u64,
    last_x: i32,
    last_y: i32,
}

#[derive(Serialize)]
pub(crate) struct Tick {
    pub at: i32,
    pub label: String,
    /// `start`, `middle` or `end`: the first and last dates stay inside the chart.
    pub anchor: &'static str,
}

#[derive(Serialize)]
struct Chart {
    id: String,
    title: String,
    width: i32,
    height: i32,
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
    lines: Vec<Line>,
    y_ticks: Vec<Tick>,
    x_ticks: Vec<Tick>,
}

/// The chart of `series`, titled `title`; `id` makes its element ids unique on a page.
pub(crate) fn chart(id: &str, title: &str, series: &Series) -> Result<String, PageError> {
    let max = series.lines.iter().flat_map(|l| l.values.iter().copied()).max().unwrap_or(0).max(1);
    let step = nice_step(max);
    let top_value = max.div_ceil(step) * step;
    let n = series.times.len().max(1);
    let x = |i: usize| if n == 1 { LEFT + (WIDTH - LEFT - RIGHT) / 2.0 } else { LEFT + (WIDTH - LEFT - RIGHT) * i as f64 / (n - 1) as f64 };
    let y = |v: u64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - v as f64 / top_value as f64);
    // Each line its own colour: a kind keeps the colour it has on every page when no other
    // line took it.
    let names: Vec<String> = series.lines.iter().map(|l| l.name.clone()).collect();
    let colours = super::distinct_colours(&names, |n| if series.by == portico_catalog::SeriesBy::Kind { super::kind_colour(n) } else { super::colour(n) });
    let lines = series
        .lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let points = l.values.iter().enumerate().map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v))).collect::<Vec<_>>().join(" ");
            let last = l.values.last().copied().unwrap_or(0);
            Line {
                name: l.name.clone(),
                colour: colours[i].1.clone(),
                points,
                last,
                last_x: x(l.values.len().saturating_sub(1)) as i32,
                last_y: y(last) as i32,
            }
        })
        .collect();
    let y_ticks = (0..=top_value / step).map(|k| Tick { at: y(k * step) as i32, label: (k * step).to_string(), anchor: "end" }).collect();
    let picks: &[usize] = match n {
        1 => &[0],
        2 => &[0, 1],
        _ => &[0, n / 2, n - 1],
    };
    let x_ticks = picks
        .iter()
        .enumerate()
        .filter_map(|(k, &i)| {
            let anchor = match k {
                _ if n == 1 => "middle",
                0 => "start",
                k if k + 1 == picks.len() => "end",
                _ => "middle",
            };
            Some(Tick { at: x(i) as i32, label: date(*series.times.get(i)?), anchor })
        })
        .collect::<Vec<_>>();
    let chart = Chart {
        id: id.to_owned(),
        title: title.to_owned(),
        width: WIDTH as i32,
        height: HEIGHT as i32,
        left: LEFT as i32,
        right: (WIDTH - RIGHT) as i32,
        top: TOP as i32,
        bottom: (HEIGHT - BOTTOM) as i32,
        lines,
        y_ticks,
        x_ticks,
    };
    crate::templates::render("lines.html", chart).map(|h| h.0)
}

/// A step of 1, 2 or 5 times a power of ten giving at most five gridlines.
pub(crate) fn nice_step(max: u64) -> u64 {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if max / (step * m) <= 5 {
                return step * m;
            }
        }
        step *= 10;
    }
}

fn date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms).map_or_else(String::new, |t| t.format("%b %-d %H:%M").to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(1), 1);
        assert_eq!(nice_step(7), 2);
        assert_eq!(nice_step(66), 20);
        assert_eq!(nice_step(100_000), 20_000);
    }
}
