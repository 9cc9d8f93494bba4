#!/usr/bin/env node
// Round trips to a running daemon, the way hooks make them: a new client process per call (native C client, and the
// Node.js fallback), and the TypeScript library on one open connection. Also: time from `mnemo start` to ready, and
// the daemon's RSS after warm-up. Uses the MiniLM-L6-shaped generated pack (real architecture, random weights).
//
//   node native-bench/roundtrip.bench.js [--runs 200] [--threads 2] [--json out.json]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { connect } from '../dist/client/client.js';
import { generateBertPack, MINILM_L6_SHAPE } from '../dist/embed/bert-pack.js';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '200' },
    threads: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const runs = Number(opts.runs);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const native = join(repo, 'build', 'mnemo-client');
const fallback = join(repo, 'dist', 'client', 'fallback.js');

const packDir = join(repo, '.cache', 'packs', 'minilm-shaped-bench-v1');
if (!existsSync(join(packDir, 'manifest.json'))) {
  const shared = join(repo, '..', 'shared', 'models', 'all-MiniLM-L6-v2', 'tokenizer.json');
  generateBertPack(packDir, {
    name: 'minilm-l6-shaped',
    shape: MINILM_L6_SHAPE,
    seed: 7,
    maxTokens: 256,
    ...(existsSync(shared) ? { tokenizerJson: readFileSync(shared, 'utf8') } : {}),
  });
}

const home = mkdtempSync(join(tmpdir(), 'mnb-'));
const env = { ...process.env, MNEMO_HOME: home, MNEMO_MODEL: packDir, MNEMO_CLI: cli };
delete env.XDG_RUNTIME_DIR;

const stats = (samples) => {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: at(0.5), p95: at(0.95), p99: at(0.99), mean: s.reduce((a, b) => a + b, 0) / s.length };
};

function timeProcess(argv, stdin) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const p = spawn(argv[0], argv.slice(1), { env, stdio: ['pipe', 'ignore', 'ignore'] });
    p.on('error', reject);
    p.stdin.end(stdin);
    p.on('exit', (code) => (code === 0 ? resolveRun(performance.now() - t0) : reject(new Error(`${argv.join(' ')} exited ${code}`))));
  });
}

const rows = [];
try {
  // Cold start: from `mnemo start` to a warm, ready daemon (the CLI waits for it), three times.
  const starts = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = spawnSync(process.execPath, [cli, 'start', '--threads', opts.threads], { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mnemo start failed: ${r.stderr}`);
    starts.push(performance.now() - t0);
    if (i < 2) spawnSync(process.execPath, [cli, 'stop'], { env });
  }
  rows.push({ name: 'mnemo start -> ready (CLI process, 3 runs)', ...stats(starts) });

  const client = await connect({ env });
  const hello = await client.hello();
  // Some memories, so calls do real work.
  for (let i = 0; i < 10; i++) {
    await client.storeBatch(Array.from({ length: 100 }, (_, j) => ({ content: `bench memory ${i * 100 + j}: the daemon keeps the model warm`, tags: ['bench'] })));
  }
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${hello.pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

  const hookStdin = JSON.stringify({ session_id: 'bench', transcript_path: '/tmp/x', cwd: '/tmp', hook_event_name: 'PostToolUse', tool_name: 'Bash' });
  for (const [name, argv] of [
    ['native client: hook PostToolUse (new process)', [native, 'hook', 'PostToolUse']],
    ['native client: call hello (new process)', [native, 'call', 'hello']],
    ['native client: call search, keyword (new process)', [native, 'call', 'search', '{"query":"daemon warm","mode":"keyword"}']],
  ]) {
    if (!existsSync(native)) break;
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await timeProcess(argv, hookStdin));
    rows.push({ name, ...stats(samples) });
  }
  {
    const samples = [];
    for (let i = 0; i < Math.min(runs, 50); i++) samples.push(await timeProcess([process.execPath, fallback, 'hook', 'PostToolUse'], hookStdin));
    rows.push({ name: 'node fallback client: hook PostToolUse (new process)', ...stats(samples) });
  }

  const bench = new Bench({ time: 2000, warmupTime: 200 });
  bench.add('ts client: hello (open connection)', async () => {
    await client.hello();
  });
  bench.add('ts client: hook PostToolUse (open connection)', async () => {
    await client.hook('PostToolUse', hookStdin);
  });
  let q = 0;
  const queries = Array.from({ length: 16 }, (_, i) => `daemon warm model ${i}`);
  bench.add('ts client: search hybrid, 1k memories (cached query)', async () => {
    await client.search({ query: queries[q++ % queries.length], limit: 5 });
  });
  await bench.run();
  for (const task of bench.tasks) {
    const l = task.result?.latency;
    if (l) rows.push({ name: task.name, n: l.samples?.length ?? task.runs, median: l.p50, p99: l.p99, mean: l.mean });
  }
  client.close();
  rows.push({ name: 'daemon RSS after warm-up (MiB)', n: 1, median: rss / 1048576 });
} finally {
  spawnSync(process.execPath, [cli, 'stop'], { env });
  rmSync(home, { recursive: true, force: true });
}

const f = (x) => (x === undefined ? '' : x < 1 ? x.toFixed(3) : x.toFixed(2));
console.log(`\nmnemo round trips — pack minilm-l6-shaped, ${opts.threads} workers, node ${process.version}, ${new Date().toISOString()}`);
console.log(['measure'.padEnd(56), 'n'.padStart(6), 'median'.padStart(9), 'p95'.padStart(9), 'p99'.padStart(9)].join(' '));
for (const r of rows) console.log([r.name.padEnd(56), String(r.n).padStart(6), f(r.median).padStart(9), f(r.p95).padStart(9), f(r.p99).padStart(9)].join(' '));
console.log('(times in ms unless stated)');
if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ when: new Date().toISOString(), rows }, null, 2)}\n`);
