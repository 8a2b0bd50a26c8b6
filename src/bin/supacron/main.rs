//! `supacron`: runs the jobs without Vercel — `serve`, `run`, `scheduler` — and `check`s a
//! project before deploying.
//!
//! This file holds only what is particular to a command line: the flags ([`args`]), the
//! log set-up, and turning outcomes into exit codes. The modes themselves are
//! `supacron::cli`, which goes through the same `function::handle` as the Vercel
//! functions. Never deployed as a function.

mod args;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use supacron::cli::run::{EXIT_COMPLETED, EXIT_FAILED, EXIT_USAGE};
use supacron::cli::scheduler::{HttpRunner, InProcessRunner, Scheduler, SystemClock, can_call};
use supacron::cli::shutdown::{self, Signals};
use supacron::cli::{run, serve, vercel_json};
use supacron::config::Config;
use supacron::invocation::Trigger;
use supacron::logging::{self, LogFormat, LogTarget};
use supacron::schedules::Target;

use args::{CheckArgs, Cli, Command, RunArgs, SchedulerArgs, ServeArgs};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Before anything reads the environment, and while this process has one thread.
    if let Err(problem) = load_dotenv() {
        eprintln!("supacron: {problem}");
        return ExitCode::from(EXIT_USAGE);
    }
    let config = Config::global();
    let target = match cli.command {
        Command::Run(_) | Command::Check(_) => LogTarget::Stderr,
        _ => LogTarget::Stdout,
    };
    let format = if cli.pretty {
        LogFormat::Pretty
    } else if cli.json {
        LogFormat::Json
    } else {
        config.log_format.unwrap_or(if target.is_terminal() {
            LogFormat::Pretty
        } else {
            LogFormat::Json
        })
    };
    logging::init_to(format, config.log_level, target);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("supacron: cannot start the async runtime: {error}");
            return ExitCode::from(EXIT_FAILED);
        }
    };
    let code = runtime.block_on(async move {
        match cli.command {
            Command::Run(args) => run_command(args, config).await,
            Command::Serve(args) => serve_command(args, config).await,
            Command::Scheduler(args) => scheduler_command(args, config).await,
            Command::Check(args) => check_command(args, config).await,
        }
    });
    // Runs abandoned after the grace period are not waited for.
    runtime.shutdown_timeout(Duration::from_millis(100));
    ExitCode::from(code)
}

/// Loads `./.env` (a copy of `.env.example`, for local runs) into the environment: variables
/// already set win. No file is fine; a malformed one is refused without quoting it (its lines
/// hold secrets).
fn load_dotenv() -> Result<(), String> {
    match dotenvy::from_path(".env") {
        Ok(()) => Ok(()),
        Err(dotenvy::Error::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(dotenvy::Error::LineParse(_, _)) => Err(
            "./.env has a line that is not NAME=value (a comment starts with #); fix it or \
             move the file away"
                .into(),
        ),
        Err(error) => Err(format!("cannot read ./.env: {error}")),
    }
}

async fn run_command(args: RunArgs, config: &'static Config) -> u8 {
    let Some(job) = args.job.or(args.job_flag) else {
        eprintln!(
            "supacron run: name a job: {}\n\nFor more information, try 'supacron run --help'.",
            args::JOB_NAMES
        );
        return EXIT_USAGE;
    };
    let trigger = if args.scheduled {
        Trigger::Scheduler
    } else {
        Trigger::Manual
    };
    let answer = run::run_once(job, args.dry_run, trigger, config).await;
    println!("{}", args::format_answer(&answer.body));
    run::exit_code(&answer)
}

/// `supacron check`: one line per finding on stdout, a summary line, the exit code of
/// [`supacron::check`].
async fn check_command(args: CheckArgs, config: &'static Config) -> u8 {
    let (text, source) = match vercel_json::read(args.vercel_json.as_deref()) {
        Ok(read) => read,
        Err(error) => return could_not_check(error, supacron::check::EXIT_USAGE),
    };
    // The schedules as `supacron scheduler` and Vercel read them (expressions, time zones,
    // jitter); a file that does not even read is reported by the check itself.
    let schedules_problem = match vercel_json::parse(&text, &source) {
        Err(vercel_json::VercelJsonError::Format(..)) | Ok(_) => None,
        Err(error) => Some(error.to_string()),
    };
    let source = source.to_string();
    let vercel_json = supacron::check::VercelJson {
        text: &text,
        source: &source,
    };
    match supacron::check::check(config, vercel_json).await {
        Ok(mut report) => {
            if let Some(problem) = schedules_problem {
                report.findings.insert(
                    0,
                    supacron::check::Finding {
                        severity: supacron::check::Severity::Error,
                        finding: problem,
                    },
                );
            }
            for finding in &report.findings {
                println!("{finding}");
            }
            let errors = report
                .findings
                .iter()
                .filter(|f| f.severity == supacron::check::Severity::Error)
                .count();
            if report.ready() {
                println!("supacron check: ready: every job can run on this project");
            } else {
                println!(
                    "supacron check: not ready: {errors} problem(s) above; fix them, then run supacron check again"
                );
            }
            report.exit_code()
        }
        Err(error) => {
            let code = error.exit_code();
            could_not_check(error, code)
        }
    }
}

/// `supacron check`'s answer when it cannot check at all: the reason and `code`.
fn could_not_check(error: impl std::fmt::Display, code: u8) -> u8 {
    println!("error: {error}");
    println!("supacron check: could not check this project");
    code
}

async fn serve_command(args: ServeArgs, config: &'static Config) -> u8 {
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => return fail(&format!("cannot install signal handlers: {error}")),
    };
    let listener = match serve::bind(SocketAddr::new(args.host, args.port)).await {
        Ok(listener) => listener,
        Err(error) => return fail(&error.to_string()),
    };
    let (stop, shutdown) = shutdown::channel();
    tokio::spawn(async move {
        let signal = signals.recv().await;
        tracing::info!(signal, "{signal} received: stopping");
        stop.stop();
    });
    let grace = Duration::from_secs(args.shutdown_grace_secs);
    serve::serve(listener, Arc::new(config.clone()), shutdown, grace).await;
    EXIT_COMPLETED
}

async fn scheduler_command(args: SchedulerArgs, config: &'static Config) -> u8 {
    let signals = match Signals::install() {
        Ok(signals) => signals,
        Err(error) => return fail(&format!("cannot install signal handlers: {error}")),
    };
    let (entries, source) = match vercel_json::load(args.vercel_json.as_deref()) {
        Ok(loaded) => loaded,
        Err(error) => return fail(&error.to_string()),
    };
    tracing::info!(source = %source, "schedules read from {source}");
    let config = Arc::new(config.clone());
    let grace = Duration::from_secs(args.server.shutdown_grace_secs);
    let (stop, shutdown) = shutdown::channel();
    let server = if args.serve {
        let addr = SocketAddr::new(args.server.host, args.server.port);
        let listener = match serve::bind(addr).await {
            Ok(listener) => listener,
            Err(error) => return fail(&error.to_string()),
        };
        Some(tokio::spawn(serve::serve(
            listener,
            config.clone(),
            shutdown.clone(),
            grace,
        )))
    } else {
        None
    };
    tokio::spawn(async move {
        let signal = signals.recv().await;
        tracing::info!(signal, "{signal} received: stopping");
        stop.stop();
    });
    let clock = Arc::new(SystemClock);
    let target = args.target.as_deref().or(config.api_base_url());
    let report = match target {
        Some(target) => {
            // A function target is private (no public URL): only Vercel's schedule reaches it.
            let (entries, private): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|entry| entry.clock.target != Target::Function);
            for entry in private {
                tracing::warn!(
                    job = entry.job.name(),
                    "{} is a Vercel Schedules function target (private, no public URL): --target \
                     cannot reach it, so this scheduler leaves it to Vercel",
                    entry.job
                );
            }
            if entries.is_empty() {
                return fail(
                    "every scheduled job is a Vercel Schedules function target: --target has \
                     nothing to call (leave them to Vercel, or run the scheduler without \
                     --target and API_BASE_URL to run them in this process)",
                );
            }
            // A CRON_SECRET that is set but unusable is a mistake to fix, not a missing one.
            if let Err(error) = config.cron_secret()
                && !error.invalid.is_empty()
            {
                return fail(&error.to_string());
            }
            // Seed 002's setup (INTERNAL_API_KEY, no CRON_SECRET) runs the training jobs and
            // leaves out the others, saying so; with no credential at all it does not start.
            let (callable, uncallable): (Vec<_>, Vec<_>) = entries
                .into_iter()
                .partition(|entry| can_call(&config, entry.job));
            let entries = if callable.is_empty() {
                uncallable
            } else {
                for entry in uncallable {
                    tracing::warn!(
                        job = entry.job.name(),
                        "{} left out: no credential to call it on the target (set CRON_SECRET, \
                         the same value as in the deployment; INTERNAL_API_KEY is accepted by the \
                         training jobs only)",
                        entry.job
                    );
                }
                callable
            };
            let jobs: Vec<_> = entries.iter().map(|entry| entry.job).collect();
            let runner =
                match HttpRunner::new(target, &jobs, &config, clock.clone(), shutdown.clone()) {
                    Ok(runner) => runner,
                    Err(error) => return fail(&error.to_string()),
                };
            let from = if args.target.is_some() {
                "--target"
            } else {
                "API_BASE_URL"
            };
            tracing::info!(
                target = runner.target(),
                "ticks are requests to {} ({from}); the deployment runs the jobs",
                runner.target()
            );
            let scheduler = Scheduler::new(entries, clock, Arc::new(runner))
                .grace(grace)
                .run_on_start(args.run_on_start);
            tracing::info!("scheduler ready");
            scheduler.run(shutdown).await
        }
        None => {
            let scheduler = Scheduler::new(entries, clock, Arc::new(InProcessRunner::new(config)))
                .grace(grace)
                .run_on_start(args.run_on_start);
            tracing::info!("scheduler ready");
            scheduler.run(shutdown).await
        }
    };
    if let Some(server) = server {
        let _ = server.await;
    }
    tracing::info!(
        runs_started = report.started,
        ticks_skipped = report.skipped,
        abandoned = report.abandoned.len(),
        "supacron scheduler exits"
    );
    EXIT_COMPLETED
}

/// Logs a start-up failure (and says it on stderr for a person) and returns exit code 1.
fn fail(message: &str) -> u8 {
    tracing::error!("{message}");
    eprintln!("supacron: {message}");
    EXIT_FAILED
}
