//! A real client unchanged: `@supabase/supabase-js` (tests/js/client.mjs) against the dev server,
//! installed into tests/js/node_modules from the committed package-lock.json when missing.
//! Without Node this test reports itself skipped, with the reason, instead of passing silently.

use std::path::PathBuf;
use std::process::Command;

use postgrest_dev::mint_jwt;

use crate::helpers::{SECRET, TestApp};

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/js")
}

fn tool_version(tool: &str) -> Option<String> {
    let out = Command::new(tool).arg("--version").output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[tokio::test]
async fn supabase_js_selects_inserts_upserts_calls_rpc_and_sees_errors() {
    let Some(node) = tool_version("node") else {
        eprintln!("SKIPPED supabase_js: `node` is not on PATH (install Node.js 20+ to run it)");
        return;
    };
    let dir = js_dir();
    if !dir.join("node_modules/@supabase/supabase-js").exists() {
        assert!(
            tool_version("npm").is_some(),
            "node {node} is installed but npm is not: cannot install tests/js"
        );
        let out = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .output()
            .expect("run npm ci");
        assert!(
            out.status.success(),
            "npm ci in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let app = TestApp::spawn().await;
    let base = format!("http://{}", app.server.addr());
    let out = tokio::process::Command::new("node")
        .arg("client.mjs")
        .current_dir(&dir)
        .env("SUPABASE_URL", &base)
        .env("SERVICE_KEY", mint_jwt(SECRET, "service_role", None))
        .env("ANON_KEY", mint_jwt(SECRET, "anon", None))
        .output()
        .await
        .expect("run node client.mjs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "supabase-js checks failed (node {node}):\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.trim_end().ends_with("supabase-js: 18 checks passed"),
        "{stdout}"
    );
    // What the client wrote is in the database.
    assert_eq!(
        app.scalar("select string_agg(name || '=' || qty, ',' order by name) from items")
            .await,
        "alpha=9,beta=7"
    );
    app.stop().await;
}
