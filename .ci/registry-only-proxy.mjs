#!/usr/bin/env node
// An HTTPS proxy for the install check that lets through only the npm registry: it tunnels CONNECTs to the registry's
// host and refuses every other host with 403, writing one JSON line per request (host, allowed) to the log file given.
// It prints its port on stdout once listening. Plain-HTTP proxy requests are refused too (the registry is HTTPS).
//   node registry-only-proxy.mjs <registry-url> <log-file>
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';

const [registry, log] = process.argv.slice(2);
if (!registry || !log) {
  console.error('usage: registry-only-proxy.mjs <registry-url> <log-file>');
  process.exit(2);
}
const allowed = new URL(registry).hostname;
const note = (host, ok) => appendFileSync(log, `${JSON.stringify({ host, allowed: ok })}\n`);

const server = createServer((req, res) => {
  note(new URL(req.url ?? '', 'http://unknown').hostname, false);
  res.writeHead(403).end('only the npm registry is reachable\n');
});
server.on('connect', (req, client, head) => {
  const [host, port] = (req.url ?? '').split(':');
  if (host !== allowed) {
    note(host, false);
    client.end('HTTP/1.1 403 Forbidden\r\n\r\n');
    return;
  }
  note(host, true);
  const upstream = connect(Number(port) || 443, host, () => {
    client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
    upstream.write(head);
    upstream.pipe(client);
    client.pipe(upstream);
  });
  const close = () => {
    upstream.destroy();
    client.destroy();
  };
  upstream.on('error', close);
  client.on('error', close);
});
server.listen(0, '127.0.0.1', () => console.log(server.address().port));
