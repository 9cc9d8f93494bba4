#!/usr/bin/env node
// Server time of `mnemo ui`'s pages and searches on a 10k-memory database (issue 15: under 100 ms). A real daemon in a
// temp MNEMO_HOME, 10,000 memories over 90 days in 5 projects, 20 captured sessions, then `mnemo ui` as a process;
// each route is fetched `--runs` times and its Server-Timing (the UI server's own time, daemon round trips included)
// is summarised. Wall time per request is shown beside it.
//
//   npm run bench:ui            (node native-bench/ui.js [--memories 10000] [--runs 30] [--pack minilm|tiny])
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connect } from '../dist/client/client.js';
import { benchPack, CLI, corpus, machine, printTable, REPO, stats } from './lib.js';

const { values: opts } = parseArgs({
  options: {
    memories: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '30' },
    pack: { type: 'string', default: 'minilm' },
  },
});
const N = Number(opts.memories);
const runs = Number(opts.runs);
const DAY = 86_400_000;

const home = mkdtempSync(join(tmpdir(), 'mn-ui-'));
const env = { ...process.env, MNEMO_HOME: home, MNEMO_MODEL: benchPack(opts.pack), MNEMO_CLI: CLI };
delete env.XDG_RUNTIME_DIR;
const children = [];
const cleanup = () => {
  for (const p of children) if (p.exitCode === null) p.kill('SIGTERM');
};
process.on('exit', cleanup);

const daemon = spawn(process.execPath, [CLI, 'daemon', '--threads', '2'], { env, stdio: 'ignore' });
children.push(daemon);
let client;
for (let tries = 0; !client; tries++) {
  // Until the daemon listens; then until its model is warm.
  client = await connect({ env, waitReady: true, startTimeoutMs: 120_000, timeoutMs: 300_000 }).catch((err) => {
    if (tries > 600) throw err;
    return new Promise((r) => setTimeout(() => r(undefined), 100));
  });
}

console.error(`storing ${N} memories…`);
const c = corpus(7);
const now = Date.now();
const projects = ['/work/shop-api', '/work/billing', '/work/web', '/work/infra', '/work/mobile'];
const types = ['note', 'observation', 'decision', 'session-summary', 'note'];
const tagPool = ['auth', 'payments', 'deploy', 'db', 'perf', 'ui', 'tests', 'ci', 'decision', 'bug'];
let hashes = [];
for (let i = 0; i < N; i += 250) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 250); j++) {
    batch.push({
      content: c.sentence(18),
      project: projects[j % projects.length],
      type: types[j % types.length],
      tags: [tagPool[j % tagPool.length], tagPool[(j * 7) % tagPool.length]],
      createdAt: now - Math.floor(c.rnd() * 90 * DAY),
    });
  }
  hashes = hashes.concat((await client.storeBatch({ memories: batch })).map((r) => r.hash));
}
console.error('capturing 20 sessions…');
for (let s = 0; s < 20; s++) {
  const base = { session_id: `bench-${s}`, cwd: projects[s % projects.length], transcript_path: '/tmp/t' };
  const send = (event, payload) =>
    client.hook({ event, payload: JSON.stringify({ hook_event_name: event, ...base, ...payload }) });
  await send('SessionStart', { source: 'startup' });
  for (let t = 1; t <= 5; t++) {
    await send('UserPromptSubmit', { prompt: c.sentence(12), prompt_id: `p${t}` });
    for (let k = 0; k < 4; k++)
      await send('PostToolUse', {
        prompt_id: `p${t}`,
        tool_name: 'Bash',
        tool_use_id: `t${t}-${k}`,
        tool_input: { command: `npm test -- ${c.sentence(3)}` },
        tool_response: { stdout: c.sentence(20), stderr: '', exitCode: 0 },
      });
    await send('Stop', { prompt_id: `p${t}`, last_assistant_message: c.sentence(15) });
  }
  await send('SessionEnd', { reason: 'exit' });
}

const ui = spawn(process.execPath, [CLI, 'ui', '--no-open', '--port', '0'], {
  env,
  stdio: ['ignore', 'pipe', 'inherit'],
});
children.push(ui);
const url = await new Promise((resolve) => {
  let out = '';
  ui.stdout.on('data', (d) => {
    out += d;
    const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]+/.exec(out);
    if (m) resolve(new URL(m[0]));
  });
});
const port = Number(url.port);
const cookie = `mnemo_ui_${port}=${url.searchParams.get('token')}`;

function get(path) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request(
      { host: '127.0.0.1', port, path, headers: { Host: `127.0.0.1:${port}`, Cookie: cookie } },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(new Error(`${path}: ${res.statusCode}`));
          const server = Number(/dur=([\d.]+)/.exec(res.headers['server-timing'] ?? '')?.[1]);
          resolve({ server, wall: performance.now() - t0 });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const queries = Array.from({ length: runs }, () =>
  c
    .sentence(4)
    .replace(/\(#\d+\)/, '')
    .trim(),
);
const routes = [
  ['search page, newest first', () => '/search'],
  ['search page, a query (hybrid)', (i) => `/search?${new URLSearchParams({ q: queries[i] })}`],
  ['as-you-type results (hybrid)', (i) => `/search/results?${new URLSearchParams({ q: queries[i] })}`],
  [
    'as-you-type, project + tag + time',
    (i) => {
      const q = { q: queries[i], project: projects[1], tags: 'auth', time: 'last month' };
      return `/search/results?${new URLSearchParams(q)}`;
    },
  ],
  [
    'as-you-type results (keyword)',
    (i) => `/search/results?${new URLSearchParams({ q: queries[i], mode: 'keyword' })}`,
  ],
  ['memory page', (i) => `/memory/${hashes[(i * 331) % hashes.length]}`],
  ['sessions page', () => '/sessions'],
  ['session page (5 turns, 20 tool events)', (i) => `/sessions/bench-${i % 20}`],
  ['health page', () => '/health'],
];
// Warm-up: the first query embeddings and statement caches.
for (const [, path] of routes) await get(path(0));
const rows = [];
for (const [name, path] of routes) {
  const server = [];
  const wall = [];
  for (let i = 0; i < runs; i++) {
    const r = await get(path(i));
    server.push(r.server);
    wall.push(r.wall);
  }
  const s = stats(server);
  const w = stats(wall);
  rows.push({
    key: `${name}: server time`,
    value: s.median,
    unit: 'ms',
    p95: s.p95,
    p99: s.p99,
    wallMedian: w.median,
    target: { op: '<', value: 100 },
    pass: s.p95 < 100,
  });
}
printTable(`mnemo ui, ${N} memories, ${opts.pack} pack, ${runs} requests per route (median, p95, p99)`, rows);
mkdirSync(join(REPO, 'native-bench', 'results'), { recursive: true });
writeFileSync(
  join(REPO, 'native-bench', 'results', 'ui.json'),
  JSON.stringify({ machine: machine(), memories: N, pack: opts.pack, runs, rows }, null, 2),
);
ui.kill('SIGINT');
client.close();
daemon.kill('SIGTERM');
await new Promise((r) => daemon.on('exit', r));
rmSync(home, { recursive: true, force: true });
