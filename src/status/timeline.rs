//! The 24-hour timeline as an inline SVG: one lane per job, one mark per run, coloured
//! by status (failures drawn last and wider, so they stand out among hundreds of green
//! marks; a gap in a lane is a missed tick). Scales to the page's width.

use std::fmt::Write;

use chrono::{DateTime, Duration, Utc};

use super::TimelineRun;
use super::html::escape;

const WIDTH: f64 = 720.0;
const LABEL: f64 = 84.0;
const RIGHT: f64 = 8.0;
const LANE: f64 = 24.0;
const MARK: f64 = 14.0;
const TOP: f64 = 6.0;
const AXIS: f64 = 18.0;

/// The SVG of `runs` (the last 24 hours before `now`) in lanes for `jobs`, in that order.
pub fn svg(jobs: &[String], runs: &[TimelineRun], now: DateTime<Utc>) -> String {
    let height = TOP + LANE * jobs.len() as f64 + AXIS;
    let plot = WIDTH - LABEL - RIGHT;
    let start = now - Duration::hours(24);
    let x = |t: DateTime<Utc>| {
        let frac = (t - start).num_milliseconds() as f64 / 86_400_000.0;
        LABEL + plot * frac.clamp(0.0, 1.0)
    };
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="timeline" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="Runs per job over the last 24 hours"><title>Runs per job over the last 24 hours</title>"#
    );
    for (lane, job) in jobs.iter().enumerate() {
        let y = TOP + LANE * lane as f64;
        let _ = write!(
            out,
            r#"<rect class="lane" x="{LABEL}" y="{y}" width="{plot}" height="{MARK}"/><text class="label" x="{lx}" y="{ty}">{name}</text>"#,
            lx = LABEL - 6.0,
            ty = y + MARK - 3.0,
            name = escape(job)
        );
    }
    for hours_ago in [24, 18, 12, 6, 0] {
        let gx = x(now - Duration::hours(hours_ago));
        let label = if hours_ago == 0 {
            "now".to_string()
        } else {
            (now - Duration::hours(hours_ago))
                .format("%H:%M")
                .to_string()
        };
        let anchor = match hours_ago {
            24 => "start",
            0 => "end",
            _ => "middle",
        };
        let _ = write!(
            out,
            r#"<line class="grid" x1="{gx:.1}" y1="{TOP}" x2="{gx:.1}" y2="{gy}"/><text class="axis" text-anchor="{anchor}" x="{gx:.1}" y="{ay}">{label}</text>"#,
            gy = height - AXIS + 2.0,
            ay = height - 4.0
        );
    }
    // Successes first, then partial / skipped (and repeated deliveries), failures on top.
    for pass in [0, 1, 2] {
        for TimelineRun(job, at, status) in runs {
            let Some(lane) = jobs.iter().position(|j| j == job) else {
                continue;
            };
            let (class, rank, width) = match status.as_str() {
                "ok" => ("ok", 0, 1.5),
                "running" => ("running", 0, 1.5),
                "partial" => ("partial", 1, 2.0),
                "skipped" | "duplicate" => ("skipped", 1, 2.0),
                _ => ("error", 2, 3.0),
            };
            if rank != pass || *at < start || *at > now {
                continue;
            }
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{:.1}" y="{}" width="{width}" height="{MARK}"/>"#,
                x(*at) - width / 2.0,
                TOP + LANE * lane as f64
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn runs_become_marks_in_their_lane_and_failures_come_last() {
        let now = Utc.with_ymd_and_hms(2026, 3, 1, 12, 0, 0).unwrap();
        let jobs = vec!["patch".to_string(), "<b>".to_string()];
        let runs = vec![
            TimelineRun("patch".into(), now - Duration::hours(1), "error".into()),
            TimelineRun("patch".into(), now - Duration::hours(2), "ok".into()),
            TimelineRun("gone".into(), now - Duration::hours(2), "ok".into()),
            TimelineRun("patch".into(), now - Duration::hours(30), "ok".into()),
        ];
        let svg = svg(&jobs, &runs, now);
        assert_eq!(svg.matches(r#"class="ok""#).count(), 1, "{svg}");
        assert!(svg.find(r#"class="ok""#) < svg.find(r#"class="error""#));
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains(">06:00<") && svg.contains(">now<"));
    }
}
