#!/usr/bin/env node
// Where a context hook's time goes (issue 14): SessionStart and UserPromptSubmit handled in process by the daemon's
// own HookHandler over a store of --size memories (the bench's corpus, MiniLM-shaped pack, a project history
// captured through the hooks), each step timed by wrapping the engine and capture methods it calls. Then the parts
// outside the daemon: a process spawn and the native client's round trip (`call hello`) against a real daemon.
//
//   node native-bench/trace-hooks.js [--size 10000] [--runs 100] [--json FILE]
//
// Steps overlap where the code overlaps them (an embedding runs in a worker while the main thread goes on), so the
// parts can add up to more than the whole; "handled in process" is the whole, and what no step covers is parsing the
// input, finding the project, merging and rendering within the token budget (token counting included).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Engine } from '../dist/engine-index.js';
import { HookHandler } from '../dist/capture/hook.js';
import { benchPack, CLI, corpus, corpusMemories, gitProject, machine, REPO, stats } from './lib.js';
import { spawnSync } from 'node:child_process';

const { values: opts } = parseArgs({
  options: {
    size: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '100' },
    json: { type: 'string' },
  },
});
const size = Number(opts.size);
const runs = Number(opts.runs);
const log = (m) => process.stderr.write(`trace: ${m}\n`);
const work = mkdtempSync(join(tmpdir(), 'mnemo-trace-'));
const pack = benchPack('minilm');

/** Time spent in each wrapped method, per run. */
let current = null;
function wrap(obj, name, label) {
  const original = obj[name].bind(obj);
  obj[name] = (...args) => {
    const t0 = performance.now();
    const done = () => {
      if (current) current[label] = (current[label] ?? 0) + performance.now() - t0;
    };
    const r = original(...args);
    if (r && typeof r.then === 'function') return r.finally(done);
    done();
    return r;
  };
}

const home = join(work, 'home');
mkdirSync(join(home, 'data'), { recursive: true });
const dbPath = join(home, 'data', 'mnemo.db');
const engine = await Engine.open({ modelDir: pack, dbPath, embedder: { threads: 1 } });
const project = gitProject(join(work, 'checkout-service'));
const handler = new HookHandler(engine);
const hook = (event, payload) =>
  handler.handle(
    event,
    Buffer.from(JSON.stringify({ hook_event_name: event, cwd: project, transcript_path: '/tmp/t.jsonl', ...payload })),
  );
const text = corpus(1);
const rows = [];
try {
  log(`filling to ${size} memories`);
  for (let stored = 0; stored < size; stored += 256) {
    await engine.storeBatch(
      corpusMemories(text, stored, Math.min(256, size - stored), (i) => (i % 10 === 0 ? project : `/work/p${i % 20}`)),
    );
  }
  await engine.indexed;
  log('capturing a project history through the hooks');
  const history = corpus(9);
  for (let s = 0; s < 20; s++) {
    const id = `hist-${s}`;
    await hook('SessionStart', { session_id: id, source: 'startup' });
    for (let p = 0; p < 4; p++) {
      await hook('UserPromptSubmit', {
        session_id: id,
        prompt_id: `${id}-${p}`,
        prompt: `${history.query(6)}: update src/payments.ts and cover it with tests`,
      });
      await hook('Stop', {
        session_id: id,
        prompt_id: `${id}-${p}`,
        last_assistant_message: `Done: ${history.query(8)}.`,
      });
    }
    await hook('SessionEnd', { session_id: id, reason: 'prompt_input_exit' });
  }
  await handler.compressor.drain();

  // The steps, as the context builder calls them.
  wrap(engine, 'prepareQueries', 'embed the project query (worker)');
  wrap(engine, 'search', 'searches (keyword, semantic)');
  wrap(engine, 'list', 'listings (summary, flagged, recent)');
  wrap(engine.embedder, 'embedQueries', 'embed the prompt (worker)');
  wrap(handler.capture, 'sessionStart', 'record the session');
  wrap(handler.capture, 'userPrompt', 'record the prompt');
  wrap(handler.capture, 'hasPending', 'check the compression queue');
  wrap(handler.capture, 'recordInjection', 'record what was injected');
  wrap(handler.capture, 'given', 'what the session was given');

  for (const event of ['SessionStart', 'UserPromptSubmit']) {
    const perRun = [];
    for (let i = 0; i < runs; i++) {
      current = {};
      const t0 = performance.now();
      const r =
        event === 'SessionStart'
          ? await hook('SessionStart', { session_id: `trace-${i}`, source: 'startup' })
          : await hook('UserPromptSubmit', {
              session_id: 'trace-prompts',
              prompt_id: `tp-${i}`,
              prompt: `Why do payment retries fail on gateway timeouts? ${text.query(4)}`,
            });
      current['handled in process'] = performance.now() - t0;
      current.injected = r.stdout ? 1 : 0;
      perRun.push(current);
      current = null;
      if (event === 'SessionStart') await hook('SessionEnd', { session_id: `trace-${i}`, reason: 'other' });
      await handler.compressor.drain();
    }
    const labels = [...new Set(perRun.flatMap((r) => Object.keys(r)))].filter((l) => l !== 'injected');
    for (const label of labels) {
      const s = stats(perRun.map((r) => r[label] ?? 0));
      rows.push({ event, step: label, median: s.median, p99: s.p99 });
    }
    rows.push({ event, step: 'runs that injected something', median: perRun.filter((r) => r.injected).length, p99: 0 });
  }
} finally {
  await handler.stop();
  await engine.close();
}

// Outside the daemon: the process and the round trip, timed from a fresh small process (a process forked from this
// one, which holds the engine, pays for its page tables: 12 ms for /bin/true, measured).
const env = { ...process.env, MNEMO_HOME: home };
spawnSync(process.execPath, [CLI, 'start', '--threads', '1'], { env, stdio: 'ignore' });
try {
  const r = spawnSync(process.execPath, [join(REPO, 'native-bench', 'trace-client.js'), String(runs)], {
    env,
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(r.stderr);
  rows.push(...JSON.parse(r.stdout));
} finally {
  spawnSync(process.execPath, [CLI, 'stop'], { env, stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
}

console.log(`mnemo hook trace — ${machine()}; ${size} memories; ${runs} runs; medians and p99 in ms`);
for (const r of rows)
  console.log(
    `${r.event.padEnd(17)} ${r.step.padEnd(66)} ${r.median.toFixed(2).padStart(8)} ${r.p99.toFixed(2).padStart(8)}`,
  );
if (opts.json)
  writeFileSync(
    opts.json,
    `${JSON.stringify({ when: new Date().toISOString(), machine: machine(), size, runs, rows }, null, 2)}\n`,
  );
