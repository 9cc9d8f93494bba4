#!/usr/bin/env node
// Where the daemon's memory goes (issue 14). Two views:
//   parts    one process loads the daemon's pieces one at a time and reads its RSS after each (a cumulative profile,
//            memory-parts.js, which imports nothing else up front);
//   daemon   a real daemon (`mnemo start`, the way the hooks start it) warmed with hooks and searches, then its RSS
//            and the kinds of its mappings (/proc/PID/smaps).
//
//   node native-bench/memory.js [--sizes 10000,100000] [--pack minilm|offline] [--searches 200] [--threads N]
//                               [--idle SECONDS (30: the wait before the idle figure)]
//
// Databases are built once into .cache/bench-db/ (git-ignored) and copied for each run.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { benchPack, CLI, corpus, corpusMemories, gitProject, NATIVE_CLIENT, REPO, stats, timeProcess } from './lib.js';
import { offlinePack } from './quality.js';

const { values: opts } = parseArgs({
  options: {
    sizes: { type: 'string', default: '10000' },
    pack: { type: 'string', default: 'minilm' },
    searches: { type: 'string', default: '200' },
    threads: { type: 'string' },
    view: { type: 'string', default: 'daemon,parts' },
    idle: { type: 'string', default: '30' },
  },
});
const packDir = () => (opts.pack === 'offline' ? offlinePack() : benchPack('minilm'));
const rssOf = (pid = process.pid) =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

/** A database of `size` memories from the bench corpus, built once per pack and size. */
async function database(size) {
  const dir = join(REPO, '.cache', 'bench-db');
  const file = join(dir, `${opts.pack}-${size}.db`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  const { Engine, LocalMnemo } = await import('../dist/engine-index.js');
  const tmp = `${file}.building`;
  rmSync(tmp, { force: true });
  const engine = await Engine.open({ modelDir: packDir(), dbPath: tmp, embedder: { threads: 2 } });
  const api = new LocalMnemo(engine);
  const text = corpus(1);
  for (let stored = 0; stored < size;) {
    const n = Math.min(256, size - stored);
    await api.storeBatch({ memories: corpusMemories(text, stored, n) });
    stored += n;
    if (stored % 10_000 === 0) process.stderr.write(`memory: built ${stored} of ${size}\n`);
  }
  engine.storage.db.pragma('wal_checkpoint(TRUNCATE)');
  await engine.close();
  renameSync(tmp, file);
  return file;
}

/** Sums /proc/PID/smaps by kind of mapping: the heap, anonymous (V8, arenas, ONNX), files (code, the model). */
function smapsOf(pid) {
  const kinds = new Map();
  let kind = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const path = head[1];
      kind = !path
        ? 'anonymous'
        : path === '[heap]'
          ? '[heap] (main malloc arena)'
          : path.startsWith('[')
            ? path
            : path.includes('onnxruntime')
              ? 'libonnxruntime'
              : path.endsWith('.onnx')
                ? 'model file'
                : /\/node$/.test(path)
                  ? 'node binary'
                  : path.endsWith('.node')
                    ? 'native addons'
                    : /\.db(-wal|-shm)?$/.test(path)
                      ? 'database (mmap)'
                      : 'other files';
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) kinds.set(kind, (kinds.get(kind) ?? 0) + Number(rss[1]) / 1024);
  }
  return Object.fromEntries([...kinds].filter(([, v]) => v >= 0.5).sort((a, b) => b[1] - a[1]));
}

async function daemonView(size) {
  const db = await database(size);
  const home = mkdtempSync(join(tmpdir(), 'mnemo-mem-'));
  mkdirSync(join(home, 'data'), { recursive: true });
  cpSync(db, join(home, 'data', 'mnemo.db'));
  const env = { ...process.env, MNEMO_HOME: home, MNEMO_MODEL: packDir(), MNEMO_CLI: CLI };
  delete env.XDG_RUNTIME_DIR;
  const mnemo = (...args) => spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  const r = mnemo('start', ...(opts.threads ? ['--threads', opts.threads] : []));
  if (r.status !== 0) throw new Error(`mnemo start failed: ${r.stderr}`);
  const { connect } = await import('../dist/client/client.js');
  const client = await connect({ env });
  try {
    const { pid } = await client.hello();
    const afterStart = rssOf(pid);
    const project = gitProject(join(home, 'project'));
    const text = corpus(9);
    // The warm-up of the bench's daemon phase, smaller: a few sessions through the native client.
    if (existsSync(NATIVE_CLIENT)) {
      const hook = (event, payload) =>
        timeProcess(
          [NATIVE_CLIENT, 'hook', event],
          env,
          JSON.stringify({ hook_event_name: event, cwd: project, transcript_path: '/tmp/t.jsonl', ...payload }),
        );
      for (let s = 0; s < 5; s++) {
        const id = `mem-${s}`;
        await hook('SessionStart', { session_id: id, source: 'startup' });
        for (let p = 0; p < 4; p++) {
          const prompt = `${id}-${p}`;
          await hook('UserPromptSubmit', { session_id: id, prompt_id: prompt, prompt: text.query(8) });
          await hook('PostToolUse', {
            session_id: id,
            prompt_id: prompt,
            tool_name: 'Bash',
            tool_input: { command: 'npm test' },
            tool_use_id: `${prompt}-b`,
            tool_response: { stdout: text.sentence(200) },
          });
          await hook('Stop', { session_id: id, prompt_id: prompt, last_assistant_message: text.sentence(20) });
        }
        await hook('SessionEnd', { session_id: id, reason: 'other' });
      }
    }
    const searches = Number(opts.searches);
    const times = [];
    for (let i = 0; i < searches; i++) {
      const t0 = performance.now();
      await client.search({ query: text.query(), limit: 5, mode: ['hybrid', 'semantic', 'keyword'][i % 3] });
      times.push(performance.now() - t0);
    }
    await new Promise((res) => setTimeout(res, 1000));
    const status = await client.status();
    const out = {
      view: 'daemon',
      pack: opts.pack,
      size,
      model: status.model,
      rssAfterStart: afterStart,
      rssAfterWarmup: rssOf(pid),
      // A guard against a memory setting that costs latency (the bench measures it properly).
      searchMs: stats(times),
      smaps: smapsOf(pid),
    };
    // What a daemon holds most of the day: idle, after V8 has shrunk its heaps (it does so after some seconds idle).
    await new Promise((res) => setTimeout(res, Number(opts.idle) * 1000));
    Object.assign(out, { idleSeconds: Number(opts.idle), rssIdle: rssOf(pid), smapsIdle: smapsOf(pid) });
    console.log(JSON.stringify(out));
  } finally {
    client.close();
    mnemo('stop');
    rmSync(home, { recursive: true, force: true });
  }
}

for (const size of opts.sizes.split(',').map(Number)) {
  const views = opts.view.split(',');
  if (views.includes('daemon')) await daemonView(size);
  if (views.includes('parts')) {
    const db = await database(size);
    const argv = [
      '--expose-gc',
      join(REPO, 'native-bench', 'memory-parts.js'),
      db,
      packDir(),
      '--searches',
      opts.searches,
      ...(opts.threads ? ['--threads', opts.threads] : []),
    ];
    const r = spawnSync(process.execPath, argv, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0) throw new Error(`parts profile failed (exit ${r.status})`);
  }
}
