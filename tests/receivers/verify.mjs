// Checks webhook deliveries against the Standard Webhooks reference library,
// so slotwise's signatures are judged by code it did not write.
//
//   node verify.mjs < request.json
//
// stdin, one JSON document:
//
//   {"secret": "whsec_<base64 key>",
//    "deliveries": [{"headers": {"webhook-id": "…", "webhook-timestamp": "…",
//                                "webhook-signature": "v1,<base64> …"},
//                    "body": "<the exact raw body, as sent>"}]}
//
// stdout, one JSON line, a result per delivery in the same order:
//
//   {"results": [{"ok": true}, {"ok": false, "error": "No matching signature found"}]}
//
// Each delivery goes through `new Webhook(secret).verify(body, headers)`.
// The library strips the `whsec_` prefix and base64-decodes the rest; header
// names are matched case-insensitively; a signature header may hold several
// space-separated `v1,…` signatures, one matching is enough; the timestamp
// must be within 5 minutes of now, either way ("Message timestamp too old" /
// "too new"); and the body must be JSON (otherwise the JSON parse error is
// the delivery's error). Exits 0 whatever the results (the caller asserts);
// exits 2 with a message on stderr only when the input itself is unusable.

import { Webhook } from 'standardwebhooks';

async function readAll(stream) {
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

function fail(message) {
  console.error(`verify.mjs: ${message}`);
  process.exit(2);
}

let request;
try {
  request = JSON.parse(await readAll(process.stdin));
} catch (err) {
  fail(`stdin is not one JSON document: ${err.message}`);
}
if (!request || typeof request.secret !== 'string' || !Array.isArray(request.deliveries)) {
  fail('expected {"secret": "whsec_…", "deliveries": [{"headers": {…}, "body": "…"}]}');
}

const describe = (err) => String((err && err.message) || err);

let webhook = null;
let secretError = null;
try {
  webhook = new Webhook(request.secret);
} catch (err) {
  // A secret the library cannot read fails every delivery, with its reason.
  secretError = `secret: ${describe(err)}`;
}

const results = request.deliveries.map((delivery) => {
  if (secretError) return { ok: false, error: secretError };
  if (!delivery || typeof delivery.body !== 'string' || !delivery.headers || typeof delivery.headers !== 'object') {
    return { ok: false, error: 'a delivery needs "headers" (an object) and "body" (a string)' };
  }
  try {
    webhook.verify(delivery.body, delivery.headers);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describe(err) };
  }
});

process.stdout.write(`${JSON.stringify({ results })}\n`);
