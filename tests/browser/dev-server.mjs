// Preview the widget without rebuilding the Rust binary.
//
//   node dev-server.mjs --upstream http://127.0.0.1:18181 --port 18182 [--add-cors] [--stub-missing]
//
// Serves /widget.js, /book/{slug} and /manage from ../../assets (read on every
// request, so edits show on reload), and passes every other request on to a
// running slotwise server, CORS preflights and Origin headers included, so the
// server's own CORS answers are what the browser sees. Point run.mjs at it
// (SLOTWISE_BASE=http://127.0.0.1:18182) to test edited assets against a
// binary built before the edits.
//
// --add-cors: answer CORS here instead, for a server that does not yet.
//
// --stub-missing: while the upstream server lacks them, answers
//   GET /v1/public/businesses/northside with the demo business (as loaded by
//   src/demo.rs), and GET /v1/availability/days by counting the slots of
//   GET /v1/availability. Development only: tests run against the real server.
//
// Not used by run.mjs.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const assets = path.resolve(here, '../../assets');
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const upstream = new URL(opt('--upstream', 'http://127.0.0.1:18181'));
const port = Number(opt('--port', '18182'));
const stub = args.includes('--stub-missing');
const addCors = args.includes('--add-cors');

const escapeHtml = (s) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const corsHeaders = {
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, DELETE, PATCH, OPTIONS',
  'access-control-allow-headers': 'Authorization, Content-Type, If-Match, Idempotency-Key',
  'access-control-expose-headers': 'ETag, Location, Retry-After, Date',
  'access-control-max-age': '600',
};

const cors = addCors ? corsHeaders : {};

function demoProfile() {
  const hours = [];
  for (const d of ['monday', 'tuesday', 'wednesday', 'thursday', 'friday']) {
    hours.push({ weekday: d, start: '09:00', end: '12:30' }, { weekday: d, start: '13:30', end: '17:30' });
  }
  hours.push({ weekday: 'saturday', start: '10:00', end: '16:00' });
  return {
    slug: 'northside',
    name: 'Northside Clinic & Salon (demo)',
    phone: '+44 20 7946 0018',
    email: 'hello@northside.example',
    timezone: 'Europe/London',
    booking_url: `http://127.0.0.1:${port}/book/northside`,
    locations: [
      {
        id: 'loc_demo_london',
        name: 'Northside, London',
        address: '12 Example Street, London N1 9XX',
        phone: '+44 20 7946 0018',
        email: 'hello@northside.example',
        timezone: 'Europe/London',
        paused: false,
        pause_reason: null,
        hours,
      },
    ],
    services: [
      { id: 'svc_demo_haircut', name: 'Haircut', description: 'Cut and finish with Ana or Ben.', duration_minutes: 30, price_cents: 3500, currency: 'GBP', location_id: 'loc_demo_london', paused: false, pause_reason: null },
      { id: 'svc_demo_facial', name: 'Facial treatment', description: null, duration_minutes: 60, price_cents: 6000, currency: 'GBP', location_id: 'loc_demo_london', paused: false, pause_reason: null },
    ],
  };
}

function passOn(req, res, body, rewrite) {
  const headers = { ...req.headers, host: upstream.host };
  if (addCors) {
    delete headers.origin;
    delete headers.referer;
  }
  const up = http.request(
    { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
    (ur) => {
      const chunks = [];
      ur.on('data', (c) => chunks.push(c));
      ur.on('end', async () => {
        let buf = Buffer.concat(chunks);
        const out = { ...ur.headers, ...cors };
        if (rewrite) {
          const r = await rewrite(ur.statusCode, buf);
          if (r) {
            buf = Buffer.from(JSON.stringify(r.json));
            out['content-type'] = 'application/json';
            out['content-length'] = String(buf.length);
            res.writeHead(r.status, out).end(buf);
            return;
          }
        }
        res.writeHead(ur.statusCode, out).end(buf);
      });
    },
  );
  up.on('error', (e) => res.writeHead(502, { 'content-type': 'text/plain', ...cors }).end(String(e)));
  up.end(body);
}

function getJson(pathAndQuery) {
  return new Promise((resolve, reject) => {
    http
      .get({ host: upstream.hostname, port: upstream.port, path: pathAndQuery }, (r) => {
        const chunks = [];
        r.on('data', (c) => chunks.push(c));
        r.on('end', () => {
          try {
            resolve({ status: r.statusCode, json: JSON.parse(Buffer.concat(chunks).toString()) });
          } catch (e) {
            reject(e);
          }
        });
      })
      .on('error', reject);
  });
}

http
  .createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const file = (name, type, transform) => {
      let text = fs.readFileSync(path.join(assets, name), 'utf8');
      if (transform) text = transform(text);
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store', ...cors }).end(text);
    };
    if (req.method === 'GET' && url.pathname === '/widget.js') return file('widget.js', 'application/javascript');
    if (req.method === 'GET' && url.pathname === '/manage') return file('manage.html', 'text/html; charset=utf-8');
    const book = /^\/book\/([^/]+)$/.exec(url.pathname);
    if (req.method === 'GET' && book) {
      const slug = escapeHtml(decodeURIComponent(book[1]));
      return file('book.html', 'text/html; charset=utf-8', (t) => t.replaceAll('__SLUG__', slug));
    }
    if (req.method === 'OPTIONS' && addCors) return res.writeHead(204, cors).end();
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      let rewrite = null;
      if (stub && req.method === 'GET' && url.pathname === '/v1/public/businesses/northside') {
        rewrite = async (status) => (status === 404 ? { status: 200, json: demoProfile() } : null);
      }
      if (stub && req.method === 'GET' && url.pathname === '/v1/availability/days') {
        rewrite = async (status) => {
          if (status !== 404) return null;
          const r = await getJson(`/v1/availability${url.search}`);
          if (r.status !== 200) return { status: r.status, json: r.json };
          return {
            status: 200,
            json: {
              service_id: r.json.service_id,
              timezone: r.json.timezone,
              days: r.json.days.map((d) => ({ date: d.date, free_slots: d.slots.length })),
            },
          };
        };
      }
      passOn(req, res, body, rewrite);
    });
  })
  .listen(port, '127.0.0.1', () => {
    const notes = [addCors && 'adding CORS', stub && 'stubbing missing endpoints'].filter(Boolean).join(', ');
    console.log(`dev server on http://127.0.0.1:${port} -> ${upstream.origin}${notes ? ` (${notes})` : ''}`);
  });
