#!/usr/bin/env node
// The cumulative memory profile of memory.js: what each piece of the daemon adds to the RSS of one process, in the
// order the daemon loads them. Imports nothing of mnemo up front, so the first row is Node.js alone.
//
//   node --expose-gc native-bench/memory-parts.js DB PACK [--searches 200] [--threads 2]
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

const { values: opts, positionals } = parseArgs({
  allowPositionals: true,
  options: { searches: { type: 'string', default: '200' }, threads: { type: 'string', default: '2' } },
});
const [dbFile, pack] = positionals;
const threads = Number(opts.threads);
const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;
const rss = () => mib(Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024);
/** RSS by kind of mapping: anonymous memory (V8, malloc arenas, ONNX Runtime), the main heap, files (code, models). */
function kinds() {
  const out = { anon: 0, heap: 0, files: 0 };
  let kind = 'anon';
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head)
      kind =
        !head[1] || head[1].startsWith('[anon')
          ? 'anon'
          : head[1] === '[heap]'
            ? 'heap'
            : head[1].startsWith('[')
              ? 'anon'
              : 'files';
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) out[kind] += Number(r[1]) / 1024;
  }
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, Math.round(v * 10) / 10]));
}
const steps = [];
const mark = (what) => {
  globalThis.gc?.();
  const m = process.memoryUsage();
  steps.push({ what, rss: rss(), heapUsed: mib(m.heapUsed), external: mib(m.external), ...kinds() });
};

mark('node');
const { countTokens } = await import('../dist/search/tokens.js');
countTokens('warm the cl100k token counter');
mark('cl100k token counter (gpt-tokenizer)');
const { Engine } = await import('../dist/engine.js');
const { LocalMnemo } = await import('../dist/daemon/local.js');
await import('../dist/daemon/daemon.js');
mark('daemon and engine modules');
const { Embedder } = await import('../dist/embed/embedder.js');
const one = await Embedder.open(pack, { threads: 1 });
mark('embedding worker 1 (isolate, ONNX session, tokenizer)');
const more = threads > 1 ? await Embedder.open(pack, { threads: threads - 1 }) : null;
if (more) mark(`embedding workers 2..${threads}`);
await one.close();
await more?.close();
mark('workers closed');
const dir = mkdtempSync(join(tmpdir(), 'mnemo-parts-'));
cpSync(dbFile, join(dir, 'mnemo.db'));
const engine = await Engine.open({ modelDir: pack, dbPath: join(dir, 'mnemo.db'), embedder: { threads } });
mark(`engine open (${threads} workers again, database)`);
await engine.indexed;
mark('int8 vector index loaded');
const api = new LocalMnemo(engine);
const words = 'daemon socket cache index sqlite vector search memory hook session prompt tool commit'.split(' ');
for (let i = 0; i < Number(opts.searches); i++) {
  const query = Array.from({ length: 5 }, (_, j) => words[(i * 7 + j * 3) % words.length]).join(' ');
  await api.search({ query, limit: 5, mode: ['hybrid', 'semantic', 'keyword'][i % 3] });
}
mark(`${opts.searches} searches`);
for (let i = 0; i < 20; i++)
  await api.search({ query: words[i % words.length], limit: 5, format: 'text', budget: 400 });
mark('20 searches rendered as text within a token budget');
await engine.close();
rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify({ view: 'parts', db: dbFile, pack, threads, steps }));
