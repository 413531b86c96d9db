// Browser tests of the booking page, the embeddable widget, the manage page
// and the survey page.
//
//   cd tests/browser && npm ci && SLOTWISE_BASE=http://127.0.0.1:18181 node run.mjs
//
// Needs a slotwise server already running at SLOTWISE_BASE with the demo
// business loaded (a fresh database is best; the tests book real slots and
// pick different days so they tolerate each other and earlier runs).
//
// One run sends about 80 anonymous API requests from 127.0.0.1 in about 40 s,
// within the default per-address limit (burst 40, then 120 a minute), but
// runs back to back can exhaust it. A server kept for these tests is best
// started with a looser limit, e.g. SLOTWISE_ANON_REQUESTS_PER_MINUTE=1200
// SLOTWISE_ANON_BURST=300 (the hold cap, SLOTWISE_HOLDS_PER_ADDRESS, stays
// on: test 5 needs it). A test that runs into the limit says so.
//
// Environment:
//   SLOTWISE_BASE    the server (default http://127.0.0.1:18181)
//   SLOTWISE_SLUG    the business slug (default northside)
//   SLOTWISE_STAFF_TOKEN
//   SLOTWISE_DESK_TOKEN   (a desk token of the business, for the walk-in queue page)
//                    an agent token of that business, for test 12, which books
//                    and completes a past visit to get a feedback token
//                    (`slotwise token --business biz_demo --role agent`);
//                    without it test 12 is skipped
//   SCREENSHOT_DIR   if set: a PNG per failed test and per step of the happy path
//   CHROMIUM_PATH    default /usr/bin/chromium (Debian's)
//   SLOTWISE_TESTS   optional comma-separated list of test numbers to run
//   SLOTWISE_BROWSER_TIMEOUT_S
//                    the whole run's limit (default 115 s; a run takes about 45 s)
//
// Prints one line per test (ok - name / not ok - name: reason), then
// "N passed, M failed"; exits 0 only when nothing failed.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);
const BASE = (process.env.SLOTWISE_BASE || 'http://127.0.0.1:18181').replace(/\/+$/, '');
const SLUG = process.env.SLOTWISE_SLUG || 'northside';
const STAFF_TOKEN = process.env.SLOTWISE_STAFF_TOKEN || '';
const DESK_TOKEN = process.env.SLOTWISE_DESK_TOKEN || '';
const SHOTS = process.env.SCREENSHOT_DIR || '';
const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const ONLY = (process.env.SLOTWISE_TESTS || '')
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
const OVERALL_MS = (Number(process.env.SLOTWISE_BROWSER_TIMEOUT_S) || 115) * 1000;
const TEST_MS = 45_000;
const STEP_MS = 10_000;
const PAUSE_MS = 1_000;
const HAIRCUT = 'svc_demo_haircut';
const FACIAL = 'svc_demo_facial';
const ZONE = 'Europe/London'; // the demo location's zone

let axeSource = null;
try {
  axeSource = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
} catch (_) {
  axeSource = null;
}

if (SHOTS) fs.mkdirSync(SHOTS, { recursive: true });

// ------------------------------------------------------------------ results

const results = [];
let finished = false;

function report(name, ok, reason) {
  results.push({ name, ok });
  const oneLine = (reason || '').toString().split('\n')[0].slice(0, 400);
  console.log(ok ? `ok - ${name}` : `not ok - ${name}: ${oneLine}`);
}

function summary() {
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  return failed;
}

// ------------------------------------------------------------------ helpers

const sel = (name, extra = '') => `[data-test="${name}"]${extra}`;

function todayIn(tz) {
  const parts = new Intl.DateTimeFormat('en-US', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).formatToParts(new Date());
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get('year')}-${get('month')}-${get('day')}`;
}

function addDays(day, n) {
  const [y, m, d] = day.split('-').map(Number);
  const t = new Date(Date.UTC(y, m - 1, d + n));
  return t.toISOString().slice(0, 10);
}

class Failure extends Error {}

async function until(fn, message, timeout = STEP_MS) {
  const end = Date.now() + timeout;
  for (;;) {
    if (await fn().catch(() => false)) return;
    if (Date.now() > end) throw new Failure(message);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function check(cond, message) {
  if (!cond) throw new Failure(message);
}

async function shot(page, name) {
  if (!SHOTS || !page || page.isClosed()) return;
  try {
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  } catch (_) {
    // a screenshot is a courtesy
  }
}

async function waitStep(page, step, timeout = STEP_MS) {
  try {
    await page.locator(`${sel('root')}[data-step="${step}"]`).waitFor({ timeout });
  } catch (e) {
    const now = await page
      .locator(sel('root'))
      .getAttribute('data-step', { timeout: 1000 })
      .catch(() => 'no widget');
    const err = await visibleError(page);
    throw new Failure(`expected step "${step}", still at "${now}"${err ? ` (widget says: ${err})` : ''}`);
  }
}

async function visibleError(page) {
  const errs = page.locator(sel('error'));
  const n = await errs.count().catch(() => 0);
  if (!n) return '';
  return (await errs.allTextContents()).join(' | ');
}

async function openBookingPage(page) {
  await page.goto(`${BASE}/book/${encodeURIComponent(SLUG)}`);
  await waitStep(page, 'services');
}

async function chooseService(page, serviceId, { keyboard = false } = {}) {
  const b = page.locator(sel('service', `[data-service-id="${serviceId}"]`));
  await b.waitFor({ timeout: STEP_MS });
  if (keyboard) {
    await b.focus();
    await page.keyboard.press('Enter');
  } else {
    await b.click();
  }
  await waitStep(page, 'days');
  await page.locator(sel('month-label')).waitFor({ timeout: STEP_MS });
}

/** Picks the index-th enabled day on or after minDate (moving to later months if needed). */
async function chooseDay(page, { minDate = '0000-00-00', index = 0, keyboard = false, step = 'days' } = {}) {
  for (let months = 0; months < 4; months++) {
    await page.locator(sel('month-label')).waitFor({ timeout: STEP_MS });
    await page.locator(sel('day')).first().waitFor({ timeout: STEP_MS });
    const dates = await page
      .locator(`${sel('day')}:not([disabled])`)
      .evaluateAll((els) => els.map((e) => e.getAttribute('data-date')));
    const ok = dates.filter((d) => d >= minDate);
    if (ok.length > index) {
      const date = ok[index];
      const b = page.locator(sel('day', `[data-date="${date}"]`));
      if (keyboard) {
        await b.focus();
        await page.keyboard.press('Enter');
      } else {
        await b.click();
      }
      await waitStep(page, step === 'days' ? 'slots' : 'reschedule-slots');
      return date;
    }
    const next = page.locator(sel('next-month'));
    check(await next.isEnabled(), `no free day on or after ${minDate}`);
    const label = await page.locator(sel('month-label')).textContent();
    await next.click();
    await until(async () => (await page.locator(sel('month-label')).textContent()) !== label, 'the next month did not show');
  }
  throw new Failure(`no free day on or after ${minDate} within 4 months`);
}

async function slotStarts(page, test = 'slot') {
  await page.locator(`${sel('slot')}, ${sel('no-slots')}`).first().waitFor({ timeout: STEP_MS });
  return page.locator(sel(test)).evaluateAll((els) => els.map((e) => e.getAttribute('data-start')));
}

async function chooseSlot(page, { index = 0, start = null, keyboard = false } = {}) {
  const starts = await slotStarts(page);
  check(starts.length > 0, 'the chosen day lists no free time');
  const s = start || starts[Math.min(index, starts.length - 1)];
  const b = page.locator(sel('slot', `[data-start="${s}"]`));
  if (keyboard) {
    await b.focus();
    await page.keyboard.press('Enter');
  } else {
    await b.click();
  }
  return s;
}

async function expectCountdown(page) {
  await waitStep(page, 'details');
  const c = page.locator(sel('countdown'));
  await c.waitFor({ state: 'visible', timeout: STEP_MS });
  const text = await c.textContent();
  check(/\b\d{1,3}:\d\d\b/.test(text), `countdown text "${text}" shows no m:ss`);
  return text;
}

async function fillDetails(page, { name, email = '', phone = '' }) {
  await page.locator(sel('name')).fill(name);
  await page.locator(sel('email')).fill(email);
  await page.locator(sel('phone')).fill(phone);
}

async function expectBooked(page) {
  await waitStep(page, 'done');
  const ref = (await page.locator(sel('reference')).textContent()).trim();
  check(/^[A-Z0-9]{3}-[A-Z0-9]{3}$/.test(ref), `reference "${ref}" does not look like K7M-4QX`);
  const href = await page.locator(sel('manage-link')).getAttribute('href');
  check(href && href.startsWith(`${BASE}/manage#token=`) && /[#&]booking=bkg_/.test(href), `manage link is "${href}"`);
  check(await page.locator(sel('ics')).isVisible(), 'no Add to calendar button');
  return { ref, href };
}

async function expectIcsDownload(page, ref) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: STEP_MS }), page.locator(sel('ics')).click()]);
  const name = download.suggestedFilename();
  check(name === `${ref}.ics`, `calendar file is named "${name}", expected "${ref}.ics"`);
  const file = await download.path();
  const text = fs.readFileSync(file, 'utf8');
  check(text.startsWith('BEGIN:VCALENDAR') && text.includes(ref), 'the calendar file is not an iCalendar file for this booking');
}

/** A whole booking through the widget's UI, from the service list to the done step. */
async function bookThrough(page, { service = HAIRCUT, minDate, dayIndex = 0, slotIndex = 0, name = 'Test Person', email, phone = '', keyboard = false, shots = '' }) {
  if (shots) await shot(page, `${shots}-1-services`);
  await chooseService(page, service, { keyboard });
  if (shots) await shot(page, `${shots}-2-days`);
  const date = await chooseDay(page, { minDate, index: dayIndex, keyboard });
  if (shots) await shot(page, `${shots}-3-slots`);
  const start = await chooseSlot(page, { index: slotIndex, keyboard });
  await expectCountdown(page);
  await fillDetails(page, { name, email: email || `t${Date.now()}@example.com`, phone });
  if (shots) await shot(page, `${shots}-4-details`);
  if (keyboard) {
    await page.locator(sel('phone')).focus();
    await page.keyboard.press('Enter'); // submits the form
  } else {
    await page.locator(sel('submit')).click();
  }
  const booked = await expectBooked(page);
  if (shots) await shot(page, `${shots}-5-booked`);
  return { ...booked, date, start };
}

async function noRawJson(page) {
  const text = await page.locator(sel('root')).innerText();
  check(!/[{}]|"code"|urn:slotwise/.test(text), `the widget shows raw JSON: ${text.slice(0, 200)}`);
}

async function noHorizontalScroll(page, where) {
  const m = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    client: document.documentElement.clientWidth,
  }));
  check(m.scroll <= m.client, `${where}: page is ${m.scroll}px wide in a ${m.client}px viewport`);
}

async function runAxe(page, where) {
  await page.addScriptTag({ content: axeSource });
  const res = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, help: v.help }));
  });
  return res.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${where}: ${v.id} (${v.impact}, ${v.nodes} nodes) ${v.help}`);
}

// ------------------------------------------------------------------ the host page on another origin

function startHostServer() {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Partner site</title>
<style>body{font-family:Georgia,serif;margin:2rem;color:#222} button{all:unset;color:red} h2{color:green;font-size:40px}</style>
</head><body>
<h1>A partner's web site</h1>
<p>Book with us below.</p>
<script src="${BASE}/widget.js" data-business="${SLUG.replace(/"/g, '&quot;')}"></script>
<p id="after">Text after the widget.</p>
</body></html>`;
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url.startsWith('/?')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(html);
    } else {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// ------------------------------------------------------------------ the tests
// Numbered as in the brief; they run in the order written here (the hold cap
// last, as it may leave this address rate limited for a while).

const tests = [];
const test = (n, name, fn) => tests.push({ n: String(n), name, fn });

test(1, 'book end to end on the booking page', async ({ newPage }) => {
  const page = await newPage();
  await openBookingPage(page);
  await shot(page, 'happy-1-services');
  await chooseService(page, HAIRCUT);
  await shot(page, 'happy-2-days');
  const day = await chooseDay(page, { index: 0 });
  await shot(page, 'happy-3-slots');
  // The widget reads the compact form; what it offers is exactly the full
  // form's slots for that day, instant for instant.
  const offered = await slotStarts(page);
  // Asked as the page asks: anonymously, through the online door.
  const full = await fetch(`${BASE}/v1/availability?service_id=${HAIRCUT}&from=${day}&to=${day}`, { signal: AbortSignal.timeout(STEP_MS) });
  check(full.status === 200 && offered.length > 0, `full availability answered ${full.status}`);
  const listed = ((await full.json()).days || []).filter((d) => d.date === day).flatMap((d) => d.slots.map((x) => x.start));
  check(JSON.stringify(offered) === JSON.stringify(listed), `widget offers ${offered.join(',')}, the API lists ${listed.join(',')}`);
  await chooseSlot(page, { index: 0 });
  await expectCountdown(page);
  await shot(page, 'happy-4-details');
  // The server's own validation: its messages show next to their fields.
  await fillDetails(page, { name: 'Tess Tester', email: 'tess@nowhere', phone: '12' });
  await page.locator(sel('submit')).click();
  await page.locator(sel('field-error', '[data-field="customer.email"]')).waitFor({ timeout: STEP_MS });
  await page.locator(sel('field-error', '[data-field="customer.phone"]')).waitFor({ timeout: STEP_MS });
  check((await page.locator(sel('email')).getAttribute('aria-invalid')) === 'true', 'email field is not marked invalid');
  await noRawJson(page);
  await shot(page, 'happy-5-field-errors');
  await fillDetails(page, { name: 'Tess Tester', email: 'tess@example.com', phone: '' });
  await page.locator(sel('submit')).click();
  const { ref } = await expectBooked(page);
  await shot(page, 'happy-6-booked');
  await expectIcsDownload(page, ref);
});

test(2, 'book through the widget embedded on another origin (CORS)', async ({ newPage, hostUrl }) => {
  // A visitor in another zone: times are shown in London time and in theirs.
  const page = await newPage({ timezoneId: 'America/New_York' });
  const consoleErrors = [];
  page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  await page.goto(hostUrl);
  try {
    await waitStep(page, 'services');
  } catch (e) {
    throw new Failure(`${e.message}${consoleErrors.length ? `; console: ${consoleErrors[0]}` : ''}`);
  }
  check(new URL(hostUrl).origin !== new URL(BASE).origin, 'host page is on the same origin');
  // the widget's container follows the script tag, and the host's CSS does not reach inside
  const placed = await page.evaluate(() => {
    const s = document.querySelector('script[data-business]');
    const next = s.nextElementSibling;
    return !!(next && next.shadowRoot);
  });
  check(placed, 'the widget did not render right after its script tag in a shadow root');
  const h2Size = await page.locator(sel('heading')).evaluate((e) => getComputedStyle(e).fontSize);
  check(h2Size !== '40px', 'the host page CSS leaked into the widget');
  await chooseService(page, HAIRCUT, { keyboard: true });
  const focused = await page.evaluate(() => {
    const root = document.querySelector('script[data-business]').nextElementSibling.shadowRoot;
    return root.activeElement && root.activeElement.getAttribute('data-test');
  });
  check(focused === 'heading', `after choosing a service, focus is on "${focused}", not the step's heading`);
  // arrow keys move between the free days of the calendar
  const free = await page.locator(`${sel('day')}:not([disabled])`).evaluateAll((els) => els.map((e) => e.getAttribute('data-date')));
  await page.locator(sel('day', `[data-date="${free[0]}"]`)).focus();
  await page.keyboard.press('ArrowRight');
  const moved = await page.evaluate(() => {
    const root = document.querySelector('script[data-business]').nextElementSibling.shadowRoot;
    return root.activeElement && root.activeElement.getAttribute('data-date');
  });
  check(moved === free[1], `ArrowRight moved focus to ${moved}, expected ${free[1]}`);
  await chooseDay(page, { index: 1, keyboard: true });
  await shot(page, 'embedded-new-york-slots');
  const note = await page.locator(sel('zone-note')).textContent();
  check(/Europe\/London/.test(note) && /America\/New_York/.test(note), `zone note does not name both zones: "${note}"`);
  await chooseSlot(page, { index: 1, keyboard: true });
  await expectCountdown(page);
  await fillDetails(page, { name: 'Cross Origin', email: 'cors@example.com' });
  await page.locator(sel('phone')).focus();
  await page.keyboard.press('Enter');
  const { ref } = await expectBooked(page);
  await shot(page, 'embedded-new-york-booked');
  await expectIcsDownload(page, ref);
});

test(3, 'manage link: cancel a booking', async ({ newPage, context }) => {
  const page = await newPage();
  await openBookingPage(page);
  const minDate = addDays(todayIn(ZONE), 2);
  const { ref } = await bookThrough(page, { minDate, dayIndex: 0, slotIndex: 2, name: 'Cancel Me' });
  const [manage] = await Promise.all([context().waitForEvent('page', { timeout: STEP_MS }), page.locator(sel('manage-link')).click()]);
  await waitStep(manage, 'manage');
  check((await manage.locator(sel('reference')).textContent()).trim() === ref, 'manage page shows another reference');
  await shot(manage, 'manage-1-booking');
  await manage.locator(sel('cancel')).click();
  await waitStep(manage, 'cancel-confirm');
  await manage.locator(sel('reason')).fill('Plans changed');
  await shot(manage, 'manage-2-confirm');
  await manage.locator(sel('confirm-cancel')).click();
  await manage.locator(sel('booking-status', '[data-status="cancelled"]')).waitFor({ timeout: STEP_MS });
  const status = (await manage.locator(sel('booking-status')).textContent()).trim();
  check(status === 'Cancelled', `status reads "${status}"`);
  await shot(manage, 'manage-3-cancelled');
  // a reload shows the same, from the server
  await manage.reload();
  await manage.locator(sel('booking-status', '[data-status="cancelled"]')).waitFor({ timeout: STEP_MS });
});

test(4, 'a slot held in one browser is not offered in another', async ({ newPage }) => {
  const a = await newPage(); // each newPage is its own browser context
  const b = await newPage();
  await Promise.all([openBookingPage(a), openBookingPage(b)]);
  await chooseService(a, FACIAL);
  await chooseService(b, FACIAL);
  const minDate = addDays(todayIn(ZONE), 1);
  const dayA = await chooseDay(a, { minDate, index: 0 });
  const dayB = await chooseDay(b, { minDate, index: 0 });
  check(dayA === dayB, `the two browsers picked different days (${dayA}, ${dayB})`);
  const starts = await slotStarts(b);
  check(starts.length > 0, 'no free time that day');
  const x = starts[Math.floor(starts.length / 2)];
  await chooseSlot(a, { start: x });
  await expectCountdown(a);
  try {
    // B's list is stale: taking the same time fails, and nearer times are offered instead
    await chooseSlot(b, { start: x });
    await b.locator(sel('error')).first().waitFor({ timeout: STEP_MS });
    const err = await visibleError(b);
    check(/just been taken/i.test(err), `B was told "${err}"`);
    await noRawJson(b);
    await b.locator(sel('nearest-slot')).first().waitFor({ timeout: STEP_MS });
    const nearest = await b.locator(sel('nearest-slot')).evaluateAll((els) => els.map((e) => e.getAttribute('data-start')));
    check(!nearest.includes(x), 'the held time is offered as a nearest free time');
    // a fresh list in B does not offer the held time at all
    await b.locator(sel('back')).click();
    await chooseDay(b, { minDate: dayA, index: 0 });
    const fresh = await slotStarts(b);
    check(!fresh.includes(x), `B still sees ${x} while A holds it`);
  } finally {
    await a.locator(sel('release')).click().catch(() => {});
    await waitStep(a, 'slots').catch(() => {});
  }
});

test(6, 'axe-core finds no serious or critical violations', async ({ newPage }) => {
  if (!axeSource) return 'SKIP axe-core is not installed (npm ci in tests/browser)';
  const page = await newPage();
  await openBookingPage(page);
  const problems = [];
  problems.push(...(await runAxe(page, 'services')));
  await chooseService(page, HAIRCUT);
  problems.push(...(await runAxe(page, 'days')));
  await chooseDay(page, { index: 0 });
  problems.push(...(await runAxe(page, 'slots')));
  await chooseSlot(page, { index: 3 });
  await expectCountdown(page);
  try {
    await page.locator(sel('submit')).click(); // empty form: field errors shown
    await page.locator(sel('field-error')).first().waitFor({ timeout: STEP_MS });
    problems.push(...(await runAxe(page, 'details')));
  } finally {
    await page.locator(sel('release')).click().catch(() => {});
  }
  await waitStep(page, 'slots');
  check(problems.length === 0, problems.join('; '));
});

test(7, 'no horizontal scroll at 375 px', async ({ newPage }) => {
  const page = await newPage({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await openBookingPage(page);
  await noHorizontalScroll(page, 'services');
  await chooseService(page, HAIRCUT);
  await noHorizontalScroll(page, 'days');
  await chooseDay(page, { index: 2 });
  await noHorizontalScroll(page, 'slots');
  await chooseSlot(page, { index: 0 });
  await expectCountdown(page);
  await noHorizontalScroll(page, 'details');
  await fillDetails(page, { name: 'Narrow Screen', email: 'narrow@example.com' });
  await page.locator(sel('submit')).click();
  await expectBooked(page);
  await noHorizontalScroll(page, 'done');
  await shot(page, 'mobile-375-booked');
});

test(8, 'manage link: reschedule to another time', async ({ newPage, context }) => {
  const page = await newPage();
  await openBookingPage(page);
  const minDate = addDays(todayIn(ZONE), 3);
  const booked = await bookThrough(page, { minDate, dayIndex: 0, slotIndex: 4, name: 'Move Me' });
  const [manage] = await Promise.all([context().waitForEvent('page', { timeout: STEP_MS }), page.locator(sel('manage-link')).click()]);
  await waitStep(manage, 'manage');
  await manage.locator(sel('reschedule')).click();
  await waitStep(manage, 'reschedule-days');
  await manage.locator(sel('month-label')).waitFor();
  const date = await chooseDay(manage, { minDate: addDays(booked.date, 1), index: 0, step: 'reschedule' });
  const starts = await slotStarts(manage);
  check(starts.length > 0, `nothing free on ${date}`);
  await manage.locator(sel('slot')).first().click();
  await waitStep(manage, 'reschedule-confirm');
  await manage.locator(sel('confirm-reschedule')).click();
  await waitStep(manage, 'manage');
  const notice = await manage.locator(sel('notice')).textContent();
  check(/moved/i.test(notice), `no "moved" notice, got "${notice}"`);
  const when = await manage.locator(sel('when')).textContent();
  check(when !== (await page.locator(sel('when')).textContent()), 'the booking still shows the old time');
  await shot(manage, 'manage-4-rescheduled');
});

test(9, 'the hold lapses when the countdown ends', async ({ newPage }) => {
  const page = await newPage();
  await page.clock.install();
  await openBookingPage(page);
  await chooseService(page, HAIRCUT);
  await chooseDay(page, { index: 3 });
  await chooseSlot(page, { index: 5 });
  const expires = await (async () => {
    await expectCountdown(page);
    return page.locator(sel('countdown')).getAttribute('data-expires-at');
  })();
  const ms = Date.parse(expires) - Date.now();
  check(ms > 0 && ms < 3 * 60 * 60 * 1000, `odd hold expiry ${expires}`);
  await page.clock.fastForward(ms + 2000);
  await waitStep(page, 'slots');
  const err = await visibleError(page);
  check(/lapsed/i.test(err), `after the countdown the widget says "${err}"`);
});

test(10, 'manage link: too late to cancel says so, with the phone number', async ({ newPage, context }) => {
  const page = await newPage();
  await openBookingPage(page);
  const booked = await bookThrough(page, { dayIndex: 0, slotIndex: 1, name: 'Too Late' });
  if (Date.parse(booked.start) - Date.now() > 23 * 60 * 60 * 1000) {
    // Saturday evening and the like: the earliest free time is more than a day away.
    return `SKIP the earliest free time (${booked.start}) is outside the 24 h cutoff`;
  }
  const [manage] = await Promise.all([context().waitForEvent('page', { timeout: STEP_MS }), page.locator(sel('manage-link')).click()]);
  await waitStep(manage, 'manage');
  await manage.locator(sel('cancel')).click();
  await waitStep(manage, 'cancel-confirm');
  await manage.locator(sel('confirm-cancel')).click();
  await manage.locator(sel('error')).first().waitFor({ timeout: STEP_MS });
  const err = await visibleError(manage);
  check(/Cancellations close 24 hours before the visit/.test(err), `the widget says "${err}"`);
  check(/call \+?[\d ()-]{6,}/i.test(err), `no phone number in "${err}"`);
  await waitStep(manage, 'manage');
  check(await manage.locator(sel('phone-link')).isVisible(), 'no phone link on the booking');
  check((await manage.locator(sel('cancel')).count()) === 0, 'the Cancel button is still offered');
  check((await manage.locator(sel('booking-status')).getAttribute('data-status')) === 'confirmed', 'the booking is no longer confirmed');
  await noRawJson(manage);
  await shot(manage, 'manage-5-too-late');
});

test(11, 'an unknown business and a bare manage link are explained in words', async ({ newPage }) => {
  const page = await newPage();
  await page.goto(`${BASE}/book/no-such-business-${Date.now()}`);
  await waitStep(page, 'fatal');
  const err = await visibleError(page);
  check(/could not find this business/i.test(err), `unknown business: "${err}"`);
  await noRawJson(page);
  await page.goto(`${BASE}/manage`);
  await waitStep(page, 'fatal');
  const err2 = await visibleError(page);
  check(/full link from your booking confirmation/i.test(err2), `bare manage page: "${err2}"`);
  await page.goto(`${BASE}/manage#token=not-a-token&booking=bkg_nope`);
  await waitStep(page, 'fatal');
  const err3 = await visibleError(page);
  check(/no longer valid|could not find this booking/i.test(err3), `bad token: "${err3}"`);
  await noRawJson(page);
});

// ------------------------------------------------------------------ the survey page

/** Staff API call with SLOTWISE_STAFF_TOKEN (or another token); resolves {status, body}. */
async function staffApi(method, url, body, token = STAFF_TOKEN) {
  const res = await fetch(`${BASE}${url}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(STEP_MS),
  });
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch (_) {
    parsed = text;
  }
  return { status: res.status, body: parsed };
}

/**
 * A haircut on a recent past weekday, walked to completed, and the token of
 * the feedback request its completion opens (as the feedback.requested
 * event carries it to the notification that links to /feedback).
 */
async function completedVisitToken() {
  let booking = null;
  const refused = [];
  for (let back = 1; back <= 14 && !booking; back++) {
    const day = addDays(todayIn('UTC'), -back);
    const weekday = new Date(`${day}T00:00:00Z`).getUTCDay();
    if (weekday === 0 || weekday === 6) continue; // 10:00 UTC is inside the demo's weekday hours in both GMT and BST
    const r = await staffApi('POST', '/v1/bookings', {
      service_id: HAIRCUT,
      start: `${day}T10:00:00Z`,
      customer: { name: 'Survey Taker', email: `survey${Date.now()}@example.com` },
      override: { rules: ['min_notice'], reason: 'entered after the visit (browser test)' },
    });
    if (r.status === 201) booking = r.body;
    else refused.push(`${day}: ${r.status} ${r.body && r.body.code}`);
  }
  check(booking, `no past visit could be booked: ${refused.join('; ')}`);
  for (const step of ['check-in', 'start', 'complete']) {
    const r = await staffApi('POST', `/v1/bookings/${booking.id}/${step}`, {});
    check(r.status === 200, `${step} of ${booking.id} answered ${r.status}: ${JSON.stringify(r.body)}`);
  }
  const events = await staffApi('GET', '/v1/events?type=feedback.requested&limit=200');
  check(events.status === 200, `GET /v1/events answered ${events.status}`);
  const event = events.body.data.find((e) => e.data && e.data.booking_id === booking.id);
  check(event && /^fbt_/.test(event.data.token || ''), `no feedback.requested event with a token for ${booking.id}`);
  return event.data.token;
}

async function waitSurveyStep(page, step) {
  try {
    await page.locator(`${sel('root')}[data-step="${step}"]`).waitFor({ timeout: STEP_MS });
  } catch (_) {
    const now = await page.locator(sel('root')).getAttribute('data-step', { timeout: 1000 }).catch(() => 'no page');
    const err = (await page.locator(sel('error')).textContent().catch(() => '')).trim();
    throw new Failure(`survey: expected step "${step}", still at "${now}"${err ? ` (page says: ${err})` : ''}`);
  }
}

const focusedId = (page) => page.evaluate(() => document.activeElement && document.activeElement.id);

test(12, 'the survey link: answered with the keyboard once, refused the second time', async ({ newPage }) => {
  if (!STAFF_TOKEN) return 'SKIP SLOTWISE_STAFF_TOKEN is not set (an agent token of the business: slotwise token --business biz_demo --role agent)';
  const token = await completedVisitToken();
  const problems = [];

  const page = await newPage();
  await page.goto(`${BASE}/feedback`);
  await waitSurveyStep(page, 'fatal');
  const bare = await page.locator(sel('error')).textContent();
  check(/full survey link/i.test(bare), `bare survey page: "${bare}"`);

  await page.goto(`${BASE}/feedback#token=${encodeURIComponent(token)}`);
  await page.reload(); // a fragment-only change does not reload the page
  await waitSurveyStep(page, 'form');
  if (axeSource) problems.push(...(await runAxe(page, 'survey form')));
  // One Tab stop per scale, then the comment and the button.
  const stops = [];
  for (let i = 0; i < 4; i++) {
    await page.keyboard.press('Tab');
    stops.push(await focusedId(page));
  }
  check(stops.join(' ') === 'nps-0 effort-1 comment submit', `Tab visits ${stops.join(', ')}`);
  await page.keyboard.press('Enter'); // nothing chosen yet: said so, at the first question
  await page.locator(sel('field-error')).first().waitFor({ state: 'visible' });
  check((await focusedId(page)) === 'nps-0', `after the refused submit, focus is on "${await focusedId(page)}"`);
  const npsError = await page.locator('#nps-error').textContent();
  check(/0 to 10/.test(npsError), `no "0 to 10" on the first question: "${npsError}"`);
  if (axeSource) problems.push(...(await runAxe(page, 'survey field errors')));
  for (let i = 0; i < 9; i++) await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Space');
  await page.keyboard.press('ArrowRight');
  await page.keyboard.press('Tab');
  await page.keyboard.type('Quick and friendly.');
  const picked = await page.evaluate(() => ({
    nps: (document.querySelector('input[name="nps"]:checked') || {}).value,
    effort: (document.querySelector('input[name="effort"]:checked') || {}).value,
  }));
  check(picked.nps === '9' && picked.effort === '2', `the keys chose nps ${picked.nps} and effort ${picked.effort}`);
  check((await page.locator(sel('field-error')).allTextContents()).join('') === '', 'the field errors stay after answering');
  await shot(page, 'survey-1-answered');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await waitSurveyStep(page, 'done');
  check(await page.locator(sel('thanks')).isVisible(), 'no thank-you shown');
  check(/thank you/i.test(await page.locator(sel('thanks')).textContent()), 'the thank-you says no thank you');
  check((await focusedId(page)) === 'thanks-title', 'focus did not move to the thank-you');
  if (axeSource) problems.push(...(await runAxe(page, 'survey thanks')));
  await shot(page, 'survey-2-thanks');

  // The same link again, on a phone: the API refuses, and the page says its words.
  const phone = await newPage({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.goto(`${BASE}/feedback#token=${encodeURIComponent(token)}`);
  await waitSurveyStep(phone, 'form');
  await noHorizontalScroll(phone, 'survey form');
  await phone.locator('.pick').filter({ has: phone.locator('#nps-10') }).tap();
  await phone.locator('.pick').filter({ has: phone.locator('#effort-1') }).tap();
  await phone.locator(sel('submit')).tap();
  await waitSurveyStep(phone, 'refused');
  const refusal = (await phone.locator(sel('error')).textContent()).trim();
  check(/This visit has feedback already/.test(refusal), `a second answer shows "${refusal}"`);
  check(!/[{}]|"code"|urn:slotwise/.test(refusal), `the refusal shows raw JSON: ${refusal}`);
  check(!(await phone.locator(sel('form')).isVisible()), 'the form is still offered after the refusal');
  await noHorizontalScroll(phone, 'survey refused');
  if (axeSource) problems.push(...(await runAxe(phone, 'survey refused')));
  await shot(phone, 'survey-3-refused-375');
  check(problems.length === 0, problems.join('; '));
});

test(5, 'the hold cap shows a clear rate-limit sentence', async ({ newPage }) => {
  const pages = [];
  let limited = null;
  const minDate = addDays(todayIn(ZONE), 4);
  try {
    for (let i = 0; i < 6 && !limited; i++) {
      const p = await newPage();
      pages.push(p);
      await openBookingPage(p);
      await chooseService(p, HAIRCUT);
      await chooseDay(p, { minDate, index: 0 });
      await chooseSlot(p, { index: 6 + i * 2 });
      await p
        .locator(`${sel('countdown')}, ${sel('error')}`)
        .first()
        .waitFor({ timeout: STEP_MS });
      const err = await visibleError(p);
      if (err) {
        limited = { i, err, p };
        await shot(p, 'hold-cap');
      }
    }
    check(limited, 'six holds from one address were all granted: no hold cap or rate limit seen');
    // (the very first hold may be refused too: holds left live by an earlier run count)
    check(/holding too many times at once/i.test(limited.err) && /try again in/i.test(limited.err), `hold ${limited.i + 1} was refused with "${limited.err}"`);
    await noRawJson(limited.p);
  } finally {
    for (const p of pages) {
      if (await p.locator(sel('release')).count().catch(() => 0)) await p.locator(sel('release')).click().catch(() => {});
    }
  }
});

test(13, 'a walk-in follows their place in the queue on their phone', async ({ newPage }) => {
  if (!DESK_TOKEN) return 'SKIP SLOTWISE_DESK_TOKEN is not set (a desk token of the business: slotwise token --business biz_demo --role desk)';
  const desk = (method, url, body) => staffApi(method, url, body, DESK_TOKEN);
  // Whoever the chairs can take at once is booked; the next one queues.
  let ticket = null;
  const outcomes = [];
  for (let i = 0; i < 12 && !ticket; i++) {
    const r = await desk('POST', '/v1/walk-ins', { service_id: HAIRCUT, customer: { name: `Queue Walker ${i}` } });
    check(r.status === 201, `walk-in ${i} answered ${r.status}: ${JSON.stringify(r.body)}`);
    outcomes.push(r.body.outcome);
    if (r.body.outcome === 'queued') ticket = r.body.ticket;
  }
  check(ticket, `no walk-in was queued: ${outcomes.join(', ')}`);
  check(/^\/queue\/qtk_[^#]+#token=/.test(ticket.page_url || ''), `page_url "${ticket.page_url}"`);
  const problems = [];

  const phone = await newPage({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  await phone.goto(`${BASE}${ticket.page_url}`);
  await phone.locator(sel('ticket')).waitFor({ state: 'visible', timeout: STEP_MS });
  const code = (await phone.locator(sel('code')).textContent()).trim();
  check(code === ticket.code, `the page shows code "${code}", the desk said "${ticket.code}"`);
  const status = (await phone.locator(sel('status')).textContent()).trim();
  check(status === 'Waiting', `status "${status}"`);
  const place = (await phone.locator(sel('position')).textContent()).trim();
  const expected = ticket.position === 1 ? 'Next' : `${ticket.position} (${ticket.position - 1} ahead)`;
  check(place === expected, `place "${place}", expected "${expected}"`);
  check((await phone.locator(sel('error')).textContent()).trim() === '', 'an error is shown beside the ticket');
  await noHorizontalScroll(phone, 'queue page');
  if (axeSource) problems.push(...(await runAxe(phone, 'queue page')));
  await shot(phone, 'queue-1-waiting');

  // The desk cancels (they left); the page says so on its next read.
  const cancelled = await desk('POST', `/v1/queue-tickets/${ticket.id}/cancel`, {});
  check(cancelled.status === 200, `cancel answered ${cancelled.status}: ${JSON.stringify(cancelled.body)}`);
  await phone.reload();
  await until(async () => (await phone.locator(sel('status')).textContent()).trim() === 'Cancelled', 'the page never said "Cancelled"');
  await shot(phone, 'queue-2-cancelled');

  // The link without its token explains itself instead of showing nothing.
  const bare = await newPage();
  await bare.goto(`${BASE}/queue/${ticket.id}`);
  await until(async () => /missing its ticket token/i.test(await bare.locator(sel('error')).textContent()), 'the bare page did not explain the missing token');
  const words = await bare.locator('body').innerText();
  check(!/[{}]|"code"|urn:slotwise/.test(words), `the queue page shows raw JSON: ${words.slice(0, 200)}`);
  check(problems.length === 0, problems.join('; '));
});

// ------------------------------------------------------------------ runner

async function preflight() {
  const problems = [];
  for (const [what, url] of [
    ['/widget.js', `${BASE}/widget.js`],
    [`/book/${SLUG}`, `${BASE}/book/${encodeURIComponent(SLUG)}`],
    [`/v1/public/businesses/${SLUG}`, `${BASE}/v1/public/businesses/${encodeURIComponent(SLUG)}`],
  ]) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
      if (r.status !== 200) problems.push(`${what} answers ${r.status}`);
    } catch (e) {
      problems.push(`${what}: ${e.cause ? e.cause.code || e.cause.message : e.message}`);
      break;
    }
  }
  return problems;
}

async function main() {
  const timer = setTimeout(() => {
    if (finished) return;
    console.log(`not ok - overall timeout: the run took more than ${OVERALL_MS / 1000} s`);
    results.push({ name: 'overall timeout', ok: false });
    summary();
    process.exit(1);
  }, OVERALL_MS);
  timer.unref();

  const selected = tests.filter((t) => !ONLY.length || ONLY.includes(t.n));
  const problems = await preflight();
  if (problems.length) {
    for (const t of selected) report(t.name, false, `server not ready at ${BASE}: ${problems.join('; ')}`);
    return;
  }

  const host = await startHostServer();
  const hostUrl = `http://127.0.0.1:${host.address().port}/`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // playwright-core gives every launch a fresh temporary --user-data-dir of its own
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    for (const t of selected) {
      const contexts = [];
      let last = null;
      const newPage = async (opts = {}) => {
        const ctx = await browser.newContext({ acceptDownloads: true, locale: 'en-GB', ...opts });
        ctx.setDefaultTimeout(STEP_MS);
        contexts.push(ctx);
        const page = await ctx.newPage();
        last = ctx;
        return page;
      };
      const env = { newPage, hostUrl, context: () => last };
      let timeoutHandle;
      try {
        const outcome = await Promise.race([
          t.fn(env),
          new Promise((_, reject) => {
            timeoutHandle = setTimeout(() => reject(new Failure(`took more than ${TEST_MS / 1000} s`)), TEST_MS);
          }),
        ]);
        // a test may return "SKIP why" when the clock makes it meaningless (TAP directive)
        report(typeof outcome === 'string' && outcome.startsWith('SKIP') ? `${t.name} # ${outcome}` : t.name, true);
      } catch (e) {
        let reason = e instanceof Failure ? e.message : e.message || String(e);
        if (t.n !== '5' && /Too many requests from your network|holding too many times/.test(reason)) {
          reason += ' [the server rate limit for 127.0.0.1 ran out: see the note at the top of run.mjs]';
        }
        report(t.name, false, reason);
        let i = 0;
        for (const ctx of contexts) for (const p of ctx.pages()) await shot(p, `failed-${t.n}-${++i}`);
      } finally {
        clearTimeout(timeoutHandle);
        for (const ctx of contexts) await ctx.close().catch(() => {});
      }
      await new Promise((r) => setTimeout(r, PAUSE_MS)); // lets the server's per-address bucket refill a little
    }
  } finally {
    await browser.close().catch(() => {});
    await new Promise((r) => host.close(r));
  }
}

main()
  .catch((e) => {
    report('test runner', false, e.message || String(e));
  })
  .finally(() => {
    finished = true;
    const failed = summary();
    process.exit(failed ? 1 : 0);
  });
