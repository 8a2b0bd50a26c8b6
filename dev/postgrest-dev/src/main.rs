//! `postgrest-dev` binary: configured like PostgREST (flags or `PGRST_*` environment variables),
//! prints one `listening on` line when ready, and stops on Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use postgrest_dev::{Config, Server};

const HELP: &str = "\
postgrest-dev: a PostgREST-compatible server over PostgreSQL, for tests and local demos

USAGE: postgrest-dev [OPTIONS]

Every option can also be set through the environment variable shown.
  --db-uri URL           PGRST_DB_URI or DATABASE_URL
                         [default: postgres://supacron:supacron@127.0.0.1:5432/postgres]
  --schemas A,B          PGRST_DB_SCHEMAS      served schemas, first is default [default: public]
  --anon-role ROLE       PGRST_DB_ANON_ROLE    role without a token; empty disables anonymous
                         access (401 PGRST302) [default: anon]
  --pre-request FN       PGRST_DB_PRE_REQUEST  db-pre-request: function called before each
                         request, in its transaction [default: none]
  --tx-end MODE          PGRST_DB_TX_END       db-tx-end: commit, commit-allow-override,
                         rollback, rollback-allow-override [default: commit]
  --jwt-secret SECRET    PGRST_JWT_SECRET      HS256 secret
                         [default: super-secret-jwt-token-with-at-least-32-characters-long]
  --host HOST            PGRST_SERVER_HOST     [default: 127.0.0.1]
  --port PORT            PGRST_SERVER_PORT     0 picks a free port [default: 3000]
  --pool-size N          PGRST_DB_POOL         [default: 16]
  --max-rows N           PGRST_DB_MAX_ROWS     db-max-rows [default: unlimited]
  --secret-api-key KEY   PGRST_DEV_SECRET_API_KEYS (comma-separated); an `apikey` header with
                         this value acts as service_role (repeatable)
  --latency-ms MS        PGRST_DEV_LATENCY_MS  delay added before every response [default: 0]
  -h, --help             print this help

Served under /rest/v1/... (like Supabase) and at the root; GET /_dev/stats, /_dev/health.
";

struct Options {
    config: Config,
    addr: SocketAddr,
}

fn env(names: &[&str]) -> Option<String> {
    names
        .iter()
        .find_map(|n| std::env::var(n).ok().filter(|v| !v.is_empty()))
}

fn parse() -> Result<Option<Options>, String> {
    let mut db = env(&["PGRST_DB_URI", "DATABASE_URL"])
        .unwrap_or_else(|| "postgres://supacron:supacron@127.0.0.1:5432/postgres".into());
    let mut schemas = env(&["PGRST_DB_SCHEMAS"]).unwrap_or_else(|| "public".into());
    // An empty PGRST_DB_ANON_ROLE is meaningful: anonymous access disabled.
    let mut anon = std::env::var("PGRST_DB_ANON_ROLE").unwrap_or_else(|_| "anon".into());
    let mut pre_request = env(&["PGRST_DB_PRE_REQUEST"]);
    let mut tx_end = env(&["PGRST_DB_TX_END"]).unwrap_or_else(|| "commit".into());
    let mut secret = env(&["PGRST_JWT_SECRET"])
        .unwrap_or_else(|| "super-secret-jwt-token-with-at-least-32-characters-long".into());
    let mut host = env(&["PGRST_SERVER_HOST"]).unwrap_or_else(|| "127.0.0.1".into());
    let mut port = env(&["PGRST_SERVER_PORT"]).unwrap_or_else(|| "3000".into());
    let mut pool = env(&["PGRST_DB_POOL"]).unwrap_or_else(|| "16".into());
    let mut max_rows = env(&["PGRST_DB_MAX_ROWS"]);
    let mut keys: Vec<String> = env(&["PGRST_DEV_SECRET_API_KEYS"])
        .map(|v| {
            v.split(',')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut latency = env(&["PGRST_DEV_LATENCY_MS"]).unwrap_or_else(|| "0".into());

    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(None);
        }
        let (name, inline) = match flag.split_once('=') {
            Some((n, v)) => (n.to_string(), Some(v.to_string())),
            None => (flag.clone(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        match name.as_str() {
            "--db-uri" => db = value()?,
            "--schemas" => schemas = value()?,
            "--anon-role" => anon = value()?,
            "--pre-request" => pre_request = Some(value()?).filter(|v| !v.is_empty()),
            "--tx-end" => tx_end = value()?,
            "--jwt-secret" => secret = value()?,
            "--host" => host = value()?,
            "--port" => port = value()?,
            "--pool-size" => pool = value()?,
            "--max-rows" => max_rows = Some(value()?),
            "--secret-api-key" => keys.push(value()?),
            "--latency-ms" => latency = value()?,
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    let mut config = Config::new(db, secret);
    config.schemas = schemas
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    config.anon_role = anon.trim().to_string();
    config.pre_request = pre_request;
    config.tx_end = postgrest_dev::TxEnd::parse(&tx_end).ok_or(format!(
        "invalid tx end {tx_end} (commit, commit-allow-override, rollback, rollback-allow-override)"
    ))?;
    config.secret_api_keys = keys;
    config.pool_size = pool
        .parse()
        .map_err(|_| format!("invalid pool size {pool}"))?;
    config.max_rows = match max_rows {
        Some(m) => Some(m.parse().map_err(|_| format!("invalid max rows {m}"))?),
        None => None,
    };
    let ms: u64 = latency
        .parse()
        .map_err(|_| format!("invalid latency {latency}"))?;
    config.latency = Duration::from_millis(ms);
    let addr = format!("{host}:{port}")
        .parse()
        .map_err(|_| format!("invalid address {host}:{port}"))?;
    Ok(Some(Options { config, addr }))
}

/// Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match parse() {
        Ok(Some(o)) => o,
        Ok(None) => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("postgrest-dev: {e}");
            return ExitCode::from(2);
        }
    };
    let server = match Server::start(options.config, options.addr).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("postgrest-dev: {e}");
            return ExitCode::FAILURE;
        }
    };
    let addr = server.addr();
    let host = if addr.ip().is_unspecified() {
        "127.0.0.1".to_string()
    } else {
        addr.ip().to_string()
    };
    println!(
        "postgrest-dev listening on http://{host}:{}/rest/v1",
        addr.port()
    );
    stop_signal().await;
    server.shutdown().await;
    ExitCode::SUCCESS
}
