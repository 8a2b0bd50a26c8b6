//! Logging: `tracing` with one JSON object per line on stdout.
//!
//! Vercel keeps about 256 lines per request, so a run logs one summary line, plus one
//! line per failure up to a small cap, never one line per item. Every line logged inside
//! a run carries the run's span (`run_id`, `job`). Secrets never reach a line: the
//! query string is logged only through [`crate::auth::redact_query`], and values are
//! held as [`crate::secret::Secret`].

use std::sync::Once;

use tracing::Level;

/// Log line format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line (Vercel, systemd, PM2).
    Json,
    /// Human-readable lines (a terminal).
    Pretty,
}

static INIT: Once = Once::new();

/// Installs the global subscriber once per process; later calls do nothing.
pub fn init(format: LogFormat, level: Level) {
    INIT.call_once(|| {
        let builder = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stdout);
        let _ = match format {
            LogFormat::Json => builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_target(false)
                .try_init(),
            LogFormat::Pretty => builder.with_target(false).try_init(),
        };
    });
}

/// Installs logging as configured by `SUPACRON_LOG` and `SUPACRON_LOG_FORMAT`.
pub fn init_from_config() {
    let config = crate::config::Config::global();
    init(config.log_format, config.log_level);
}
