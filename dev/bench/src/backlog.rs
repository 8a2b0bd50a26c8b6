//! The backlog every throughput and memory run starts from, and the check that a run
//! applied what it claims to have applied — exactly once, in order.
//!
//! `jobs` jobs round-robin over `conversations` conversations, which are round-robin over
//! `characters` characters; every job names its character (as the chat route enqueues
//! them). Job `g` (0-based, id `g + 1`) patches its conversation with an RFC 6902 append of
//! `g` to `/log`, or, every third job, with an RFC 7396 merge patch; even jobs also append
//! `g` to their character's `/log`. Every state starts as `{"log": []}`.

use std::time::Duration;

use testkit::TestEnv;
use tokio_postgres::Client;

use crate::Result;

/// Sizes of a backlog.
#[derive(Clone, Copy, Debug)]
pub struct Backlog {
    /// Characters.
    pub characters: i64,
    /// Conversations.
    pub conversations: i64,
    /// Jobs.
    pub jobs: i64,
}

impl Backlog {
    /// A fresh database (and dev server at `latency`) holding this backlog.
    pub async fn start(&self, latency: Duration) -> Result<TestEnv> {
        let env = TestEnv::start_with(|c| c.latency = latency).await;
        self.insert(&env.db.client).await?;
        Ok(env)
    }

    /// Inserts the backlog into an empty, migrated database.
    pub async fn insert(&self, client: &Client) -> Result<()> {
        let Backlog {
            characters,
            conversations,
            jobs,
        } = *self;
        client
            .batch_execute(&format!(
                r#"insert into characters (name) select 'bench ' || k from generate_series(0, {characters} - 1) k;
                insert into conversations (character_id, title)
                  select c.id, 'bench ' || g from generate_series(0, {conversations} - 1) g
                  join characters c on c.name = 'bench ' || (g % {characters});
                update conversation_states set state = '{{"log": []}}';
                update character_states set state = '{{"log": []}}';
                insert into patch_jobs (conversation_id, character_id, patch)
                  select cv.id, cv.character_id, jsonb_strip_nulls(jsonb_build_object(
                      'conversation', case when g % 3 = 2
                          then jsonb_build_object('last', g, 'k' || (g % 7), g)
                          else jsonb_build_array(jsonb_build_object('op', 'add', 'path', '/log/-', 'value', g)) end,
                      'character', case when g % 2 = 0
                          then jsonb_build_array(jsonb_build_object('op', 'add', 'path', '/log/-', 'value', g)) end))
                  from generate_series(0, {jobs} - 1) g
                  join conversations cv on cv.title = 'bench ' || (g % {conversations})
                  order by g;"#
            ))
            .await?;
        // Statistics as a long-running table would have them (VACUUM needs its own statement).
        client
            .batch_execute(
                "vacuum analyze patch_jobs, conversations, conversation_states, character_states",
            )
            .await?;
        Ok(())
    }
}

/// What the `done` jobs did, as [`effects`] found it.
#[derive(Clone, Copy, Debug)]
pub struct Effects {
    /// Jobs `done`.
    pub done: i64,
    /// Jobs neither `done` nor `pending`.
    pub other: i64,
    /// Conversations whose log or ledger does not match their done jobs (a job applied
    /// twice, out of order, or not at all).
    pub bad_conversations: i64,
    /// Characters whose log does not have one entry per done job.
    pub bad_characters: i64,
}

impl Effects {
    /// Each done job applied once, in order, and no job left in between.
    pub fn is_clean(&self) -> bool {
        self.other + self.bad_conversations + self.bad_characters == 0
    }

    /// What is wrong, in words.
    pub fn describe(&self) -> String {
        format!(
            "{} jobs neither done nor pending, {} conversations and {} characters whose state \
             does not match their done jobs (applied twice, out of order or not at all)",
            self.other, self.bad_conversations, self.bad_characters
        )
    }
}

/// Checks the effects of the `done` jobs and returns the number of done jobs; an error
/// says what is wrong (see [`effects`]).
pub async fn verify(client: &Client) -> Result<i64> {
    let effects = effects(client).await?;
    if !effects.is_clean() {
        return Err(format!("wrong effects: {}", effects.describe()).into());
    }
    Ok(effects.done)
}

/// The effects of the `done` jobs: every other job should still be `pending`; each
/// conversation's log should be its done JSON-Patch jobs' values in id order and its ledger
/// hold exactly its done jobs; each character's log should have one entry per done job with
/// a character part.
pub async fn effects(client: &Client) -> Result<Effects> {
    let row = client
        .query_one(
            r#"with done as (select * from patch_jobs where status = 'done')
            select
              (select count(*) from done),
              (select count(*) from patch_jobs where status not in ('done', 'pending')),
              (select count(*) from conversation_states s
                where s.state->'log' is distinct from coalesce(
                        (select jsonb_agg(d.patch->'conversation'->0->'value' order by d.id) from done d
                          where d.conversation_id = s.conversation_id
                            and jsonb_typeof(d.patch->'conversation') = 'array'), '[]')
                   or coalesce(jsonb_array_length(s.run_state->'applied_patch_job_ids'), 0)
                      <> (select count(*) from done d where d.conversation_id = s.conversation_id)),
              (select count(*) from character_states s
                where jsonb_array_length(s.state->'log')
                      <> (select count(*) from done d
                           where d.character_id = s.character_id and d.patch ? 'character'))"#,
            &[],
        )
        .await?;
    Ok(Effects {
        done: row.get(0),
        other: row.get(1),
        bad_conversations: row.get(2),
        bad_characters: row.get(3),
    })
}
