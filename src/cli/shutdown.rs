//! Stopping gracefully: SIGTERM (systemd, PM2, `kill`) or Ctrl-C (SIGINT) asks the process
//! to stop; [`Shutdown`] tells every part of it (the server, the scheduler) at once.
//!
//! The handlers are installed by [`Signals::install`] before the process says it is ready,
//! so a signal sent right after the ready line is never the default "terminate now".

use tokio::sync::watch;

/// Installed SIGTERM / SIGINT handlers.
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers (from now on the signals no longer kill the process).
    pub fn install() -> std::io::Result<Signals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                term: signal(SignalKind::terminate())?,
                int: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        Ok(Signals {})
    }

    /// Waits for the first signal and names it.
    pub async fn recv(mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

/// Asks everything holding a [`Shutdown`] to stop.
#[derive(Debug)]
pub struct Stop(watch::Sender<bool>);

/// Resolves once a stop was asked for. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// A connected pair.
pub fn channel() -> (Stop, Shutdown) {
    let (tx, rx) = watch::channel(false);
    (Stop(tx), Shutdown(rx))
}

impl Stop {
    /// Asks to stop (idempotent).
    pub fn stop(&self) {
        self.0.send_replace(true);
    }
}

impl Shutdown {
    /// Waits until a stop is asked for (or its [`Stop`] is dropped).
    pub async fn wait(mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }

    /// Whether a stop was asked for.
    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }
}
