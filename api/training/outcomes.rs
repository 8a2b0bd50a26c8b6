//! Vercel Function `/api/training/outcomes`: records outcomes of decisions whose item reached DONE or COLD_STORAGE.
//! All logic lives in the `supacron` library; this file only starts the function.

use supacron::{function::vercel, jobs, logging};
use vercel_runtime::{Error, Request, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init_from_config();
    run(service_fn(|request: Request| {
        vercel::respond(jobs::OUTCOMES, request)
    }))
    .await
}
