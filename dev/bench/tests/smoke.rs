//! The benchmark's smoke run (part of the test suite, `.ci/run`): every section runs at
//! tiny sizes against real PostgreSQL and the real function binaries, and our patch job
//! processes every job of its backlog, with verified effects, at each latency.

use std::path::Path;

use bench::Options;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smoke_run_completes_and_ours_processes_every_job() {
    let mut options = Options::smoke();
    // The function binaries are built beside this package's binaries by
    // `cargo test --workspace` (supacron's own tests need them).
    options.bin_dir = Path::new(env!("CARGO_BIN_EXE_hello-fn"))
        .parent()
        .map(Path::to_path_buf);
    let report = bench::run(&options)
        .await
        .unwrap_or_else(|e| panic!("the smoke run failed: {e}"));
    println!("{report}");
    assert_eq!(report.ours.len(), options.latencies.len(), "{report}");
    for run in &report.ours {
        assert_eq!(run.done, run.backlog, "at {} ms: {report}", run.latency_ms);
        assert_eq!(run.backlog, options.jobs);
    }
    for measure in [
        "cold start: cron-patch",
        "peak memory: cron-patch",
        "claim of",
    ] {
        assert!(
            report.rows.iter().any(|r| r.measure.starts_with(measure)),
            "no {measure:?} row: {report}"
        );
    }
}
