//! The status console over HTTP (the real `cron-status` binary, a real database): sign-in
//! and sign-out with their cookie, refused cookies (forged, expired, old secret, signed out),
//! the CSRF token, each action's effect on the rows and its audit record, a double submit,
//! the sign-in throttle, the drill-down pages, and no secret in any page, log line or cookie.

use chrono::{Duration, Utc};
use serde_json::Value;
use supacron::console::session::{COOKIE_NAME, Session};
use supacron::secret::Secret;
use testkit::TestEnv;
use testkit::factory::{
    self, NewCronRun, NewDecision, NewItem, NewJobLock, NewOutcome, NewPatchJob, NewTick,
};
use tokio_postgres::Client;

use crate::support::console::{Browser, Page, SECRET, status_function};

async fn count(db: &Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

async fn status_of(db: &Client, id: i64) -> String {
    db.query_one("select status from patch_jobs where id = $1", &[&id])
        .await
        .unwrap()
        .get(0)
}

/// The audit rows as `(action, outcome, rows, session_id)`, oldest first.
async fn audit(db: &Client) -> Vec<(String, String, i32, String)> {
    db.query(
        "select action, outcome, rows, session_id from console_actions order by id",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
    .collect()
}

fn assert_sign_in_page(page: &Page) {
    assert_eq!(page.status, 401, "{}", page.text);
    assert!(
        page.text.contains("name=\"secret\"") && page.text.contains("value=\"sign_in\""),
        "{}",
        page.text
    );
}

#[tokio::test]
async fn signing_in_sets_a_strict_cookie_without_the_secret_and_signing_out_ends_the_session() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let function = status_function(&env);
    let mut browser = Browser::new(&function.url);

    // A browser without credentials gets the sign-in form, as a 401; curl gets the API's 401.
    let first = browser.get("").await;
    assert_sign_in_page(&first);
    let csp = first.headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.starts_with("default-src 'none'")
            && csp.contains("form-action 'self'")
            && !csp.contains("script-src"),
        "{csp}"
    );
    let curl = reqwest::get(&function.url).await.unwrap();
    assert_eq!(curl.status(), 401);
    assert_eq!(curl.text().await.unwrap(), r#"{"error":"unauthorized"}"#);

    // A wrong secret: the same refusal as the API's (for a browser, on the sign-in page).
    let wrong = browser.sign_in("not-the-secret-0123456").await;
    assert_sign_in_page(&wrong);
    assert!(wrong.set_cookie().is_none() && browser.cookie.is_none());
    let wrong_json = reqwest::Client::new()
        .post(&function.url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=sign_in&secret=nope")
        .send()
        .await
        .unwrap();
    assert_eq!(wrong_json.status(), 401);
    assert_eq!(
        wrong_json.text().await.unwrap(),
        r#"{"error":"unauthorized"}"#
    );

    // The right one: 303 back to the page and the session cookie.
    let signed_in = browser.sign_in(SECRET).await;
    assert_eq!(signed_in.status, 303, "{}", signed_in.text);
    assert_eq!(signed_in.location(), "/api/cron/status");
    let cookie = signed_in.set_cookie().unwrap();
    let attributes: Vec<&str> = cookie.split("; ").skip(1).collect();
    assert_eq!(
        attributes,
        [
            "Max-Age=43200",
            "Path=/api/cron/status",
            "HttpOnly",
            "SameSite=Strict"
        ],
        "no Secure on 127.0.0.1 (plain HTTP): {cookie}"
    );
    let value = browser.cookie.clone().unwrap();
    assert!(value.starts_with(&format!("{COOKIE_NAME}=")));
    assert!(!value.contains(SECRET) && !value.contains(&env.service_key));

    // Anywhere else the cookie is Secure.
    let remote = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(&function.url)
        .header("host", "status.example.com")
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("action=sign_in&secret={SECRET}"))
        .send()
        .await
        .unwrap();
    assert_eq!(remote.status(), 303);
    assert!(
        remote.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .ends_with("; HttpOnly; SameSite=Strict; Secure")
    );

    // Signed in, the page needs no secret and carries the console.
    let page = browser.follow(&signed_in).await;
    assert_eq!(page.status, 200, "{}", page.text);
    assert!(page.text.contains("Signed in") && page.text.contains("value=\"sign_out\""));
    assert!(!page.text.contains(SECRET), "no secret in the page");
    // The JSON answer works with the cookie alone too.
    let json = reqwest::Client::new()
        .get(&function.url)
        .header("cookie", &value)
        .send()
        .await
        .unwrap();
    assert_eq!(json.status(), 200);

    // Sign out: the cookie is cleared, and the old cookie no longer works even if replayed.
    let out = browser.post(&page.form("sign_out", 0, &[])).await;
    assert_eq!(
        (out.status, out.location().as_str()),
        (303, "/api/cron/status")
    );
    assert!(
        out.set_cookie()
            .unwrap()
            .starts_with(&format!("{COOKIE_NAME}=; Max-Age=0; Path=/api/cron/status"))
    );
    let replayed = browser.get("").await;
    assert_sign_in_page(&replayed);
    assert!(replayed.text.contains("Your session has ended"));
    let requeue = browser
        .post(&page.form("requeue_dead_patch_jobs", 0, &[("all", "1")]))
        .await;
    assert_sign_in_page(&requeue);

    let rows = audit(db).await;
    let session = rows[2].3.clone();
    assert_eq!(session.len(), 32);
    assert_eq!(
        rows,
        [
            ("sign_in".into(), "refused".into(), 0, String::new()),
            ("sign_in".into(), "refused".into(), 0, String::new()),
            ("sign_in".into(), "done".into(), 0, session.clone()),
            ("sign_in".into(), "done".into(), 0, rows[3].3.clone()),
            ("sign_out".into(), "done".into(), 0, session),
        ]
    );
    let log = function.finish();
    assert!(log.contains("status served"), "{log}");
    for leaked in [
        SECRET,
        env.service_key.as_str(),
        &value[COOKIE_NAME.len() + 1..],
    ] {
        assert!(!log.contains(leaked), "the log leaked {leaked}: {log}");
    }
}

#[tokio::test]
async fn forged_expired_and_old_secret_cookies_are_refused() {
    let env = TestEnv::start().await;
    let function = status_function(&env);
    let secret = Secret::new(SECRET);
    let now = Utc::now();
    let good = Session::start(now).cookie_value(&secret);
    let expired = Session {
        id: "0123456789abcdef0123456789abcdef".into(),
        expires_at: now - Duration::seconds(1),
    }
    .cookie_value(&secret);
    let old_secret = Session::start(now).cookie_value(&Secret::new("the-previous-secret-42"));
    let mut forged = good.clone();
    forged.replace_range(..1, if good.starts_with('a') { "b" } else { "a" });
    for (case, value) in [
        ("expired", expired),
        ("signed under the old secret", old_secret),
        ("forged", forged),
        ("garbage", "x.y.z".to_string()),
    ] {
        let mut browser = Browser::new(&function.url);
        browser.cookie = Some(format!("{COOKIE_NAME}={value}"));
        let page = browser.get("").await;
        assert_sign_in_page(&page);
        assert!(page.text.contains("Your session has ended"), "{case}");
        assert!(
            page.set_cookie().unwrap().contains("Max-Age=0"),
            "{case}: the refused cookie is cleared"
        );
        let json = reqwest::Client::new()
            .get(&function.url)
            .header("cookie", format!("{COOKIE_NAME}={value}"))
            .send()
            .await
            .unwrap();
        assert_eq!(json.status(), 401, "{case}");
    }
    let mut browser = Browser::new(&function.url);
    browser.cookie = Some(format!("{COOKIE_NAME}={good}"));
    assert_eq!(
        browser.get("").await.status,
        200,
        "the neighbour still works"
    );
}

#[tokio::test]
async fn actions_need_their_sessions_csrf_token() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let dead = factory::patch_job(
        db,
        NewPatchJob {
            status: "dead".into(),
            ..Default::default()
        },
    )
    .await;
    let function = status_function(&env);
    let mut alice = Browser::new(&function.url);
    let mut bob = Browser::new(&function.url);
    alice.sign_in(SECRET).await;
    bob.sign_in(SECRET).await;
    let alice_page = alice.get("").await;
    let bob_page = bob.get("").await;
    let fields = alice_page.form("requeue_dead_patch_jobs", 0, &[("all", "1")]);
    let without: Vec<_> = fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .collect();
    let bobs_token = bob_page.form("requeue_dead_patch_jobs", 0, &[])[1]
        .1
        .clone();
    let with_bobs: Vec<_> = fields
        .iter()
        .map(|(k, v)| {
            if k == "csrf" {
                (k.clone(), bobs_token.clone())
            } else {
                (k.clone(), v.clone())
            }
        })
        .collect();
    for (case, form) in [("no token", &without), ("another session's", &with_bobs)] {
        let refused = alice.post(form).await;
        assert_eq!(refused.status, 403, "{case}: {}", refused.text);
        assert!(refused.text.contains("CSRF"), "{}", refused.text);
    }
    // The secret in a header is not a session: it can look, not act.
    let header = reqwest::Client::new()
        .post(&function.url)
        .header("authorization", format!("Bearer {SECRET}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=requeue_dead_patch_jobs&all=1")
        .send()
        .await
        .unwrap();
    assert_eq!(header.status(), 403);
    assert_eq!(status_of(db, dead).await, "dead", "nothing was requeued");
    assert_eq!(
        count(
            db,
            "select count(*) from console_actions where action <> 'sign_in'"
        )
        .await,
        0
    );
    // With the token, the same form acts.
    let done = alice.post(&fields).await;
    assert_eq!(done.status, 303, "{}", done.text);
    assert_eq!(status_of(db, dead).await, "pending");
}

#[tokio::test]
async fn each_action_changes_its_rows_once_and_is_recorded_with_who_what_and_how_many() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let dead = |error_kind: &str| NewPatchJob {
        status: "dead".into(),
        error_kind: Some(error_kind.into()),
        last_error: Some("gave up".into()),
        ..Default::default()
    };
    let first = factory::patch_job(db, dead("conflict")).await;
    let second = factory::patch_job(db, dead("permanent")).await;
    let failed = factory::patch_job(
        db,
        NewPatchJob {
            status: "failed".into(),
            error_kind: Some("conflict".into()),
            run_after: Some(Utc::now() + Duration::minutes(30)),
            ..Default::default()
        },
    )
    .await;
    factory::job_lock(
        db,
        NewJobLock {
            job: "memory".into(),
            lease_owner: Some("run-that-died".into()),
            lease_until: Some(Utc::now() - Duration::minutes(5)),
            acquired_at: Some(Utc::now() - Duration::minutes(10)),
        },
    )
    .await;
    factory::job_lock(
        db,
        NewJobLock {
            job: "schedule".into(),
            lease_owner: Some("run-still-going".into()),
            lease_until: Some(Utc::now() + Duration::minutes(5)),
            acquired_at: Some(Utc::now()),
        },
    )
    .await;
    let given_up = factory::tick(
        db,
        NewTick {
            status: "failed".into(),
            attempts: 5,
            last_error: Some("the model refused".into()),
            ..Default::default()
        },
    )
    .await;
    let still_trying = factory::tick(
        db,
        NewTick {
            status: "failed".into(),
            attempts: 2,
            slot: Some(Utc::now() - Duration::hours(3)),
            ..Default::default()
        },
    )
    .await;
    let done_item = factory::item(
        db,
        NewItem {
            status: "DONE".into(),
            ..Default::default()
        },
    )
    .await;
    let refused = factory::decision(
        db,
        NewDecision {
            item_id: Some(done_item),
            last_error: Some("reached its terminal state before the decision".into()),
            ..Default::default()
        },
    )
    .await;
    let function = status_function(&env);
    let mut browser = Browser::new(&function.url);
    browser.sign_in(SECRET).await;
    let page = browser.get("").await;
    assert!(
        page.text.contains("run-that-died"),
        "the expired lock is shown"
    );

    // Requeue one ticked job; submitting the same form again does not requeue it twice.
    let form = page.form("requeue_dead_patch_jobs", 0, &[("id", &first.to_string())]);
    let answer = browser.post(&form).await;
    let shown = browser.follow(&answer).await;
    assert!(
        shown.text.contains("Requeued 1 dead or failed patch job"),
        "{}",
        shown.text
    );
    assert_eq!(status_of(db, first).await, "pending");
    assert_eq!(
        status_of(db, second).await,
        "dead",
        "its neighbour was not ticked"
    );
    db.execute(
        "update patch_jobs set status = 'dead', finished_at = now() where id = $1",
        &[&first],
    )
    .await
    .unwrap();
    let again = browser.post(&form).await;
    assert_eq!(again.status, 303);
    assert_eq!(
        status_of(db, first).await,
        "dead",
        "a double submit acts once"
    );
    assert!(
        browser
            .follow(&again)
            .await
            .text
            .contains("This form had been sent before: nothing was done again."),
    );

    // Requeue all dead and failed (from a fresh page: each page's forms have their own keys).
    let all = browser
        .post(&shown.form("requeue_dead_patch_jobs", 0, &[("all", "1")]))
        .await;
    assert_eq!(all.status, 303);
    for id in [first, second, failed] {
        assert_eq!(status_of(db, id).await, "pending", "job {id}");
    }

    // Clear the expired lock; the live one stays.
    let cleared = browser
        .post(&page.form("clear_expired_job_lock", 0, &[]))
        .await;
    assert!(
        browser
            .follow(&cleared)
            .await
            .text
            .contains("Cleared the expired lock of the memory job")
    );
    assert_eq!(
        count(
            db,
            "select count(*) from job_locks where lease_owner is not null"
        )
        .await,
        1
    );
    // A forged job name is a clear error on that field, and changes nothing.
    let bad = browser
        .post(
            &page
                .form("clear_expired_job_lock", 0, &[])
                .into_iter()
                .map(|(k, v)| {
                    if k == "job" {
                        (k, "<script>".to_string())
                    } else {
                        (k, v)
                    }
                })
                .collect::<Vec<_>>(),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.text);
    assert!(bad.text.contains("is not a job"), "{}", bad.text);

    // Retry given-up schedule ticks and refused training rows.
    let ticks = browser
        .post(&page.form("retry_given_up_schedule_ticks", 0, &[]))
        .await;
    assert_eq!(ticks.status, 303);
    let tick = db
        .query_one(
            "select status, attempts from schedule_ticks where id = $1",
            &[&given_up],
        )
        .await
        .unwrap();
    assert_eq!(
        (tick.get::<_, String>(0), tick.get::<_, i32>(1)),
        ("pending".into(), 0)
    );
    let other: i32 = db
        .query_one(
            "select attempts from schedule_ticks where id = $1",
            &[&still_trying],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(other, 2, "a tick still being retried is left alone");
    let rows = browser
        .post(&page.form("retry_refused_training_rows", 0, &[]))
        .await;
    assert_eq!(rows.status, 303);
    let error: Option<String> = db
        .query_one(
            "select last_error from decisions where id = $1",
            &[&refused],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(error, None);

    // Who, what, when, how many.
    let rows = audit(db).await;
    let session = rows[0].3.clone();
    let acted: Vec<_> = rows[1..]
        .iter()
        .map(|(a, o, n, s)| (a.as_str(), o.as_str(), *n, s == &session))
        .collect();
    assert_eq!(
        acted,
        [
            ("requeue_dead_patch_jobs", "done", 1, true),
            ("requeue_dead_patch_jobs", "done", 3, true),
            ("clear_expired_job_lock", "done", 1, true),
            ("retry_given_up_schedule_ticks", "done", 1, true),
            ("retry_refused_training_rows", "done", 1, true),
        ]
    );
    let recent = browser.get("").await;
    assert!(recent.text.contains("Recent operator actions"));
    assert!(recent.text.contains(&session[..8]), "the session is shown");
    function.finish();
}

#[tokio::test]
async fn running_a_job_now_is_one_manual_run_even_when_the_form_is_sent_twice() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let job = factory::patch_job(
        db,
        NewPatchJob {
            patch: serde_json::json!({"conversation": {"mood": "cosy"}}),
            ..Default::default()
        },
    )
    .await;
    let function = status_function(&env);
    let mut browser = Browser::new(&function.url);
    browser.sign_in(SECRET).await;
    let page = browser.get("").await;
    let form = page.form("run_job_now", 0, &[]);
    assert!(form.contains(&("job".into(), "patch".into())), "{form:?}");
    let ran = browser.post(&form).await;
    let shown = browser.follow(&ran).await;
    assert!(
        shown
            .text
            .contains("Ran the patch job now: ok, 1 processed"),
        "{}",
        shown.text
    );
    assert!(
        shown.text.contains("the run's answer"),
        "the answer is shown"
    );
    assert_eq!(status_of(db, job).await, "done");
    let again = browser.post(&form).await;
    assert_eq!(again.status, 303);
    let runs = db
        .query(
            "select trigger, status, run_id from cron_runs where job = 'patch'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "one run for two submits");
    assert_eq!(
        (runs[0].get::<_, String>(0), runs[0].get::<_, String>(1)),
        ("manual".into(), "ok".into())
    );
    let recorded = db
        .query_one(
            "select outcome, rows, run_id, answer from console_actions where action = 'run_job_now'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(recorded.get::<_, String>(0), "done");
    assert_eq!(recorded.get::<_, i32>(1), 1);
    assert_eq!(
        recorded.get::<_, Option<uuid::Uuid>>(2),
        Some(runs[0].get::<_, uuid::Uuid>(2))
    );
    assert_eq!(recorded.get::<_, Value>(3)["job"], "patch");
    function.finish();
}

#[tokio::test]
async fn repeated_failed_sign_ins_are_slowed_down_per_address_until_time_passes() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    let function = status_function(&env);
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let sign_in = |secret: &str, address: &str| {
        client
            .post(&function.url)
            .header("x-forwarded-for", address)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("action=sign_in&secret={secret}"))
            .send()
    };
    for _ in 0..5 {
        assert_eq!(
            sign_in("wrong-wrong-wrong", "203.0.113.7")
                .await
                .unwrap()
                .status(),
            401
        );
    }
    for secret in ["wrong-wrong-wrong", SECRET] {
        let slowed = sign_in(secret, "203.0.113.7").await.unwrap();
        assert_eq!(slowed.status(), 429);
        let retry: u64 = slowed.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((850..=900).contains(&retry), "{retry}");
        let body: Value = slowed.json().await.unwrap();
        assert_eq!(body["error"], "too_many_requests");
    }
    // Another address is not slowed down.
    assert_eq!(sign_in(SECRET, "198.51.100.1").await.unwrap().status(), 303);
    // Fifteen minutes later, the address may sign in again.
    db.execute(
        "update console_actions set created_at = created_at - interval '15 minutes 1 second'",
        &[],
    )
    .await
    .unwrap();
    assert_eq!(sign_in(SECRET, "203.0.113.7").await.unwrap().status(), 303);
    assert_eq!(
        count(
            db,
            "select count(*) from console_actions where outcome = 'refused'"
        )
        .await,
        5,
        "throttled attempts are not recorded"
    );
}

#[tokio::test]
async fn drill_downs_show_runs_a_patch_jobs_history_and_the_conversations_held_back() {
    let env = TestEnv::start().await;
    let db = &env.db.client;
    for minutes in 0..30 {
        factory::cron_run(
            db,
            NewCronRun {
                job: "patch".into(),
                trigger: "vercel_cron".into(),
                status: if minutes == 0 { "error" } else { "ok" }.into(),
                started_at: Some(Utc::now() - Duration::minutes(minutes)),
                finished_at: Some(Utc::now() - Duration::minutes(minutes)),
                error: (minutes == 0).then(|| "supabase_error: <b>boom</b>".to_string()),
                ..Default::default()
            },
        )
        .await;
    }
    let blocker = factory::patch_job(
        db,
        NewPatchJob {
            status: "failed".into(),
            attempts: 3,
            error_kind: Some("conflict".into()),
            last_error: Some("conflicts on every retry".into()),
            run_after: Some(Utc::now() + Duration::minutes(10)),
            ..Default::default()
        },
    )
    .await;
    let conversation: uuid::Uuid = db
        .query_one(
            "select conversation_id from patch_jobs where id = $1",
            &[&blocker],
        )
        .await
        .unwrap()
        .get(0);
    for _ in 0..2 {
        factory::patch_job(
            db,
            NewPatchJob {
                conversation_id: Some(conversation),
                ..Default::default()
            },
        )
        .await;
    }
    let refused_decision = factory::decision(
        db,
        NewDecision {
            last_error: Some("reward weights do not apply".into()),
            ..Default::default()
        },
    )
    .await;
    factory::outcome(
        db,
        NewOutcome {
            decision_id: Some(refused_decision),
            ..Default::default()
        },
    )
    .await;
    let function = status_function(&env);
    let mut browser = Browser::new(&function.url);
    browser.sign_in(SECRET).await;

    let runs = browser.get("view=runs&job=patch").await;
    assert_eq!(runs.status, 200, "{}", runs.text);
    assert!(
        runs.text.contains("30 in all · page 1 of 2"),
        "{}",
        runs.text
    );
    assert!(
        runs.text
            .contains("supabase_error: &lt;b&gt;boom&lt;/b&gt;")
    );
    let older = browser.get("view=runs&job=patch&page=2").await;
    assert_eq!(older.text.matches("vercel_cron").count(), 5);

    let history = browser.get(&format!("view=patch_job&id={blocker}")).await;
    assert_eq!(history.status, 200, "{}", history.text);
    for shown in [
        "conflicts on every retry",
        "conflict",
        "failed",
        &conversation.to_string(),
    ] {
        assert!(history.text.contains(shown), "{shown}");
    }
    history.form("requeue_dead_patch_jobs", 0, &[]);

    let held = browser.get("view=held").await;
    assert!(
        held.text.contains(&conversation.to_string()),
        "{}",
        held.text
    );
    assert!(held.text.contains("1 in all"));
    let refused = browser.get("view=refused&job=rewards").await;
    assert!(refused.text.contains("reward weights do not apply"));
    // Requeue the blocker from the held list: back on that list, with the notice.
    let requeued = browser
        .post(&held.form(
            "requeue_dead_patch_jobs",
            0,
            &[("id", &blocker.to_string())],
        ))
        .await;
    assert!(
        requeued
            .location()
            .starts_with("/api/cron/status?view=held&done=")
    );
    assert_eq!(status_of(db, blocker).await, "pending");

    // Bad input is named: an unknown view, a job id that is not one.
    for (query, message) in [
        ("view=teleport", "unknown view"),
        ("view=patch_job&id=abc", "is not a patch job id"),
        ("view=patch_job&id=999999", "there is no patch job 999999"),
    ] {
        let page = reqwest::Client::new()
            .get(format!("{}?{query}", function.url))
            .header("authorization", format!("Bearer {SECRET}"))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 400, "{query}");
        assert!(page.text().await.unwrap().contains(message), "{query}");
    }
    // With the secret in a header, the drill-downs are read-only: no form.
    let read_only = reqwest::Client::new()
        .get(format!("{}?view=patch_jobs&status=failed", function.url))
        .header("authorization", format!("Bearer {SECRET}"))
        .header("accept", "text/html")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!read_only.contains("<form"), "{read_only}");
}
