//! Logging: `tracing` with one JSON object per line on stdout. It knows nothing of the
//! configuration: its callers pass the format and level (`SUPACRON_LOG`, `SUPACRON_LOG_FORMAT`;
//! [`crate::function::vercel::init_logging`], the `supacron` command).
//!
//! Vercel keeps about 256 lines per request, so a run logs one summary line, plus one
//! line per failure up to a small cap, never one line per item. Every line logged inside
//! a run carries the run's span (`run_id`, `job`). Secrets never reach a line: every line
//! is written through [`crate::redact::RedactingWriter`], which replaces the value of every
//! secret the process holds wherever it appears (whatever the parameter name), the query
//! string is also logged through [`crate::auth::redact_query`], and values are held as
//! [`crate::secret::Secret`].

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

/// Where log lines go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogTarget {
    /// Standard output (functions, `supacron serve` and `scheduler`).
    Stdout,
    /// Standard error (`supacron run`, whose stdout is the answer).
    Stderr,
}

impl LogTarget {
    /// Whether the target is a terminal (a person is reading).
    pub fn is_terminal(self) -> bool {
        use std::io::IsTerminal;
        match self {
            LogTarget::Stdout => std::io::stdout().is_terminal(),
            LogTarget::Stderr => std::io::stderr().is_terminal(),
        }
    }
}

static INIT: Once = Once::new();

/// Installs the global subscriber, writing to stdout, once per process; later calls do
/// nothing. (What the functions use: nothing else is linked into them.)
pub fn init(format: LogFormat, level: Level) {
    install(format, level, std::io::stdout, true);
}

/// Like [`init`], writing to `target`; colours only when it is a terminal.
pub fn init_to(format: LogFormat, level: Level, target: LogTarget) {
    let ansi = target.is_terminal();
    match target {
        LogTarget::Stdout => install(format, level, std::io::stdout, ansi),
        LogTarget::Stderr => install(format, level, std::io::stderr, ansi),
    }
}

fn install<W>(format: LogFormat, level: Level, writer: W, ansi: bool)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    INIT.call_once(|| {
        // Every line passes through redaction by value (crate::redact).
        let writer = Redacting(writer);
        let builder = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(writer);
        let _ = match format {
            LogFormat::Json => builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .with_target(false)
                .try_init(),
            LogFormat::Pretty => builder.with_target(false).with_ansi(ansi).try_init(),
        };
    });
}

/// A `MakeWriter` whose writers redact every line ([`crate::redact::RedactingWriter`]).
struct Redacting<M>(M);

impl<'w, M: tracing_subscriber::fmt::MakeWriter<'w>> tracing_subscriber::fmt::MakeWriter<'w>
    for Redacting<M>
{
    type Writer = crate::redact::RedactingWriter<M::Writer>;

    fn make_writer(&'w self) -> Self::Writer {
        crate::redact::RedactingWriter(self.0.make_writer())
    }
}
