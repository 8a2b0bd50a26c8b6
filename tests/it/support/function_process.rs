//! Runs a real function binary as its own process, the way Vercel (and `vercel dev`)
//! does: `VERCEL_DEV_PORT` picks the port, and the process says it is ready on stdout.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// The function binaries, by URL path.
pub const FUNCTIONS: [(&str, &str); 5] = [
    ("/api/cron/patch", env!("CARGO_BIN_EXE_cron-patch")),
    ("/api/cron/memory", env!("CARGO_BIN_EXE_cron-memory")),
    ("/api/cron/schedule", env!("CARGO_BIN_EXE_cron-schedule")),
    (
        "/api/training/calculate-pending",
        env!("CARGO_BIN_EXE_training-calculate-pending"),
    ),
    (
        "/api/training/outcomes",
        env!("CARGO_BIN_EXE_training-outcomes"),
    ),
];

/// The status function (not a job, not scheduled).
pub const STATUS: (&str, &str) = ("/api/cron/status", env!("CARGO_BIN_EXE_cron-status"));

/// A running function process; killed when dropped.
pub struct FunctionProcess {
    child: Child,
    /// `http://127.0.0.1:<port><path>`.
    pub url: String,
    output: Arc<Mutex<String>>,
    readers: Vec<JoinHandle<()>>,
}

impl FunctionProcess {
    /// Starts `binary` with exactly `env` (plus the port) and waits until it listens.
    pub fn start(binary: &str, path: &str, env: &[(&str, &str)]) -> FunctionProcess {
        let port = free_port();
        let mut child = Command::new(binary)
            .env_clear()
            .env("VERCEL_DEV_PORT", port.to_string())
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {binary}: {e}"));
        let output = Arc::new(Mutex::new(String::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let out = output.clone();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("Dev server listening") {
                    let _ = ready_tx.send(());
                }
                let mut out = out.lock().unwrap();
                out.push_str(&line);
                out.push('\n');
            }
        });
        let mut stderr = child.stderr.take().expect("piped stderr");
        let out = output.clone();
        let stderr_reader = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            out.lock().unwrap().push_str(&text);
        });
        if ready_rx.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = child.kill();
            panic!("{binary} did not start; output: {}", output.lock().unwrap());
        }
        FunctionProcess {
            child,
            url: format!("http://127.0.0.1:{port}{path}"),
            output,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    /// Stops the process and returns everything it wrote to stdout and stderr.
    pub fn finish(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for reader in self.readers.drain(..) {
            let _ = reader.join();
        }
        self.output.lock().unwrap().clone()
    }
}

impl Drop for FunctionProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// An answer, with the checks every answer must pass already done.
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: serde_json::Value,
    pub text: String,
}

/// Sends `request` and checks what every answer must have: JSON, `no-store`.
pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.expect("function answers");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    assert_eq!(
        headers["cache-control"], "no-store",
        "status {status}: {text}"
    );
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "status {status}: {text}"
    );
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    Answer {
        status,
        headers,
        body,
        text,
    }
}
