//! Runs the real `supacron` binary as its own process: its output is collected line by
//! line, and tests wait for a line (readiness, a run starting) instead of sleeping.

use std::process::{ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::watch;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_supacron");

/// How long any wait for the process may take before the test fails.
const PATIENCE: Duration = Duration::from_secs(60);

/// A running `supacron` process; killed when dropped.
pub struct Supacron {
    child: Child,
    /// Every line of stdout and stderr so far, in arrival order.
    lines: Arc<Mutex<Vec<String>>>,
    changed: watch::Receiver<usize>,
}

impl Supacron {
    /// Starts `supacron <args>` with exactly `env` (no inherited variables), in a directory
    /// without a `.env`.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Supacron {
        let mut child = Command::new(BIN)
            .args(args)
            .current_dir(no_dotenv_dir())
            .env_clear()
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("supacron starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, changed) = watch::channel(0);
        let tx = Arc::new(tx);
        collect(child.stdout.take().unwrap(), lines.clone(), tx.clone());
        collect(child.stderr.take().unwrap(), lines.clone(), tx);
        Supacron {
            child,
            lines,
            changed,
        }
    }

    /// Everything written so far.
    pub fn output(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// The JSON log lines so far.
    pub fn json_lines(&self) -> Vec<Value> {
        self.lines
            .lock()
            .unwrap()
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect()
    }

    /// Waits for the first JSON log line matching `pred` and returns it.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            if let Some(line) = self.json_lines().into_iter().find(|l| pred(l)) {
                return line;
            }
            let changed = tokio::time::timeout_at(deadline, self.changed.changed()).await;
            match changed {
                Ok(Ok(())) => {}
                Ok(Err(_)) => {
                    // Output closed: one last look, then give up.
                    if let Some(line) = self.json_lines().into_iter().find(|l| pred(l)) {
                        return line;
                    }
                    panic!("supacron ended before {what}; output:\n{}", self.output());
                }
                Err(_) => panic!("no {what} within {PATIENCE:?}; output:\n{}", self.output()),
            }
        }
    }

    /// Waits for the `listening on <url>` line and returns the URL.
    pub async fn url(&mut self) -> String {
        let line = self
            .wait_for("the listening line", |l| {
                l["message"]
                    .as_str()
                    .is_some_and(|m| m.starts_with("listening on"))
            })
            .await;
        line["url"].as_str().unwrap().to_string()
    }

    /// Sends SIGTERM.
    pub fn terminate(&self) {
        let pid = self.child.id().expect("still running").to_string();
        let status = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit.
    pub async fn exit(&mut self) -> ExitStatus {
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .unwrap_or_else(|_| panic!("supacron did not exit; output:\n{}", self.output()))
            .unwrap();
        // Let the readers drain what is left.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while self.changed.changed().await.is_ok() {}
        })
        .await;
        status
    }
}

fn collect(
    stream: impl AsyncRead + Unpin + Send + 'static,
    lines: Arc<Mutex<Vec<String>>>,
    tx: Arc<watch::Sender<usize>>,
) {
    tokio::spawn(async move {
        let mut reader = BufReader::new(stream).lines();
        while let Ok(Some(line)) = reader.next_line().await {
            let count = {
                let mut lines = lines.lock().unwrap();
                lines.push(line);
                lines.len()
            };
            tx.send_replace(count);
        }
    });
}

/// What `supacron run` left behind.
pub struct RunOutput {
    /// The exit code.
    pub code: i32,
    /// Standard output (the answer).
    pub stdout: String,
    /// Standard error (the log).
    pub stderr: String,
}

impl RunOutput {
    /// Standard output as JSON.
    pub fn answer(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}): {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }
}

/// A working directory without a `.env` (`supacron` reads `./.env`; a developer's own must
/// not leak into the tests).
pub fn no_dotenv_dir() -> &'static std::path::Path {
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
}

/// Runs `supacron <args>` to its end with exactly `env`, in a directory without a `.env`.
pub async fn run(args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    run_in(no_dotenv_dir(), args, env).await
}

/// Runs `supacron <args>` to its end in `dir` with exactly `env`.
pub async fn run_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    let output = tokio::time::timeout(
        PATIENCE,
        Command::new(BIN)
            .args(args)
            .current_dir(dir)
            .env_clear()
            .envs(env.iter().copied())
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("supacron run ends")
    .expect("supacron runs");
    RunOutput {
        code: output.status.code().expect("exited, not killed"),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// `(name, String)` pairs as the `(name, &str)` pairs [`Supacron::start`] and [`run`] take.
pub fn borrowed<'a>(env: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    env.iter().map(|(k, v)| (*k, v.as_str())).collect()
}
