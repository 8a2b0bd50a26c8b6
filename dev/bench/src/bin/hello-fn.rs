//! The cold-start reference: the smallest `vercel_runtime` function (the runtime's own
//! hello-world), built with the same release profile as supacron's functions, so the
//! benchmark can report their cold start as a ratio to it. Never deployed.

use vercel_runtime::{Error, Request, Response, ResponseBody, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    run(service_fn(hello)).await
}

async fn hello(_request: Request) -> Result<Response<ResponseBody>, Error> {
    Ok(Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(ResponseBody::from(r#"{"message":"hello"}"#))?)
}
