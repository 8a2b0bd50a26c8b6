// Drives baseline 3's route (app/api/cron/patch/route.js) the way Vercel Cron would call
// it, and prints one JSON line for the benchmark (dev/bench/src/node_baseline.rs):
//   node run.mjs drain N [RUNS]  call GET until N jobs are handled (RUNS overlapping drains)
//   node run.mjs once            one call (the idle invocation: an empty queue)
// Needs NEXT_PUBLIC_SUPABASE_URL, SUPABASE_SERVICE_ROLE_KEY and CRON_SECRET.
import { GET } from './app/api/cron/patch/route.js';

const [mode = 'once', jobsArg = '0', runsArg = '1'] = process.argv.slice(2);

async function call(limit) {
  const request = new Request(`http://localhost/api/cron/patch?limit=${limit}`, {
    headers: { authorization: `Bearer ${process.env.CRON_SECRET}`, 'user-agent': 'vercel-cron/1.0' },
  });
  const response = await GET(request);
  const body = await response.json();
  if (response.status !== 200) throw new Error(`the route answered ${response.status}: ${JSON.stringify(body)}`);
  if (body.failed_count > 0) throw new Error(`the route failed ${body.failed_count} jobs`);
  return body.processed;
}

// One run: invocations one after another (as the next cron tick would) until `jobs` handled.
async function drain(jobs) {
  let done = 0;
  while (done < jobs) {
    const processed = await call(Math.min(100, jobs - done));
    if (processed === 0) break;
    done += processed;
  }
  return done;
}

const started = performance.now();
let processed;
if (mode === 'drain') {
  const jobs = Number(jobsArg);
  const runs = Number(runsArg);
  const done = await Promise.all(Array.from({ length: runs }, () => drain(jobs)));
  processed = Math.max(...done);
} else {
  processed = await call(100);
}
const elapsed_ms = performance.now() - started;
const peak_rss_mb = (process.resourceUsage().maxRSS * 1024) / 1e6;
console.log(JSON.stringify({ processed, elapsed_ms, peak_rss_mb }));
