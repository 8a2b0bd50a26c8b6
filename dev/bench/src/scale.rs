//! Claim cost at scale: the same due backlog in a `patch_jobs` table of 10,000 rows and of
//! 1,000,000 (and, in the full run, 10,000,000) rows (the rest `done`, older, as a queue that is never pruned looks). The time
//! of one `claim_patch_batch` (production batch size) must stay flat, because every query
//! of the claim reads a partial index of open jobs only. Each timed claim runs in a
//! transaction that is rolled back, so every claim sees the same queue; the sizes' claims
//! are timed in turns, so that each ratio compares claims under one machine state. The plans of the
//! claim's statements at the large size come from `auto_explain` (the real function's
//! plans, not a copy of its SQL).
//!
//! `count_patch_jobs` (the `remaining` every run reports) is timed the same way.

use std::time::{Duration, Instant};

use supacron::config::Tunables;
use testkit::TestDb;
use tokio::sync::mpsc;
use tokio_postgres::{AsyncMessage, Client, NoTls};

use crate::backlog::Backlog;
use crate::report::{Report, Target, ratio, thousands};
use crate::{Options, Result};

const CONVERSATIONS: i64 = 1_000;
const CHARACTERS: i64 = 100;
/// Conversations the due jobs are spread over.
const DUE_CONVERSATIONS: i64 = 100;
const CLAIM: &str = "select public.claim_patch_batch('bench-scale', 60, $1)";
const COUNT: &str = "select public.count_patch_jobs()";

/// Measures and reports the scale section. Every table is filled first; the claims are
/// then timed in turns (one on each database, round after round), so the ratios compare
/// claims made under the same machine state rather than one size minutes after another.
/// (The 10,000,000-row ratio still moves between runs on this machine: 0.63× to 3.6×.)
pub async fn run(options: &Options, report: &mut Report) -> Result<()> {
    let (small, large) = (options.scale_rows.0, &options.scale_rows.1);
    let largest = large.iter().copied().max().unwrap_or(small);
    let mut dbs = Vec::new();
    for rows in std::iter::once(small).chain(large.iter().copied()) {
        eprintln!("scale: filling patch_jobs with {rows} rows");
        let started = Instant::now();
        dbs.push((rows, filled(rows, options.scale_due).await?));
        eprintln!("scale: filled in {:.1} s", started.elapsed().as_secs_f64());
    }
    let clients: Vec<&Client> = dbs.iter().map(|(_, db)| &db.client).collect();
    let claims = medians_in_turns(&clients, CLAIM, options.claims).await?;
    let counts = medians_in_turns(&clients, COUNT, options.claims).await?;
    let mut results = Vec::new();
    for (((rows, db), claim), count) in dbs.iter().zip(claims).zip(counts) {
        let plan = if *rows == largest && *rows != small {
            Some(claim_plans(db).await?)
        } else {
            None
        };
        results.push((*rows, claim, count, plan));
    }
    let (small_claim, small_count) = (results[0].1, results[0].2);
    for (rows, claim, count, plan) in results {
        let label = format!("{} rows", thousands(rows as f64));
        if rows == small {
            report.row(
                format!("claim of {} jobs, {label}", batch()),
                format!("{:.2} ms", ms(claim)),
            );
            report.row(
                format!("count of due jobs, {label}"),
                format!("{:.2} ms", ms(count)),
            );
        } else {
            let r = ms(claim) / ms(small_claim);
            report.check(
                format!(
                    "claim of {} jobs, {label} (vs {})",
                    batch(),
                    thousands(small as f64)
                ),
                format!("{:.2} ms, {}", ms(claim), ratio(r)),
                Target::at_most(r, 1.5, "≤ 1.5×"),
            );
            report.row(
                format!(
                    "count of due jobs, {label} (vs {})",
                    thousands(small as f64)
                ),
                format!(
                    "{:.2} ms, {}",
                    ms(count),
                    ratio(ms(count) / ms(small_count))
                ),
            );
        }
        if let Some(plan) = plan {
            report.notes.push(format!(
                "Plans of claim_patch_batch's statements with {label} in patch_jobs (auto_explain):\n\n```\n{}\n```",
                plan.trim_end()
            ));
        }
    }
    Ok(())
}

fn batch() -> u64 {
    Tunables::default().patch_batch_size
}

/// A database whose `patch_jobs` holds `rows` rows: `due` pending jobs over
/// [`DUE_CONVERSATIONS`] conversations, after `rows - due` older `done` ones.
async fn filled(rows: i64, due: i64) -> Result<TestDb> {
    let db = TestDb::new().await;
    Backlog {
        characters: CHARACTERS,
        conversations: CONVERSATIONS,
        jobs: 0,
    }
    .insert(&db.client)
    .await?;
    let done = rows - due;
    // Foreign keys are not checked for the filler (superuser, replica role): the rows are
    // valid by construction, and a million checks would only slow the fill.
    db.client
        .batch_execute(&format!(
            r#"set session_replication_role = replica;
            create temporary table numbered as
              select row_number() over (order by id) - 1 as n, id, character_id from conversations;
            insert into patch_jobs (conversation_id, character_id, patch, status, attempts, run_after,
                                    created_at, finished_at)
              select c.id, c.character_id, '{{"conversation": {{"seen": true}}}}', 'done', 1,
                     now() - interval '30 days', now() - interval '30 days', now() - interval '29 days'
              from generate_series(0, {done} - 1) g
              join numbered c on c.n = g % {CONVERSATIONS};
            insert into patch_jobs (conversation_id, character_id, patch)
              select c.id, c.character_id, '{{"conversation": {{"seen": true}}}}'
              from generate_series(0, {due} - 1) g
              join numbered c on c.n = g % {DUE_CONVERSATIONS};
            set session_replication_role = origin;"#
        ))
        .await?;
    // As a long-lived table is: vacuumed and analysed, and its pages written out (a
    // checkpoint; after the fill and its vacuum nearly every shared buffer is dirty). This
    // alone did not steady the 10,000,000-row ratio, nor did timing in turns (`run`;
    // docs/performance.md, "Looked into on 2026-12-04").
    // (One statement each: VACUUM cannot run in a multi-statement query.)
    db.client.batch_execute("vacuum analyze patch_jobs").await?;
    db.client.batch_execute("checkpoint").await?;
    Ok(db)
}

/// The median time of `sql` on each of `clients` over `n` runs, each in a transaction
/// rolled back, taken in turns (one run on each client per round, each round starting at
/// the next client), after two untimed
/// rounds (the first call of a PL/pgSQL function on a connection plans it).
async fn medians_in_turns(clients: &[&Client], sql: &str, n: usize) -> Result<Vec<Duration>> {
    let params: Vec<i32> = if sql.contains("$1") {
        vec![batch() as i32]
    } else {
        vec![]
    };
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
        .iter()
        .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let mut statements = Vec::new();
    for client in clients {
        statements.push(client.prepare(sql).await?);
    }
    let mut times = vec![Vec::new(); clients.len()];
    for i in 0..n + 2 {
        // Each round starts at the next client, so none always follows the same one.
        for k in 0..clients.len() {
            let c = (i + k) % clients.len();
            let (client, statement, times) = (clients[c], &statements[c], &mut times[c]);
            client.batch_execute("begin").await?;
            let started = Instant::now();
            client.query_one(statement, &params).await?;
            let elapsed = started.elapsed();
            client.batch_execute("rollback").await?;
            if i >= 2 {
                times.push(elapsed);
            }
        }
    }
    Ok(times
        .into_iter()
        .map(|mut times| {
            times.sort();
            times[times.len() / 2]
        })
        .collect())
}

/// The plans of the claim's statements, from `auto_explain` on a connection of its own.
async fn claim_plans(db: &TestDb) -> Result<String> {
    let (client, mut connection) = tokio_postgres::connect(&db.url, NoTls).await?;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        while let Some(message) = std::future::poll_fn(|cx| connection.poll_message(cx)).await {
            match message {
                Ok(AsyncMessage::Notice(notice)) => {
                    let _ = tx.send(notice.message().to_string());
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    client
        .batch_execute(
            "load 'auto_explain';
             set auto_explain.log_min_duration = 0;
             set auto_explain.log_nested_statements = on;
             set auto_explain.log_analyze = on;
             set auto_explain.log_timing = off;
             set auto_explain.log_level = notice;
             set client_min_messages = notice;",
        )
        .await?;
    client.batch_execute("begin").await?;
    client.query_one(CLAIM, &[&(batch() as i32)]).await?;
    client.batch_execute("rollback").await?;
    drop(client);
    let _ = driver.await;
    let mut plans = Vec::new();
    while let Ok(message) = rx.try_recv() {
        plans.push(message);
    }
    Ok(plans.join("\n\n"))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
