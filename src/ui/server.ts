import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MnemoClient } from '../client/client.js';
import { ErrorCode, MnemoError } from '../errors.js';
import { errorPage } from './pages.js';
import { route, type Reply } from './routes.js';

/**
 * `mnemo ui`'s HTTP side, in its own process (the daemon never listens on TCP): loopback only, one random token per
 * run, and the three checks a page on localhost needs against other sites in the same browser (docs/ui.md):
 * - the token, from the printed URL (then a SameSite=Strict cookie), on every request, so another local user or a
 *   page guessing the port gets 403;
 * - the Host header must be the loopback address and this port, so a DNS-rebinding page (Host: evil.example) gets 403;
 * - a request that changes anything must be a POST whose Origin is this server, so a cross-site form or fetch gets 403
 *   even if the browser would attach the cookie.
 */
export interface UiOptions {
  /** 0: a free port. */
  port: number;
  /** The connection to the daemon, made (or made again after the daemon restarted) when a request needs it. */
  client: () => Promise<MnemoClient>;
  /** Told when a request failed on the server's side. */
  onError?: (err: unknown) => void;
}

export interface UiServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

const ASSETS: Record<string, string> = { 'app.js': 'text/javascript', 'style.css': 'text/css' };
/** A request body larger than this is refused: the page only sends tags, a type and a few flags. */
const MAX_BODY = 64 * 1024;

export async function startUi(options: UiOptions): Promise<UiServer> {
  const token = randomBytes(24).toString('base64url');
  const assets = new Map(
    Object.entries(ASSETS).map(([name, type]) => [
      name,
      { type, body: readFileSync(new URL(`./assets/${name}`, import.meta.url)) },
    ]),
  );
  const servers: Server[] = [];
  let port = options.port;
  let hosts = new Set<string>();

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const started = performance.now();
    const send = (r: Reply) => {
      const headers: Record<string, string> = {
        'Content-Type': r.type ?? 'text/html; charset=utf-8',
        'Cache-Control': 'no-store',
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
        'X-Frame-Options': 'DENY',
        // Everything is served from here: no inline script, nothing from elsewhere (it must work offline anyway).
        'Content-Security-Policy':
          "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
          "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        // The server's own time for this request (the daemon round trips included), for the browser's devtools and
        // the benchmark (native-bench/ui.js).
        'Server-Timing': `app;dur=${(performance.now() - started).toFixed(1)}`,
        ...r.headers,
      };
      res.writeHead(r.status, headers);
      res.end(r.body);
    };
    const refuse = (why: string) => send({ status: 403, type: 'text/plain; charset=utf-8', body: `403: ${why}\n` });

    const host = req.headers.host ?? '';
    if (!hosts.has(host)) return refuse('this server only answers to its loopback address and port');
    const url = new URL(req.url ?? '/', `http://${host}`);
    const cookieName = `mnemo_ui_${port}`;
    const given = url.searchParams.get('token') ?? cookieOf(req, cookieName);
    if (given === null || !sameSecret(given, token))
      return refuse('a token is needed: open the URL `mnemo ui` printed (a new run has a new token)');
    if (url.searchParams.has('token')) {
      // The token moves into a cookie, and out of the address bar, history and any Referer.
      url.searchParams.delete('token');
      return send({
        status: 303,
        headers: {
          Location: url.pathname + url.search,
          'Set-Cookie': `${cookieName}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        },
        body: '',
      });
    }
    if (req.method === 'POST') {
      const origin = req.headers.origin;
      if (origin === undefined || !hosts.has(origin.replace(/^http:\/\//, '')) || !origin.startsWith('http://'))
        return refuse('a change must come from this page (cross-site requests are refused)');
    } else if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send({ status: 405, type: 'text/plain; charset=utf-8', body: 'method not allowed\n' });
    }
    const asset = url.pathname.startsWith('/assets/') ? assets.get(url.pathname.slice(8)) : undefined;
    if (asset) return send({ status: 200, type: asset.type, body: asset.body });

    void readBody(req)
      .then((body) => route({ method: req.method ?? 'GET', url, body, client: options.client }))
      .catch((err: unknown) => {
        if (!(err instanceof MnemoError)) options.onError?.(err);
        return errorReply(err, req.method !== 'POST');
      })
      .then(send, (err: unknown) => {
        options.onError?.(err);
        res.destroy();
      });
  };

  // 127.0.0.1 first (on port 0 it picks the port), then ::1 on the same port where the machine has IPv6 loopback.
  servers.push(await listen(createServer(handle), '127.0.0.1', port));
  port = (servers[0]!.address() as AddressInfo).port;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  try {
    servers.push(await listen(createServer(handle), '::1', port));
    hosts.add(`[::1]:${port}`);
  } catch {
    // No IPv6 loopback here (or the port is taken on it): 127.0.0.1 serves alone.
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    close: () =>
      (closing ??= Promise.all(
        servers.map(
          (s) =>
            new Promise<void>((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections();
            }),
        ),
      ).then(() => {})),
  };
}

function listen(server: Server, host: string, port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

function sameSecret(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function cookieOf(req: IncomingMessage, name: string): string | null {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

/** A POST body as JSON (an object), or null for a GET. */
async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | null> {
  if (req.method !== 'POST') return null;
  if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
    throw new MnemoError(ErrorCode.BAD_ARGS, 'a change is sent as JSON (Content-Type: application/json)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY) throw new MnemoError(ErrorCode.TOO_LARGE, `the request body is over ${MAX_BODY} bytes`);
    chunks.push(chunk);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new MnemoError(ErrorCode.BAD_ARGS, 'the request body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new MnemoError(ErrorCode.BAD_ARGS, 'the request body must be a JSON object');
  return value as Record<string, unknown>;
}

const STATUS_OF: Record<string, number> = {
  [ErrorCode.BAD_ARGS]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.AMBIGUOUS]: 409,
  [ErrorCode.TOO_LARGE]: 413,
  [ErrorCode.NOT_READY]: 503,
  [ErrorCode.CLOSED]: 503,
};

/** A failure with the daemon's code and message: a page for a GET, JSON for the page's script (which shows it). */
function errorReply(err: unknown, asPage: boolean): Reply {
  const code = err instanceof MnemoError ? err.code : ErrorCode.INTERNAL;
  const message = err instanceof Error ? err.message : String(err);
  const status = STATUS_OF[code] ?? 500;
  if (asPage) return { status, body: errorPage(status, code, message).value };
  return { status, type: 'application/json; charset=utf-8', body: JSON.stringify({ error: { code, message } }) };
}
