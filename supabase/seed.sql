-- supabase/seed.sql: a small, realistic demo data set, loaded after the migrations
-- (`supabase db reset`, or `scripts/db.sh reset supacron_dev` on plain PostgreSQL).
-- It runs once on a fresh database; it is not meant to be re-run.
--
-- Ids are fixed so docs and demos can name them:
--   characters     10000000-0000-4000-8000-00000000000N   1 Ada (UTC), 2 Klaus (Europe/Berlin),
--                                                         3 Rosa (America/New_York)
--   conversations  20000000-0000-4000-8000-00000000000N   1 Ada/soups, 2 Klaus/Fontane,
--                                                         3 Rosa/stride piano, 4 Ada/marathon
--   users          30000000-0000-4000-8000-00000000000N   (app users; no auth schema needed)
--   schedules      40000000-0000-4000-8000-00000000000N   3 has the invalid cron `61 * * * *`
--   items          50000000-0000-4000-8000-0000000000NN
--   decisions      60000000-0000-4000-8000-0000000000NN   06 has the unknown action `teleport`
-- Identity ids (messages, patch_jobs, ...) are whatever a fresh database assigns: 1, 2, 3, ...
--
-- What the demo shows:
--   * patch: 11 pending jobs over 4 conversations, merge patches and RFC 6902 arrays; the job
--     with idempotency_key 'seed:malformed' ({"conversation": 42}) ends dead while its
--     neighbours apply; 'seed:later' is not due for an hour.
--   * memory: conversation 1 is summarised up to its 6th message; the others not at all.
--   * schedule: Ada's hourly post is due now, Rosa's missed 3 hourly slots (catch-up `latest`),
--     the diaries are at 21:30 local time, Klaus's `61 * * * *` gets a last_error, Ada's diary
--     is disabled.
--   * training: items in every status; decisions 04, 05, 06 and 09 are on terminal items and
--     get outcomes, then rewards (06's `teleport` is an unknown action).

-- Characters (their empty state rows are created by a trigger).
insert into public.characters (id, name, persona, timezone) values
    ('10000000-0000-4000-8000-000000000001', 'Ada',
     'A cheerful cook who runs a tiny soup kitchen in London. Warm, practical, always has a '
     'recipe for the weather, and quietly training for her first marathon.',
     'UTC'),
    ('10000000-0000-4000-8000-000000000002', 'Klaus',
     'An antiquarian bookseller in Berlin-Kreuzberg. Dry humour, gruff first, generous later; '
     'knows every 19th-century German first edition by its binding.',
     'Europe/Berlin'),
    ('10000000-0000-4000-8000-000000000003', 'Rosa',
     'A jazz pianist in Harlem who teaches stride piano between late-night gigs. Encouraging, '
     'exact about rhythm, tells stories about the old masters.',
     'America/New_York');

update public.character_states
set state = '{"energy": 0.6, "topics": ["soup"]}', version = 2
where character_id = '10000000-0000-4000-8000-000000000001';

update public.character_states
set state = '{"grumpiness": 0.7, "shop_open": true}', version = 5
where character_id = '10000000-0000-4000-8000-000000000002';

update public.character_states
set state = '{"current_song": "Honeysuckle Rose", "gigs_this_week": 3}', version = 1
where character_id = '10000000-0000-4000-8000-000000000003';

-- Conversations (their empty state rows are created by a trigger).
insert into public.conversations (id, character_id, user_id, title, created_at) values
    ('20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
     '30000000-0000-4000-8000-000000000001', 'Rainy-day soups', now() - interval '2 days'),
    ('20000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000002',
     '30000000-0000-4000-8000-000000000002', 'Hunting a Fontane first edition', now() - interval '1 day'),
    ('20000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000003',
     '30000000-0000-4000-8000-000000000001', 'Learning stride piano', now() - interval '20 hours'),
    ('20000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000001',
     '30000000-0000-4000-8000-000000000003', 'First marathon', now() - interval '3 hours');

update public.conversation_states
set state = '{"mood": "curious", "last_topic": "soup"}', version = 3
where conversation_id = '20000000-0000-4000-8000-000000000001';

update public.conversation_states
set state = '{"mood": "sceptical"}', version = 2
where conversation_id = '20000000-0000-4000-8000-000000000002';

update public.conversation_states
set state = '{"lesson": 3, "mood": "determined"}', version = 4
where conversation_id = '20000000-0000-4000-8000-000000000003';

-- Messages, two minutes apart, in conversation order.
insert into public.messages (conversation_id, role, content, created_at)
select '20000000-0000-4000-8000-000000000001', m.role, m.content,
       now() - interval '2 days' + m.n * interval '2 minutes'
from (values
    (1,  'system',    'You are Ada. Stay in character; keep answers short and kind.'),
    (2,  'user',      'It has rained all week. I need something warm for dinner.'),
    (3,  'assistant', 'Rain calls for soup! Do you have leeks and potatoes?'),
    (4,  'user',      'Potatoes yes, leeks no. I have an onion and some carrots.'),
    (5,  'assistant', 'Then carrot and potato with a little cumin. Twenty minutes, one pot.'),
    (6,  'user',      'Cumin sounds great. Should I blend it?'),
    (7,  'assistant', 'Half of it: creamy, but with something to bite on.'),
    (8,  'user',      'What about bread? I only have a stale baguette.'),
    (9,  'assistant', 'Perfect for croutons: olive oil, salt, ten minutes in the oven.'),
    (10, 'user',      'You are a genius. Do you ever make minestrone?'),
    (11, 'assistant', 'Every Thursday at the kitchen. The secret is the parmesan rind.'),
    (12, 'user',      'Saving that. Thank you, Ada!')
) as m(n, role, content)
order by m.n;

insert into public.messages (conversation_id, role, content, created_at)
select '20000000-0000-4000-8000-000000000002', m.role, m.content,
       now() - interval '1 day' + m.n * interval '2 minutes'
from (values
    (1,  'user',      'Guten Tag. Do you have anything by Theodor Fontane?'),
    (2,  'assistant', 'Several. Reading copies or something for the shelf?'),
    (3,  'user',      'I am looking for Effi Briest, ideally the 1896 first edition.'),
    (4,  'assistant', 'Ambitious. Those appear maybe twice a year, and never cheap.'),
    (5,  'user',      'What would I expect to pay?'),
    (6,  'assistant', 'In good condition, several hundred euros. With the original binding, more.'),
    (7,  'user',      'Could you keep an eye out for me?'),
    (8,  'assistant', 'I will ask my colleague in Leipzig. Do not get your hopes up too high.'),
    (9,  'user',      'Thank you. I will check back next week.'),
    (10, 'assistant', 'Bring coffee. Then I might even have news.')
) as m(n, role, content)
order by m.n;

insert into public.messages (conversation_id, role, content, created_at)
select '20000000-0000-4000-8000-000000000003', m.role, m.content,
       now() - interval '20 hours' + m.n * interval '2 minutes'
from (values
    (1,  'system',    'You are Rosa. Teach patiently; one exercise at a time.'),
    (2,  'user',      'I want to learn stride piano. Where do I start?'),
    (3,  'assistant', 'With your left hand alone: bass note on the beat, chord on the off-beat.'),
    (4,  'user',      'The jump between them is huge. I keep missing the chord.'),
    (5,  'assistant', 'Everyone does. Look at the chord, not the bass, and go slowly.'),
    (6,  'user',      'How slowly?'),
    (7,  'assistant', 'Sixty beats a minute. When it is boring, add ten.'),
    (8,  'user',      'Which tune should I practise with?'),
    (9,  'assistant', 'Honeysuckle Rose. Fats Waller wrote it to be played like this.'),
    (10, 'user',      'I managed the first eight bars today!'),
    (11, 'assistant', 'That is lesson three done. Next: the right hand melody on top.'),
    (12, 'user',      'Both hands at once sounds terrifying.'),
    (13, 'assistant', 'It is, for a week. Then it feels like walking.'),
    (14, 'user',      'See you tomorrow, Rosa.')
) as m(n, role, content)
order by m.n;

insert into public.messages (conversation_id, role, content, created_at)
select '20000000-0000-4000-8000-000000000004', m.role, m.content,
       now() - interval '3 hours' + m.n * interval '2 minutes'
from (values
    (1, 'user',      'Ada, you run too, right? I signed up for my first marathon.'),
    (2, 'assistant', 'Congratulations! When is it?'),
    (3, 'user',      'In sixteen weeks. I want to finish under four hours.'),
    (4, 'assistant', 'Doable. How many kilometres do you run a week now?'),
    (5, 'user',      'About thirty.'),
    (6, 'assistant', 'Build to forty-five, add ten percent a week, and one long run on Sundays.'),
    (7, 'user',      'And what do I eat the night before?'),
    (8, 'assistant', 'Pasta, not soup. Even I admit it.')
) as m(n, role, content)
order by m.n;

-- Conversation 1 is already summarised up to its 6th message.
insert into public.memories
    (conversation_id, character_id, from_message_id, to_message_id, summary, facts, model,
     prompt_tokens, completion_tokens, created_at)
select '20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
       min(first6.id), max(first6.id),
       'The user wanted a warm dinner on a rainy week; Ada suggested a carrot and potato soup with cumin, half blended.',
       '["user has potatoes, an onion and carrots", "user likes cumin"]',
       'MiniMax-M2', 812, 96, now() - interval '2 days' + interval '30 minutes'
from (
    select id from public.messages
    where conversation_id = '20000000-0000-4000-8000-000000000001'
    order by id
    limit 6
) as first6;

update public.conversations c
set memory_cursor = m.to_message_id
from public.memories m
where m.conversation_id = c.id
  and c.id = '20000000-0000-4000-8000-000000000001';

-- Patch jobs, in the order the chat app would have enqueued them.
insert into public.patch_jobs (conversation_id, character_id, patch, idempotency_key, run_after)
select j.conversation_id::uuid, j.character_id::uuid, j.patch::jsonb, j.idempotency_key,
       now() + j.delay
from (values
    (1,  '20000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
     '{"conversation": {"mood": "cosy", "last_topic": "croutons"}, "character": {"energy": 0.8}}',
     'seed:c1:turn-9', interval '0'),
    (2,  '20000000-0000-4000-8000-000000000001', null,
     '{"conversation": [{"op": "add", "path": "/mood", "value": "happy"}]}',
     'seed:c1:turn-11', interval '0'),
    (3,  '20000000-0000-4000-8000-000000000001', null,
     '{"conversation": {"last_topic": null, "favourite_dish": "minestrone"}}',
     null, interval '0'),
    (4,  '20000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000002',
     '{"conversation": {"searching_for": "Effi Briest, 1896"}, "character": {"grumpiness": 0.4}}',
     'seed:c2:turn-3', interval '0'),
    (5,  '20000000-0000-4000-8000-000000000002', null,
     '{"conversation": [{"op": "add", "path": "/offers", "value": []}, {"op": "add", "path": "/offers/-", "value": {"price_eur": 480, "condition": "good"}}]}',
     null, interval '0'),
    (6,  '20000000-0000-4000-8000-000000000002', null,
     '{"conversation": 42}',
     'seed:malformed', interval '0'),
    (7,  '20000000-0000-4000-8000-000000000002', null,
     '{"conversation": {"mood": "hopeful"}}',
     null, interval '0'),
    (8,  '20000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000003',
     '{"character": [{"op": "replace", "path": "/current_song", "value": "Carolina Shout"}]}',
     null, interval '0'),
    (9,  '20000000-0000-4000-8000-000000000003', null,
     '{"conversation": [{"op": "test", "path": "/lesson", "value": 3}, {"op": "replace", "path": "/lesson", "value": 4}]}',
     null, interval '0'),
    (10, '20000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000001',
     '{"conversation": {"goal": "sub-4h marathon", "weekly_km": 45}, "character": {"topics": ["soup", "running"]}}',
     null, interval '0'),
    (11, '20000000-0000-4000-8000-000000000004', null,
     '{"conversation": {"reminder": "long run on Sunday"}}',
     'seed:later', interval '1 hour')
) as j(n, conversation_id, character_id, patch, idempotency_key, delay)
order by j.n;

-- Schedules. next_run_at NULL means "not computed yet": the schedule job computes it.
insert into public.character_schedules
    (id, character_id, kind, cron_expr, timezone, prompt, enabled, catch_up, next_run_at) values
    ('40000000-0000-4000-8000-000000000001', '10000000-0000-4000-8000-000000000001',
     'post', '0 * * * *', 'UTC', 'Share one short kitchen tip for this hour.',
     true, 'latest', date_trunc('hour', now())),
    ('40000000-0000-4000-8000-000000000002', '10000000-0000-4000-8000-000000000002',
     'diary', '30 21 * * *', 'Europe/Berlin', 'Write tonight''s diary entry about the shop.',
     true, 'latest', null),
    ('40000000-0000-4000-8000-000000000003', '10000000-0000-4000-8000-000000000002',
     'post', '61 * * * *', 'Europe/Berlin', 'Recommend a book. (This row''s cron is invalid.)',
     true, 'latest', null),
    ('40000000-0000-4000-8000-000000000004', '10000000-0000-4000-8000-000000000003',
     'post', '0 * * * *', 'America/New_York', 'Post a one-line practice tip.',
     true, 'latest', date_trunc('hour', now()) - interval '3 hours'),
    ('40000000-0000-4000-8000-000000000005', '10000000-0000-4000-8000-000000000003',
     'diary', '30 21 * * *', 'America/New_York', 'Write tonight''s diary entry after the gig.',
     true, 'latest', null),
    ('40000000-0000-4000-8000-000000000006', '10000000-0000-4000-8000-000000000001',
     'diary', '30 21 * * *', 'UTC', 'Write tonight''s diary entry.',
     false, 'skip', null);

-- Training: items in every status ...
insert into public.items (id, title, status, status_changed_at, created_at) values
    ('50000000-0000-4000-8000-000000000001', 'Renew passport',
     'INBOX', now() - interval '6 days', now() - interval '6 days'),
    ('50000000-0000-4000-8000-000000000002', 'Write the Q3 report',
     'ACTIVE', now() - interval '2 days', now() - interval '5 days'),
    ('50000000-0000-4000-8000-000000000003', 'Wait for the landlord about the boiler',
     'WAITING', now() - interval '1 day', now() - interval '4 days'),
    ('50000000-0000-4000-8000-000000000004', 'Book a dentist appointment',
     'DONE', now() - interval '1 day', now() - interval '4 days'),
    ('50000000-0000-4000-8000-000000000005', 'Learn Esperanto',
     'COLD_STORAGE', now() - interval '2 days', now() - interval '9 days'),
    ('50000000-0000-4000-8000-000000000006', 'Fix the bike brakes',
     'DONE', now() - interval '3 hours', now() - interval '3 days'),
    ('50000000-0000-4000-8000-000000000007', 'Plan the team offsite',
     'ACTIVE', now() - interval '12 hours', now() - interval '2 days'),
    ('50000000-0000-4000-8000-000000000008', 'Reply to Tom''s email',
     'INBOX', now() - interval '1 hour', now() - interval '1 hour');

-- ... and the policy's decisions on them.
insert into public.decisions (id, item_id, action, confidence, policy_version, context, decided_at)
select d.id::uuid, d.item_id::uuid, d.action, d.confidence, 'triage-v3', d.context::jsonb,
       now() - d.ago
from (values
    ('60000000-0000-4000-8000-000000000001', '50000000-0000-4000-8000-000000000001',
     'do_now', 0.82, '{"source": "inbox", "estimated_minutes": 20}', interval '5 days'),
    ('60000000-0000-4000-8000-000000000002', '50000000-0000-4000-8000-000000000002',
     'schedule', 0.64, '{"source": "inbox", "due_in_days": 7}', interval '4 days'),
    ('60000000-0000-4000-8000-000000000003', '50000000-0000-4000-8000-000000000003',
     'delegate', 0.55, '{"source": "inbox", "delegate_to": "landlord"}', interval '3 days'),
    ('60000000-0000-4000-8000-000000000004', '50000000-0000-4000-8000-000000000004',
     'do_now', 0.91, '{"source": "inbox", "estimated_minutes": 5}', interval '3 days'),
    ('60000000-0000-4000-8000-000000000005', '50000000-0000-4000-8000-000000000005',
     'archive', 0.77, '{"source": "review"}', interval '5 days'),
    ('60000000-0000-4000-8000-000000000006', '50000000-0000-4000-8000-000000000006',
     'teleport', 0.35, '{"source": "experiment"}', interval '1 day'),
    ('60000000-0000-4000-8000-000000000007', '50000000-0000-4000-8000-000000000007',
     'schedule', 0.48, '{"source": "inbox", "due_in_days": 14}', interval '1 day'),
    ('60000000-0000-4000-8000-000000000008', '50000000-0000-4000-8000-000000000008',
     'delegate', 0.20, '{"source": "inbox"}', interval '30 minutes'),
    ('60000000-0000-4000-8000-000000000009', '50000000-0000-4000-8000-000000000006',
     'do_now', 0.60, '{"source": "inbox", "estimated_minutes": 45}', interval '2 days')
) as d(id, item_id, action, confidence, context, ago);
