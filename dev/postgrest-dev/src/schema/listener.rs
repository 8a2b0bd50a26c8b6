//! `LISTEN pgrst` on a dedicated connection: `NOTIFY pgrst, 'reload schema'` (or an empty
//! payload) reloads the schema cache, as in PostgREST. Reconnects after a lost connection.

use futures_util::StreamExt;
use futures_util::stream::poll_fn;
use std::sync::Arc;
use std::time::Duration;
use tokio_postgres::{AsyncMessage, NoTls};

use crate::schema::SchemaStore;

/// Runs until the task is aborted.
pub(crate) async fn run(pg_config: tokio_postgres::Config, store: Arc<SchemaStore>) {
    let mut first = true;
    loop {
        match pg_config.connect(NoTls).await {
            Ok((client, mut connection)) => {
                let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
                let driver = tokio::spawn(async move {
                    let mut messages = poll_fn(move |cx| connection.poll_message(cx));
                    while let Some(Ok(msg)) = messages.next().await {
                        if let AsyncMessage::Notification(n) = msg {
                            if tx.send(n.payload().to_string()).is_err() {
                                break;
                            }
                        }
                    }
                });
                if client.batch_execute("LISTEN pgrst").await.is_ok() {
                    // Anything may have changed while we were not listening.
                    if !first {
                        let _ = store.reload().await;
                    }
                    first = false;
                    while let Some(payload) = rx.recv().await {
                        if payload.is_empty() || payload == "reload schema" {
                            if let Err(e) = store.reload().await {
                                tracing::warn!(error = %e, "schema reload after NOTIFY failed");
                            }
                        }
                    }
                }
                driver.abort();
            }
            Err(e) => {
                tracing::warn!(error = %crate::error::describe_pg(&e), "schema listener cannot connect")
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
