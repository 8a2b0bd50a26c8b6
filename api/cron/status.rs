//! Vercel Function `/api/cron/status`: run history and queue health as JSON, or as a page
//! for `Accept: text/html` with the operator console (sign-in, actions, drill-downs). Not
//! scheduled. All logic lives in the `supacron` library.

use supacron::function::{status, vercel};
use vercel_runtime::{Error, Request, run, service_fn};

// One thread: the job is I/O-bound, and no worker threads to start means a faster cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    vercel::init_logging();
    run(service_fn(|request: Request| {
        vercel::respond(status::FUNCTION, request)
    }))
    .await
}
