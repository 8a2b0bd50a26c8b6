//! The drill-down pages (`?view=…`), for what operators ask when a tile is amber or red:
//! a job's last runs with their counts and errors (`runs`), the patch jobs by status
//! (`patch_jobs`), one patch job's history (`patch_job`), the conversations held back by a
//! failed job (`held`), the schedule ticks given up on (`ticks`), the rows a training job
//! refused (`refused`) and the audit log (`actions`). Lists are paginated (`page`). A browser
//! gets a page (with the forms that act on the rows when signed in), anyone else JSON.

use std::fmt::Write;

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::Console;
use super::html::{self, Cell, Column, col, link, pager, submit, table};
use super::store::{self, Action, PAGE_SIZE};
use crate::auth::query_param;
use crate::error::AppError;
use crate::function::answer::respond;
use crate::function::{Admitted, FunctionResponse};
use crate::jobs::schedule::MAX_TICK_ATTEMPTS;
use crate::status::html::{document, escape};
use crate::supabase::Supabase;

/// The drill-down views, by `?view=`.
pub const VIEWS: [&str; 7] = [
    "runs",
    "patch_jobs",
    "patch_job",
    "held",
    "ticks",
    "refused",
    "actions",
];

/// The audit log's columns.
pub const ACTION_COLUMNS: [Column; 7] = [
    col("created_at", "when", Cell::Time),
    col("session", "session", Cell::Plain),
    col("action", "action", Cell::Plain),
    col("target", "what", Cell::Json),
    col("outcome", "outcome", Cell::Plain),
    col("rows", "rows", Cell::Plain),
    col("notice", "notice", Cell::Text),
];

/// An audit row as a table row (the session shortened to 8 characters).
pub fn action_row(action: &Action) -> Map<String, Value> {
    let mut row = Map::new();
    row.insert(
        "created_at".into(),
        json!(action.created_at.map(|t| t.to_rfc3339())),
    );
    let session: String = action.session_id.chars().take(8).collect();
    row.insert(
        "session".into(),
        json!(if session.is_empty() {
            "-".into()
        } else {
            session
        }),
    );
    row.insert("action".into(), json!(action.action));
    row.insert("target".into(), Value::Object(action.target.clone()));
    row.insert("outcome".into(), json!(action.outcome));
    row.insert("rows".into(), json!(action.rows));
    row.insert("notice".into(), json!(action.notice));
    row
}

/// What one list view shows.
struct List {
    title: String,
    sql_view: &'static str,
    args: Value,
    /// The view's own query (without `page`): the pager's links and the forms' way back.
    query: String,
    columns: Vec<Column>,
    /// With a session: the action the ticked rows go to, its fields, and the row key
    /// holding the id, and which rows may be ticked.
    act: Option<Act>,
    intro: &'static str,
}

struct Act {
    action: &'static str,
    fields: Vec<(&'static str, String)>,
    id_key: &'static str,
    selectable: fn(&Map<String, Value>) -> bool,
    selected_label: &'static str,
    all_label: &'static str,
}

fn any_row(_: &Map<String, Value>) -> bool {
    true
}

fn dead_or_failed(row: &Map<String, Value>) -> bool {
    matches!(
        row.get("status").and_then(Value::as_str),
        Some("dead" | "failed")
    )
}

/// A query value as it goes into a URL.
fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[allow(clippy::result_large_err)] // once per request; AppError is the crate's error type
fn list_of(view: &str, query: Option<&str>) -> Result<List, AppError> {
    let param = |name: &str| query_param(query, name).unwrap_or_default();
    Ok(match view {
        "runs" => {
            let job = param("job");
            List {
                title: format!("Runs of {job}"),
                sql_view: "runs",
                args: json!({ "job": job }),
                query: format!("view=runs&job={}", encode(&job)),
                columns: vec![
                    col("started_at", "started", Cell::Time),
                    col("trigger", "trigger", Cell::Plain),
                    col("status", "status", Cell::Plain),
                    col("dry_run", "dry run", Cell::Plain),
                    col("duration_ms", "ms", Cell::Plain),
                    col("counts", "counts", Cell::Json),
                    col("error", "error", Cell::Text),
                    col("run_id", "run id", Cell::Plain),
                ],
                act: None,
                intro: "Newest first, dry runs included.",
            }
        }
        "patch_jobs" => {
            let status = match param("status").as_str() {
                "failed" => "failed",
                "open" => "open",
                "all" => "all",
                _ => "dead",
            };
            List {
                title: format!("Patch jobs: {status}"),
                sql_view: "patch_jobs",
                args: json!({ "status": status }),
                query: format!("view=patch_jobs&status={status}"),
                columns: vec![
                    col("id", "id", Cell::PatchJob),
                    col("conversation_id", "conversation", Cell::Plain),
                    col("status", "status", Cell::Plain),
                    col("attempts", "attempts", Cell::Plain),
                    col("error_kind", "kind", Cell::Plain),
                    col("last_error", "last_error", Cell::Text),
                    col("run_after", "due", Cell::Time),
                    col("lease_until", "lease until", Cell::Time),
                    col("updated_at", "updated", Cell::Time),
                ],
                act: Some(Act {
                    action: "requeue_dead_patch_jobs",
                    fields: vec![],
                    id_key: "id",
                    selectable: dead_or_failed,
                    selected_label: "Requeue selected",
                    all_label: "Requeue all dead and failed",
                }),
                intro: "Requeueing makes a dead or failed job pending again with fresh attempts, due now.",
            }
        }
        "held" => List {
            title: "Conversations held back by a failed patch job".into(),
            sql_view: "held",
            args: json!({}),
            query: "view=held".into(),
            columns: vec![
                col("conversation_id", "conversation", Cell::Plain),
                col("failed_job_id", "failed job", Cell::PatchJob),
                col("attempts", "attempts", Cell::Plain),
                col("error_kind", "kind", Cell::Plain),
                col("last_error", "last_error", Cell::Text),
                col("run_after", "retried after", Cell::Time),
                col("held_jobs", "jobs waiting behind it", Cell::Plain),
            ],
            act: Some(Act {
                action: "requeue_dead_patch_jobs",
                fields: vec![],
                id_key: "failed_job_id",
                selectable: any_row,
                selected_label: "Requeue the selected failed jobs now",
                all_label: "Requeue all dead and failed",
            }),
            intro: "Jobs of a conversation are applied in order: a failed job waiting for its retry holds back the jobs behind it.",
        },
        "ticks" => List {
            title: "Schedule ticks given up on".into(),
            sql_view: "ticks",
            args: json!({ "max_attempts": MAX_TICK_ATTEMPTS }),
            query: "view=ticks".into(),
            columns: vec![
                col("id", "id", Cell::Plain),
                col("character", "character", Cell::Text),
                col("kind", "kind", Cell::Plain),
                col("slot", "slot", Cell::Time),
                col("attempts", "attempts", Cell::Plain),
                col("last_error", "last_error", Cell::Text),
                col("updated_at", "updated", Cell::Time),
            ],
            act: Some(Act {
                action: "retry_given_up_schedule_ticks",
                fields: vec![("max_attempts", MAX_TICK_ATTEMPTS.to_string())],
                id_key: "id",
                selectable: any_row,
                selected_label: "Retry selected",
                all_label: "Retry all given-up ticks",
            }),
            intro: "Fix the schedule or character first; a retried tick gets fresh attempts at the next schedule run.",
        },
        "refused" => {
            let job = if param("job") == "rewards" {
                "rewards"
            } else {
                "outcomes"
            };
            List {
                title: format!("Rows the {job} job refused"),
                sql_view: "refused",
                args: json!({ "job": job }),
                query: format!("view=refused&job={job}"),
                columns: vec![
                    col("id", "decision", Cell::Plain),
                    col("item_id", "item", Cell::Plain),
                    col("action", "action", Cell::Text),
                    col("decided_at", "decided", Cell::Time),
                    col("last_error", "last_error", Cell::Text),
                ],
                act: Some(Act {
                    action: "retry_refused_training_rows",
                    fields: vec![("job", job.to_string())],
                    id_key: "id",
                    selectable: any_row,
                    selected_label: "Retry selected",
                    all_label: "Retry all refused rows",
                }),
                intro: "Fix the row's data first; retrying clears its last_error so the job considers it again.",
            }
        }
        "actions" => List {
            title: "Operator actions (audit log)".into(),
            sql_view: "actions",
            args: json!({}),
            query: "view=actions".into(),
            columns: ACTION_COLUMNS.to_vec(),
            act: None,
            intro: "Every sign-in, sign-out and action, newest first.",
        },
        other => {
            return Err(AppError::BadRequest(format!(
                "unknown view {:?}; the views are {}",
                other.chars().take(40).collect::<String>(),
                VIEWS.join(", ")
            )));
        }
    })
}

/// Answers `?view=<view>`.
pub async fn view(
    admitted: &Admitted<'_>,
    console: Option<&Console<'_>>,
    view: &str,
) -> Result<FunctionResponse, AppError> {
    let request = admitted.request;
    let query = request.uri.query();
    let db = Supabase::shared(&admitted.job_config.supabase);
    if view == "patch_job" {
        return patch_job(admitted, console, db).await;
    }
    let list = list_of(view, query)?;
    let page = query_param(query, "page")
        .and_then(|p| p.parse::<u32>().ok())
        .unwrap_or(1)
        .max(1);
    let rows = store::list(db, list.sql_view, &list.args, page).await?;
    let rows = if list.sql_view == "actions" {
        store::Page {
            total: rows.total,
            rows: rows
                .rows
                .iter()
                .map(|r| {
                    serde_json::from_value::<Action>(Value::Object(r.clone()))
                        .map(|a| action_row(&a))
                        .unwrap_or_default()
                })
                .collect(),
        }
    } else {
        rows
    };
    if !request.wants_html() {
        let body = json!({ "view": view, "page": page, "total": rows.total, "rows": rows.rows });
        return Ok(respond(StatusCode::OK, admitted.id, &body));
    }
    let mut body = format!(
        "<p class=\"meta\">{} · <a href=\"{}\">status page</a></p><h1>{}</h1><p class=\"meta\">{}</p>",
        "supacron status",
        crate::function::status::PATH,
        escape(&list.title),
        escape(list.intro)
    );
    if let Some(console) = console {
        body.push_str(&super::main_page::top(console));
    }
    let act = console.zip(list.act.as_ref());
    match act {
        Some((console, act)) => {
            let forms = console.forms.for_page(&list.query);
            let fields: Vec<(&str, &str)> =
                act.fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            body.push_str(&forms.open(act.action, &fields, "block"));
            body.push_str(&table(
                &list.columns,
                &rows.rows,
                Some((act.id_key, &act.selectable)),
            ));
            let _ = write!(
                body,
                "<div class=\"actions\">{}{}</div></form>",
                submit(act.selected_label, None),
                submit(act.all_label, Some("all"))
            );
        }
        None => body.push_str(&table(&list.columns, &rows.rows, None)),
    }
    body.push_str(&pager(&list.query, page, rows.total, PAGE_SIZE));
    Ok(html::response(
        StatusCode::OK,
        document(&format!("supacron: {}", list.title), &body),
    ))
}

/// `?view=patch_job&id=N`: the job's row, its conversation's open jobs, the actions on it.
async fn patch_job(
    admitted: &Admitted<'_>,
    console: Option<&Console<'_>>,
    db: &Supabase,
) -> Result<FunctionResponse, AppError> {
    let request = admitted.request;
    let raw = query_param(request.uri.query(), "id").unwrap_or_default();
    let id: i64 = raw.trim().parse().map_err(|_| {
        AppError::BadRequest(format!(
            "{:?} is not a patch job id",
            raw.chars().take(40).collect::<String>()
        ))
    })?;
    let Some(history) = store::patch_job(db, id).await? else {
        return Err(AppError::BadRequest(format!("there is no patch job {id}")));
    };
    if !request.wants_html() {
        return Ok(respond(
            StatusCode::OK,
            admitted.id,
            &Value::Object(history),
        ));
    }
    let job = history
        .get("job")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let mut body = format!(
        "<p class=\"meta\">supacron status · <a href=\"{}\">status page</a> · {}</p><h1>Patch job {id}</h1>",
        crate::function::status::PATH,
        link("view=patch_jobs&status=dead", "dead jobs")
    );
    if let Some(console) = console {
        body.push_str(&super::main_page::top(console));
    }
    body.push_str("<dl class=\"fields\">");
    for (key, cell) in [
        ("status", Cell::Plain),
        ("conversation_id", Cell::Plain),
        ("character_id", Cell::Plain),
        ("attempts", Cell::Plain),
        ("max_attempts", Cell::Plain),
        ("error_kind", Cell::Plain),
        ("last_error", Cell::Text),
        ("run_after", Cell::Time),
        ("lease_owner", Cell::Plain),
        ("lease_until", Cell::Time),
        ("idempotency_key", Cell::Text),
        ("created_at", Cell::Time),
        ("updated_at", Cell::Time),
        ("finished_at", Cell::Time),
    ] {
        let _ = write!(
            body,
            "<dt>{key}</dt><dd>{}</dd>",
            escape(&html::value_text(job.get(key), cell))
        );
    }
    let _ = write!(
        body,
        "<dt>patch</dt><dd>{}</dd></dl>",
        escape(&html::value_text(history.get("patch_keys"), Cell::Json))
    );
    if let Some(console) = console
        && dead_or_failed(&job)
    {
        let forms = console.forms.for_page(&format!("view=patch_job&id={id}"));
        let id = id.to_string();
        body.push_str(&forms.button(
            "requeue_dead_patch_jobs",
            &[("id", &id)],
            "Requeue this job",
        ));
    }
    let rows = |key: &str| -> Vec<Map<String, Value>> {
        history
            .get(key)
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|v| v.as_object().cloned()).collect())
            .unwrap_or_default()
    };
    body.push_str("<h2>Open jobs of its conversation, in the order they apply</h2>");
    body.push_str(&table(
        &[
            col("id", "id", Cell::PatchJob),
            col("status", "status", Cell::Plain),
            col("attempts", "attempts", Cell::Plain),
            col("run_after", "due", Cell::Time),
        ],
        &rows("conversation_jobs"),
        None,
    ));
    body.push_str("<h2>Operator actions on it</h2>");
    let actions: Vec<_> = rows("actions")
        .into_iter()
        .filter_map(|r| serde_json::from_value::<Action>(Value::Object(r)).ok())
        .map(|a| action_row(&a))
        .collect();
    body.push_str(&table(&ACTION_COLUMNS, &actions, None));
    Ok(html::response(
        StatusCode::OK,
        document(&format!("supacron: patch job {id}"), &body),
    ))
}
