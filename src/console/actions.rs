//! The console's form posts (`action=…`), each answered with a 303 back to the page and a
//! one-line notice of what was done (`?done=<audit row>`):
//!
//! - `sign_in` (field `secret`): compared with `CRON_SECRET` in constant time. Right: a
//!   session cookie ([`super::session`]). Wrong: the API's 401. After 5 failures from one
//!   address in 15 minutes, 429 with `Retry-After` until the oldest is 15 minutes old.
//! - `sign_out`: clears the cookie, and the session can act no more (recorded).
//! - `requeue_dead_patch_jobs`, `clear_expired_job_lock`, `retry_given_up_schedule_ticks`,
//!   `retry_refused_training_rows`, `run_job_now`: need a signed-in session and its CSRF
//!   token (else 401 / 403), and go through `console_act`, which records them in
//!   `console_actions` and acts once per form key (a form submitted twice acts once).
//!   `run_job_now` then runs the job in this process exactly as a manual invocation
//!   (trigger `manual`, recorded in `cron_runs`), within the status function's own time.

use std::time::Duration;

use chrono::Utc;
use http::HeaderMap;
use serde_json::{Value, json};

use super::form::Form;
use super::html;
use super::session::{self, Session};
use super::store::{self, Action};
use crate::error::AppError;
use crate::function::status::{MAX_DURATION_SECS, PATH};
use crate::function::{Access, Admitted, FunctionRequest, FunctionResponse, handle};
use crate::invocation::Trigger;
use crate::jobs::catalog::Job;
use crate::jobs::schedule::MAX_TICK_ATTEMPTS;
use crate::supabase::Supabase;

/// The actions a signed-in operator can post (besides `sign_in` and `sign_out`).
pub const ACTIONS: [&str; 5] = [
    "requeue_dead_patch_jobs",
    "clear_expired_job_lock",
    "retry_given_up_schedule_ticks",
    "retry_refused_training_rows",
    "run_job_now",
];

/// The time a run started from the console may take: the status function's `maxDuration`
/// less 5 s for recording it and answering.
pub const RUN_NOW_BUDGET: Duration = Duration::from_secs(MAX_DURATION_SECS - 5);

/// Answers the form post `action`.
pub async fn post(
    admitted: &Admitted<'_>,
    form: &Form,
    action: &str,
) -> Result<FunctionResponse, AppError> {
    let request = admitted.request;
    let db = Supabase::shared(&admitted.job_config.supabase);
    let secret = admitted.config.cron_secret()?;
    if action == "sign_in" {
        return sign_in(request, db, secret, form).await;
    }
    let session = match &admitted.access {
        Access::Session(session) => session,
        Access::Anonymous { refused_cookie } => {
            return super::refuse(request, *refused_cookie);
        }
        Access::Credential | Access::InProcess | Access::ScheduleDispatch => {
            return Err(AppError::Forbidden(
                "operator actions need a signed-in console session: open the status page in a \
                 browser and sign in"
                    .into(),
            ));
        }
    };
    if !session.csrf_matches(secret, form.get("csrf").unwrap_or_default()) {
        return Err(AppError::Forbidden(
            "the form's CSRF token is missing or belongs to another session: reload the page \
             and submit again"
                .into(),
        ));
    }
    let secure = !session::is_localhost(&request.headers);
    if action == "sign_out" {
        store::sign_out(db, &session.id, &client(&request.headers)).await?;
        let answer = html::redirect(PATH);
        return Ok(html::with_cookie(answer, &session::clear_cookie(secure)));
    }
    if !ACTIONS.contains(&action) {
        return Err(AppError::BadRequest(format!(
            "unknown action {:?}; the actions are sign_in, sign_out, {}",
            action.chars().take(40).collect::<String>(),
            ACTIONS.join(", ")
        )));
    }
    let form_key = form.form_key().map_err(AppError::BadRequest)?;
    let target = target(action, form).map_err(AppError::BadRequest)?;
    let recorded = store::act(db, &session.id, form_key, action, &target).await?;
    if recorded.signed_out {
        return super::refuse(request, true);
    }
    if action == "run_job_now" && !recorded.repeated {
        run_now(admitted, db, &recorded, form).await?;
    }
    Ok(html::redirect(&back_to(
        form,
        recorded.id,
        recorded.repeated,
    )))
}

/// The action's target as `console_act` takes it, from the form's fields.
fn target(action: &str, form: &Form) -> Result<Value, String> {
    let all = form.flag("all");
    Ok(match action {
        "requeue_dead_patch_jobs" => json!({ "all": all, "ids": form.integer_ids()? }),
        "clear_expired_job_lock" => json!({ "job": form.job()?.name() }),
        "retry_given_up_schedule_ticks" => json!({
            "all": all,
            "ids": form.integer_ids()?,
            "max_attempts": MAX_TICK_ATTEMPTS,
        }),
        "retry_refused_training_rows" => {
            let job = form.job()?;
            if !matches!(job, Job::Outcomes | Job::Rewards) {
                return Err(format!(
                    "{job} is not a training job: refused rows belong to outcomes or rewards"
                ));
            }
            json!({ "job": job.name(), "all": all, "ids": form.uuid_ids()? })
        }
        "run_job_now" => json!({ "job": form.job()?.name() }),
        _ => json!({}),
    })
}

/// Runs the job of a recorded `run_job_now` as a manual invocation and records its outcome.
async fn run_now(
    admitted: &Admitted<'_>,
    db: &Supabase,
    recorded: &Action,
    form: &Form,
) -> Result<(), AppError> {
    let job = form.job().map_err(AppError::BadRequest)?;
    let mut request = FunctionRequest::in_process(job, false, Trigger::Manual);
    request.time_budget = Some(RUN_NOW_BUDGET);
    let answer = handle(job, request, admitted.config).await;
    let body: Value = serde_json::from_str(&answer.body).unwrap_or(Value::Null);
    let status = body["status"].as_str().unwrap_or("error");
    let completed = answer.status.is_success() && status != "error";
    let run_id = body["run_id"].as_str().and_then(|id| id.parse().ok());
    let processed = body["processed"].as_i64().unwrap_or(0);
    let notice = if completed {
        format!(
            "Ran the {job} job now: {status}, {processed} processed (run {}).",
            body["run_id"].as_str().unwrap_or("-")
        )
    } else {
        format!(
            "The {job} job's run failed: {} (run {}).",
            body["message"].as_str().unwrap_or(status),
            body["run_id"].as_str().unwrap_or("-")
        )
    };
    let outcome = if completed { "done" } else { "failed" };
    store::finished(db, recorded.id, outcome, processed, run_id, &body, &notice).await?;
    Ok(())
}

/// Where the 303 goes: the page the form was on (`back`, one of the console's own views)
/// with `done=<id>` (and `again=1` when the form had been sent before).
fn back_to(form: &Form, id: i64, repeated: bool) -> String {
    let again = if repeated { "&again=1" } else { "" };
    let back = form.get("back").unwrap_or_default();
    let safe = back.starts_with("view=")
        && back.len() <= 200
        && back
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_=&-%.".contains(&b));
    if safe {
        format!("{PATH}?{back}&done={id}{again}")
    } else {
        format!("{PATH}?done={id}{again}")
    }
}

async fn sign_in(
    request: &FunctionRequest,
    db: &Supabase,
    secret: &crate::secret::Secret,
    form: &Form,
) -> Result<FunctionResponse, AppError> {
    let ok = secret.matches(form.get("secret").unwrap_or_default().as_bytes());
    let session = Session::start(Utc::now());
    let decision = store::sign_in(db, &session.id, &client(&request.headers), ok).await?;
    if !decision.allowed {
        let retry_after_secs = decision.retry_after_seconds.unwrap_or(60);
        let error = AppError::TooManyRequests { retry_after_secs };
        if request.wants_html() {
            let mut page = html::response(
                error.status(),
                html::sign_in_page(Some(&error.public_message())),
            );
            page.headers
                .insert(http::header::RETRY_AFTER, retry_after_secs.into());
            return Ok(page);
        }
        return Err(error);
    }
    if !ok {
        if request.wants_html() {
            return Ok(html::response(
                http::StatusCode::UNAUTHORIZED,
                html::sign_in_page(Some("unauthorized")),
            ));
        }
        return Err(AppError::Unauthorized);
    }
    let secure = !session::is_localhost(&request.headers);
    let answer = html::redirect(PATH);
    Ok(html::with_cookie(
        answer,
        &session::set_cookie(&session, secret, secure),
    ))
}

/// The caller's address, for the sign-in throttle: the first `x-forwarded-for` hop (set by
/// Vercel), else `x-real-ip`, else empty (`supacron serve` on this machine).
fn client(headers: &HeaderMap) -> String {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(',').next().unwrap_or_default().trim().to_string())
    };
    header("x-forwarded-for")
        .or_else(|| header("x-real-ip"))
        .unwrap_or_default()
        .chars()
        .take(64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(body: &str) -> Form {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
        Form::parse(&headers, body.as_bytes())
    }

    #[test]
    fn the_answer_goes_back_to_a_console_page_only() {
        assert_eq!(
            back_to(&form("back=view%3Dpatch_jobs%26status%3Ddead"), 7, false),
            "/api/cron/status?view=patch_jobs&status=dead&done=7"
        );
        for evil in ["back=https%3A%2F%2Fevil.example", "back=view%3D%3Cx%3E", ""] {
            assert_eq!(
                back_to(&form(evil), 7, false),
                "/api/cron/status?done=7",
                "{evil}"
            );
        }
        assert_eq!(
            back_to(&form(""), 7, true),
            "/api/cron/status?done=7&again=1"
        );
    }

    #[test]
    fn targets_are_checked_before_anything_is_done() {
        assert_eq!(
            target("requeue_dead_patch_jobs", &form("id=3&id=9")).unwrap(),
            json!({"all": false, "ids": ["3", "9"]})
        );
        assert!(target("clear_expired_job_lock", &form("job=nope")).is_err());
        assert!(target("retry_refused_training_rows", &form("job=patch&all=1")).is_err());
        assert!(target("retry_refused_training_rows", &form("job=outcomes&id=12")).is_err());
    }
}
