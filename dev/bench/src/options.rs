//! What a benchmark run measures and at which sizes: the full run (issue #8's sizes) or the
//! smoke run (tiny sizes, for the test suite), plus the command-line flags.

use std::path::PathBuf;
use std::time::Duration;

/// A part of the benchmark that can be run alone (`--only`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// Patch throughput and round trips.
    Throughput,
    /// Cold start, binary size, peak memory.
    Process,
    /// Claim cost at scale.
    Scale,
    /// Overlapping patch runs draining one backlog.
    ScaleOut,
}

impl Section {
    fn parse(name: &str) -> Option<Section> {
        match name {
            "throughput" => Some(Section::Throughput),
            "process" => Some(Section::Process),
            "scale" => Some(Section::Scale),
            "scale-out" => Some(Section::ScaleOut),
            _ => None,
        }
    }
}

/// Sizes and switches of one run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Tiny sizes, targets not meaningful.
    pub smoke: bool,
    /// Sections to run.
    pub sections: Vec<Section>,
    /// Backlog: conversations.
    pub conversations: i64,
    /// Backlog: characters (each has `conversations / characters` conversations).
    pub characters: i64,
    /// Backlog: jobs, round-robin over the conversations.
    pub jobs: i64,
    /// Jobs baseline 1 is timed over (it handles jobs one by one at a constant rate, and
    /// the whole backlog at 2 ms would take minutes).
    pub seed_sample: i64,
    /// Latencies of the dev server the throughput is measured at.
    pub latencies: Vec<Duration>,
    /// Cold starts per binary (the median is reported).
    pub cold_starts: usize,
    /// Jobs of the run whose peak memory is measured.
    pub memory_jobs: i64,
    /// `patch_jobs` rows of the small table and of the large ones (each compared with the
    /// small one).
    pub scale_rows: (i64, Vec<i64>),
    /// Due jobs among them (the rest are `done`).
    pub scale_due: i64,
    /// Claims timed at each size (the median is reported).
    pub claims: usize,
    /// Overlapping runs of the scale-out section.
    pub scale_out_runs: Vec<usize>,
    /// The dev server's latency in the scale-out section.
    pub scale_out_latency: Duration,
    /// Where the function binaries and `hello-fn` are (default: beside this executable).
    pub bin_dir: Option<PathBuf>,
}

impl Options {
    /// Issue #8's sizes.
    pub fn full() -> Options {
        Options {
            smoke: false,
            sections: vec![
                Section::Throughput,
                Section::ScaleOut,
                Section::Process,
                Section::Scale,
            ],
            conversations: 1_000,
            characters: 100,
            jobs: 20_000,
            seed_sample: 2_000,
            latencies: vec![Duration::ZERO, Duration::from_millis(2)],
            cold_starts: 31,
            memory_jobs: 5_000,
            scale_rows: (10_000, vec![1_000_000, 10_000_000]),
            scale_due: 1_000,
            claims: 31,
            scale_out_runs: vec![1, 2, 4, 8],
            scale_out_latency: Duration::from_millis(2),
            bin_dir: None,
        }
    }

    /// Tiny sizes: checks that every part runs, in seconds.
    pub fn smoke() -> Options {
        Options {
            smoke: true,
            conversations: 20,
            characters: 4,
            jobs: 300,
            seed_sample: 40,
            cold_starts: 3,
            memory_jobs: 200,
            scale_rows: (1_000, vec![3_000]),
            scale_due: 100,
            claims: 3,
            scale_out_runs: vec![1, 2],
            ..Options::full()
        }
    }

    /// Parses the command line (without the program name).
    pub fn from_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let args: Vec<String> = args.into_iter().collect();
        let mut options = if args.iter().any(|a| a == "--smoke") {
            Options::smoke()
        } else {
            Options::full()
        };
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .ok_or_else(|| format!("{name} needs a value (see --help)"))
            };
            match arg.as_str() {
                "--smoke" => {}
                "--only" => {
                    let list = value("--only")?;
                    options.sections = list
                        .split(',')
                        .map(|s| {
                            Section::parse(s.trim()).ok_or_else(|| {
                                format!(
                                    "--only: unknown section {s:?} (throughput, scale-out, process, scale)"
                                )
                            })
                        })
                        .collect::<Result<_, _>>()?;
                }
                "--bin-dir" => options.bin_dir = Some(PathBuf::from(value("--bin-dir")?)),
                "--jobs" => options.jobs = number(&value("--jobs")?, "--jobs")?,
                "--seed-sample" => {
                    options.seed_sample = number(&value("--seed-sample")?, "--seed-sample")?
                }
                "--cold-starts" => {
                    options.cold_starts =
                        number(&value("--cold-starts")?, "--cold-starts")? as usize
                }
                "-h" | "--help" => return Err(USAGE.to_string()),
                other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
            }
        }
        Ok(options)
    }

    /// True when `section` is to be run.
    pub fn runs(&self, section: Section) -> bool {
        self.sections.contains(&section)
    }
}

fn number(text: &str, flag: &str) -> Result<i64, String> {
    text.parse::<i64>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{flag}: expected a positive number, got {text:?}"))
}

/// `bench --help`.
pub const USAGE: &str = "\
bench: supacron's benchmark (docs/performance.md). Usually run as scripts/bench.sh.

usage: bench [--smoke] [--only throughput,scale-out,process,scale] [--bin-dir DIR]
             [--jobs N] [--seed-sample N] [--cold-starts N]

  --smoke         tiny sizes: checks that every part runs (targets are not meaningful)
  --only LIST     run only these sections (the cost table needs throughput and process)
  --bin-dir DIR   where the function binaries and hello-fn are (default: beside bench)
  --jobs N        backlog size for the throughput runs (default 20000)
  --seed-sample N jobs baseline 1 is timed over (default 2000)
  --cold-starts N starts per binary (default 31)

Needs PostgreSQL (DATABASE_URL, default postgres://supacron:supacron@127.0.0.1:5432/postgres,
a superuser: it creates and drops its own databases).";
