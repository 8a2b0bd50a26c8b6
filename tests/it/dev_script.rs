//! `scripts/dev.sh --once`, the README's first command in its CI form: from a clean
//! database it sets everything up, every job reports its counts, everything it started is
//! stopped again, and running it a second time gives the same answers.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::process::Command;

struct Once {
    code: i32,
    stdout: String,
    stderr: String,
}

async fn dev_once(db: &str, log_dir: &Path) -> Once {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut command = Command::new("bash");
    // The variables `cargo test` sets for this test, which would make dev.sh's own `cargo
    // build` see a changed environment (ring's build script watches CARGO_MANIFEST_DIR) and
    // rebuild instead of reusing what this test run built.
    for (name, _) in std::env::vars() {
        let set_by_cargo_test = name.starts_with("CARGO_PKG_")
            || name.starts_with("CARGO_BIN_")
            || name.starts_with("CARGO_MANIFEST_")
            || [
                "CARGO_CRATE_NAME",
                "CARGO_TARGET_TMPDIR",
                "CARGO_PRIMARY_PACKAGE",
            ]
            .contains(&name.as_str());
        if set_by_cargo_test {
            command.env_remove(name);
        }
    }
    let output = tokio::time::timeout(
        // The first build of the binaries may happen here.
        Duration::from_secs(900),
        command
            .args(["scripts/dev.sh", "--once"])
            .current_dir(root)
            .env("DATABASE_URL", testkit::database_url())
            .env("SUPACRON_DEV_DB", db)
            .env("SUPACRON_DEV_LOG_DIR", log_dir)
            .env_remove("MINIMAX_API_KEY")
            .env_remove("SUPACRON_LLM_PROVIDER")
            .env_remove("CRON_SECRET")
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("dev.sh --once ends")
    .expect("bash runs");
    Once {
        code: output.status.code().expect("exited"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// The table row of `job`: (status column, answer column).
fn row<'a>(once: &'a Once, job: &str) -> (&'a str, &'a str) {
    let line = once
        .stdout
        .lines()
        .find(|l| l.split_whitespace().next() == Some(job))
        .unwrap_or_else(|| {
            panic!(
                "no row for {job} (exit {}); stdout:\n{}\nstderr:\n{}",
                once.code, once.stdout, once.stderr
            )
        });
    let rest = line[job.len()..].trim_start();
    let (status, answer) = rest.split_once(char::is_whitespace).unwrap();
    (status, answer.trim())
}

fn assert_every_job_reports(once: &Once) {
    let context = format!("stdout:\n{}\nstderr:\n{}", once.stdout, once.stderr);
    let (status, answer) = row(once, "patch");
    assert_eq!(status, "partial", "{context}");
    assert!(
        answer.contains("ok_count=9") && answer.contains("dead_count=1"),
        "{context}"
    );
    let (status, answer) = row(once, "outcomes");
    assert_eq!(status, "ok", "{context}");
    assert!(answer.contains("ok_count=4"), "{context}");
    let (status, answer) = row(once, "rewards");
    assert_eq!(status, "partial", "{context}");
    assert!(
        answer.contains("ok_count=3") && answer.contains("failed_count=1"),
        "{context}"
    );
    // The LLM jobs, with the offline provider (no MiniMax key in this environment).
    let (status, answer) = row(once, "memory");
    assert_eq!(status, "ok", "{context}");
    assert!(answer.contains("ok_count=2"), "{context}");
    let (status, answer) = row(once, "schedule");
    assert!(!status.starts_with("FAILED"), "{context}");
    let fired: u64 = answer
        .split_whitespace()
        .find_map(|pair| pair.strip_prefix("ticks_fired="))
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no ticks_fired: {context}"));
    assert!(fired >= 1, "Ada's hourly post is due: {context}");
    assert!(
        answer.contains("invalid=1"),
        "Klaus's `61 * * * *`: {context}"
    );
    // What changed, read back from the database.
    assert!(
        once.stdout
            .contains("patch_jobs      dead 1, done 9, pending 1"),
        "{context}"
    );
    assert!(
        once.stdout.contains("malformed patch document"),
        "the dead job's error is shown: {context}"
    );
    assert!(once.stdout.contains("outcomes        4"), "{context}");
    assert!(
        once.stdout
            .contains("3 computed, 1 decision(s) with bad data"),
        "{context}"
    );
    assert!(
        once.stdout.contains("unknown action `teleport`"),
        "{context}"
    );
    assert!(
        once.stdout.contains("memories        2 by offline"),
        "{context}"
    );
    let posts = once
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("character_posts"))
        .unwrap_or_else(|| panic!("{context}"));
    assert!(posts.contains("by offline"), "{context}");
    assert!(once.stdout.contains("bad schedule"), "{context}");
    assert_eq!(once.code, 0, "{context}");
}

#[tokio::test]
async fn dev_sh_once_runs_every_job_on_the_demo_data_twice_and_stops_what_it_started() {
    let db = format!("supacron_dev_it_{}", std::process::id());
    let log_dir = std::env::temp_dir().join(&db);
    let first = dev_once(&db, &log_dir).await;
    assert_every_job_reports(&first);
    // Everything it started is stopped: the dev PostgREST server no longer answers.
    let rest_log = std::fs::read_to_string(log_dir.join("postgrest-dev.log")).unwrap();
    let url = rest_log
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("{rest_log}"));
    let addr = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string();
    assert!(
        tokio::net::TcpStream::connect(&addr).await.is_err(),
        "the dev PostgREST server at {addr} is still running"
    );
    // A second run starts from the demo data again and answers the same.
    let second = dev_once(&db, &log_dir).await;
    assert_every_job_reports(&second);
    // Clean up the database and the logs.
    let (client, connection) =
        tokio_postgres::connect(&testkit::database_url(), tokio_postgres::NoTls)
            .await
            .unwrap();
    tokio::spawn(connection);
    client
        .batch_execute(&format!("drop database if exists {db} with (force)"))
        .await
        .unwrap();
    let _ = std::fs::remove_dir_all(&log_dir);
}
