// Baseline 3 (docs/performance.md): seed 000's patch cron as a TypeScript/Node developer
// would write it in a Next.js route (app/api/cron/patch/route.ts), here as plain JavaScript
// so node runs it without a build step. @supabase/supabase-js with the service-role key,
// fast-json-patch for RFC 6902 and json-merge-patch for RFC 7396.
//
// Seed 000: read the `pending | failed` jobs; for each job read the latest
// conversation_states + character_states with `version`, apply the patch with the
// idempotency check (`run_state.applied_patch_job_ids`), write each state with an
// optimistic version check; on a version conflict mark the job `processing` with one more
// attempt, sleep 80 ms × 2^k and retry, up to 5 times, then `failed` with `last_error`.
import { createClient } from '@supabase/supabase-js';
import jsonpatch from 'fast-json-patch';
import mergePatch from 'json-merge-patch';

const MAX_RETRIES = 5;
const PAGE = 100;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function realtimeTransport() {
  // supabase-js's realtime client needs a WebSocket; Node < 22 has none built in.
  if (typeof globalThis.WebSocket !== 'undefined') return {};
  const { default: ws } = await import('ws');
  return { realtime: { transport: ws } };
}

export async function supabaseAdmin() {
  return createClient(process.env.NEXT_PUBLIC_SUPABASE_URL, process.env.SUPABASE_SERVICE_ROLE_KEY, {
    auth: { persistSession: false, autoRefreshToken: false },
    ...(await realtimeTransport()),
  });
}

function applyPart(state, part) {
  if (Array.isArray(part)) {
    return jsonpatch.applyPatch(jsonpatch.deepClone(state), part, true).newDocument;
  }
  return mergePatch.apply(structuredClone(state), part);
}

async function readState(supabase, table, key, id) {
  const { data, error } = await supabase
    .from(table)
    .select('state, run_state, version')
    .eq(key, id)
    .single();
  if (error) throw new Error(`read ${table}: ${error.message}`);
  return data;
}

// 'applied', 'skipped' (already in the ledger) or 'conflict'.
async function writeState(supabase, table, key, id, row, part, jobId) {
  const applied = row.run_state?.applied_patch_job_ids ?? [];
  if (applied.includes(jobId)) return 'skipped';
  const state = applyPart(row.state ?? {}, part);
  const run_state = { ...(row.run_state ?? {}), applied_patch_job_ids: [...applied, jobId] };
  const { data, error } = await supabase
    .from(table)
    .update({ state, run_state, version: row.version + 1 })
    .eq(key, id)
    .eq('version', row.version)
    .select('version');
  if (error) throw new Error(`write ${table}: ${error.message}`);
  return data.length === 1 ? 'applied' : 'conflict';
}

async function processJob(supabase, job) {
  for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
    const [conversation, character] = await Promise.all([
      readState(supabase, 'conversation_states', 'conversation_id', job.conversation_id),
      job.character_id ? readState(supabase, 'character_states', 'character_id', job.character_id) : null,
    ]);
    let conflict = false;
    if (job.patch.conversation) {
      const result = await writeState(supabase, 'conversation_states', 'conversation_id',
        job.conversation_id, conversation, job.patch.conversation, job.id);
      conflict = result === 'conflict';
    }
    if (!conflict && job.patch.character && character) {
      const result = await writeState(supabase, 'character_states', 'character_id',
        job.character_id, character, job.patch.character, job.id);
      conflict = result === 'conflict';
    }
    if (!conflict) {
      const { error } = await supabase
        .from('patch_jobs')
        .update({ status: 'done', finished_at: new Date().toISOString(), attempts: job.attempts + attempt + 1 })
        .eq('id', job.id);
      if (error) throw new Error(`mark done: ${error.message}`);
      return;
    }
    await supabase
      .from('patch_jobs')
      .update({ status: 'processing', attempts: job.attempts + attempt + 1 })
      .eq('id', job.id);
    await sleep(80 * 2 ** attempt);
  }
  throw new Error(`version conflict on every attempt (${MAX_RETRIES})`);
}

// GET /api/cron/patch (Vercel Cron sends `Authorization: Bearer $CRON_SECRET`).
export async function GET(request) {
  if (request.headers.get('authorization') !== `Bearer ${process.env.CRON_SECRET}`) {
    return Response.json({ error: 'unauthorized' }, { status: 401 });
  }
  const limit = Number(new URL(request.url).searchParams.get('limit') ?? PAGE);
  const supabase = await supabaseAdmin();
  const { data: jobs, error } = await supabase
    .from('patch_jobs')
    .select('id, conversation_id, character_id, patch, attempts')
    .in('status', ['pending', 'failed'])
    .order('id', { ascending: true })
    .limit(limit);
  if (error) return Response.json({ error: error.message }, { status: 500 });
  let ok_count = 0;
  let failed_count = 0;
  for (const job of jobs) {
    try {
      await processJob(supabase, job);
      ok_count++;
    } catch (e) {
      failed_count++;
      await supabase
        .from('patch_jobs')
        .update({ status: 'failed', last_error: String(e?.message ?? e) })
        .eq('id', job.id);
    }
  }
  return Response.json({ processed: jobs.length, ok_count, failed_count });
}
