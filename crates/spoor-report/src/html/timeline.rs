//! The findings-over-time chart: an inline SVG drawn here, so the report needs no chart library
//! and no network.

use crate::evidence::rfc3339;
use chrono::DateTime;
use std::fmt::Write as _;

/// Bucket sizes tried, in seconds, smallest first; the first giving at most `MAX_BUCKETS` wins.
const BUCKET_SIZES: [i64; 14] = [
    1,
    10,
    60,
    300,
    900,
    3_600,
    10_800,
    21_600,
    43_200,
    86_400,
    604_800,
    2_592_000,
    31_536_000,
    315_360_000,
];
const MAX_BUCKETS: i64 = 80;
const WIDTH: f64 = 1000.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 990.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 186.0;

/// Per-level counts in one time bucket; index = level rank (informational = 0).
type Stack = [u64; 5];

/// Draws the chart of `(unix seconds, level rank, count)` points as SVG. `colours` gives each
/// level rank's colour. Returns a paragraph instead when there is nothing to draw.
pub fn svg(points: &[(i64, u8, u64)], colours: [&str; 5]) -> String {
    let (Some(min), Some(max)) = (
        points.iter().map(|p| p.0).min(),
        points.iter().map(|p| p.0).max(),
    ) else {
        return "<p class=\"muted\">No finding has a time.</p>".into();
    };
    let span = max.saturating_sub(min);
    let size = BUCKET_SIZES
        .iter()
        .copied()
        .find(|s| span / s < MAX_BUCKETS)
        .unwrap_or(i64::MAX / 2);
    let start = min.div_euclid(size).saturating_mul(size);
    let n = usize::try_from(max.saturating_sub(start) / size + 1)
        .unwrap_or(1)
        .clamp(1, MAX_BUCKETS as usize);
    let mut buckets: Vec<Stack> = vec![[0; 5]; n];
    for &(t, level, count) in points {
        let i = usize::try_from(t.saturating_sub(start) / size).unwrap_or(0);
        if let Some(stack) = buckets.get_mut(i.min(n - 1)) {
            if let Some(slot) = stack.get_mut(usize::from(level)) {
                *slot = slot.saturating_add(count);
            }
        }
    }
    let peak = buckets
        .iter()
        .map(|b| b.iter().sum::<u64>())
        .max()
        .unwrap_or(1)
        .max(1);
    let bar_w = (RIGHT - LEFT) / n as f64;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"Findings over time\" xmlns=\"http://www.w3.org/2000/svg\">"
    );
    let _ = write!(
        s,
        "<line x1=\"{LEFT}\" y1=\"{BOTTOM}\" x2=\"{RIGHT}\" y2=\"{BOTTOM}\" stroke=\"#888\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{BOTTOM}\" stroke=\"#888\"/>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"11\">{peak}</text>\
         <text x=\"{}\" y=\"{BOTTOM}\" text-anchor=\"end\" font-size=\"11\">0</text>",
        LEFT - 4.0,
        TOP + 10.0,
        LEFT - 4.0
    );
    for (i, stack) in buckets.iter().enumerate() {
        let total: u64 = stack.iter().sum();
        if total == 0 {
            continue;
        }
        let x = LEFT + bar_w * i as f64;
        let from = start.saturating_add(size.saturating_mul(i as i64));
        let _ = write!(
            s,
            "<g><title>{} + {}: {total} finding(s)</title>",
            label(from),
            human_size(size)
        );
        let mut y = BOTTOM;
        for (rank, count) in stack.iter().enumerate() {
            if *count == 0 {
                continue;
            }
            let h = (BOTTOM - TOP) * (*count as f64) / (peak as f64);
            y -= h;
            let colour = colours.get(rank).copied().unwrap_or("#999");
            let _ = write!(
                s,
                "<rect x=\"{x:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{h:.2}\" fill=\"{colour}\"/>",
                (bar_w - 1.0).max(0.5)
            );
        }
        s.push_str("</g>");
    }
    let end = start.saturating_add(size.saturating_mul(n as i64));
    let _ = write!(
        s,
        "<text x=\"{LEFT}\" y=\"{}\" font-size=\"11\">{}</text>\
         <text x=\"{RIGHT}\" y=\"{}\" font-size=\"11\" text-anchor=\"end\">{}</text>\
         <text x=\"{}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">one bar = {}</text></svg>",
        BOTTOM + 16.0,
        label(start),
        BOTTOM + 16.0,
        label(end),
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 16.0,
        human_size(size)
    );
    s
}

fn label(t: i64) -> String {
    DateTime::from_timestamp(t, 0)
        .map(rfc3339)
        .unwrap_or_else(|| t.to_string())
}

fn human_size(s: i64) -> String {
    match s {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s if s % 3_600 == 0 => format!("{} h", s / 3_600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: [&str; 5] = ["#0", "#1", "#2", "#3", "#4"];

    #[test]
    fn buckets_and_stacks() {
        // Two findings in the same minute, one an hour later: 1-minute buckets, 61 of them.
        let pts = [(3_600, 3, 1), (3_610, 4, 2), (7_200, 3, 1)];
        let s = svg(&pts, C);
        assert!(s.starts_with("<svg"));
        assert_eq!(s.matches("<g>").count(), 2);
        assert!(s.contains("3 finding(s)"));
        assert!(s.contains("one bar = 1 min"));
        assert!(s.contains("fill=\"#4\"") && s.contains("fill=\"#3\""));
    }

    #[test]
    fn handles_extremes() {
        assert!(svg(&[], C).contains("No finding"));
        let s = svg(&[(i64::MIN / 4, 0, 1), (i64::MAX / 4, 1, 1)], C);
        assert!(s.starts_with("<svg"));
        let one = svg(&[(5, 2, 7)], C);
        assert!(one.contains("7 finding(s)"));
    }
}
