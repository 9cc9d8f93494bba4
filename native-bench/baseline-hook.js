#!/usr/bin/env node
// The per-hook-process baseline: what peers do on every hook. This process opens the database, loads the model,
// answers one hook from stdin with the same code the daemon uses, and exits. Timed from outside, beside the daemon.
//
//   MNEMO_BASELINE_DB=... MNEMO_BASELINE_MODEL=... node native-bench/baseline-hook.js SessionStart < hook.json
import { HookHandler } from '../dist/capture/hook.js';
import { Engine } from '../dist/engine-index.js';

const event = process.argv[2] ?? 'SessionStart';
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const engine = await Engine.open({
  modelDir: process.env.MNEMO_BASELINE_MODEL,
  dbPath: process.env.MNEMO_BASELINE_DB,
  embedder: { threads: 1 },
});
const hooks = new HookHandler(engine, { compressor: { intervalMs: 3_600_000 } });
const result = await hooks.handle(event, Buffer.concat(chunks));
process.stdout.write(result.stdout);
await hooks.stop();
await engine.close();
