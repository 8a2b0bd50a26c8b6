//! `bench`: runs supacron's benchmark and prints its table (docs/performance.md).
//! Usually started by `scripts/bench.sh`, which builds the release binaries first.

use std::process::ExitCode;

use bench::Options;

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::from_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let started = std::time::Instant::now();
    match bench::run(&options).await {
        Ok(report) => {
            println!("{report}");
            let short = report.shortfalls().count();
            eprintln!(
                "bench: done in {:.0} s; {short} target(s) fall short",
                started.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench: {e}");
            ExitCode::FAILURE
        }
    }
}
