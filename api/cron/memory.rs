//! Vercel Function `/api/cron/memory`: summarises conversations into long-term memories with the LLM.
//! All logic lives in the `supacron` library; this file only starts the function.

use supacron::{function::vercel, jobs};
use vercel_runtime::{Error, Request, run, service_fn};

// One thread: the job is I/O-bound, and no worker threads to start means a faster cold start.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    vercel::init_logging();
    run(service_fn(|request: Request| {
        vercel::respond(jobs::MEMORY, request)
    }))
    .await
}
