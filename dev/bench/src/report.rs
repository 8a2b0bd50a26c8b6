//! The benchmark's table: one row per measurement, with its target and PASS / FALL SHORT
//! where issue #8 sets one; printed as Markdown so docs/performance.md can quote it as is.

use std::fmt::{self, Write as _};

use crate::machine::Machine;
use crate::options::Options;

/// A target a measurement is held to.
#[derive(Clone, Debug)]
pub struct Target {
    /// E.g. `≥ 30×`.
    pub text: String,
    /// Whether the measurement meets it.
    pub met: bool,
}

impl Target {
    /// `value ≥ bound`.
    pub fn at_least(value: f64, bound: f64, text: &str) -> Target {
        Target {
            text: text.into(),
            met: value >= bound,
        }
    }

    /// `value ≤ bound`.
    pub fn at_most(value: f64, bound: f64, text: &str) -> Target {
        Target {
            text: text.into(),
            met: value <= bound,
        }
    }
}

/// One line of the table.
#[derive(Clone, Debug)]
pub struct Row {
    /// What was measured.
    pub measure: String,
    /// The number, with its unit.
    pub value: String,
    /// The target, if the issue sets one.
    pub target: Option<Target>,
}

/// What one run of the patch job in-process did (the smoke test checks these).
#[derive(Clone, Debug)]
pub struct OursRun {
    /// Dev server latency, ms.
    pub latency_ms: u64,
    /// Jobs in the backlog.
    pub backlog: i64,
    /// Jobs found `done`, with their effects verified.
    pub done: i64,
    /// Jobs per second.
    pub rate: f64,
    /// Requests per 1,000 jobs.
    pub requests_per_1000: f64,
}

/// What one timed run of baseline 3 did (the cost table reads it).
#[derive(Clone, Debug)]
pub struct TypeScriptRun {
    /// Dev server latency, ms.
    pub latency_ms: u64,
    /// Jobs per second.
    pub rate: f64,
    /// Requests per 1,000 jobs.
    pub requests_per_1000: f64,
    /// Node's peak memory, MB.
    pub peak_rss_mb: f64,
}

/// One idle invocation of a function (an empty database): the cost table's idle day.
#[derive(Clone, Debug)]
pub struct IdleRun {
    /// The binary (`cron-patch`, …) or `baseline 3` (node).
    pub name: String,
    /// The path it serves.
    pub path: String,
    /// Spawn to the end of its answer (the cold start's median).
    pub wall_ms: f64,
    /// Peak memory, MB.
    pub peak_mb: f64,
    /// Requests the dev server answered for it.
    pub requests: u64,
}

/// Everything a run measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Where it ran.
    pub machine: Machine,
    /// Tiny sizes (targets not meaningful).
    pub smoke: bool,
    /// The table.
    pub rows: Vec<Row>,
    /// Text printed after the table (plans, notes).
    pub notes: Vec<String>,
    /// The in-process runs of our patch job.
    pub ours: Vec<OursRun>,
    /// The timed runs of baseline 3.
    pub typescript: Vec<TypeScriptRun>,
    /// Idle invocations of the functions.
    pub idle: Vec<IdleRun>,
    /// Baseline 3's idle invocation (node start-up included).
    pub typescript_idle: Option<IdleRun>,
    /// `cron-patch`'s peak memory (MB) over one run of many jobs.
    pub patch_peak_mb: Option<f64>,
}

impl Report {
    /// An empty report for a run with `options`.
    pub fn new(options: &Options) -> Report {
        Report {
            machine: Machine::current(),
            smoke: options.smoke,
            rows: Vec::new(),
            notes: Vec::new(),
            ours: Vec::new(),
            typescript: Vec::new(),
            idle: Vec::new(),
            typescript_idle: None,
            patch_peak_mb: None,
        }
    }

    /// Adds a row without a target.
    pub fn row(&mut self, measure: impl Into<String>, value: impl Into<String>) {
        self.rows.push(Row {
            measure: measure.into(),
            value: value.into(),
            target: None,
        });
    }

    /// Adds a row held to `target`.
    pub fn check(&mut self, measure: impl Into<String>, value: impl Into<String>, target: Target) {
        self.rows.push(Row {
            measure: measure.into(),
            value: value.into(),
            target: Some(target),
        });
    }

    /// Rows whose target is not met.
    pub fn shortfalls(&self) -> impl Iterator<Item = &Row> {
        self.rows
            .iter()
            .filter(|r| r.target.as_ref().is_some_and(|t| !t.met))
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mode = if self.smoke {
            "SMOKE run: tiny sizes, debug or release; the targets are not meaningful"
        } else {
            "full run"
        };
        writeln!(f, "supacron benchmark — {mode}")?;
        writeln!(f, "machine: {}", self.machine)?;
        writeln!(f)?;
        writeln!(f, "| measurement | value | target | result |")?;
        writeln!(f, "|---|---:|---|---|")?;
        for row in &self.rows {
            let (target, result) = match &row.target {
                Some(t) => (t.text.as_str(), if t.met { "PASS" } else { "FALL SHORT" }),
                None => ("", ""),
            };
            writeln!(
                f,
                "| {} | {} | {} | {} |",
                row.measure, row.value, target, result
            )?;
        }
        for note in &self.notes {
            writeln!(f)?;
            writeln!(f, "{note}")?;
        }
        Ok(())
    }
}

/// `12345.6` → `12,346`.
pub fn thousands(value: f64) -> String {
    let digits = format!("{:.0}", value.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if value < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// A ratio: `43.2×` (two significant decimals below 10).
pub fn ratio(value: f64) -> String {
    let mut s = String::new();
    if value < 10.0 {
        let _ = write!(s, "{value:.2}×");
    } else {
        let _ = write!(s, "{value:.1}×");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1000.0), "1,000");
        assert_eq!(thousands(1234567.0), "1,234,567");
        assert_eq!(ratio(0.512), "0.51×");
        assert_eq!(ratio(43.21), "43.2×");
    }
}
