//! An initiative's burn-down: entities still to bring to the target over time (a step line
//! from the stored progress), the ideal line from the start to zero at the deadline (dashed),
//! and today (a vertical marker). The x axis runs from the start to the deadline, or to today
//! once the deadline has passed.

use portico_scorecards::initiative::Burndown;
use serde::Serialize;

use crate::error::PageError;

use super::lines::{BOTTOM, HEIGHT, RIGHT, TOP, Tick, WIDTH};

/// Room for the y axis' labels (counts of entities: short).
const LEFT: f64 = 40.0;

#[derive(Serialize)]
struct Chart {
    title: String,
    width: i32,
    height: i32,
    left: i32,
    right: i32,
    top: i32,
    bottom: i32,
    actual: String,
    ideal: String,
    today: Option<i32>,
    deadline_mark: Option<i32>,
    last: (i32, i32),
    remaining: i64,
    y_ticks: Vec<Tick>,
    x_ticks: Vec<Tick>,
}

/// The chart of `b` at `now` (ms).
pub(crate) fn chart(title: &str, b: &Burndown, now: i64) -> Result<String, PageError> {
    let end = b.deadline.max(now).max(b.start + 1);
    let max = b.points.iter().map(|p| p.1).chain([b.remaining_at_start, 1]).max().unwrap_or(1);
    let step = super::lines::nice_step(max as u64) as i64;
    let top_value = (max + step - 1) / step * step;
    let x = |t: i64| LEFT + (WIDTH - LEFT - RIGHT) * ((t - b.start).max(0) as f64 / (end - b.start) as f64);
    let y = |v: i64| TOP + (HEIGHT - TOP - BOTTOM) * (1.0 - v as f64 / top_value as f64);
    // A step line: the count holds until the next change, and up to today.
    let mut actual = Vec::new();
    let mut previous: Option<i64> = None;
    for &(at, remaining, _) in &b.points {
        if let Some(p) = previous {
            actual.push(format!("{:.1},{:.1}", x(at), y(p)));
        }
        actual.push(format!("{:.1},{:.1}", x(at), y(remaining)));
        previous = Some(remaining);
    }
    let remaining = previous.unwrap_or(b.remaining_at_start);
    let last_at = now.min(end);
    actual.push(format!("{:.1},{:.1}", x(last_at), y(remaining)));
    let ideal = format!("{:.1},{:.1} {:.1},{:.1}", x(b.start), y(b.remaining_at_start), x(b.deadline), y(0));
    let date = |t: i64| chrono::DateTime::from_timestamp_millis(t).map_or_else(String::new, |t| t.format("%b %-d, %Y").to_string());
    let mut x_ticks = vec![Tick { at: x(b.start) as i32, label: date(b.start), anchor: "start" }, Tick { at: x(end) as i32, label: date(end), anchor: "end" }];
    // Past the deadline, the axis runs on to today: the deadline is marked by a line, and named
    // where its label does not run into the last date's.
    let deadline_mark = (end != b.deadline).then(|| x(b.deadline) as i32);
    if end != b.deadline && x(end) - x(b.deadline) > 90.0 {
        x_ticks.insert(1, Tick { at: x(b.deadline) as i32, label: "deadline".into(), anchor: "middle" });
    }
    let chart = Chart {
        title: title.to_owned(),
        width: WIDTH as i32,
        height: HEIGHT as i32,
        left: LEFT as i32,
        right: (WIDTH - RIGHT) as i32,
        top: TOP as i32,
        bottom: (HEIGHT - BOTTOM) as i32,
        actual: actual.join(" "),
        ideal,
        today: (now > b.start && now < end).then(|| x(now) as i32),
        deadline_mark,
        last: (x(last_at) as i32, y(remaining) as i32),
        remaining,
        y_ticks: (0..=top_value / step).map(|k| Tick { at: y(k * step) as i32, label: (k * step).to_string(), anchor: "end" }).collect(),
        x_ticks,
    };
    crate::templates::render("burndown.html", chart).map(|h| h.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actual_line_steps_from_change_to_change_and_the_ideal_one_reaches_zero_at_the_deadline() {
        let day = 86_400_000;
        let b = Burndown { start: 0, deadline: 10 * day, remaining_at_start: 8, points: vec![(0, 8, 8), (2 * day, 5, 8), (4 * day, 2, 8)] };
        let svg = chart("Burn-down", &b, 5 * day).unwrap();
        // Width 424 over ten days: the second change is at x = 40 + 84.8.
        assert!(svg.contains("points=\"40.0,12.0 124.8,12.0 124.8,72.0 209.6,72.0 209.6,132.0 252.0,132.0\""), "{svg}");
        assert!(svg.contains("points=\"40.0,12.0 464.0,172.0\""), "{svg}");
        assert!(svg.contains("class=\"today\""), "{svg}");
        assert!(svg.contains("<title>2 left</title>"), "{svg}");
        // After the deadline, the axis runs on to today and marks the deadline.
        let late = chart("Burn-down", &b, 20 * day).unwrap();
        assert!(late.contains(">deadline<") && late.contains("class=\"deadline\"") && !late.contains("class=\"today\""), "{late}");
        // Just past it: marked, not named (the label would run into the last date's).
        let just = chart("Burn-down", &b, 11 * day).unwrap();
        assert!(!just.contains(">deadline<") && just.contains("class=\"deadline\""), "{just}");
    }
}
