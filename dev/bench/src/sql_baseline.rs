//! Baseline 2, the ceiling: the patch job's state transitions in batched SQL over a plain
//! PostgreSQL connection — no HTTP, no JSON bodies, prepared statements — so its rate is
//! the floor cost of the work in the database. Per batch of the production batch size:
//!
//! 1. claim: one `UPDATE … FOR UPDATE SKIP LOCKED … RETURNING` leases the oldest due jobs
//!    (`processing`, attempts + 1, owner and lease), then one read of their state rows;
//! 2. apply in memory with the same pure code as ours (units, ledger, patches);
//! 3. commit in one transaction: every changed row compare-and-swapped on `version` by one
//!    `UPDATE … FROM unnest(…)` per table, then the jobs marked `done`, fenced by the lease.
//!
//! A single worker takes batches in id order, so per-conversation order holds without
//! claiming whole conversations. Nothing else writes, so a conflict is an error here.

use std::time::Instant;

use serde_json::Value;
use supacron::config::Tunables;
use supacron::jobs::patch::plan::{ClaimedJob, RowKind, StateRow, States, group_units, plan_unit};
use testkit::TestEnv;
use tokio_postgres::{Client, Statement};
use uuid::Uuid;

use crate::Result;
use crate::throughput::Measured;

const CLAIM: &str = "
    with picked as (
        select id from patch_jobs
        where status in ('pending', 'failed') and run_after <= now()
        order by run_after, id
        limit $1
        for update skip locked)
    update patch_jobs j
    set status = 'processing', attempts = j.attempts + 1, lease_owner = $2,
        lease_until = now() + interval '90 seconds'
    from picked
    where j.id = picked.id
    returning j.id, j.conversation_id,
        coalesce(j.character_id, (select c.character_id from conversations c where c.id = j.conversation_id)),
        j.patch, j.attempts, j.max_attempts";

const READ_CONVERSATIONS: &str = "
    select conversation_id, state, run_state, version from conversation_states
    where conversation_id = any($1)";

const READ_CHARACTERS: &str = "
    select character_id, state, run_state, version from character_states
    where character_id = any($1)";

const WRITE_CONVERSATIONS: &str = "
    update conversation_states s
    set state = w.state, run_state = w.run_state, version = s.version + 1
    from unnest($1::uuid[], $2::bigint[], $3::jsonb[], $4::jsonb[]) as w(id, expected, state, run_state)
    where s.conversation_id = w.id and s.version = w.expected";

const WRITE_CHARACTERS: &str = "
    update character_states s
    set state = w.state, run_state = w.run_state, version = s.version + 1
    from unnest($1::uuid[], $2::bigint[], $3::jsonb[], $4::jsonb[]) as w(id, expected, state, run_state)
    where s.character_id = w.id and s.version = w.expected";

const FINISH: &str = "
    update patch_jobs
    set status = 'done', finished_at = now(), lease_owner = null, lease_until = null
    where id = any($1) and status = 'processing' and lease_owner = $2";

/// Rows of one table to compare-and-swap.
#[derive(Default)]
struct Writes {
    ids: Vec<Uuid>,
    expected: Vec<i64>,
    states: Vec<Value>,
    run_states: Vec<Value>,
}

/// The statements, prepared once.
struct Prepared {
    claim: Statement,
    read_conversations: Statement,
    read_characters: Statement,
    write_conversations: Statement,
    write_characters: Statement,
    finish: Statement,
}

impl Prepared {
    async fn new(client: &Client) -> Result<Prepared> {
        Ok(Prepared {
            claim: client.prepare(CLAIM).await?,
            read_conversations: client.prepare(READ_CONVERSATIONS).await?,
            read_characters: client.prepare(READ_CHARACTERS).await?,
            write_conversations: client.prepare(WRITE_CONVERSATIONS).await?,
            write_characters: client.prepare(WRITE_CHARACTERS).await?,
            finish: client.prepare(FINISH).await?,
        })
    }
}

/// Handles the whole backlog.
pub async fn run(env: &TestEnv) -> Result<Measured> {
    let mut client = env.db.connect().await;
    let sql = Prepared::new(&client).await?;
    let batch = Tunables::default().patch_batch_size as i64;
    let owner = format!("baseline-2:{}", Uuid::new_v4());
    let started = Instant::now();
    let mut jobs = 0;
    loop {
        let claimed = claim(&client, &sql, batch, &owner).await?;
        if claimed.jobs.is_empty() {
            break;
        }
        jobs += claimed.jobs.len() as i64;
        commit(&mut client, &sql, &claimed.jobs, &claimed.states, &owner).await?;
    }
    Ok(Measured {
        jobs,
        elapsed: started.elapsed(),
        requests: 0,
    })
}

struct Claimed {
    jobs: Vec<ClaimedJob>,
    states: States,
}

async fn claim(client: &Client, sql: &Prepared, batch: i64, owner: &str) -> Result<Claimed> {
    let rows = client.query(&sql.claim, &[&batch, &owner]).await?;
    let mut jobs: Vec<ClaimedJob> = rows
        .iter()
        .map(|r| ClaimedJob {
            id: r.get(0),
            conversation_id: r.get(1),
            character_id: r.get(2),
            patch: r.get(3),
            attempts: r.get(4),
            max_attempts: r.get(5),
            unreadable: None,
        })
        .collect();
    jobs.sort_by_key(|j| j.id);
    let conversations: Vec<Uuid> = jobs.iter().map(|j| j.conversation_id).collect();
    let characters: Vec<Uuid> = jobs.iter().filter_map(|j| j.character_id).collect();
    let states = States {
        conversation_states: read(client, &sql.read_conversations, &conversations).await?,
        character_states: read(client, &sql.read_characters, &characters).await?,
        unreadable: Vec::new(),
    };
    Ok(Claimed { jobs, states })
}

async fn read(client: &Client, sql: &Statement, ids: &[Uuid]) -> Result<Vec<StateRow>> {
    let rows = client.query(sql, &[&ids]).await?;
    Ok(rows
        .iter()
        .map(|r| StateRow {
            id: r.get(0),
            state: r.get(1),
            run_state: r.get(2),
            version: r.get(3),
        })
        .collect())
}

async fn commit(
    client: &mut Client,
    sql: &Prepared,
    jobs: &[ClaimedJob],
    states: &States,
    owner: &str,
) -> Result<()> {
    let (mut conversations, mut characters) = (Writes::default(), Writes::default());
    let mut done = Vec::with_capacity(jobs.len());
    for unit in group_units(jobs) {
        let plan = plan_unit(&unit, states);
        if let Some((id, reason)) = plan.dead.first() {
            return Err(format!(
                "baseline 2: job {id} cannot apply ({reason}); the backlog is broken"
            )
            .into());
        }
        done.extend(plan.done);
        for write in plan.writes {
            let target = match write.kind {
                RowKind::Conversation => &mut conversations,
                RowKind::Character => &mut characters,
            };
            target.ids.push(write.id);
            target.expected.push(write.expected_version);
            target.states.push(write.state);
            target.run_states.push(write.run_state);
        }
    }
    let tx = client.transaction().await?;
    for (statement, writes) in [
        (&sql.write_conversations, &conversations),
        (&sql.write_characters, &characters),
    ] {
        let n = tx
            .execute(
                statement,
                &[
                    &writes.ids,
                    &writes.expected,
                    &writes.states,
                    &writes.run_states,
                ],
            )
            .await?;
        if n as usize != writes.ids.len() {
            return Err("baseline 2: version conflict, but nothing else writes".into());
        }
    }
    let n = tx.execute(&sql.finish, &[&done, &owner]).await?;
    if n as usize != done.len() {
        return Err("baseline 2: lease lost, but nothing else claims".into());
    }
    tx.commit().await?;
    Ok(())
}
