#!/usr/bin/env node
// mnemo's benchmark suite: one table, one JSON file. Engine micro-benchmarks (tinybench), end-to-end hooks through
// the native client beside the Node.js client and a per-hook-process baseline, ingest with a loss check, memory,
// cold start.
//
//   npm run bench                      the full run (about 10 minutes on 2 cores)
//   node native-bench/run.js --smoke   a tiny configuration, seconds, to check the harness itself
//   options: --sizes 1000,10000,100000 (add 1000000 for the long run)  --runs 100  --threads 2  --json FILE
//            --daemon-threads N (the daemons the suite starts run as shipped, with the default worker count, unless
//            this is given; --threads is the in-process engine's)
import { spawnSync } from 'node:child_process';
import { contentHash, normalizeContent } from '../dist/store/normalize.js';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Bench } from 'tinybench';
import { connect } from '../dist/client/client.js';
import { Engine, LocalMnemo, countTokens, renderCompact } from '../dist/engine-index.js';
import { encodeFrame, FrameReader } from '../dist/protocol/frame.js';
import {
  benchPack,
  CLI,
  corpus,
  corpusMemories,
  FALLBACK_CLIENT,
  gitProject,
  judge,
  machine,
  metric,
  NATIVE_CLIENT,
  printTable,
  REPO,
  stats,
  timeProcess,
} from './lib.js';

const { values: opts } = parseArgs({
  options: {
    smoke: { type: 'boolean' },
    sizes: { type: 'string' },
    runs: { type: 'string' },
    threads: { type: 'string', default: '2' },
    'daemon-threads': { type: 'string' },
    json: { type: 'string' },
    time: { type: 'string' },
    // Internal: each phase runs in a fresh process, so the clients it spawns are spawned from a small process (fork
    // cost grows with the parent's memory: from the engine phase's 1 GB it added 10 ms to every hook measured).
    phase: { type: 'string' },
    snapshot: { type: 'string' },
    db: { type: 'string' },
    rows: { type: 'string' },
    work: { type: 'string' },
  },
});
const smoke = Boolean(opts.smoke);
const sizes = (opts.sizes ?? (smoke ? '200,1000' : '1000,10000,100000')).split(',').map(Number);
const runs = Number(opts.runs ?? (smoke ? 5 : 100));
const threads = Number(opts.threads);
const daemonThreads = opts['daemon-threads'] ? ['--threads', opts['daemon-threads']] : [];
const benchTime = Number(opts.time ?? (smoke ? 100 : 1500));
const packKind = smoke ? 'tiny' : 'minilm';
const pack = benchPack(packKind);
const outFile = opts.json ?? join(REPO, 'native-bench', 'results', smoke ? 'smoke.json' : 'latest.json');
const work = opts.work ?? mkdtempSync(join(tmpdir(), 'mnemo-bench-'));
const rows = [];
const add = (row) => rows.push(judge(row));
const log = (msg) => process.stderr.write(`bench: ${msg}\n`);

const tinybench = async (tasks) => {
  const bench = new Bench({ time: benchTime, warmupTime: smoke ? 20 : 200 });
  for (const [name, fn] of tasks) bench.add(name, fn);
  await bench.run();
  return Object.fromEntries(bench.tasks.map((t) => [t.name, t.result?.latency]));
};

// ---------------------------------------------------------------- engine
/**
 * Memories beyond this many are filled without the model: embedding a million texts takes hours on 2 cores (about
 * 120-220 a second here), and the fill is not what is measured. Each has the corpus's text (so the FTS index is
 * real) and a vector mixed from two of the model's own vectors for earlier memories plus a little noise, normalised
 * (so the vectors keep the model's distribution, and none repeats). What is measured at that size (store, storeBatch,
 * search, the exact scan, recall) goes through the model as everywhere else.
 */
// MNEMO_BENCH_MODEL_FILL moves the limit (a quick check of this path at small sizes).
const MODEL_FILL_LIMIT = Number(process.env.MNEMO_BENCH_MODEL_FILL ?? 100_000);
let mixPool = null;

function fillSynthetic(engine, text, stored, n) {
  mixPool ??= engine.storage.db
    .prepare(`SELECT embedding FROM ${engine.model.vecTable} LIMIT 20000`)
    .pluck()
    .all()
    .map((b) => new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4));
  const dim = engine.model.dimension;
  let seed = stored + 1;
  const rnd = () => {
    seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return seed / 2 ** 32;
  };
  const items = corpusMemories(text, stored, n).map((m) => {
    const a = mixPool[Math.floor(rnd() * mixPool.length)];
    const b = mixPool[Math.floor(rnd() * mixPool.length)];
    const w = rnd();
    const v = new Float32Array(dim);
    let norm = 0;
    for (let d = 0; d < dim; d++) {
      v[d] = w * a[d] + (1 - w) * b[d] + (rnd() - 0.5) * 0.02;
      norm += v[d] * v[d];
    }
    for (let d = 0; d < dim; d++) v[d] /= Math.sqrt(norm);
    const content = normalizeContent(m.content);
    return {
      memory: {
        ...m,
        hash: contentHash(content),
        content,
        type: 'note',
        sessionId: null,
        metadata: {},
        createdAt: Date.now(),
      },
      vector: v,
    };
  });
  engine.storage.insertMany(items, engine.model);
  return n;
}

async function engineSuite() {
  const dbPath = join(work, 'engine', 'mnemo.db');
  const engine = await Engine.open({ modelDir: pack, dbPath, embedder: { threads } });
  // The operations as the daemon runs them (arguments parsed at the edge, results shaped), minus the socket.
  const api = new LocalMnemo(engine);
  const text = corpus(1);
  let snapshot10k = null;
  try {
    const embed = await tinybench([
      ['embed 1', () => engine.embedder.embedDocuments([text.sentence(10)])],
      ['embed 8', () => engine.embedder.embedDocuments(Array.from({ length: 8 }, () => text.sentence(10)))],
      ['embed 32', () => engine.embedder.embedDocuments(Array.from({ length: 32 }, () => text.sentence(10)))],
    ]);
    for (const [k, l] of Object.entries(embed))
      add(metric(`engine: ${k} short text${k.endsWith(' 1') ? '' : 's'}`, l.p50, 'ms', { p99: l.p99 }));

    const response = {
      id: 7,
      ok: true,
      result: {
        format: 'compact',
        results: Array.from({ length: 5 }, (_, i) => ({
          hash: 'a1b2c3d4',
          preview: text.sentence(30).slice(0, 200),
          tags: ['decision', 'auth'],
          type: 'note',
          created: Date.now() - i * 1e6,
          score: 0.8,
        })),
      },
    };
    const frame = encodeFrame(response);
    const memories = Array.from({ length: 8 }, (_, i) => ({
      hash: `0000000${i}`,
      preview: text.sentence(30).slice(0, 200),
      tags: ['decision'],
      type: 'observation',
      created: Date.now() - i * 86_400_000,
    }));
    const micro = await tinybench([
      ['protocol encode (5 results)', () => encodeFrame(response)],
      ['protocol decode (5 results)', () => new FrameReader().push(frame)],
      [
        'context render (8 memories, 600 tokens)',
        () => renderCompact(memories, { budget: 600, header: 'mnemo: 8 memories from shop-api' }),
      ],
    ]);
    for (const [k, l] of Object.entries(micro)) add(metric(`engine: ${k}`, l.p50 * 1000, 'µs', { p99: l.p99 * 1000 }));

    let stored = 0;
    for (const size of sizes) {
      log(`engine: filling to ${size} memories`);
      let reported = { stored, at: performance.now() };
      while (stored < size) {
        if (stored - reported.stored >= 50_000) {
          const rate = (stored - reported.stored) / ((performance.now() - reported.at) / 1000);
          log(`engine: ${stored} memories, storing ${Math.round(rate)}/s`);
          reported = { stored, at: performance.now() };
        }
        if (stored >= MODEL_FILL_LIMIT) {
          stored += fillSynthetic(engine, text, stored, Math.min(2000, size - stored));
          continue;
        }
        const n = Math.min(256, size - stored);
        await api.storeBatch({ memories: corpusMemories(text, stored, n) });
        stored += n;
      }
      await engine.indexed;
      // The quantised vector index as the daemon loads it at start (in the background; exact KNN until then).
      const loadStart = performance.now();
      await engine.storage.loadIndex(engine.model);
      add(metric(`engine: vector index load @${size}`, performance.now() - loadStart, 'ms'));
      const queries = Array.from({ length: 32 }, () => text.query());
      let qi = 0;
      const timed = await tinybench([
        [`store @${size}`, () => api.store({ content: text.sentence() })],
        [
          `storeBatch 32 @${size}`,
          () => api.storeBatch({ memories: Array.from({ length: 32 }, () => ({ content: text.sentence() })) }),
        ],
        ...['semantic', 'keyword', 'hybrid'].map((mode) => [
          `search ${mode} @${size}`,
          () => api.search({ query: queries[qi++ % queries.length], mode, limit: 10 }),
        ]),
      ]);
      const target = size <= 10_000 ? 5 : size <= 100_000 ? 10 : size <= 1_000_000 ? 50 : undefined;
      for (const [k, l] of Object.entries(timed)) {
        add(
          metric(`engine: ${k}`, l.p50, 'ms', {
            p99: l.p99,
            ...(k.startsWith('search') && target ? { target: { op: '<=', value: target } } : {}),
            ...(k.startsWith('search') ? { ref: `engine: exact knn @${size}` } : {}),
          }),
        );
      }
      // Exact brute-force KNN over the float vectors (sqlite-vec), as the reference for time and recall.
      const vecTable = engine.model.vecTable;
      const qv = await engine.embedder.embedQueries(Array.from({ length: smoke ? 10 : 50 }, () => text.query()));
      const exactStmt = engine.storage.db.prepare(
        `SELECT memory_id AS id, distance FROM ${vecTable} WHERE embedding MATCH ? AND k = 10 ORDER BY distance`,
      );
      const times = [];
      let recall = 0;
      for (const v of qv) {
        const t0 = performance.now();
        const exact = exactStmt.all(Buffer.from(v.buffer, v.byteOffset, v.byteLength));
        times.push(performance.now() - t0);
        const kth = exact[exact.length - 1].distance;
        const got = engine.storage.nearest(v, 10, engine.model);
        const exactIds = new Set(exact.map((r) => r.id));
        // Ties at the tenth distance count as hits.
        recall += got.filter((r) => exactIds.has(r.id) || r.distance <= kth + 2e-3).length / 10;
      }
      const e = stats(times);
      add(metric(`engine: exact knn @${size}`, e.median, 'ms', { p99: e.p99 }));
      add(
        metric(`engine: semantic recall@10 vs exact @${size}`, recall / qv.length, 'ratio', {
          target: { op: '>=', value: 0.95 },
        }),
      );
      if (
        size === Math.min(...sizes.filter((s) => s >= 1000), Infinity) ||
        (smoke && size === sizes[sizes.length - 1])
      ) {
        const r = await api.search({ query: queries[0], limit: 5, format: 'text', budget: 100_000 });
        add(
          metric('tokens: 5-result compact search as text (cl100k, 200-char previews)', countTokens(r.text), 'tokens', {
            target: { op: '<=', value: 250 },
          }),
        );
      }
      if (size === 10_000 || (smoke && size === sizes[sizes.length - 1])) {
        snapshot10k = join(work, 'snapshot-10k.db');
        engine.storage.db.exec(`VACUUM INTO '${snapshot10k}'`);
      }
    }
  } finally {
    await engine.close();
  }
  return { dbPath, snapshot10k };
}

// ---------------------------------------------------------------- daemon
/**
 * Another memory system's hooks, timed the way mnemo's are (issue 14): when MNEMO_BENCH_PEER_HOOK names its hook
 * command, with `{event}` where the event name goes (run by /bin/sh), each event gets the same payloads mnemo's hooks
 * got, in the same project, as a new process each time. The peer runs as it is installed, with the bench's own
 * environment (its warm worker, if it has one, is its business: start it first). MNEMO_BENCH_PEER_NAME names the
 * rows (default "peer"). Never run in CI.
 */
async function peerHooks(project) {
  const command = process.env.MNEMO_BENCH_PEER_HOOK;
  if (!command) return;
  const name = process.env.MNEMO_BENCH_PEER_NAME || 'peer';
  log(`daemon: the peer's hooks (${name}: ${command})`);
  const text = corpus(11);
  const payloads = {
    SessionStart: (i) => ({ session_id: `peer-${i}`, source: 'startup' }),
    UserPromptSubmit: (i) => ({
      session_id: `peer-${i}`,
      prompt_id: `peer-${i}-p`,
      prompt: `Why do payment retries fail on gateway timeouts? ${text.query(4)}`,
    }),
    PostToolUse: (i) => ({
      session_id: `peer-${i}`,
      tool_name: 'Bash',
      tool_input: { command: `npm test -- ${i}` },
      tool_use_id: `peer-t${i}`,
      tool_response: { stdout: 'ok', stderr: '' },
    }),
    Stop: (i) => ({ session_id: `peer-${i}`, last_assistant_message: 'Done.' }),
    SessionEnd: (i) => ({ session_id: `peer-${i}`, reason: 'other' }),
  };
  const n = smoke ? 3 : Math.min(runs, 30);
  const times = Object.fromEntries(Object.keys(payloads).map((e) => [e, []]));
  for (let i = 0; i < n; i++) {
    for (const [event, payload] of Object.entries(payloads)) {
      const r = await timeProcess(
        ['/bin/sh', '-c', command.replaceAll('{event}', event)],
        process.env,
        JSON.stringify({ hook_event_name: event, cwd: project, transcript_path: '/tmp/t.jsonl', ...payload(i) }),
      );
      if (r.code !== 0) throw new Error(`the peer's ${event} hook exited ${r.code}: ${command}`);
      times[event].push(r.ms);
    }
  }
  for (const [event, xs] of Object.entries(times)) {
    const s = stats(xs);
    add(
      metric(`hook ${event}: ${name}, new process`, s.median, 'ms', {
        p95: s.p95,
        p99: s.p99,
        ref: `hook ${event}: native client, new process`,
      }),
    );
  }
}

function homeWith(db) {
  const home = mkdtempSync(join(work, 'h-'));
  mkdirSync(join(home, 'data'), { recursive: true });
  if (db) cpSync(db, join(home, 'data', 'mnemo.db'));
  const env = { ...process.env, MNEMO_HOME: home, MNEMO_MODEL: pack, MNEMO_CLI: CLI };
  delete env.XDG_RUNTIME_DIR;
  return env;
}

const rssOf = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
const mnemo = (env, ...args) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });

async function daemonSuite(snapshot) {
  const env = homeWith(snapshot);
  const project = gitProject(join(work, 'checkout-service'));
  const hook = (event, payload) =>
    timeProcess(
      [NATIVE_CLIENT, 'hook', event],
      env,
      JSON.stringify({ hook_event_name: event, cwd: project, transcript_path: '/tmp/t.jsonl', ...payload }),
    );

  const starts = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = mnemo(env, 'start', ...daemonThreads);
    if (r.status !== 0) throw new Error(`mnemo start failed: ${r.stderr}`);
    starts.push(performance.now() - t0);
    if (i < 2) mnemo(env, 'stop');
  }
  add(
    metric('daemon: mnemo start -> ready (@10k memories)', stats(starts).median, 'ms', {
      target: { op: '<=', value: 1000 },
    }),
  );
  const client = await connect({ env });
  const { pid } = await client.hello();
  const idle = async () => {
    for (let i = 0; i < 400; i++) {
      if (!(await client.status()).compressionQueue?.pending) return;
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    // A project with history, captured through the hooks themselves.
    log('daemon: capturing a project history');
    const text = corpus(9);
    for (let s = 0; s < (smoke ? 2 : 20); s++) {
      const id = `hist-${s}`;
      await hook('SessionStart', { session_id: id, source: 'startup' });
      for (let p = 0; p < 4; p++) {
        const pid2 = `${id}-${p}`;
        await hook('UserPromptSubmit', {
          session_id: id,
          prompt_id: pid2,
          prompt: `${text.query(6)}: update src/payments.ts and cover it with tests`,
        });
        await hook('PostToolUse', {
          session_id: id,
          prompt_id: pid2,
          tool_name: 'Edit',
          tool_input: { file_path: join(project, 'src', 'payments.ts') },
          tool_use_id: `${pid2}-e`,
          tool_response: {},
        });
        await hook('PostToolUse', {
          session_id: id,
          prompt_id: pid2,
          tool_name: 'Bash',
          tool_input: { command: 'npm test' },
          tool_use_id: `${pid2}-b`,
          tool_response: p % 3 ? { stdout: 'ok' } : { stdout: '', stderr: 'FAIL payments.test.ts', exitCode: 1 },
        });
        await hook('Stop', { session_id: id, prompt_id: pid2, last_assistant_message: `Done: ${text.query(8)}.` });
      }
      await hook('SessionEnd', { session_id: id, reason: 'prompt_input_exit' });
    }
    await client.store({
      content: 'Decision: payment retries use exponential backoff capped at 3 attempts; never retry a declined card.',
      tags: ['decision'],
      project,
    });
    await idle();
    add(metric('daemon: RSS after warm-up (@10k memories)', rssOf(pid), 'MiB'));

    const per = { SessionStart: [], UserPromptSubmit: [], PostToolUse: [], Stop: [], SessionEnd: [] };
    const tokens = { SessionStart: [], UserPromptSubmit: [] };
    log('daemon: timing hooks through the native client');
    for (let i = 0; i < runs; i++) {
      await idle();
      const r = await hook('SessionStart', { session_id: `ss-${i}`, source: 'startup' });
      per.SessionStart.push(r.ms);
      if (r.out) tokens.SessionStart.push(countTokens(JSON.parse(r.out).hookSpecificOutput.additionalContext));
      await hook('SessionEnd', { session_id: `ss-${i}`, reason: 'other' });
    }
    // Each prompt after a session's first queues the compression of the turn before it, which starts 10 ms later:
    // back to back, every timed prompt ran beside the last one's compression (15-16 ms against 11-12 once it had
    // finished, measured). A user's next prompt comes seconds after the last, so each waits for the queue, as
    // SessionStart's do.
    for (let i = 0; i < runs; i++) {
      await idle();
      const r = await hook('UserPromptSubmit', {
        session_id: 'ups',
        prompt_id: `u${i}`,
        prompt: `Why do payment retries fail on gateway timeouts? ${text.query(4)}`,
      });
      per.UserPromptSubmit.push(r.ms);
      if (r.out) tokens.UserPromptSubmit.push(countTokens(JSON.parse(r.out).hookSpecificOutput.additionalContext));
    }
    await idle();
    for (let i = 0; i < runs; i++)
      per.PostToolUse.push(
        (
          await hook('PostToolUse', {
            session_id: 'ups',
            prompt_id: 'u0',
            tool_name: 'Bash',
            tool_input: { command: `npm test -- ${i}` },
            tool_use_id: `pt${i}`,
            tool_response: { stdout: 'ok', stderr: '' },
          })
        ).ms,
      );
    for (let i = 0; i < runs; i++) {
      await idle();
      await hook('UserPromptSubmit', {
        session_id: 'stop',
        prompt_id: `s${i}`,
        prompt: 'continue with the refund webhook',
      });
      per.Stop.push(
        (await hook('Stop', { session_id: 'stop', prompt_id: `s${i}`, last_assistant_message: 'Done.' })).ms,
      );
    }
    for (let i = 0; i < runs; i++) {
      await idle();
      await hook('SessionStart', { session_id: `se-${i}`, source: 'startup' });
      per.SessionEnd.push((await hook('SessionEnd', { session_id: `se-${i}`, reason: 'other' })).ms);
    }
    const targets = { SessionStart: 15, PostToolUse: 3 };
    for (const [event, xs] of Object.entries(per)) {
      const s = stats(xs);
      add(
        metric(`hook ${event}: native client, new process`, s.median, 'ms', {
          p95: s.p95,
          p99: s.p99,
          ref: 'native: call hello, new process',
          ...(targets[event] ? { target: { op: '<=', value: targets[event] } } : {}),
        }),
      );
    }
    const ss = stats(per.SessionStart);
    add(metric('hook SessionStart: native client p99', ss.p99, 'ms', { target: { op: '<=', value: 40 } }));
    for (const [event, xs] of Object.entries(tokens)) {
      if (xs.length)
        add(
          metric(`tokens injected at ${event} (cl100k, median of ${xs.length})`, stats(xs).median, 'tokens', {
            p99: stats(xs).p99,
          }),
        );
    }
    // The cost of starting any process here, the reference for the client's own round trip.
    const spawnOnly = [];
    for (let i = 0; i < runs; i++) spawnOnly.push((await timeProcess(['/bin/true'], env)).ms);
    add(metric('spawn: /bin/true, new process', stats(spawnOnly).median, 'ms', { p99: stats(spawnOnly).p99 }));
    const hello = [];
    for (let i = 0; i < runs; i++) hello.push((await timeProcess([NATIVE_CLIENT, 'call', 'hello'], env)).ms);
    add(
      metric('native: call hello, new process', stats(hello).median, 'ms', {
        p99: stats(hello).p99,
        ref: 'spawn: /bin/true, new process',
      }),
    );

    await peerHooks(project);

    log('daemon: the Node.js client and the per-hook-process baseline');
    const node = { SessionStart: [], PostToolUse: [] };
    for (let i = 0; i < Math.min(runs, 30); i++) {
      await idle();
      node.SessionStart.push(
        (
          await timeProcess(
            [process.execPath, FALLBACK_CLIENT, 'hook', 'SessionStart'],
            env,
            JSON.stringify({ session_id: `nss-${i}`, cwd: project, source: 'startup' }),
          )
        ).ms,
      );
      node.PostToolUse.push(
        (
          await timeProcess(
            [process.execPath, FALLBACK_CLIENT, 'hook', 'PostToolUse'],
            env,
            JSON.stringify({
              session_id: `nss-${i}`,
              cwd: project,
              tool_name: 'Read',
              tool_input: { file_path: 'x' },
              tool_use_id: `n${i}`,
            }),
          )
        ).ms,
      );
    }
    for (const [event, xs] of Object.entries(node))
      add(metric(`hook ${event}: Node.js client, new process`, stats(xs).median, 'ms', { p99: stats(xs).p99 }));

    const baseEnv = { ...env, MNEMO_BASELINE_DB: join(env.MNEMO_HOME, 'data', 'mnemo.db'), MNEMO_BASELINE_MODEL: pack };
    const baseline = [];
    for (let i = 0; i < (smoke ? 2 : 10); i++) {
      await idle();
      const r = await timeProcess(
        [process.execPath, join(REPO, 'native-bench', 'baseline-hook.js'), 'SessionStart'],
        baseEnv,
        JSON.stringify({ session_id: `base-${i}`, cwd: project, source: 'startup' }),
      );
      baseline.push(r.ms);
    }
    const b = stats(baseline);
    add(metric('hook SessionStart: per-hook-process baseline (opens db, loads model)', b.median, 'ms', { p99: b.p99 }));
    add(
      metric('speed-up on SessionStart: baseline / daemon with native client', b.median / ss.median, 'x', {
        target: { op: '>=', value: 50 },
      }),
    );

    log('daemon: ingest');
    const seconds = smoke ? 1 : 5;
    const writers = await Promise.all(Array.from({ length: 4 }, () => connect({ env })));
    const acked = new Set();
    const until = performance.now() + seconds * 1000;
    await Promise.all(
      writers.map(async (w, wi) => {
        let n = 0;
        const inflight = new Set();
        while (performance.now() < until) {
          const id = `ing-${wi}-${n++}`;
          const p = w
            .hook({
              event: 'PostToolUse',
              payload: JSON.stringify({
                session_id: `ingest-${wi}`,
                cwd: project,
                tool_name: 'Bash',
                tool_input: { command: `echo ${id}` },
                tool_use_id: id,
                tool_response: { stdout: id },
              }),
            })
            .then(() => acked.add(id))
            .finally(() => inflight.delete(p));
          inflight.add(p);
          if (inflight.size >= 16) await Promise.race(inflight);
        }
        await Promise.all(inflight);
      }),
    );
    for (const w of writers) w.close();
    const db = new Database(join(env.MNEMO_HOME, 'data', 'mnemo.db'), { readonly: true });
    const present = new Set(
      db.prepare("SELECT tool_use_id FROM tool_events WHERE session_id LIKE 'ingest-%'").pluck().all(),
    );
    db.close();
    const lost = [...acked].filter((id) => !present.has(id)).length;
    add(
      metric(`ingest: PostToolUse events/s, 4 clients, ${seconds} s`, acked.size / seconds, 'ev/s', {
        target: { op: '>=', value: 2000 },
      }),
    );
    add(
      metric('ingest: acknowledged events missing from the database', lost, 'events', {
        target: { op: '<=', value: 0 },
      }),
    );
    add(metric('daemon: RSS after the hook runs (@10k memories)', rssOf(pid), 'MiB'));
  } finally {
    client.close();
    mnemo(env, 'stop');
  }
}

async function rssAt(db, size) {
  const env = homeWith(db);
  // The median of three starts, as at 10k: the first of a new home also fills the daemon's compile cache.
  const starts = [];
  for (let i = 0; i < 3; i++) {
    if (i > 0) mnemo(env, 'stop');
    const t0 = performance.now();
    const r = mnemo(env, 'start', ...daemonThreads);
    if (r.status !== 0) throw new Error(r.stderr);
    starts.push(performance.now() - t0);
  }
  const ready = stats(starts).median;
  const client = await connect({ env });
  try {
    const { pid } = await client.hello();
    const text = corpus(3);
    // Until the index has loaded (it loads in the background), warm with searches and hook traffic.
    for (let i = 0; i < 50; i++) await client.search({ query: text.query(), limit: 5 });
    await new Promise((res) => setTimeout(res, 2000));
    for (let i = 0; i < 50; i++) await client.search({ query: text.query(), limit: 5 });
    // Then the index must have loaded: at a million memories each search before it is an exact scan that holds the
    // daemon's loop for most of a second, and the load advances one page between two of them (the RSS figures of
    // the first runs at that size were read with part of the index loaded).
    for (let waited = 0; (await client.status()).vectorIndex?.ready === false && waited < 600; waited++)
      await new Promise((res) => setTimeout(res, 500));
    for (let i = 0; i < 20; i++) await client.search({ query: text.query(), limit: 5 });
    add(metric(`daemon: mnemo start -> ready (@${size} memories)`, ready, 'ms'));
    const workers = /(\d+) workers/.exec((await client.status()).model ?? '')?.[1] ?? '?';
    add(
      metric(
        `daemon: RSS with ${workers} worker${workers === '1' ? '' : 's'} (@${size} memories)`,
        rssOf(pid),
        'MiB',
        size === 100_000 ? { target: { op: '<=', value: 220 } } : {},
      ),
    );
  } finally {
    client.close();
    mnemo(env, 'stop');
  }
}

// ---------------------------------------------------------------- disk
/**
 * Bytes per captured tool event on disk, with raw payloads kept and after the retention window (issue 14): sessions
 * of Bash PostToolUse events whose output is a test run's log of about 50 KB, through the hook handler in process on
 * a clock moved forward, then one retention pass (prune, incremental vacuum) and a WAL checkpoint.
 */
async function diskSuite() {
  const { HookHandler } = await import('../dist/capture/hook.js');
  let clock = Date.parse('2026-11-01T12:00:00Z');
  const dbPath = join(work, 'disk', 'mnemo.db');
  const engine = await Engine.open({ modelDir: pack, dbPath, embedder: { threads: 1 }, now: () => clock });
  const h = new HookHandler(engine, { now: () => clock });
  const bytes = () => {
    engine.storage.db.pragma('wal_checkpoint(TRUNCATE)');
    return statSync(dbPath).size;
  };
  try {
    const empty = bytes();
    const [sessions, perSession] = smoke ? [2, 10] : [20, 100];
    for (let s = 0; s < sessions; s++) {
      const session_id = `disk-${s}`;
      await h.handle('SessionStart', Buffer.from(JSON.stringify({ session_id, cwd: work, source: 'startup' })));
      for (let i = 0; i < perSession; i++) {
        const log = Array.from({ length: 700 }, (_, j) => `  ✓ suite ${s}.${i} case ${j} passes (${(i * j) % 97} ms)`);
        await h.handle(
          'PostToolUse',
          Buffer.from(
            JSON.stringify({
              session_id,
              cwd: work,
              tool_name: 'Bash',
              tool_use_id: `${session_id}-${i}`,
              tool_input: { command: `npm test -- --shard ${i}` },
              tool_response: { stdout: log.join('\n'), stderr: '', exitCode: 0 },
            }),
          ),
        );
      }
      clock += 60_000;
    }
    const events = sessions * perSession;
    add(metric(`disk: bytes per tool event, raw payloads kept (Bash, 50 KB output)`, (bytes() - empty) / events, 'B'));
    clock += 15 * 86_400_000;
    const t0 = performance.now();
    const pass = await h.retention.sweep();
    add(
      metric(`disk: retention pass (prune ${pass.pruned} payloads, give the space back)`, performance.now() - t0, 'ms'),
    );
    add(
      metric('disk: bytes per tool event after the retention window', (bytes() - empty) / events, 'B', {
        target: { op: '<=', value: 3072 },
      }),
    );
  } finally {
    await h.stop();
    await engine.close();
  }
}

/** Runs one phase in a fresh Node.js process and collects its rows. */
function phase(name, extra = []) {
  const rowsFile = join(work, `rows-${name}.json`);
  const args = [
    join(REPO, 'native-bench', 'run.js'),
    '--phase',
    name,
    '--work',
    work,
    '--rows',
    rowsFile,
    '--threads',
    String(threads),
    ...(opts['daemon-threads'] ? ['--daemon-threads', opts['daemon-threads']] : []),
    '--runs',
    String(runs),
    '--sizes',
    sizes.join(','),
    ...(smoke ? ['--smoke'] : []),
    ...(opts.time ? ['--time', opts.time] : []),
    ...extra,
  ];
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) throw new Error(`bench phase ${name} failed (exit ${r.status})`);
  return JSON.parse(readFileSync(rowsFile, 'utf8'));
}

if (opts.phase) {
  let out = {};
  if (opts.phase === 'engine') out = await engineSuite();
  else if (opts.phase === 'daemon') await daemonSuite(opts.snapshot);
  else if (opts.phase === 'rss') await rssAt(opts.db, Math.max(...sizes));
  else if (opts.phase === 'disk') await diskSuite();
  writeFileSync(opts.rows, JSON.stringify({ rows, ...out }));
  process.exit(0);
}

const started = performance.now();
try {
  log(
    `pack ${packKind} (${pack}), sizes ${sizes.join(', ')}, ${runs} runs, ${threads} workers in process, ` +
      `daemons with ${opts['daemon-threads'] ?? 'the default'} workers`,
  );
  const engine = phase('engine');
  rows.push(...engine.rows);
  if (!engine.snapshot10k) log('no 10,000-memory size in --sizes: skipping the end-to-end hook runs');
  else if (existsSync(NATIVE_CLIENT)) rows.push(...phase('daemon', ['--snapshot', engine.snapshot10k]).rows);
  else log('the native client is not built: skipping the end-to-end hook runs');
  rows.push(...phase('disk').rows);
  if (!smoke) rows.push(...phase('rss', ['--db', engine.dbPath]).rows);
} finally {
  rmSync(work, { recursive: true, force: true });
}

const result = {
  when: new Date().toISOString(),
  machine: machine(),
  pack: packKind,
  smoke,
  sizes,
  runs,
  threads,
  daemonThreads: opts['daemon-threads'] ? Number(opts['daemon-threads']) : 'default',
  seconds: Math.round((performance.now() - started) / 1000),
  rows,
};
mkdirSync(join(outFile, '..'), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(result, null, 2)}\n`);
const packName = packKind === 'minilm' ? 'MiniLM-L6-shaped int8' : 'tiny';
printTable(`mnemo bench — ${result.machine}; pack ${packName}; ${result.seconds} s`, rows);
console.log(`\nwrote ${outFile}`);
