//! Headless Chromium for the browser tests: Debian's `chromium` (installed with apt-get when
//! missing and running as root, as CI does on a fresh machine) driven by `playwright-core`
//! from `tests/browser/` (installed with `npm ci` when missing; it downloads no browser).
//!
//! When a tool cannot be had, [`tools`] says why on the terminal (not captured by the test
//! harness, so a skip is never silent) and the test returns; under `CI` that is a failure.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Mutex;

/// Where the browser tests' Node project lives.
pub fn project() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The browser binary (`CHROMIUM`, else `/usr/bin/chromium`).
pub fn chromium() -> PathBuf {
    std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

static PROVISION: Mutex<Option<Result<(), String>>> = Mutex::new(None);

fn succeeds(command: &mut Command) -> bool {
    command
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

fn provision() -> Result<(), String> {
    if !chromium().exists() {
        if !is_root() {
            return Err(format!(
                "{} is missing and this is not root: apt-get install -y chromium",
                chromium().display()
            ));
        }
        let install = || {
            succeeds(
                Command::new("apt-get")
                    .args(["install", "-y", "--no-install-recommends", "chromium"])
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
        };
        if !install() && !(succeeds(Command::new("apt-get").arg("update")) && install()) {
            return Err("apt-get install -y chromium failed".into());
        }
        if !chromium().exists() {
            return Err(format!(
                "{} is still missing after apt-get install chromium",
                chromium().display()
            ));
        }
    }
    if !succeeds(Command::new("node").arg("--version")) {
        return Err("node is not installed (Node.js 18 or later runs tests/browser)".into());
    }
    if !project()
        .join("node_modules/playwright-core/package.json")
        .exists()
        && !succeeds(
            Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund"])
                .current_dir(project()),
        )
    {
        return Err("npm ci in tests/browser failed (playwright-core)".into());
    }
    Ok(())
}

/// Makes sure Chromium, Node and playwright-core are there. `false`: the test is skipped (the
/// reason is on the terminal); under `CI` a missing tool fails the test instead.
pub fn tools(test: &str) -> bool {
    let mut state = PROVISION.lock().unwrap_or_else(|e| e.into_inner());
    let result = state.get_or_insert_with(provision).clone();
    match result {
        Ok(()) => true,
        Err(reason) if std::env::var_os("CI").is_some() => {
            panic!("{test}: the browser test cannot run on CI: {reason}")
        }
        Err(reason) => {
            let _ = writeln!(std::io::stderr(), "\n{test}: SKIPPED: {reason}");
            false
        }
    }
}
