//! The status function (`api/cron/status`): the run history and queues at a glance, and
//! the operator console ([`crate::console`]).
//!
//! Not a job: it is in no cron and is not recorded in `cron_runs` (a page someone reloads
//! is not a run; the console's actions are recorded in `console_actions`). It goes through
//! the jobs' front door ([`super::handle`] with [`FUNCTION`]): GET or POST (else 405),
//! then [`authorize`]: `CRON_SECRET` from the same three places, or the console's session
//! cookie; a wrong secret is the API's 401, and a browser or a form post without
//! credentials gets through only to the sign-in; unset `CRON_SECRET`: 500. Supabase
//! configuration (else 500 naming the variables). Then:
//!
//! - a form post with an `action` field: [`crate::console::actions`];
//! - `?view=…`: a drill-down page ([`crate::console::pages`]);
//! - `?check=1`: `supacron check` of this deployment's project ([`crate::check`]) as JSON;
//! - by default JSON, in one request to Supabase (`status_report`): `generated_at`, `tiles`
//!   (the verdict per job), `cron_run_summary` and `queue_health` (the two views),
//!   `dead_jobs`;
//! - with `Accept: text/html` (what a browser sends), the page of [`crate::status::html`]
//!   (with the console's forms for a signed-in session), with a Content-Security-Policy
//!   that allows no scripts and no outside resources and form posts to itself only, and no
//!   referrer (a `?secret=` in the address must not leak through a link).
//!
//! JSON answers carry `x-supacron-run-id` like the jobs' (here the id of the request,
//! logged with it as `request_id`).

use chrono::Utc;
use http::{Method, StatusCode};

use super::StatusEntry;
use super::answer::respond;
use super::{Access, Admitted, AnswerFuture, Function, FunctionRequest, FunctionResponse};
use crate::auth::{self, AuthError};
use crate::config::Config;
use crate::console::session::{self, CookieState};
use crate::console::store;
use crate::console::{self, Console, Session, form::Form, html as console_html, pages};
use crate::error::AppError;
use crate::jobs::schedule::MAX_TICK_ATTEMPTS;
use crate::secret::Secret;
use crate::status::{Report, health, html};
use crate::supabase::Supabase;

/// Where the status function is served.
pub const PATH: &str = "/api/cron/status";

/// Its `maxDuration` in `vercel.json`: one database request, but more than the default
/// `SUPABASE_TIMEOUT_SECS` (10), so a slow database answers our 503, not Vercel's 504.
pub const MAX_DURATION_SECS: u64 = 15;

/// The status function, for [`super::handle`].
pub const FUNCTION: Function = Function::Status(StatusEntry { authorize, answer });

/// Who may look: a valid session cookie, else `CRON_SECRET` (Bearer, `x-cron-secret`,
/// `?secret=`); a wrong secret is refused (401); without either, a browser or a form post
/// is let through to the sign-in ([`Access::Anonymous`]), anything else is refused.
pub fn authorize(config: &Config, request: &FunctionRequest) -> Result<Access, AuthError> {
    let (headers, query) = (&request.headers, request.uri.query());
    let credential = match auth::authorize_status(config, headers, query) {
        Ok(()) => true,
        Err(AuthError::Unauthorized) => false,
        Err(error) => return Err(error),
    };
    let secret = config.cron_secret()?;
    match session::from_headers(headers, secret, Utc::now()) {
        CookieState::Valid(session) => Ok(Access::Session(session)),
        _ if credential => Ok(Access::Credential),
        _ if auth::presents_cron_secret(headers, query) => Err(AuthError::Unauthorized),
        cookie if request.wants_html() || request.method == Method::POST => Ok(Access::Anonymous {
            refused_cookie: cookie == CookieState::Refused,
        }),
        _ => Err(AuthError::Unauthorized),
    }
}

fn answer<'a>(admitted: &'a Admitted<'a>) -> AnswerFuture<'a> {
    Box::pin(serve(admitted))
}

async fn serve(admitted: &Admitted<'_>) -> Result<FunctionResponse, AppError> {
    let request = admitted.request;
    if request.method == Method::POST {
        let form = Form::parse(&request.headers, &request.body);
        if let Some(action) = form.get("action") {
            return console::actions::post(admitted, &form, action).await;
        }
    }
    if let Access::Anonymous { refused_cookie } = admitted.access {
        return console::refuse(request, refused_cookie);
    }
    if auth::query_param(request.uri.query(), "check").is_some_and(|v| v == "1") {
        return Ok(check(admitted).await);
    }
    let view = auth::query_param(request.uri.query(), "view");
    if request.wants_html() || view.is_some() {
        return page(admitted, view.as_deref()).await;
    }
    report(admitted).await
}

/// `?check=1`: [`crate::check`] against this deployment's project and configuration, as
/// JSON (`ready`, `schema_version_expected`, `findings`); 503 when Supabase cannot be asked.
async fn check(admitted: &Admitted<'_>) -> FunctionResponse {
    match crate::check::check(admitted.config, crate::check::VercelJson::built_in()).await {
        Ok(report) => respond(StatusCode::OK, admitted.id, &report.to_json()),
        Err(error) => respond(
            StatusCode::SERVICE_UNAVAILABLE,
            admitted.id,
            &serde_json::json!({"ready": false, "error": "check_failed", "message": error.to_string()}),
        ),
    }
}

/// The JSON report.
async fn report(admitted: &Admitted<'_>) -> Result<FunctionResponse, AppError> {
    let db = Supabase::shared(&admitted.job_config.supabase);
    let min_new = admitted.job_config.tunables.memory_min_new_messages;
    let report = Report::fetch(db, false, min_new).await?;
    let tiles = health::tiles(&report);
    let mut body = serde_json::to_value(&report).map_err(|e| AppError::Internal(e.to_string()))?;
    body["tiles"] = serde_json::to_value(&tiles).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok(respond(StatusCode::OK, admitted.id, &body))
}

/// The main page or a drill-down (`view`), with the console's forms for a session.
async fn page(admitted: &Admitted<'_>, view: Option<&str>) -> Result<FunctionResponse, AppError> {
    let request = admitted.request;
    let db = Supabase::shared(&admitted.job_config.supabase);
    let min_new = admitted.job_config.tunables.memory_min_new_messages;
    let done = auth::query_param(request.uri.query(), "done").and_then(|d| d.parse().ok());
    let again = auth::query_param(request.uri.query(), "again").is_some();
    let session = match &admitted.access {
        Access::Session(session) => Some(session),
        _ => None,
    };
    let overview = async {
        match session {
            Some(session) => store::overview(db, &session.id, done, MAX_TICK_ATTEMPTS)
                .await
                .map(Some),
            None => Ok(None),
        }
    };
    let secret = admitted.config.cron_secret()?;
    let console = |overview| signed_in(session, overview, secret, again);
    if let Some(view) = view {
        let overview = overview.await?;
        if overview.as_ref().is_some_and(|o| o.signed_out) {
            return console::refuse(request, true);
        }
        return pages::view(admitted, console(overview.as_ref()).as_ref(), view).await;
    }
    let (report, overview) = tokio::join!(Report::fetch(db, true, min_new), overview);
    let (report, overview) = (report?, overview?);
    if overview.as_ref().is_some_and(|o| o.signed_out) {
        return console::refuse(request, true);
    }
    let console = console(overview.as_ref());
    let tiles = health::tiles(&report);
    Ok(console_html::response(
        StatusCode::OK,
        html::render(&report, &tiles, console.as_ref()),
    ))
}

/// The console of a signed-in session, once its overview is read.
fn signed_in<'a>(
    session: Option<&'a Session>,
    overview: Option<&'a store::Overview>,
    secret: &Secret,
    again: bool,
) -> Option<Console<'a>> {
    session.zip(overview).map(|(session, overview)| Console {
        session,
        forms: console_html::Forms::new(session, secret, ""),
        overview,
        again,
    })
}
