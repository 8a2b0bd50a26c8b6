// Drives Debian's headless Chromium through the status console, as an operator would.
//
//   node tests/browser/console.mjs walk <status url> <CRON_SECRET> <dead patch job id>
//       signs in, requeues the dead job (ticks it, "Requeue selected"), sees it pending on its
//       page, runs the patch job ("Run now" on its tile), sees the job done, signs out.
//       Prints one line per step; exits 1 with the page's text on the first failed check.
//   node tests/browser/console.mjs screenshot <status url> <CRON_SECRET> <out dir>
//       signs in and writes <out dir>/status.png (desktop) and status-phone.png (390 px).
//
// Called by tests/it/console_browser.rs and scripts/screenshot-status.sh. The browser is
// /usr/bin/chromium (override: CHROMIUM); playwright-core downloads nothing.
import { chromium } from 'playwright-core';
import { join } from 'node:path';

const [mode, url, secret, arg] = process.argv.slice(2);
if (!['walk', 'screenshot'].includes(mode) || !url || !secret || !arg) {
  console.error('usage: console.mjs walk|screenshot <status url> <CRON_SECRET> <job id|out dir>');
  process.exit(2);
}

// A fresh profile (playwright makes a new user-data-dir for every launch).
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
// Anything the page's CSP blocks, or any script error, is a failure: the page has no script
// and loads nothing from elsewhere.
const problems = [];
const page = await context.newPage();
// (The sign-in page is a 401 on purpose, which Chromium reports as a failed load.)
page.on('console', (m) => {
  if (m.type() === 'error' && !m.text().includes('status of 401')) problems.push(m.text());
});
page.on('pageerror', (e) => problems.push(String(e)));
page.on('request', (r) => {
  if (!r.url().startsWith(new URL(url).origin)) problems.push(`outside request: ${r.url()}`);
});

async function fail(message) {
  const text = await page.locator('body').innerText().catch(() => '(no page)');
  console.error(`FAILED: ${message}\n--- page ${page.url()} ---\n${text}`);
  await browser.close();
  process.exit(1);
}

async function expectText(step, text) {
  const body = await page.locator('body').innerText();
  if (!body.includes(text)) await fail(`${step}: expected "${text}"`);
  console.log(`ok: ${step}`);
}

async function signIn() {
  const answer = await page.goto(url);
  if (answer.status() !== 401) await fail(`the first visit answered ${answer.status()}, not the sign-in's 401`);
  await expectText('the sign-in page', 'CRON_SECRET');
  await page.fill('input[name=secret]', secret);
  await Promise.all([page.waitForNavigation(), page.click('form.signin button[type=submit]')]);
  await expectText('signed in', 'Signed in');
  if (page.url() !== url) await fail(`after sign-in the address is ${page.url()}`);
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'supacron_session');
  if (!session || !session.httpOnly || session.sameSite !== 'Strict' || session.path !== '/api/cron/status') {
    await fail(`the session cookie is not HttpOnly/Strict/limited to the status path: ${JSON.stringify(session)}`);
  }
  if (session.value.includes(secret)) await fail('the cookie holds the secret');
}

async function submit(button) {
  await Promise.all([page.waitForNavigation(), button.click()]);
}

if (mode === 'walk') {
  const id = arg;
  await signIn();
  // Tick the dead job and requeue it.
  await page.check(`input[type=checkbox][name=id][value="${id}"]`);
  await submit(page.getByRole('button', { name: 'Requeue selected' }));
  await expectText('the requeue notice', 'Requeued 1 dead or failed patch job');
  // Its page says pending.
  await page.goto(`${url}?view=patch_job&id=${id}`);
  await expectText('the job page', `Patch job ${id}`);
  const status = () => page.locator('dl.fields dt:text-is("status") + dd').innerText();
  if ((await status()) !== 'pending') await fail(`the requeued job is ${await status()}, not pending`);
  console.log('ok: the job is pending');
  // Back to the status page, and run the patch job from its tile.
  await submit(page.locator('a[href="/api/cron/status"]').first());
  await submit(page.locator('article[data-job="patch"] button', { hasText: 'Run now' }));
  await expectText('the run notice', 'Ran the patch job now: ok, 1 processed');
  await page.goto(`${url}?view=patch_job&id=${id}`);
  if ((await status()) !== 'done') await fail(`after the run the job is ${await status()}, not done`);
  console.log('ok: the job is done');
  // Sign out: the page asks for the secret again.
  await page.goto(url);
  await submit(page.getByRole('button', { name: 'Sign out' }));
  await expectText('the sign-in page again', 'CRON_SECRET');
  if ((await context.cookies()).some((c) => c.name === 'supacron_session')) await fail('the cookie outlived sign-out');
  console.log('ok: signed out');
} else {
  await signIn();
  await page.screenshot({ path: join(arg, 'status.png'), fullPage: true });
  const phone = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true,
  });
  await phone.addCookies(await context.cookies());
  const small = await phone.newPage();
  await small.goto(url);
  await small.screenshot({ path: join(arg, 'status-phone.png'), fullPage: true });
  const overflow = await small.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  if (overflow > 1) await fail(`the page is ${overflow}px wider than a phone`);
  console.log(`ok: screenshots in ${arg}`);
}
if (problems.length) await fail(`the browser reported: ${problems.join(' | ')}`);
await browser.close();
