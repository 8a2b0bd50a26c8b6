//! Calling the front door ([`supacron::function::handle`]) in this process, as a
//! deployment of a test database would be called: its configuration and its requests.

use std::collections::HashMap;

use http::{HeaderMap, HeaderValue, Method, Uri};
use supacron::config::Config;
use supacron::function::FunctionRequest;
use testkit::TestEnv;

/// The deployment's `CRON_SECRET`.
pub const SECRET: &str = "operations-secret-12345";

/// The configuration a deployment of `env` would have, plus `extra` variables.
pub fn config(env: &TestEnv, extra: &[(&str, &str)]) -> Config {
    let mut vars: HashMap<String, String> = [
        ("CRON_SECRET", SECRET.to_string()),
        ("SUPABASE_URL", env.rest_url()),
        ("SUPABASE_SERVICE_ROLE_KEY", env.service_key.clone()),
        ("SUPACRON_LLM_PROVIDER", "offline".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in extra {
        vars.insert(k.to_string(), v.to_string());
    }
    Config::from_lookup(|name| vars.get(name).cloned())
}

/// A request as Vercel Cron (`cron = true`) or a person with curl would send it.
pub fn request(method: Method, uri: &str, secret: Option<&str>, cron: bool) -> FunctionRequest {
    let mut headers = HeaderMap::new();
    if let Some(secret) = secret {
        headers.insert(
            "authorization",
            HeaderValue::from_str(&format!("Bearer {secret}")).unwrap(),
        );
    }
    if cron {
        headers.insert("user-agent", HeaderValue::from_static("vercel-cron/1.0"));
    }
    FunctionRequest::new(method, uri.parse::<Uri>().unwrap(), headers)
}
