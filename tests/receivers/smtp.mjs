// An SMTP sink for the tests of slotwise's email notifications.
//
//   node smtp.mjs [PORT]        (PORT 0 or none: any free port)
//
// Listens on 127.0.0.1 without TLS and without authentication, and accepts
// every message. Protocol on stdout, one JSON document a line:
//
//   {"port":N}                                     once, when listening
//   {"from":…,"to":[…],"subject":…,"text":…,…}     per message accepted
//
// `from` and `to` are the SMTP envelope's (MAIL FROM, RCPT TO); `subject`,
// `text` (generated from the HTML when the mail has no text part),
// `html` (or null) and `from_header` (the From header as written) come from
// the message itself. A message that cannot be parsed is still accepted, and
// its line carries `"error"` instead. Each line is printed before the server
// answers 250 to the message's DATA, so a client that saw its mail accepted
// can read the line at once.
//
// Stops when its stdin closes (a test drops the child's stdin) and on
// SIGTERM or SIGINT. Logs nothing else on stdout; problems go to stderr.

import { SMTPServer } from 'smtp-server';
import { simpleParser } from 'mailparser';

const port = Number(process.argv[2] || 0);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`smtp.mjs: not a port: ${process.argv[2]}`);
  process.exit(2);
}

// stdout to a pipe is synchronous on Linux; one write per line keeps lines whole.
const emit = (doc) => process.stdout.write(`${JSON.stringify(doc)}\n`);

const server = new SMTPServer({
  name: 'slotwise-test-smtp',
  banner: 'slotwise test receiver',
  secure: false,
  authOptional: true,
  disabledCommands: ['STARTTLS', 'AUTH'],
  logger: false,
  onData(stream, session, callback) {
    const envelope = {
      from: (session.envelope.mailFrom && session.envelope.mailFrom.address) || '',
      to: session.envelope.rcptTo.map((r) => r.address),
    };
    simpleParser(stream)
      .then((mail) => {
        emit({
          ...envelope,
          subject: mail.subject || '',
          text: mail.text || '',
          html: typeof mail.html === 'string' ? mail.html : null,
          from_header: (mail.from && mail.from.text) || '',
        });
      })
      .catch((err) => {
        emit({ ...envelope, subject: '', text: '', html: null, from_header: '', error: String((err && err.message) || err) });
      })
      .finally(() => callback());
  },
});

let listening = false;
server.on('error', (err) => {
  console.error(`smtp.mjs: ${err.message}`);
  if (!listening) process.exit(1); // e.g. the port is taken: no {"port"} line, exit 1
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  // Open client connections would keep close() waiting; the test is over.
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref();
}

server.listen(port, '127.0.0.1', () => {
  listening = true;
  emit({ port: server.server.address().port });
});

process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.on('error', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
