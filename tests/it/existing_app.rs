//! supacron installs on a project that already runs the chat and training apps (issue #16
//! item 2): the app's own tables (extra columns, other defaults, its rows, RLS policies and
//! grants, its own functions granted to `authenticated`) get the install; everything of the
//! app's is unchanged afterwards, every job then does its work on the app's rows, and a second
//! install changes nothing. An incompatible column stops the install with a message naming it,
//! and nothing is changed.

use std::collections::BTreeMap;

use http::Method;
use serde_json::Value;
use supacron::Job;
use supacron::function::handle;
use testkit::catalog::{catalog, drift};
use testkit::{TestDb, TestEnv};

use crate::support::front_door::{SECRET, config, request};

/// The app as its developers built it, before supacron: their own columns and defaults, no
/// supacron columns, state rows created by the app itself, RLS policies for their users,
/// grants to `anon` / `authenticated`, and functions of their own. No `memories`,
/// `character_schedules`, `character_posts` or `outcomes` yet: the install creates them.
const APP: &str = r#"
create table public.characters (
    id uuid primary key default gen_random_uuid(),
    name text not null,
    avatar_url text default 'https://example.com/a.png',
    created_at timestamptz not null default now()
);
create table public.conversations (
    id uuid primary key default gen_random_uuid(),
    character_id uuid not null references public.characters (id),
    user_id uuid,
    title text not null default 'New chat'
);
create table public.messages (
    id bigserial primary key,
    conversation_id uuid not null references public.conversations (id),
    role text not null,
    content text not null,
    tokens integer default 0
);
create table public.conversation_states (
    conversation_id uuid primary key references public.conversations (id),
    state jsonb not null default '{"mood": "neutral"}',
    run_state jsonb not null default '{}',
    version bigint not null default 1
);
create table public.character_states (
    character_id uuid primary key references public.characters (id),
    state jsonb not null default '{}',
    run_state jsonb not null default '{}',
    version integer not null default 0,
    note text default 'app'
);
create table public.patch_jobs (
    id bigserial primary key,
    conversation_id uuid not null references public.conversations (id),
    character_id uuid,
    patch jsonb not null,
    status text not null default 'pending' check (status in ('pending', 'processing', 'done', 'failed', 'dead')),
    attempts integer not null default 0,
    last_error text,
    source text not null default 'chat'
);
create table public.items (
    id uuid primary key default gen_random_uuid(),
    title text not null,
    status text not null default 'INBOX',
    status_changed_at timestamptz not null default now(),
    owner_id uuid
);
create table public.decisions (
    id uuid primary key default gen_random_uuid(),
    item_id uuid not null references public.items (id),
    action text not null,
    confidence real,
    decided_at timestamptz not null default now(),
    reward double precision,
    created_by text default 'policy-v1'
);

alter table public.conversations enable row level security;
alter table public.messages enable row level security;
create policy own_conversations on public.conversations for select to authenticated
    using (user_id = '00000000-0000-4000-8000-0000000000aa');
create policy own_messages on public.messages for select to authenticated
    using (exists (select 1 from public.conversations c where c.id = conversation_id));
grant select on public.characters to anon, authenticated;
grant select on public.conversations, public.messages to authenticated;
grant insert on public.messages to authenticated;
grant select, insert, update, delete on all tables in schema public to service_role;
grant usage, select on all sequences in schema public to service_role;

create function public.app_unread_count(p_conversation uuid) returns bigint
    language sql stable as $$ select count(*) from public.messages where conversation_id = p_conversation $$;
revoke all on function public.app_unread_count(uuid) from public;
grant execute on function public.app_unread_count(uuid) to authenticated;
create function public.app_hello() returns text language sql as $$ select 'hello' $$;

insert into public.characters (id, name) values ('10000000-0000-4000-8000-000000000001', 'Ada');
insert into public.conversations (id, character_id, user_id)
    values ('20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
            '00000000-0000-4000-8000-0000000000aa');
insert into public.conversation_states (conversation_id) values ('20000000-0000-4000-8000-000000000001');
insert into public.character_states (character_id) values ('10000000-0000-4000-8000-000000000001');
insert into public.messages (conversation_id, role, content)
    select '20000000-0000-4000-8000-000000000001', case when n % 2 = 0 then 'user' else 'assistant' end,
           'message ' || n
    from generate_series(1, 12) n;
insert into public.patch_jobs (conversation_id, patch) values
    ('20000000-0000-4000-8000-000000000001', '{"conversation": {"mood": "curious"}}'),
    ('20000000-0000-4000-8000-000000000001', '{"conversation": {"topic": "rust"}, "character": {"energy": 3}}');
insert into public.items (id, title, status, status_changed_at)
    values ('30000000-0000-4000-8000-000000000001', 'ship it', 'DONE', now() - interval '1 hour');
insert into public.decisions (id, item_id, action, confidence, decided_at)
    values ('40000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000001',
            'do_now', 0.9, now() - interval '3 hours');
"#;

/// The app's tables, in the order their rows are compared.
const APP_TABLES: &[&str] = &[
    "characters",
    "conversations",
    "messages",
    "conversation_states",
    "character_states",
    "patch_jobs",
    "items",
    "decisions",
];

/// A database holding the app (and the API roles), before supacron.
async fn app_database(app_sql: &str) -> TestDb {
    let mut db = TestDb::empty().await;
    db.bootstrap().await;
    db.apply("the app", app_sql).await;
    db
}

/// Every row of every app table as JSON objects (ordered by their JSON text).
async fn app_rows(db: &TestDb) -> BTreeMap<&'static str, Vec<serde_json::Map<String, Value>>> {
    let mut all = BTreeMap::new();
    for table in APP_TABLES {
        let rows = db
            .client
            .query(
                &format!("select to_jsonb(t) from public.{table} t order by to_jsonb(t)::text"),
                &[],
            )
            .await
            .unwrap();
        let rows = rows
            .iter()
            .map(|r| match r.get::<_, Value>(0) {
                Value::Object(map) => map,
                other => panic!("{other}"),
            })
            .collect();
        all.insert(*table, rows);
    }
    all
}

/// `rows` with only the columns `before` had (the install may add columns, never change the
/// app's values).
fn projected(
    rows: &BTreeMap<&'static str, Vec<serde_json::Map<String, Value>>>,
    before: &BTreeMap<&'static str, Vec<serde_json::Map<String, Value>>>,
) -> BTreeMap<&'static str, Vec<serde_json::Map<String, Value>>> {
    rows.iter()
        .map(|(table, rows)| {
            let keys: Vec<&String> = before[table]
                .first()
                .map(|r| r.keys().collect())
                .unwrap_or_default();
            let rows = rows
                .iter()
                .map(|row| {
                    row.iter()
                        .filter(|(k, _)| keys.contains(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .collect();
            (*table, rows)
        })
        .collect()
}

/// Catalog entries that existed before and differ (or are gone) after: what the install
/// changed of the app's. New entries (supacron's additions) are not listed.
fn changed(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    before
        .iter()
        .filter(|(key, def)| after.get(*key) != Some(*def))
        .map(|(key, def)| format!("{key}\n    before: {def}\n    after:  {:?}", after.get(key)))
        .collect()
}

async fn run(env: &TestEnv, job: Job) -> Value {
    let response = handle(
        job,
        request(Method::GET, job.path(), Some(SECRET), true),
        &config(env, &[("MEMORY_MIN_NEW_MESSAGES", "10")]),
    )
    .await;
    let body: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(response.status.as_u16(), 200, "{job:?}: {body}");
    body
}

#[tokio::test]
async fn the_install_keeps_the_apps_tables_and_every_job_works_on_its_rows() {
    let mut db = app_database(APP).await;
    let catalog_before = catalog(&db.client).await;
    let rows_before = app_rows(&db).await;

    db.try_migrate()
        .await
        .expect("the install on the app's database");

    // Nothing of the app's changed: every column (type, default, NOT NULL), constraint,
    // index, trigger, policy, RLS flag and grant it had, and its own functions' grants.
    let catalog_after = catalog(&db.client).await;
    let lines = changed(&catalog_before, &catalog_after);
    assert!(
        lines.is_empty(),
        "the install changed the app's objects:\n{}",
        lines.join("\n")
    );
    for key in [
        "policy conversations.own_conversations",
        "grant characters to anon",
        "grant messages to authenticated",
        "grant app_unread_count(uuid) to authenticated",
        "grant app_hello() to PUBLIC",
        "column characters.avatar_url",
        "column conversation_states.version",
    ] {
        assert!(catalog_before.contains_key(key), "the fixture has no {key}");
    }
    assert!(
        !catalog_after.contains_key("grant app_unread_count(uuid) to PUBLIC"),
        "{catalog_after:#?}"
    );
    // Its rows too (the columns it had keep their values; added columns get their defaults).
    let rows_after = app_rows(&db).await;
    assert_eq!(projected(&rows_after, &rows_before), rows_before);
    // What was added: the columns the jobs keep, on the app's tables; the missing tables.
    for key in [
        "column conversations.memory_cursor",
        "column patch_jobs.lease_owner",
        "column patch_jobs.run_after",
        "column characters.persona",
        "index patch_jobs_due_idx",
        "index patch_jobs_idempotency_key_key",
        "trigger conversations.conversations_create_state",
        "relation memories",
        "relation outcomes",
        "relation cron_runs",
    ] {
        assert!(
            catalog_after.contains_key(key),
            "the install did not add {key}"
        );
    }
    // The app's tables keep their own security; the ones supacron created get its own.
    assert!(catalog_after["relation characters"].contains("rls false"));
    assert!(catalog_after["relation outcomes"].contains("rls true"));
    assert!(!catalog_after.contains_key("grant outcomes to authenticated"));

    // A second install changes nothing at all.
    db.try_migrate().await.expect("the second install");
    let lines = drift(
        "first install",
        &catalog_after,
        "second install",
        &catalog(&db.client).await,
    );
    assert!(lines.is_empty(), "{}", lines.join("\n"));
    assert_eq!(app_rows(&db).await, rows_after);

    // Every job works on the app's rows.
    db.client
        .batch_execute(
            "insert into public.character_schedules (character_id, kind, cron_expr, next_run_at)
             values ('10000000-0000-4000-8000-000000000001', 'post', '0 * * * *',
                     date_trunc('hour', now()))",
        )
        .await
        .unwrap();
    let env = TestEnv::start_on(db).await;
    let client = &env.db.client;

    let patch = run(&env, Job::Patch).await;
    assert_eq!(patch["ok_count"], 2, "{patch}");
    let state: Value = client
        .query_one(
            "select jsonb_build_object('state', s.state, 'version', s.version, 'ledger', s.run_state)
             from conversation_states s",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(state["state"]["mood"], "curious", "{state}");
    assert_eq!(state["state"]["topic"], "rust", "{state}");
    let energy: Value = client
        .query_one("select state -> 'energy' from character_states", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(energy, 3);
    let statuses: Vec<String> = client
        .query("select status from patch_jobs order by id", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(statuses, ["done", "done"]);

    let memory = run(&env, Job::Memory).await;
    assert_eq!(memory["ok_count"], 1, "{memory}");
    let (cursor, memories): (i64, i64) = {
        let row = client
            .query_one(
                "select c.memory_cursor, (select count(*) from memories m where m.conversation_id = c.id)
                 from conversations c",
                &[],
            )
            .await
            .unwrap();
        (row.get(0), row.get(1))
    };
    assert_eq!((cursor, memories), (12, 1));

    let schedule = run(&env, Job::Schedule).await;
    assert_eq!(schedule["ticks_fired"], 1, "{schedule}");
    let posts: i64 = client
        .query_one("select count(*) from character_posts", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(posts, 1, "{schedule}");

    let outcomes = run(&env, Job::Outcomes).await;
    assert_eq!(outcomes["ok_count"], 1, "{outcomes}");
    let rewards = run(&env, Job::Rewards).await;
    assert_eq!(rewards["ok_count"], 1, "{rewards}");
    let reward: Option<f64> = client
        .query_one("select reward from decisions", &[])
        .await
        .unwrap()
        .get(0);
    assert!(reward.is_some_and(f64::is_finite), "{rewards}");

    // The app goes on: its users read what its policies allow, its function still answers.
    let unread: i64 = client
        .query_one(
            "select public.app_unread_count('20000000-0000-4000-8000-000000000001')",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(unread, 12);
}

#[tokio::test]
async fn an_incompatible_column_stops_the_install_and_changes_nothing() {
    let app = APP
        .replace(
            "    version bigint not null default 1\n",
            "    version text not null default 'v1'\n",
        )
        .replace(
            "check (status in ('pending', 'processing', 'done', 'failed', 'dead'))",
            "constraint app_status check (status in ('pending', 'processing', 'done', 'failed'))",
        )
        .replace(
            "    decided_at timestamptz not null default now(),\n",
            "    made_at timestamptz not null default now(),\n",
        )
        .replace(
            "values ('40000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000001',\n            'do_now', 0.9, now() - interval '3 hours');",
            "values ('40000000-0000-4000-8000-000000000001', '30000000-0000-4000-8000-000000000001',\n            'do_now', 0.9, now() - interval '3 hours');\nalter table public.patch_jobs add column origin text not null default 'chat';\nalter table public.patch_jobs alter column origin drop default;",
        )
        .replace("(id, item_id, action, confidence, decided_at)", "(id, item_id, action, confidence, made_at)");
    let mut db = app_database(&app).await;
    let catalog_before = catalog(&db.client).await;
    let rows_before = app_rows(&db).await;

    let error = db
        .try_migrate()
        .await
        .expect_err("the install must refuse a text version column");
    for expected in [
        "supacron cannot be installed next to these app tables; nothing was changed",
        "conversation_states.version: found text, needs int8 or int4 (compare-and-swap on every write; used by the patch job): change the column's type",
        "decisions.decided_at: found no such column, needs timestamptz (when the decision was made; used by the outcomes rewards job): add the column",
        "patch_jobs.origin: found NOT NULL without a default, needs a default or NULL allowed",
        "patch_jobs.status: found CHECK app_status, which refuses 'dead'; needs it to allow pending, processing, done, failed, dead",
        "hint: docs/app-contract.md",
    ] {
        assert!(
            error.contains(expected),
            "missing {expected:?} in:\n{error}"
        );
    }
    assert_eq!(
        error.matches(": found ").count(),
        4,
        "one line per problem, nothing else:\n{error}"
    );

    let lines = drift(
        "before",
        &catalog_before,
        "after",
        &catalog(&db.client).await,
    );
    assert!(
        lines.is_empty(),
        "a refused install changed:\n{}",
        lines.join("\n")
    );
    assert_eq!(app_rows(&db).await, rows_before);
}
