/*
 * slotwise booking widget: one file, no build step, no dependencies.
 *
 * Embed it anywhere (any origin):
 *
 *   <script src="https://API_HOST/widget.js" data-business="northside"></script>
 *
 * Attributes of the script tag:
 *   data-business  business slug (required for booking; optional in manage mode,
 *                  where it is also read from the link's #business=...)
 *   data-target    CSS selector of the element to render into; default: a new
 *                  <div> inserted right after the script tag
 *   data-mode      "book" (default) or "manage"
 *   data-service   optional service id: skip the service choice
 *   data-token, data-booking
 *                  manage mode only; default: read from location.hash
 *                  (#token=<manage_token>&booking=<booking id>[&business=<slug>])
 *   data-api       optional API origin; default: the origin of this script's src
 *
 * The widget renders inside an open shadow root (its CSS cannot leak in or out).
 * Hosts may theme it with CSS custom properties set on the container:
 *   --sw-accent (buttons, links), --sw-font (font family), --sw-radius.
 *
 * It calls the slotwise API cross-origin with fetch(), never with cookies
 * (credentials: "omit"); the manage token travels as a bearer token only.
 *
 * Stable test hooks (data-test attributes, all inside the shadow root):
 *   root            the widget's outer element; data-step names the current step:
 *                   loading, services, days, slots, details, done, manage,
 *                   cancel-confirm, reschedule-days, reschedule-slots,
 *                   reschedule-confirm, fatal
 *   heading         the current step's heading (receives focus on each step)
 *   live            the aria-live="polite" region holding notices and errors
 *   notice          an informational message in the live region
 *   error           an error sentence (live region, or a field's message)
 *   field-error     a message next to a form field; data-field names it
 *                   (customer.name, customer.email, customer.phone, reason)
 *   service         a service button; data-service-id
 *   month-label     the month shown in the calendar
 *   prev-month, next-month
 *   day             a day button; data-date="YYYY-MM-DD", data-free="<count>",
 *                   disabled when nothing is free
 *   slot            a time button; data-start="<RFC 3339 UTC instant>"
 *   nearest-slot    a time offered after the chosen one was taken; data-start
 *   back            "back" buttons of each step
 *   retry           tries loading the times again after a failure
 *   countdown       the hold's countdown (role="timer"); data-expires-at
 *   release         "choose another time" on the details step (releases the hold)
 *   name, email, phone
 *                   the details form's inputs
 *   submit          the details form's submit button
 *   summary         the held time, service and address on the details step
 *   reference       the booking reference (done and manage steps)
 *   service-name    the booked service's name (when the profile is known)
 *   when            the booking's (or held, or new) date and time
 *   ics             "Add to calendar" button (downloads <reference>.ics)
 *   manage-link     link to the manage page
 *   copy-link       copies the manage link
 *   book-another    starts again after a booking
 *   booking-status  the booking's status in words; data-status="<status code>"
 *   cancel          opens the cancel confirmation
 *   reason          the optional cancellation reason
 *   confirm-cancel  confirms the cancellation
 *   keep            keeps the booking (leaves the confirmation)
 *   reschedule      starts choosing a new time
 *   confirm-reschedule
 *                   confirms the move to the chosen time
 *   phone-link      the business's phone number (tel: link), where known
 *   book-again      manage mode, booking no longer active: link to the booking page
 *   zone-note       which time zone(s) the times are shown in
 *   no-slots        the day has nothing free any more
 *   brand, announcer
 *                   the business name; a visually hidden polite live region
 *                   for countdown milestones (the countdown itself is
 *                   role="timer", not announced every second)
 */
(() => {
  'use strict';

  const script = document.currentScript;
  if (!script) return;

  const NETWORK_SENTENCE =
    'We could not reach the booking service; check your connection and try again.';
  const MAX_MONTHS_AHEAD = 12;
  const DEFAULT_HOLD_MS = 10 * 60 * 1000; // the server's default hold time

  const attr = (name) => {
    const v = script.getAttribute(name);
    return v === null ? '' : v.trim();
  };

  function apiOrigin() {
    const override = attr('data-api');
    try {
      if (override) return new URL(override, location.href).origin;
      return new URL(script.src, location.href).origin;
    } catch (_) {
      return location.origin;
    }
  }

  const API = apiOrigin();
  const MODE = attr('data-mode') === 'manage' ? 'manage' : 'book';
  const readHash = () => new URLSearchParams((location.hash || '').replace(/^#/, ''));
  let SLUG = attr('data-business') || (MODE === 'manage' ? readHash().get('business') || '' : '');
  const PRESET_SERVICE = attr('data-service');
  const VISITOR_TZ = (() => {
    try {
      return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
    } catch (_) {
      return 'UTC';
    }
  })();
  const LOCALE = (() => {
    const l = (navigator.language || 'en-GB').toString();
    return /^en\b/i.test(l) ? l : 'en-GB';
  })();
  // "09:00" where clocks run to 24, "9:00 AM" where they run to 12
  const HOUR = (() => {
    try {
      return new Intl.DateTimeFormat(LOCALE, { hour: 'numeric' }).resolvedOptions().hour12 ? 'numeric' : '2-digit';
    } catch (_) {
      return '2-digit';
    }
  })();

  // ---------------------------------------------------------------- DOM helpers

  /** h('button', {class: 'x', onclick: fn, 'data-test': 'y'}, 'text', child) */
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    if (attrs) {
      for (const [k, v] of Object.entries(attrs)) {
        if (v === undefined || v === null || v === false) continue;
        if (k.startsWith('on') && typeof v === 'function') {
          el.addEventListener(k.slice(2), v);
        } else if (k === 'text') {
          el.textContent = v;
        } else if (v === true) {
          el.setAttribute(k, '');
        } else {
          el.setAttribute(k, String(v));
        }
      }
    }
    append(el, children);
    return el;
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  // ---------------------------------------------------------------- time helpers

  const pad = (n) => String(n).padStart(2, '0');

  function ymdParts(ymd) {
    const [y, m, d] = ymd.split('-').map(Number);
    return { y, m, d };
  }

  function ymd(y, m, d) {
    const t = new Date(Date.UTC(y, m - 1, d));
    return `${t.getUTCFullYear()}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}`;
  }

  function addDays(day, n) {
    const { y, m, d } = ymdParts(day);
    return ymd(y, m, d + n);
  }

  function daysInMonth(y, m) {
    return new Date(Date.UTC(y, m, 0)).getUTCDate();
  }

  /** Today's date (YYYY-MM-DD) in a zone. */
  function todayIn(tz) {
    return dateIn(new Date(), tz);
  }

  function dateIn(instant, tz) {
    try {
      const parts = new Intl.DateTimeFormat('en-US', {
        timeZone: tz,
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
      }).formatToParts(instant);
      const get = (t) => parts.find((p) => p.type === t).value;
      return `${get('year')}-${get('month')}-${get('day')}`;
    } catch (_) {
      const t = instant;
      return `${t.getFullYear()}-${pad(t.getMonth() + 1)}-${pad(t.getDate())}`;
    }
  }

  /** A calendar date in words, e.g. "Friday 4 December 2026". */
  function fmtDay(day, opts) {
    const { y, m, d } = ymdParts(day);
    return new Intl.DateTimeFormat(LOCALE, {
      timeZone: 'UTC',
      weekday: 'long',
      day: 'numeric',
      month: 'long',
      ...(opts || {}),
    }).format(new Date(Date.UTC(y, m - 1, d, 12)));
  }

  function fmtMonth(y, m) {
    return new Intl.DateTimeFormat(LOCALE, { timeZone: 'UTC', month: 'long', year: 'numeric' }).format(
      new Date(Date.UTC(y, m - 1, 15)),
    );
  }

  /** "09:00" for an instant in a zone; falls back to the text of local_start. */
  /** An instant as the API writes it: RFC 3339 in UTC, whole seconds. */
  function utcText(ms) {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  }

  /**
   * A compact slot (`14:00+01:00` on its day, resources as indexes into the
   * answer's list) as the full form writes it: start and end in UTC, the
   * local start with its offset, resource ids and seats.
   */
  function expandSlot(date, slot, answer) {
    const [, clock, offset] = /^(\d\d:\d\d(?::\d\d)?)([+-]\d\d:\d\d)$/.exec(slot.start);
    const localStart = `${date}T${clock.length === 5 ? `${clock}:00` : clock}${offset}`;
    const startMs = Date.parse(localStart);
    const named = (i) => answer.resources[i];
    return {
      start: utcText(startMs),
      end: utcText(startMs + answer.duration_minutes * 60000),
      local_start: localStart,
      resource_ids: slot.resources.map(named),
      choices: slot.choices.map((group) => group.map(named)),
      seats_left: slot.seats_left,
    };
  }

  function fmtTime(instant, tz, fallbackLocal) {
    try {
      return new Intl.DateTimeFormat(LOCALE, { timeZone: tz, hour: HOUR, minute: '2-digit' }).format(
        new Date(instant),
      );
    } catch (_) {
      return fallbackLocal ? fallbackLocal.slice(11, 16) : instant.slice(11, 16);
    }
  }

  function zoneCity(tz) {
    const last = (tz || '').split('/').pop() || tz;
    return last.replace(/_/g, ' ');
  }

  /** "London time" for Europe/London; zoneLabel(tz, true): "London time (Europe/London)". */
  function zoneLabel(tz, withId) {
    if (!tz) return '';
    if (tz === 'UTC' || tz === 'Etc/UTC') return 'UTC';
    return withId ? `${zoneCity(tz)} time (${tz})` : `${zoneCity(tz)} time`;
  }

  /** The visitor's wall time for an instant, when it differs from the location's. */
  function visitorTime(instant, locTz, locDay) {
    if (!VISITOR_TZ || VISITOR_TZ === locTz) return null;
    let mine, theirs;
    try {
      mine = fmtTime(instant, VISITOR_TZ);
      theirs = fmtTime(instant, locTz);
    } catch (_) {
      return null;
    }
    const myDay = dateIn(new Date(instant), VISITOR_TZ);
    if (mine === theirs && myDay === locDay) return null;
    const dayNote =
      myDay !== locDay ? ' ' + fmtDay(myDay, { weekday: 'short', month: 'short' }) : '';
    return `${mine}${dayNote} your time`;
  }

  function fmtWhen(startInstant, endInstant, tz) {
    const day = dateIn(new Date(startInstant), tz);
    const main = `${fmtDay(day, { year: 'numeric' })}, ${fmtTime(startInstant, tz)}–${fmtTime(endInstant, tz)}`;
    return { day, main };
  }

  function fmtDuration(minutes) {
    const m = Math.round(minutes);
    if (m % (24 * 60) === 0 && m >= 48 * 60) return `${m / (24 * 60)} days`;
    const hours = Math.floor(m / 60);
    const rest = m % 60;
    const parts = [];
    if (hours) parts.push(`${hours} hour${hours === 1 ? '' : 's'}`);
    if (rest || !hours) parts.push(`${rest} minute${rest === 1 ? '' : 's'}`);
    return parts.join(' ');
  }

  function fmtPrice(cents, currency) {
    if (cents === null || cents === undefined || !currency) return '';
    try {
      const f = new Intl.NumberFormat(LOCALE, { style: 'currency', currency });
      const digits = f.resolvedOptions().maximumFractionDigits;
      return f.format(cents / 10 ** digits);
    } catch (_) {
      return '';
    }
  }

  function fmtCountdown(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    return `${Math.floor(s / 60)}:${pad(s % 60)}`;
  }

  function fmtSeconds(s) {
    if (s < 120) return `${s} second${s === 1 ? '' : 's'}`;
    return `about ${Math.ceil(s / 60)} minutes`;
  }

  // ---------------------------------------------------------------- API client

  class ApiError extends Error {
    constructor(status, problem, headers, network) {
      super(problem && (problem.detail || problem.title) ? problem.detail || problem.title : `HTTP ${status}`);
      this.status = status;
      this.problem = problem || {};
      this.headers = headers;
      this.network = !!network;
    }
    get code() {
      return this.problem.code || '';
    }
  }

  /** Server clock minus client clock, learnt from Date headers when readable. */
  let clockSkew = 0;

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  /**
   * fetch() against the API; resolves {data, res} or throws ApiError. A GET
   * refused with 429 and a short Retry-After is tried once more after it.
   */
  async function api(method, path, opts = {}) {
    try {
      return await apiOnce(method, path, opts);
    } catch (err) {
      const wait = err instanceof ApiError && err.status === 429 ? retryAfterSeconds(err) : null;
      if (method !== 'GET' || opts.noRetry || wait === null || wait > 8) throw err;
      await sleep(wait * 1000);
      return apiOnce(method, path, opts);
    }
  }

  async function apiOnce(method, path, opts) {
    const headers = { Accept: 'application/json, application/problem+json' };
    if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
    if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
    Object.assign(headers, opts.headers || {});
    let res;
    try {
      res = await fetch(API + path, {
        method,
        headers,
        body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
        mode: 'cors',
        credentials: 'omit',
        cache: 'no-store',
        keepalive: !!opts.keepalive,
      });
    } catch (_) {
      throw new ApiError(0, null, null, true);
    }
    const date = res.headers.get('Date'); // readable same-origin, or when the server exposes it
    if (date) {
      const t = Date.parse(date);
      if (!Number.isNaN(t)) {
        const skew = t + 500 - Date.now(); // Date has whole seconds
        clockSkew = Math.abs(skew) > 2000 ? skew : 0;
      }
    }
    if (res.ok) {
      if (res.status === 204) return { data: null, res };
      if (opts.as === 'text') return { data: await res.text(), res };
      let data = null;
      try {
        data = await res.json();
      } catch (_) {
        data = null;
      }
      return { data, res };
    }
    let problem = null;
    try {
      const text = await res.text();
      problem = text ? JSON.parse(text) : null;
    } catch (_) {
      problem = null;
    }
    if (problem && typeof problem !== 'object') problem = null;
    throw new ApiError(res.status, problem, res.headers, false);
  }

  const enc = encodeURIComponent;

  function retryAfterSeconds(err) {
    let v = err.headers && err.headers.get('Retry-After');
    if (!v && err.problem) v = err.problem.retry_after ?? err.problem.retry_after_seconds;
    if (v === undefined || v === null || v === '') return null;
    const n = Number(v);
    if (Number.isFinite(n)) return Math.max(1, Math.ceil(n));
    const t = Date.parse(String(v));
    if (!Number.isNaN(t)) return Math.max(1, Math.ceil((t - Date.now()) / 1000));
    return null;
  }

  /** Minutes of a cutoff or notice rule: from the problem if it says, else from its detail text. */
  function ruleMinutes(problem) {
    for (const k of ['cutoff_minutes', 'minutes', 'min_notice_minutes', 'limit_minutes']) {
      if (Number.isFinite(Number(problem[k])) && problem[k] !== null && problem[k] !== '') return Number(problem[k]);
    }
    const m = /(\d+)\s*minutes?/i.exec(problem.detail || '');
    return m ? Number(m[1]) : null;
  }

  /**
   * A sentence for a person; never raw JSON. `ctx` says what was being done:
   * hold, book, cancel, reschedule, load-business, load-booking, load-times, ics.
   */
  function sentence(err, ctx, extra = {}) {
    if (!(err instanceof ApiError)) {
      return 'Something went wrong in this page. Please reload and try again.';
    }
    if (err.network) return NETWORK_SENTENCE;
    const p = err.problem;
    const phone = extra.phone ? ` Please call ${extra.phone} and we will help.` : '';
    switch (err.code) {
      case 'rate_limited': {
        const s = retryAfterSeconds(err);
        const when = s ? `in ${fmtSeconds(s)}` : 'in a few minutes';
        if (ctx === 'hold') {
          return `You are holding too many times at once. Finish or release one of them, or try again ${when}.`;
        }
        return `Too many requests from your network right now. Please try again ${when}.`;
      }
      case 'slot_unavailable':
        return ctx === 'reschedule'
          ? 'Sorry, that time has just been taken, so your booking was not moved. Please choose another time.'
          : 'Sorry, that time has just been taken. Please choose another time.';
      case 'hold_expired':
        return 'Your hold on this time lapsed before the booking was made, so the time was released. Please choose a time again.';
      case 'policy_violation': {
        const mins = ruleMinutes(p);
        switch (p.rule) {
          case 'cancel_cutoff':
            return (
              (mins !== null
                ? `Cancellations close ${fmtDuration(mins)} before the visit, so this booking can no longer be cancelled online.`
                : 'It is too close to the visit to cancel online.') + phone
            );
          case 'reschedule_cutoff':
            return (
              (mins !== null
                ? `Changes close ${fmtDuration(mins)} before the visit, so this booking can no longer be moved online.`
                : 'It is too close to the visit to move this booking online.') + phone
            );
          case 'min_notice':
            return mins !== null
              ? `This time is too soon: online bookings must be made at least ${fmtDuration(mins)} ahead. Please choose a later time.`
              : 'This time is too soon to book online. Please choose a later time.';
          case 'max_advance':
            return mins !== null
              ? `This time is too far ahead: bookings open ${fmtDuration(mins)} in advance. Please choose an earlier time.`
              : 'This time is too far ahead to book yet. Please choose an earlier time.';
          case 'channels':
            return 'This service cannot be booked online.' + phone;
          default:
            return (p.detail || 'This is not allowed by the business’s booking rules.') + phone;
        }
      }
      case 'paused': {
        const what =
          {
            location: 'at this location is',
            resource: 'with the staff or room this time needs is',
            business: 'with this business is',
          }[p.paused] || 'for this service is';
        const why = p.reason && p.reason !== 'paused' ? `: ${p.reason}` : '';
        return `Online booking ${what} paused for now${why}.`;
      }
      case 'validation_failed':
        return 'Please check the highlighted fields.';
      case 'not_found':
        if (ctx === 'load-business') return 'We could not find this business’s booking page.';
        if (ctx === 'load-booking' || ctx === 'cancel' || ctx === 'reschedule' || ctx === 'ics')
          return 'We could not find this booking. The link may be incomplete.';
        if (ctx === 'hold' || ctx === 'load-times') return 'This service is not available for online booking.';
        return 'We could not find what you asked for.';
      case 'unauthenticated':
        return 'This manage link is no longer valid (it may have expired). Please contact the business.';
      case 'forbidden':
        return 'This link does not allow that change. Please contact the business.';
      case 'version_mismatch':
        return 'This booking changed while you were looking at it. We have reloaded it; please try again.';
      case 'invalid_transition': {
        const s = p.booking_status ? statusWords(p.booking_status).toLowerCase() : '';
        return s
          ? `This booking is ${s}, so it can no longer be changed.`
          : 'This booking can no longer be changed.';
      }
      case 'outside_hours':
        return 'That time is outside opening hours. Please choose another time.';
      case 'unavailable':
      case 'idempotency_in_progress':
        return 'The booking service is busy right now. Please try again in a moment.';
      case 'internal_error':
        return 'Something went wrong on our side. Please try again in a moment.';
      default:
        if (p.detail) return p.detail;
        if (p.title) return p.title;
        if (err.status >= 500) return 'The booking service is having trouble. Please try again in a moment.';
        return `The booking service refused this request (error ${err.status}).`;
    }
  }

  function statusWords(status) {
    return (
      {
        confirmed: 'Confirmed',
        checked_in: 'Checked in',
        in_service: 'In progress',
        completed: 'Completed',
        cancelled: 'Cancelled',
        no_show: 'Missed (no-show)',
      }[status] || String(status || '').replace(/_/g, ' ')
    );
  }

  // ---------------------------------------------------------------- styles

  const CSS = `
:host { all: initial; display: block; contain: content; }
*, *::before, *::after { box-sizing: border-box; }
.sw {
  --accent: var(--sw-accent, #0b5cad);
  --radius: var(--sw-radius, 8px);
  font-family: var(--sw-font, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif);
  font-size: 16px; line-height: 1.45; color: #1d2125; background: #fff;
  max-width: 40rem; margin: 0 auto; padding: 1rem; border: 1px solid #d5d9de;
  border-radius: var(--radius); overflow-wrap: anywhere;
}
.brand { margin: 0 0 .25rem; font-size: .875rem; color: #4a5159; }
.brand:empty { display: none; }
h2 { font-size: 1.25rem; margin: .25rem 0 .75rem; line-height: 1.25; }
h2:focus { outline: none; }
h2:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
h3 { font-size: 1rem; margin: 1rem 0 .5rem; }
p { margin: .5rem 0; }
.muted { color: #4a5159; font-size: .875rem; }
button, .btn {
  font: inherit; font-size: 1rem; cursor: pointer; border-radius: var(--radius);
  border: 1px solid var(--accent); background: #fff; color: var(--accent);
  padding: .55rem .9rem; min-height: 44px; text-decoration: none; display: inline-flex;
  align-items: center; justify-content: center; gap: .25rem; text-align: center;
}
button.primary, .btn.primary { background: var(--accent); color: #fff; }
button.danger { border-color: #a4161a; background: #a4161a; color: #fff; }
button.link { border: none; background: none; padding: .25rem 0; min-height: 44px; text-decoration: underline; }
button:hover:not(:disabled), .btn:hover { filter: brightness(0.93); }
button:focus-visible, a:focus-visible, input:focus-visible, textarea:focus-visible {
  outline: 3px solid #f0b400; outline-offset: 2px;
}
button:disabled { cursor: not-allowed; opacity: 1; border-color: #e1e4e8; background: #f3f4f6; color: #6b7178; }
a { color: var(--accent); }
.row { display: flex; flex-wrap: wrap; gap: .5rem; align-items: center; margin: .75rem 0; }
.services { list-style: none; padding: 0; margin: 0; display: grid; gap: .5rem; }
.services button { width: 100%; flex-direction: column; align-items: flex-start; text-align: left; color: #1d2125; border-color: #c3c8ce; }
.services button:not(:disabled) .svc-name { color: var(--accent); }
.svc-name { font-weight: 600; }
.svc-meta { font-size: .875rem; color: #4a5159; }
.svc-desc { font-size: .875rem; color: #1d2125; }
.cal-head { display: flex; align-items: center; justify-content: space-between; gap: .5rem; margin-bottom: .5rem; }
.cal-head .month { font-weight: 600; text-align: center; flex: 1; }
.cal-head button { padding: .4rem .6rem; min-width: 44px; }
.cal { display: grid; grid-template-columns: repeat(7, minmax(0, 1fr)); gap: 4px; }
.cal .wd { text-align: center; font-size: .75rem; color: #4a5159; padding: .25rem 0; }
.cal button { padding: .25rem 0; min-width: 0; width: 100%; min-height: 44px; flex-direction: column; gap: 0; }
.cal button .dot { width: 6px; height: 6px; border-radius: 50%; background: currentColor; }
.cal button[aria-pressed="true"] { background: var(--accent); color: #fff; }
.cal button:disabled .dot { display: none; }
.slots { list-style: none; padding: 0; margin: 0; display: grid; grid-template-columns: repeat(auto-fill, minmax(6.5rem, 1fr)); gap: .5rem; }
.slots button { width: 100%; flex-direction: column; gap: 0; padding: .45rem .25rem; }
.slots .theirs { font-weight: 600; }
.slots .mine { font-size: .75rem; color: #4a5159; }
.slots button:hover .mine { color: inherit; }
.nearest { border-left: 4px solid var(--accent); padding-left: .75rem; }
.live:empty { display: none; }
.live { margin: .5rem 0; }
.msg { margin: 0 0 .5rem; padding: .6rem .75rem; border-radius: var(--radius); background: #eef4fb; border: 1px solid #c6dbf1; }
.msg.error { background: #fdf0f0; border-color: #e8b4b4; color: #8a1116; }
.timer { font-variant-numeric: tabular-nums; font-weight: 600; padding: .6rem .75rem; border-radius: var(--radius); background: #fff8e1; border: 1px solid #edd68a; color: #4d3b00; }
.summary { padding: .6rem .75rem; border-radius: var(--radius); background: #f6f7f9; border: 1px solid #e1e4e8; }
.field { margin: .75rem 0; display: flex; flex-direction: column; gap: .25rem; }
label { font-weight: 600; }
.hint { font-size: .875rem; color: #4a5159; }
input, textarea {
  font: inherit; font-size: 1rem; padding: .55rem .6rem; border: 1px solid #767d85; border-radius: var(--radius);
  width: 100%; max-width: 100%; background: #fff; color: #1d2125;
}
textarea { min-height: 4.5rem; }
input[aria-invalid="true"] { border-color: #a4161a; border-width: 2px; }
.field-error { color: #8a1116; font-size: .875rem; margin: 0; }
.ref { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 1.5rem; font-weight: 700; letter-spacing: .05em; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem .75rem; margin: .75rem 0; }
dt { color: #4a5159; }
dd { margin: 0; }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
@media (max-width: 420px) {
  .sw { padding: .75rem; border-radius: 0; border-left: none; border-right: none; }
  dl { grid-template-columns: 1fr; }
  dd { margin-bottom: .4rem; }
}
@media (prefers-reduced-motion: no-preference) { button { transition: filter .1s; } }
`;

  // ---------------------------------------------------------------- mounting

  function findTarget() {
    const sel = attr('data-target');
    if (sel) {
      try {
        return document.querySelector(sel);
      } catch (_) {
        return null;
      }
    }
    const div = document.createElement('div');
    div.className = 'slotwise-widget';
    script.insertAdjacentElement('afterend', div);
    return div;
  }

  function mount() {
    let host = findTarget();
    if (!host && attr('data-target') && document.readyState === 'loading') {
      document.addEventListener('DOMContentLoaded', mount, { once: true });
      return;
    }
    if (!host) {
      host = document.createElement('div');
      host.className = 'slotwise-widget';
      script.insertAdjacentElement('afterend', host);
    }
    if (host.shadowRoot) return; // already mounted
    const root = host.attachShadow({ mode: 'open' });
    new Widget(root).start();
  }

  // ---------------------------------------------------------------- the widget

  class Widget {
    constructor(shadow) {
      this.shadow = shadow;
      this.seq = 0; // bumps on every step change; stale async work checks it
      this.profile = null;
      this.service = null;
      this.location = null;
      this.tz = null;
      this.month = null; // {y, m}
      this.day = null;
      this.hold = null;
      this.holdTimer = null;
      this.booking = null;
      this.token = null;
      this.firstRender = true;
      this.closed = new Set(); // manage actions the server said are closed (cutoffs)

      // A constructed sheet where supported: host pages whose CSP forbids
      // inline <style> still style the widget.
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        shadow.adoptedStyleSheets = [sheet];
      } catch (_) {
        shadow.append(h('style', { text: CSS }));
      }
      this.brand = h('p', { class: 'brand', 'data-test': 'brand' });
      this.heading = h('h2', { tabindex: '-1', 'data-test': 'heading' }, 'Loading…');
      this.live = h('div', { class: 'live', 'aria-live': 'polite', 'data-test': 'live' });
      this.announcer = h('div', { class: 'sr-only', 'aria-live': 'polite', 'data-test': 'announcer' });
      this.stepEl = h('div', { class: 'step' });
      this.rootEl = h(
        'div',
        { class: 'sw', 'data-test': 'root', 'data-step': 'loading', lang: 'en', part: 'root' },
        this.brand,
        this.heading,
        this.live,
        this.stepEl,
        this.announcer,
      );
      shadow.append(this.rootEl);

      window.addEventListener('pagehide', () => this.releaseHold({ keepalive: true }));
    }

    // ------------------------------------------------------------ plumbing

    say(text, kind) {
      this.live.replaceChildren();
      if (!text) return;
      this.live.append(
        h('p', { class: kind === 'error' ? 'msg error' : 'msg', 'data-test': kind === 'error' ? 'error' : 'notice' }, text),
      );
    }

    sayError(err, ctx, extra) {
      this.say(sentence(err, ctx, extra), 'error');
    }

    announce(text) {
      this.announcer.textContent = '';
      // a separate task so screen readers notice a repeated message
      setTimeout(() => {
        this.announcer.textContent = text;
      }, 50);
    }

    /**
     * Shows a step: its heading, then the live region, then its content. Moves
     * focus to the heading, except on first paint (an embedded widget must not
     * steal focus or scroll its host page on load).
     */
    render(step, title, ...content) {
      this.seq++;
      this.rootEl.setAttribute('data-step', step);
      this.heading.textContent = title;
      this.stepEl.replaceChildren(...content.flat(Infinity).filter(Boolean));
      if (!this.firstRender) {
        if (this.shadow.activeElement === this.heading) this.heading.blur();
        this.heading.focus();
      }
      if (step !== 'loading') this.firstRender = false;
      return this.seq;
    }

    loading(text) {
      return this.render('loading', text || 'Loading…', h('p', { class: 'muted' }, 'One moment…'));
    }

    fatal(message) {
      this.render('fatal', 'Booking is not available', h('p', { class: 'msg error', 'data-test': 'error' }, message));
      this.live.replaceChildren();
    }

    start() {
      if (MODE === 'manage') {
        this.startManage();
        // another manage link opened in the same tab
        if (!attr('data-token')) window.addEventListener('hashchange', () => this.startManage());
      } else {
        this.startBooking();
      }
    }

    // ------------------------------------------------------------ shared: profile

    async loadProfile() {
      if (!SLUG) return null;
      const { data } = await api('GET', `/v1/public/businesses/${enc(SLUG)}`);
      this.profile = data;
      if (data && data.name) this.brand.textContent = data.name;
      return data;
    }

    locationOf(service) {
      const locs = (this.profile && this.profile.locations) || [];
      return locs.find((l) => l.id === service.location_id) || null;
    }

    businessPhone() {
      const loc = this.location || (this.profile && this.profile.locations && this.profile.locations[0]);
      return (loc && loc.phone) || (this.profile && this.profile.phone) || '';
    }

    useService(service, tz) {
      this.service = service;
      this.location = this.locationOf(service);
      this.tz = (this.location && this.location.timezone) || tz || (this.profile && this.profile.timezone) || 'UTC';
    }

    // ------------------------------------------------------------ booking flow

    async startBooking() {
      this.loading('Loading booking page…');
      if (!SLUG) {
        this.fatal('This booking widget is missing its business (data-business).');
        return;
      }
      try {
        await this.loadProfile();
      } catch (err) {
        this.fatal(sentence(err, 'load-business'));
        return;
      }
      const services = (this.profile && this.profile.services) || [];
      if (PRESET_SERVICE) {
        const s = services.find((x) => x.id === PRESET_SERVICE);
        if (s && !this.pausedNote(s)) {
          this.useService(s);
          this.showDays({ auto: true });
          return;
        }
      }
      this.showServices();
    }

    pausedNote(service) {
      const loc = this.locationOf(service);
      if (service.paused) return `Paused${service.pause_reason ? `: ${service.pause_reason}` : ''}`;
      if (loc && loc.paused) return `Paused at this location${loc.pause_reason ? `: ${loc.pause_reason}` : ''}`;
      return '';
    }

    showServices(message) {
      this.service = null;
      const services = (this.profile && this.profile.services) || [];
      if (!services.length) {
        this.render(
          'services',
          'Book an appointment',
          h('p', { 'data-test': 'notice', class: 'msg' }, 'There are no services to book online right now.'),
        );
        return;
      }
      const list = h(
        'ul',
        { class: 'services' },
        services.map((s) => {
          const paused = this.pausedNote(s);
          const loc = this.locationOf(s);
          const meta = [
            s.duration_minutes ? fmtDuration(s.duration_minutes) : '',
            fmtPrice(s.price_cents, s.currency),
            loc && this.profile.locations.length > 1 ? loc.name : '',
          ]
            .filter(Boolean)
            .join(' · ');
          return h(
            'li',
            null,
            h(
              'button',
              {
                type: 'button',
                'data-test': 'service',
                'data-service-id': s.id,
                disabled: !!paused,
                onclick: () => {
                  this.useService(s);
                  this.say('');
                  this.showDays({ auto: true });
                },
              },
              h('span', { class: 'svc-name' }, s.name),
              meta ? h('span', { class: 'svc-meta' }, meta) : null,
              s.description ? h('span', { class: 'svc-desc' }, s.description) : null,
              paused ? h('span', { class: 'svc-meta' }, paused) : null,
            ),
          );
        }),
      );
      this.render('services', 'Choose a service', list);
      if (message) this.say(message.text, message.kind);
      else this.say('');
    }

    /** Free slot counts per day for [from, to] (≤ 31 days). */
    async fetchDays(from, to) {
      const sid = enc(this.service.id);
      try {
        const { data } = await api('GET', `/v1/availability/days?service_id=${sid}&from=${from}&to=${to}`);
        if (data && data.timezone && !this.location) this.tz = data.timezone;
        return new Map((data.days || []).map((d) => [d.date, Number(d.free_slots) || 0]));
      } catch (err) {
        // Servers older than /v1/availability/days: count the slots instead.
        if (!(err instanceof ApiError) || err.status !== 404) throw err;
        const { data } = await api('GET', `/v1/availability?service_id=${sid}&from=${from}&to=${to}`);
        if (data && data.timezone && !this.location) this.tz = data.timezone;
        return new Map((data.days || []).map((d) => [d.date, (d.slots || []).length]));
      }
    }

    /**
     * The month view. opts.auto: move on to the next month when this one has
     * nothing free (at most twice). opts.reschedule: for the manage flow.
     */
    async showDays(opts = {}) {
      const resched = !!opts.reschedule;
      const step = resched ? 'reschedule-days' : 'days';
      const today = todayIn(this.tz);
      if (!this.month) {
        const t = ymdParts(today);
        this.month = { y: t.y, m: t.m };
      }
      const { y, m } = this.month;
      const first = ymd(y, m, 1);
      const last = ymd(y, m, daysInMonth(y, m));
      const from = first < today ? today : first;
      const title = resched ? 'Choose a new day' : 'Choose a day';
      const seq = this.render(step, title, h('p', { class: 'muted' }, `Loading ${fmtMonth(y, m)}…`));
      if (opts.message) this.say(opts.message.text, opts.message.kind);
      else this.say('');
      let free = new Map();
      if (from <= last) {
        try {
          free = await this.fetchDays(from, last);
        } catch (err) {
          if (seq !== this.seq) return;
          this.sayError(err, 'load-times');
          this.renderCalendar(free, today, opts);
          return;
        }
      }
      if (seq !== this.seq) return;
      const anyFree = [...free.values()].some((n) => n > 0);
      const t = ymdParts(today);
      const monthsAhead = (y - t.y) * 12 + (m - t.m);
      if (!anyFree && opts.auto && (opts.tries || 0) < 2 && monthsAhead < MAX_MONTHS_AHEAD) {
        this.month = nextMonth(this.month);
        this.showDays({ ...opts, tries: (opts.tries || 0) + 1 });
        return;
      }
      this.renderCalendar(free, today, opts);
      if (!anyFree && !opts.message) this.say(`No free times in ${fmtMonth(y, m)}. Try another month.`);
    }

    renderCalendar(free, today, opts) {
      const { y, m } = this.month;
      const t = ymdParts(today);
      const monthsAhead = (y - t.y) * 12 + (m - t.m);
      const go = (delta) => {
        this.month = delta > 0 ? nextMonth(this.month) : prevMonth(this.month);
        this.showDays({ reschedule: opts.reschedule, focusNav: delta > 0 ? 'next' : 'prev' });
      };
      const prev = h(
        'button',
        {
          type: 'button',
          'data-test': 'prev-month',
          'aria-label': `Previous month, ${fmtMonth(prevMonth(this.month).y, prevMonth(this.month).m)}`,
          disabled: monthsAhead <= 0,
          onclick: () => go(-1),
        },
        '‹',
      );
      const next = h(
        'button',
        {
          type: 'button',
          'data-test': 'next-month',
          'aria-label': `Next month, ${fmtMonth(nextMonth(this.month).y, nextMonth(this.month).m)}`,
          disabled: monthsAhead >= MAX_MONTHS_AHEAD,
          onclick: () => go(1),
        },
        '›',
      );
      const weekdays = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].map((d) =>
        h('div', { class: 'wd', 'aria-hidden': 'true' }, d),
      );
      const cells = [];
      const firstWeekday = (new Date(Date.UTC(y, m - 1, 1)).getUTCDay() + 6) % 7; // Monday = 0
      for (let i = 0; i < firstWeekday; i++) cells.push(h('div', { 'aria-hidden': 'true' }));
      const n = daysInMonth(y, m);
      for (let d = 1; d <= n; d++) {
        const date = ymd(y, m, d);
        const count = free.get(date) || 0;
        const words = fmtDay(date);
        const label =
          date < today
            ? `${words}: past`
            : count > 0
              ? `${words}: ${count} free time${count === 1 ? '' : 's'}`
              : `${words}: nothing free`;
        cells.push(
          h(
            'button',
            {
              type: 'button',
              'data-test': 'day',
              'data-date': date,
              'data-free': String(count),
              'aria-label': label,
              'aria-pressed': this.day === date ? 'true' : 'false',
              disabled: count <= 0,
              onclick: () => {
                this.day = date;
                this.showSlots({ reschedule: opts.reschedule });
              },
            },
            h('span', null, String(d)),
            h('span', { class: 'dot', 'aria-hidden': 'true' }),
          ),
        );
      }
      const grid = h('div', { class: 'cal', role: 'group', 'aria-label': fmtMonth(y, m) }, weekdays, cells);
      grid.addEventListener('keydown', (e) => this.calendarKeys(e, grid));
      const back = opts.reschedule
        ? h('button', { type: 'button', class: 'link', 'data-test': 'back', onclick: () => this.showBooking() }, 'Keep the current time')
        : this.profile && this.profile.services && this.profile.services.length > 1
          ? h('button', { type: 'button', class: 'link', 'data-test': 'back', onclick: () => this.showServices() }, 'Choose another service')
          : null;
      const svcLine = this.service
        ? h('p', { class: 'muted' }, `${this.service.name || 'Your booking'} · days in ${zoneLabel(this.tz, true)}`)
        : null;
      // fills in the step that showDays rendered
      this.stepEl.replaceChildren(
        svcLine,
        h(
          'div',
          { class: 'cal-head' },
          prev,
          h('div', { class: 'month', 'data-test': 'month-label', 'aria-live': 'polite' }, fmtMonth(y, m)),
          next,
        ),
        grid,
        back ? h('div', { class: 'row' }, back) : null,
      );
      if (opts.focusNav) {
        const b = opts.focusNav === 'next' ? next : prev;
        (b.disabled ? this.heading : b).focus();
      }
    }

    calendarKeys(e, grid) {
      const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -7, ArrowDown: 7 };
      if (!(e.key in moves)) return;
      const days = [...grid.querySelectorAll('button[data-test="day"]')];
      let i = days.indexOf(this.shadow.activeElement);
      if (i < 0) return;
      const step = moves[e.key];
      for (i += step; i >= 0 && i < days.length; i += step) {
        if (!days[i].disabled) {
          days[i].focus();
          e.preventDefault();
          return;
        }
      }
    }

    async fetchSlots(day) {
      // The compact form: a third of the bytes, expanded here to the slots
      // the rest of the widget reads.
      const { data } = await api(
        'GET',
        `/v1/availability?service_id=${enc(this.service.id)}&from=${day}&to=${day}&form=compact`,
      );
      if (data && data.timezone) this.tz = data.timezone;
      const d = (data.days || []).find((x) => x.date === day);
      return d ? (d.slots || []).map((s) => expandSlot(d.date, s, data)) : [];
    }

    /** The slots of this.day. opts.taken: the start someone just took (offer the nearest). */
    async showSlots(opts = {}) {
      const resched = !!opts.reschedule;
      const step = resched ? 'reschedule-slots' : 'slots';
      const day = this.day;
      const title = `Choose a time on ${fmtDay(day)}`;
      const loadingLine = h('p', { class: 'muted' }, 'Loading times…');
      const seq = this.render(step, title, loadingLine);
      if (opts.message) this.say(opts.message.text, opts.message.kind);
      else this.say('');
      let slots;
      try {
        slots = await this.fetchSlots(day);
      } catch (err) {
        if (seq !== this.seq) return;
        this.sayError(err, 'load-times');
        loadingLine.remove();
        this.stepEl.append(
          h(
            'div',
            { class: 'row' },
            h('button', { type: 'button', 'data-test': 'retry', onclick: () => this.showSlots({ reschedule: resched }) }, 'Try again'),
            h('button', { type: 'button', class: 'link', 'data-test': 'back', onclick: () => this.showDays({ reschedule: resched }) }, 'Choose another day'),
          ),
        );
        return;
      }
      if (seq !== this.seq) return;
      const tz = this.tz;
      const slotButton = (s, test) => {
        const mine = visitorTime(s.start, tz, day);
        const theirs = fmtTime(s.start, tz, s.local_start);
        const seats = s.seats_left > 1 ? `${s.seats_left} places left` : '';
        const label = [`${theirs} ${zoneLabel(tz)}`, mine ? `${mine} (${VISITOR_TZ})` : '', seats].filter(Boolean).join(', ');
        return h(
          'li',
          null,
          h(
            'button',
            {
              type: 'button',
              'data-test': test,
              'data-start': s.start,
              'aria-label': label,
              onclick: (e) => (resched ? this.confirmReschedule(s) : this.takeSlot(s, e.currentTarget)),
            },
            h('span', { class: 'theirs' }, theirs),
            mine ? h('span', { class: 'mine' }, mine) : null,
            seats ? h('span', { class: 'mine' }, seats) : null,
          ),
        );
      };
      const content = [];
      const differs = slots.some((s) => visitorTime(s.start, tz, day));
      content.push(
        h(
          'p',
          { class: 'muted', 'data-test': 'zone-note' },
          differs
            ? `Times are in ${zoneLabel(tz, true)}, where the appointment takes place. The smaller time below each is your time (${VISITOR_TZ}).`
            : `Times are in ${zoneLabel(tz, true)}.`,
        ),
      );
      if (opts.taken && slots.length) {
        const target = Date.parse(opts.taken);
        const nearest = [...slots]
          .sort((a, b) => Math.abs(Date.parse(a.start) - target) - Math.abs(Date.parse(b.start) - target))
          .slice(0, 3)
          .sort((a, b) => Date.parse(a.start) - Date.parse(b.start));
        content.push(
          h(
            'div',
            { class: 'nearest' },
            h('h3', null, 'Nearest free times'),
            h('ul', { class: 'slots' }, nearest.map((s) => slotButton(s, 'nearest-slot'))),
          ),
          h('h3', null, 'All free times that day'),
        );
      }
      if (slots.length) {
        content.push(h('ul', { class: 'slots', 'aria-label': `Times on ${fmtDay(day)}` }, slots.map((s) => slotButton(s, 'slot'))));
      } else {
        content.push(h('p', { 'data-test': 'no-slots' }, 'Nothing is free on this day any more. Please choose another day.'));
      }
      content.push(
        h(
          'div',
          { class: 'row' },
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              'data-test': 'back',
              onclick: () => this.showDays({ reschedule: resched }),
            },
            'Choose another day',
          ),
        ),
      );
      loadingLine.remove();
      this.stepEl.append(...content);
    }

    async takeSlot(slot, button) {
      const buttons = this.stepEl.querySelectorAll('button');
      buttons.forEach((b) => (b.disabled = true));
      if (button) button.setAttribute('aria-busy', 'true');
      this.say('Holding this time for you…');
      await this.releaseHold();
      let hold;
      try {
        const { data } = await api('POST', '/v1/holds', { body: { service_id: this.service.id, start: slot.start } });
        hold = data;
      } catch (err) {
        buttons.forEach((b) => (b.disabled = false));
        if (button) button.removeAttribute('aria-busy');
        if (err.code === 'slot_unavailable') {
          this.showSlots({ taken: slot.start, message: { text: sentence(err, 'hold'), kind: 'error' } });
        } else {
          this.sayError(err, 'hold', { phone: this.businessPhone() });
        }
        return;
      }
      this.hold = hold;
      // The hold was made just now, so a countdown that is already over (or
      // hours long) means this device's clock is off and the server's Date
      // header was not readable: count from the server's default hold time.
      const left = Date.parse(hold.expires_at) - (Date.now() + clockSkew);
      if (!(left > 5000 && left < 6 * 3600 * 1000)) {
        clockSkew = Date.parse(hold.expires_at) - DEFAULT_HOLD_MS - Date.now();
      }
      this.showDetails();
    }

    async releaseHold(opts = {}) {
      this.stopTimer();
      const hold = this.hold;
      this.hold = null;
      if (!hold) {
        if (opts.keepalive && this.unreleased) {
          api('DELETE', `/v1/holds/${enc(this.unreleased)}`, { keepalive: true }).catch(() => {});
        }
        return;
      }
      const path = `/v1/holds/${enc(hold.id)}`;
      try {
        await api('DELETE', path, { keepalive: !!opts.keepalive });
      } catch (err) {
        // It lapses by itself anyway; when refused for the rate limit, try
        // once more later so the time is free for others sooner.
        const wait = err instanceof ApiError && err.status === 429 ? retryAfterSeconds(err) : null;
        if (wait !== null && wait <= 60 && !opts.keepalive) {
          this.unreleased = hold.id;
          setTimeout(() => {
            api('DELETE', path).then(
              () => {
                if (this.unreleased === hold.id) this.unreleased = null;
              },
              () => {},
            );
          }, wait * 1000);
        }
      }
    }

    stopTimer() {
      if (this.holdTimer) clearInterval(this.holdTimer);
      this.holdTimer = null;
    }

    startCountdown(el) {
      this.stopTimer();
      const hold = this.hold;
      const expires = Date.parse(hold.expires_at);
      const spoke = new Set();
      const tick = () => {
        if (this.hold !== hold) return this.stopTimer();
        const left = expires - (Date.now() + clockSkew);
        if (left <= 0) {
          // a booking on its way decides by itself (booked, or 410 hold_expired)
          if (!this.submitting) this.lapse();
          el.textContent = 'Your hold has run out.';
          return;
        }
        el.textContent = `We are holding this time for you: ${fmtCountdown(left)} left.`;
        const mins = Math.ceil(left / 60000);
        if (!spoke.has(mins) && (mins === 1 || mins === 2)) {
          spoke.add(mins);
          this.announce(`${mins === 1 ? 'One minute' : 'Two minutes'} left to finish your booking.`);
        }
      };
      tick();
      this.holdTimer = setInterval(tick, 1000);
    }

    async lapse() {
      const day = this.day;
      const hold = this.hold;
      await this.releaseHold();
      const text = `Your hold on ${hold ? fmtTime(hold.start, this.tz, hold.local_start) : 'this time'} lapsed, so the time is free for others again. Please choose a time.`;
      this.day = day;
      this.showSlots({ message: { text, kind: 'error' } });
    }

    showDetails(fieldErrors) {
      const hold = this.hold;
      const when = fmtWhen(hold.start, hold.end, this.tz);
      const mine = visitorTime(hold.start, this.tz, when.day);
      const timer = h('p', {
        class: 'timer',
        role: 'timer',
        'aria-live': 'off',
        'aria-atomic': 'true',
        'data-test': 'countdown',
        'data-expires-at': hold.expires_at,
      });
      const field = (name, label, type, autocomplete, hint) => {
        const id = `sw-${name}`;
        const hintId = hint ? `${id}-hint` : null;
        const errId = `${id}-error`;
        const input = h('input', {
          id,
          name,
          type,
          autocomplete,
          'data-test': name,
          'aria-describedby': [hintId, errId].filter(Boolean).join(' '),
          required: name === 'name' ? true : null,
          inputmode: type === 'tel' ? 'tel' : null,
          spellcheck: type === 'email' ? 'false' : null,
        });
        const error = h('p', { id: errId, class: 'field-error', 'data-field': `customer.${name}` });
        return {
          input,
          error,
          el: h(
            'div',
            { class: 'field' },
            h('label', { for: id }, label),
            hint ? h('span', { id: hintId, class: 'hint' }, hint) : null,
            input,
            error,
          ),
        };
      };
      const f = {
        name: field('name', 'Name', 'text', 'name'),
        email: field('email', 'Email', 'email', 'email', 'Give an email or a phone number (or both), so the business can reach you.'),
        phone: field('phone', 'Phone', 'tel', 'tel'),
      };
      if (this.draft) {
        for (const k of Object.keys(f)) f[k].input.value = this.draft[k] || '';
      }
      const submit = h('button', { type: 'submit', class: 'primary', 'data-test': 'submit' }, 'Book this time');
      const form = h(
        'form',
        { novalidate: true, 'aria-label': 'Your details' },
        f.name.el,
        f.email.el,
        f.phone.el,
        h(
          'div',
          { class: 'row' },
          submit,
          h(
            'button',
            {
              type: 'button',
              'data-test': 'release',
              onclick: async () => {
                this.draft = this.readForm(f);
                await this.releaseHold();
                this.showSlots({ message: { text: 'We released the time you held.', kind: 'notice' } });
              },
            },
            'Choose another time',
          ),
        ),
      );
      form.addEventListener('submit', (e) => {
        e.preventDefault();
        this.submitBooking(f, submit);
      });
      this.render(
        'details',
        'Your details',
        h(
          'div',
          { class: 'summary', 'data-test': 'summary' },
          h('strong', null, this.service.name || 'Appointment'),
          h('br'),
          h('span', { 'data-test': 'when' }, `${when.main} ${zoneLabel(this.tz)}`),
          mine ? [h('br'), h('span', { class: 'muted' }, `${mine} (${VISITOR_TZ})`)] : null,
          this.location && this.location.address ? [h('br'), h('span', { class: 'muted' }, this.location.address)] : null,
        ),
        timer,
        form,
      );
      this.say('');
      this.startCountdown(timer);
      const minutes = Math.max(1, Math.round((Date.parse(hold.expires_at) - Date.now() - clockSkew) / 60000));
      this.announce(`This time is held for you for ${minutes} minute${minutes === 1 ? '' : 's'} while you enter your details.`);
      if (fieldErrors) this.showFieldErrors(f, fieldErrors);
    }

    readForm(f) {
      return { name: f.name.input.value.trim(), email: f.email.input.value.trim(), phone: f.phone.input.value.trim() };
    }

    showFieldErrors(f, errors) {
      let firstBad = null;
      for (const [k, fld] of Object.entries(f)) {
        const msg = errors[`customer.${k}`] || errors[k];
        fld.error.replaceChildren();
        fld.error.removeAttribute('data-test');
        fld.input.removeAttribute('aria-invalid');
        if (msg) {
          const label = { name: 'Name', email: 'Email', phone: 'Phone' }[k];
          const text = /^[a-z]/.test(msg) ? `${label} ${msg}.`.replace(/\.\.$/, '.') : msg;
          fld.error.textContent = text;
          fld.error.setAttribute('data-test', 'field-error');
          fld.input.setAttribute('aria-invalid', 'true');
          if (!firstBad) firstBad = fld.input;
        }
      }
      const other = Object.entries(errors).filter(
        ([k]) => !['customer.name', 'customer.email', 'customer.phone', 'name', 'email', 'phone'].includes(k),
      );
      const general = other.map(([k, v]) => (k === 'customer' ? v : `${k.replace(/^customer\./, '')}: ${v}`));
      if (general.length) this.say(`Please check your details: ${general.join('; ')}.`, 'error');
      else if (firstBad) this.say('Please check the highlighted fields.', 'error');
      else this.say('');
      if (firstBad) firstBad.focus();
    }

    async submitBooking(f, submit) {
      const v = this.readForm(f);
      const errors = {};
      if (!v.name) errors['customer.name'] = 'Please enter your name.';
      if (!v.email && !v.phone) errors['customer.email'] = 'Please give an email or a phone number.';
      if (v.email && !/^[^\s@]+@[^\s@]+$/.test(v.email)) errors['customer.email'] = 'This does not look like an email address.';
      if (Object.keys(errors).length) {
        this.showFieldErrors(f, errors);
        return;
      }
      this.showFieldErrors(f, {});
      this.say('Booking…');
      submit.disabled = true;
      const customer = { name: v.name };
      if (v.email) customer.email = v.email;
      if (v.phone) customer.phone = v.phone;
      let booking;
      this.submitting = true;
      try {
        const { data } = await api('POST', '/v1/bookings', { body: { hold_id: this.hold.id, customer } });
        booking = data;
      } catch (err) {
        this.submitting = false;
        submit.disabled = false;
        if (err.code === 'validation_failed' && err.problem.errors) {
          this.showFieldErrors(f, err.problem.errors);
        } else if (err.code === 'hold_expired' || err.code === 'slot_unavailable') {
          const taken = this.hold && this.hold.start;
          this.draft = v;
          this.stopTimer();
          this.hold = null;
          this.showSlots({ taken: err.code === 'slot_unavailable' ? taken : null, message: { text: sentence(err, 'book'), kind: 'error' } });
        } else {
          this.sayError(err, 'book', { phone: this.businessPhone() });
        }
        return;
      }
      this.submitting = false;
      this.stopTimer();
      this.hold = null;
      this.draft = null;
      this.booking = booking;
      this.token = booking.manage_token || null;
      this.showDone();
    }

    manageUrl(booking) {
      const parts = [`token=${enc(booking.manage_token || this.token || '')}`, `booking=${enc(booking.id)}`];
      if (SLUG) parts.push(`business=${enc(SLUG)}`);
      return `${API}/manage#${parts.join('&')}`;
    }

    bookingFacts(b) {
      const tz = b.timezone || this.tz;
      const when = fmtWhen(b.start, b.end, tz);
      const mine = visitorTime(b.start, tz, when.day);
      const service = this.service && this.service.id === b.service_id ? this.service : this.serviceById(b.service_id);
      const loc = this.locationOf({ location_id: b.location_id });
      return h(
        'dl',
        null,
        h('dt', null, 'Reference'),
        h('dd', null, h('span', { class: 'ref', 'data-test': 'reference' }, b.reference)),
        service ? [h('dt', null, 'Service'), h('dd', { 'data-test': 'service-name' }, service.name)] : null,
        h('dt', null, 'When'),
        h(
          'dd',
          null,
          h('span', { 'data-test': 'when' }, `${when.main} ${zoneLabel(tz)}`),
          mine ? [h('br'), h('span', { class: 'muted' }, `${mine} (${VISITOR_TZ})`)] : null,
        ),
        loc ? [h('dt', null, 'Where'), h('dd', null, [loc.name, loc.address].filter(Boolean).join(', '))] : null,
        h('dt', null, 'Status'),
        h('dd', { 'data-test': 'booking-status', 'data-status': b.status }, statusWords(b.status)),
      );
    }

    serviceById(id) {
      const list = (this.profile && this.profile.services) || [];
      return list.find((s) => s.id === id) || null;
    }

    icsButton(b) {
      return h(
        'button',
        { type: 'button', 'data-test': 'ics', onclick: (e) => this.downloadIcs(b, e.currentTarget) },
        'Add to calendar (.ics)',
      );
    }

    async downloadIcs(b, button) {
      const token = b.manage_token || this.token;
      button.disabled = true;
      try {
        const { data } = await api('GET', `/v1/bookings/${enc(b.id)}/ics`, {
          token,
          as: 'text',
          headers: { Accept: 'text/calendar' },
        });
        const url = URL.createObjectURL(new Blob([data], { type: 'text/calendar' }));
        const a = h('a', { href: url, download: `${b.reference}.ics`, hidden: true });
        this.shadow.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
        this.say('The calendar file is downloading. Open it to add the visit to your calendar.');
      } catch (err) {
        this.sayError(err, 'ics');
      } finally {
        button.disabled = false;
      }
    }

    showDone() {
      const b = this.booking;
      const url = this.manageUrl(b);
      const link = h('a', { href: url, 'data-test': 'manage-link', target: '_blank', rel: 'noopener' }, 'Manage or cancel this booking');
      const copy = h(
        'button',
        {
          type: 'button',
          class: 'link',
          'data-test': 'copy-link',
          onclick: async () => {
            try {
              await navigator.clipboard.writeText(url);
              this.say('The manage link is copied.');
            } catch (_) {
              this.say(`Copy this link: ${url}`);
            }
          },
        },
        'Copy link',
      );
      this.render(
        'done',
        'You are booked',
        this.bookingFacts(b),
        h('div', { class: 'row' }, this.icsButton(b)),
        h('p', null, link, ' · ', copy),
        h(
          'p',
          { class: 'muted' },
          'Keep this link: it lets you see, move or cancel the booking without an account. Anyone who has it can change the booking.',
        ),
        h(
          'div',
          { class: 'row' },
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              'data-test': 'book-another',
              onclick: () => {
                this.booking = null;
                this.day = null;
                this.showServices();
              },
            },
            'Book another appointment',
          ),
        ),
      );
      this.say(`Booked. Your reference is ${b.reference}.`);
    }

    // ------------------------------------------------------------ manage flow

    async startManage() {
      this.loading('Loading your booking…');
      const hash = readHash();
      if (!attr('data-business')) SLUG = hash.get('business') || '';
      this.token = attr('data-token') || hash.get('token') || '';
      this.bookingId = attr('data-booking') || hash.get('booking') || '';
      this.profile = null;
      this.closed.clear();
      this.brand.textContent = '';
      if (!this.token || !this.bookingId) {
        this.fatal(
          'This page needs the full link from your booking confirmation (it ends with #token=…&booking=…). Please open that link again.',
        );
        return;
      }
      const [profile, booking] = await Promise.allSettled([
        this.loadProfile(),
        api('GET', `/v1/bookings/${enc(this.bookingId)}`, { token: this.token }),
      ]);
      void profile; // optional: only for names and the phone number
      if (booking.status === 'rejected') {
        this.fatal(sentence(booking.reason, 'load-booking'));
        return;
      }
      this.booking = booking.value.data;
      const svc = this.serviceById(this.booking.service_id);
      this.service = svc || { id: this.booking.service_id, name: '', location_id: this.booking.location_id };
      this.location = this.locationOf(this.service);
      this.tz = this.booking.timezone || (this.location && this.location.timezone) || 'UTC';
      if (!this.brand.textContent) this.brand.textContent = 'Your booking';
      this.showBooking();
    }

    showBooking(message) {
      const b = this.booking;
      const active = b.status === 'confirmed';
      const phone = this.businessPhone();
      this.render(
        'manage',
        b.status === 'cancelled' ? 'Your booking is cancelled' : 'Your booking',
        this.bookingFacts(b),
        active
          ? h(
              'div',
              { class: 'row' },
              this.closed.has('reschedule')
                ? null
                : h('button', { type: 'button', 'data-test': 'reschedule', onclick: () => this.startReschedule() }, 'Change time'),
              this.closed.has('cancel')
                ? null
                : h('button', { type: 'button', 'data-test': 'cancel', onclick: () => this.showCancelConfirm() }, 'Cancel booking'),
              this.icsButton(b),
            )
          : null,
        !active && this.profile && this.profile.booking_url
          ? h('p', null, h('a', { href: new URL(this.profile.booking_url, API + '/').href, 'data-test': 'book-again' }, 'Book another appointment'))
          : null,
        phone
          ? h('p', { class: 'muted' }, 'Questions? Call ', h('a', { href: `tel:${phone.replace(/[^\d+]/g, '')}`, 'data-test': 'phone-link' }, phone), '.')
          : null,
      );
      if (message) this.say(message.text, message.kind);
      else this.say('');
    }

    showCancelConfirm() {
      const b = this.booking;
      const when = fmtWhen(b.start, b.end, b.timezone || this.tz);
      const reason = h('textarea', { id: 'sw-reason', name: 'reason', 'data-test': 'reason', maxlength: '500', 'aria-describedby': 'sw-reason-error' });
      const reasonError = h('p', { id: 'sw-reason-error', class: 'field-error', 'data-field': 'reason' });
      const confirm = h('button', { type: 'submit', class: 'danger', 'data-test': 'confirm-cancel' }, 'Yes, cancel booking');
      const form = h(
        'form',
        { novalidate: true },
        h('p', null, `Cancel your booking ${b.reference} on ${when.main}?`),
        h(
          'div',
          { class: 'field' },
          h('label', { for: 'sw-reason' }, 'Reason (optional)'),
          reason,
          reasonError,
        ),
        h(
          'div',
          { class: 'row' },
          confirm,
          h('button', { type: 'button', 'data-test': 'keep', onclick: () => this.showBooking() }, 'Keep booking'),
        ),
      );
      form.addEventListener('submit', async (e) => {
        e.preventDefault();
        confirm.disabled = true;
        this.say('Cancelling…');
        const text = reason.value.trim();
        try {
          const { data } = await api('POST', `/v1/bookings/${enc(b.id)}/cancel`, {
            token: this.token,
            body: text ? { reason: text } : {},
            headers: { 'If-Match': `"v${b.version}"` },
          });
          this.booking = data;
          this.showBooking({ text: 'Your booking is cancelled. The time is free for others again.', kind: 'notice' });
        } catch (err) {
          confirm.disabled = false;
          if (err.code === 'validation_failed' && err.problem.errors && err.problem.errors.reason) {
            reasonError.textContent = `Reason ${err.problem.errors.reason}.`;
            reasonError.setAttribute('data-test', 'field-error');
            this.say('Please check the reason.', 'error');
            return;
          }
          if (err.code === 'version_mismatch' || err.code === 'invalid_transition') {
            await this.reloadBooking();
            this.showBooking({ text: sentence(err, 'cancel'), kind: 'error' });
            return;
          }
          if (err.code === 'policy_violation') {
            this.closed.add('cancel');
            this.showBooking({ text: sentence(err, 'cancel', { phone: this.businessPhone() }), kind: 'error' });
            return;
          }
          this.sayError(err, 'cancel', { phone: this.businessPhone() });
        }
      });
      this.render('cancel-confirm', 'Cancel this booking?', form);
      this.say('');
    }

    async reloadBooking() {
      try {
        const { data } = await api('GET', `/v1/bookings/${enc(this.booking.id)}`, { token: this.token });
        this.booking = data;
      } catch (_) {
        // keep what we have
      }
    }

    startReschedule() {
      this.month = null;
      this.day = null;
      this.showDays({ reschedule: true, auto: true });
    }

    confirmReschedule(slot) {
      const b = this.booking;
      const tz = this.tz;
      const oldWhen = fmtWhen(b.start, b.end, b.timezone || tz);
      const newWhen = fmtWhen(slot.start, slot.end, tz);
      const confirm = h(
        'button',
        {
          type: 'button',
          class: 'primary',
          'data-test': 'confirm-reschedule',
          onclick: () => this.doReschedule(slot, confirm),
        },
        'Move my booking',
      );
      this.render(
        'reschedule-confirm',
        'Move your booking?',
        h('dl', null, h('dt', null, 'From'), h('dd', null, oldWhen.main), h('dt', null, 'To'), h('dd', { 'data-test': 'when' }, `${newWhen.main} ${zoneLabel(tz)}`)),
        h(
          'div',
          { class: 'row' },
          confirm,
          h('button', { type: 'button', 'data-test': 'back', onclick: () => this.showSlots({ reschedule: true }) }, 'Choose another time'),
        ),
      );
      this.say('');
    }

    async doReschedule(slot, button) {
      const b = this.booking;
      button.disabled = true;
      this.say('Moving your booking…');
      try {
        const { data } = await api('POST', `/v1/bookings/${enc(b.id)}/reschedule`, {
          token: this.token,
          body: { start: slot.start },
          headers: { 'If-Match': `"v${b.version}"` },
        });
        this.booking = data;
        const when = fmtWhen(data.start, data.end, data.timezone || this.tz);
        this.showBooking({ text: `Your booking has moved to ${when.main}.`, kind: 'notice' });
      } catch (err) {
        button.disabled = false;
        if (err.code === 'slot_unavailable') {
          this.showSlots({ reschedule: true, taken: slot.start, message: { text: sentence(err, 'reschedule'), kind: 'error' } });
          return;
        }
        if (err.code === 'version_mismatch' || err.code === 'invalid_transition') {
          await this.reloadBooking();
          this.showBooking({ text: sentence(err, 'reschedule'), kind: 'error' });
          return;
        }
        if (err.code === 'policy_violation' && err.problem.rule === 'reschedule_cutoff') {
          this.closed.add('reschedule');
          this.showBooking({ text: sentence(err, 'reschedule', { phone: this.businessPhone() }), kind: 'error' });
          return;
        }
        this.sayError(err, 'reschedule', { phone: this.businessPhone() });
      }
    }
  }

  function nextMonth({ y, m }) {
    return m === 12 ? { y: y + 1, m: 1 } : { y, m: m + 1 };
  }

  function prevMonth({ y, m }) {
    return m === 1 ? { y: y - 1, m: 12 } : { y, m: m - 1 };
  }

  mount();
})();
