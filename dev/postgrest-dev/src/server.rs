//! The running server: connection pool, schema cache and its NOTIFY listener, the HTTP listener
//! (axum), request counting, adjustable latency, and shutdown.

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use axum::serve::ListenerExt;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_postgres::NoTls;

use crate::auth::AuthConfig;
use crate::config::Config;
use crate::error::Error;
use crate::handler;
use crate::schema::{SchemaStore, listener};

/// Shared by every request.
pub(crate) struct AppState {
    pub pool: Pool,
    pub schema: Arc<SchemaStore>,
    pub auth: AuthConfig,
    pub schemas: Vec<String>,
    pub max_rows: Option<u64>,
    /// `db-tx-end`.
    pub tx_end: crate::config::TxEnd,
    /// `SELECT <db-pre-request>()`, quoted, when configured.
    pub pre_request: Option<String>,
    /// `host:port` the OpenAPI description names (PostgREST: server-host and server-port).
    pub host: String,
    pub latency_nanos: AtomicU64,
    pub requests: AtomicU64,
}

/// A running PostgREST-compatible server; stop it with [`Server::shutdown`].
pub struct Server {
    addr: SocketAddr,
    state: Arc<AppState>,
    stop: Option<oneshot::Sender<()>>,
    serve_task: JoinHandle<()>,
    listener_task: JoinHandle<()>,
}

impl Server {
    /// Connects to PostgreSQL, loads the schema cache and starts listening on `addr` (port 0
    /// picks a free port). Returns once the socket accepts connections.
    pub async fn start(config: Config, addr: SocketAddr) -> Result<Server, Error> {
        if config.schemas.is_empty() {
            return Err(Error::Config("at least one schema must be served".into()));
        }
        if config.pool_size == 0 {
            return Err(Error::Config("pool_size must be at least 1".into()));
        }
        let mut pg_config: tokio_postgres::Config = config
            .database_url
            .parse()
            .map_err(|e| Error::Config(format!("database_url: {e}")))?;
        if pg_config.get_application_name().is_none() {
            pg_config.application_name("postgrest-dev");
        }
        if pg_config.get_options().is_none() {
            // Supabase databases run in UTC; timestamps render the same way here.
            pg_config.options("-c TimeZone=UTC");
        }
        let manager = Manager::from_config(
            pg_config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(config.pool_size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(10)))
            .build()
            .map_err(|e| Error::Pool(e.to_string()))?;
        let schema = Arc::new(SchemaStore::load(pool.clone(), config.schemas.clone()).await?);
        let tcp = tokio::net::TcpListener::bind(addr).await?;
        let addr = tcp.local_addr()?;

        let state = Arc::new(AppState {
            pool,
            schema: Arc::clone(&schema),
            auth: AuthConfig {
                jwt_secret: config.jwt_secret.clone(),
                anon_role: config.anon_role.clone(),
                secret_api_keys: config.secret_api_keys.clone(),
            },
            schemas: config.schemas.clone(),
            max_rows: config.max_rows,
            tx_end: config.tx_end,
            pre_request: config
                .pre_request
                .as_deref()
                .map(crate::sql::pre_request_call),
            host: if addr.ip().is_unspecified() {
                format!("0.0.0.0:{}", addr.port())
            } else {
                addr.to_string()
            },
            latency_nanos: AtomicU64::new(nanos(config.latency)),
            requests: AtomicU64::new(0),
        });
        let app_state = Arc::clone(&state);
        let router = Router::new()
            .fallback(move |req: Request<Body>| handler::handle(Arc::clone(&app_state), req));
        let (stop, stopped) = oneshot::channel::<()>();
        let tcp = tcp.tap_io(|s| {
            let _ = s.set_nodelay(true);
        });
        let serve_task = tokio::spawn(async move {
            let served = axum::serve(tcp, router).with_graceful_shutdown(async {
                let _ = stopped.await;
            });
            if let Err(e) = served.await {
                tracing::error!(error = %e, "postgrest-dev server failed");
            }
        });
        let listener_task = tokio::spawn(listener::run(pg_config, schema));
        tracing::info!(%addr, "postgrest-dev listening");
        Ok(Server {
            addr,
            state,
            stop: Some(stop),
            serve_task,
            listener_task,
        })
    }

    /// The bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:<port>/rest/v1`, the URL a Supabase client is configured with.
    pub fn rest_url(&self) -> String {
        format!("http://127.0.0.1:{}/rest/v1", self.addr.port())
    }

    /// Requests answered so far, not counting `/_dev/*`.
    pub fn request_count(&self) -> u64 {
        self.state.requests.load(Ordering::Relaxed)
    }

    /// Changes the delay added before every response.
    pub fn set_latency(&self, d: Duration) {
        self.state.latency_nanos.store(nanos(d), Ordering::Relaxed);
    }

    /// Reloads the schema cache now (same as `NOTIFY pgrst, 'reload schema'`).
    pub async fn reload_schema(&self) -> Result<(), Error> {
        self.state.schema.reload().await
    }

    /// How many times the schema cache was reloaded (NOTIFY, lookup misses, explicit reloads).
    pub fn schema_generation(&self) -> u64 {
        self.state.schema.generation()
    }

    /// Waits until the schema cache has been reloaded more than `seen` times — lets a test
    /// issue `NOTIFY pgrst, 'reload schema'` and continue exactly when it took effect.
    pub async fn wait_for_schema_reload(&self, seen: u64) {
        self.state.schema.wait_beyond(seen).await
    }

    /// Stops accepting, lets in-flight requests finish (up to 5 s), and closes the pool.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let serve = &mut self.serve_task;
        if tokio::time::timeout(Duration::from_secs(5), serve)
            .await
            .is_err()
        {
            self.serve_task.abort();
        }
        self.listener_task.abort();
        self.state.pool.close();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.listener_task.abort();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
