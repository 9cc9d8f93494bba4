#!/usr/bin/env node
// Hook round trips end to end, the way Claude Code makes them: a new native client process per hook, the event JSON
// on stdin, against a running daemon with a captured history. Reports median, p95 and p99 per event, and the tokens
// (cl100k) of what SessionStart and UserPromptSubmit inject.
//
//   node native-bench/hooks.bench.js [--runs 100] [--sessions 40] [--memories 0] [--threads 2] [--json out.json]
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect } from '../dist/client/client.js';
import { generateBertPack, MINILM_L6_SHAPE } from '../dist/embed/bert-pack.js';
import { countTokens } from '../dist/engine-index.js';

const { values: opts } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    sessions: { type: 'string', default: '40' },
    memories: { type: 'string', default: '0' },
    threads: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const runs = Number(opts.runs);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const cli = join(repo, 'dist', 'cli', 'main.js');
const client = join(repo, 'build', 'mnemo-client');
if (!existsSync(client)) throw new Error(`the native client is not built (${client}); run npm install`);

const packDir = join(repo, '.cache', 'packs', 'minilm-shaped-bench-v1');
if (!existsSync(join(packDir, 'manifest.json'))) {
  const shared = join(repo, '..', 'shared', 'models', 'all-MiniLM-L6-v2', 'tokenizer.json');
  generateBertPack(packDir, { name: 'minilm-l6-shaped', shape: MINILM_L6_SHAPE, seed: 7, maxTokens: 256, ...(existsSync(shared) ? { tokenizerJson: readFileSync(shared, 'utf8') } : {}) });
}

const home = mkdtempSync(join(tmpdir(), 'mnh-'));
const env = { ...process.env, MNEMO_HOME: home, MNEMO_MODEL: packDir, MNEMO_CLI: cli };
delete env.XDG_RUNTIME_DIR;
const project = join(home, 'checkout-service');
mkdirSync(join(project, 'src'), { recursive: true });
const git = (...a) => execFileSync('git', a, { cwd: project, stdio: 'ignore', env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } });
git('init', '-q');
git('checkout', '-q', '-b', 'payment-retries');
writeFileSync(join(project, 'src', 'payments.ts'), '// payments\n');
git('add', '.');
git('commit', '-q', '-m', 'Retry card payments on gateway timeouts');

function hook(event, payload) {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const p = spawn(client, ['hook', event], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.stdin.end(JSON.stringify({ hook_event_name: event, cwd: project, transcript_path: '/tmp/t.jsonl', ...payload }));
    p.on('exit', () => resolveRun({ ms: performance.now() - t0, out }));
  });
}

const TOPICS = ['payment retries', 'gateway timeout handling', 'idempotency keys', 'refund webhooks', 'currency rounding', 'fraud score threshold', 'card vault encryption', 'invoice PDF rendering', 'ledger reconciliation', 'checkout latency'];
const FILES = ['src/payments.ts', 'src/gateway.ts', 'src/webhooks.ts', 'src/ledger.ts', 'src/invoice.ts', 'test/payments.test.ts'];

async function session(id, prompts) {
  await hook('SessionStart', { session_id: id, source: 'startup' });
  for (let p = 0; p < prompts; p++) {
    const topic = TOPICS[(id.length + p * 7 + prompts) % TOPICS.length];
    const file = FILES[p % FILES.length];
    const pid = `${id}-p${p}`;
    await hook('UserPromptSubmit', { session_id: id, prompt_id: pid, prompt: `Work on ${topic}: update ${file} and make sure the tests cover the ${topic} edge cases.` });
    await hook('PostToolUse', { session_id: id, prompt_id: pid, tool_name: 'Read', tool_input: { file_path: join(project, file) }, tool_use_id: `${pid}-r`, tool_response: { type: 'text' } });
    await hook('PostToolUse', { session_id: id, prompt_id: pid, tool_name: 'Edit', tool_input: { file_path: join(project, file), old_string: 'a', new_string: 'b' }, tool_use_id: `${pid}-e`, tool_response: { filePath: join(project, file) } });
    await hook('PostToolUse', { session_id: id, prompt_id: pid, tool_name: 'Bash', tool_input: { command: 'npm test -- payments' }, tool_use_id: `${pid}-b`, tool_response: p % 3 === 0 ? { stdout: '', stderr: `FAIL test/payments.test.ts: ${topic} expected 200 got 502`, exitCode: 1 } : { stdout: 'Tests 42 passed', stderr: '' } });
    await hook('Stop', { session_id: id, prompt_id: pid, last_assistant_message: `Updated ${file} for ${topic}; the payments tests pass.` });
  }
  await hook('SessionEnd', { session_id: id, reason: 'prompt_input_exit' });
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { n: s.length, median: at(0.5), p95: at(0.95), p99: at(0.99), max: s[s.length - 1] };
};

const rows = [];
const tokens = { SessionStart: [], UserPromptSubmit: [] };
try {
  const started = spawnSync(process.execPath, [cli, 'start', '--threads', opts.threads], { env, encoding: 'utf8' });
  if (started.status !== 0) throw new Error(started.stderr);
  const c = await connect({ env });
  const filler = Number(opts.memories);
  for (let i = 0; i < filler; i += 500) {
    await c.storeBatch(Array.from({ length: Math.min(500, filler - i) }, (_, j) => ({ content: `filler note ${i + j} about ${TOPICS[(i + j) % TOPICS.length]} in another service`, project: '/elsewhere', tags: ['filler'] })));
  }
  for (let s = 0; s < Number(opts.sessions); s++) await session(`hist-${s}`, 3 + (s % 4));
  await c.store({ content: 'Decision: payment retries use exponential backoff capped at 3 attempts; never retry a declined card.', tags: ['decision'], project });
  // Let the compression worker finish the history.
  for (let i = 0; i < 200; i++) {
    const q = (await c.status()).compressionQueue;
    if (!q?.pending) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const memories = (await c.health()).memories;

  const per = { SessionStart: [], UserPromptSubmit: [], PostToolUse: [], Stop: [], SessionEnd: [] };
  for (let i = 0; i < runs; i++) {
    const id = `bench-${i}`;
    const ss = await hook('SessionStart', { session_id: id, source: 'startup' });
    per.SessionStart.push(ss.ms);
    if (ss.out) tokens.SessionStart.push(countTokens(JSON.parse(ss.out).hookSpecificOutput.additionalContext));
    const up = await hook('UserPromptSubmit', { session_id: id, prompt_id: `${id}-1`, prompt: `Why do payment retries fail on gateway timeouts? ${TOPICS[i % TOPICS.length]}` });
    per.UserPromptSubmit.push(up.ms);
    if (up.out) tokens.UserPromptSubmit.push(countTokens(JSON.parse(up.out).hookSpecificOutput.additionalContext));
    const pt = await hook('PostToolUse', { session_id: id, prompt_id: `${id}-1`, tool_name: 'Bash', tool_input: { command: 'npm test' }, tool_use_id: `${id}-t`, tool_response: { stdout: 'ok', stderr: '' } });
    per.PostToolUse.push(pt.ms);
    per.Stop.push((await hook('Stop', { session_id: id, prompt_id: `${id}-1`, last_assistant_message: 'Done.' })).ms);
    per.SessionEnd.push((await hook('SessionEnd', { session_id: id, reason: 'other' })).ms);
  }
  for (const [event, xs] of Object.entries(per)) rows.push({ name: `native hook ${event}`, ...stats(xs) });
  for (const [event, xs] of Object.entries(tokens)) if (xs.length) rows.push({ name: `tokens injected at ${event} (cl100k)`, ...stats(xs), unit: 'tokens', of: `${xs.length}/${runs} runs injected` });
  rows.push({ name: 'memories in the database', n: 1, median: memories, unit: 'count' });
  c.close();
} finally {
  spawnSync(process.execPath, [cli, 'stop'], { env });
  rmSync(home, { recursive: true, force: true });
}

const f = (x) => (x === undefined ? '' : Number.isInteger(x) ? String(x) : x.toFixed(2));
console.log(`\nmnemo hooks — native client, pack minilm-l6-shaped, ${opts.threads} workers, node ${process.version}, ${new Date().toISOString()}`);
console.log(['measure'.padEnd(44), 'n'.padStart(5), 'median'.padStart(8), 'p95'.padStart(8), 'p99'.padStart(8), 'max'.padStart(8)].join(' '));
for (const r of rows) console.log([r.name.padEnd(44), String(r.n).padStart(5), f(r.median).padStart(8), f(r.p95).padStart(8), f(r.p99).padStart(8), f(r.max).padStart(8), r.of ?? ''].join(' '));
console.log('(ms unless stated)');
if (opts.json) writeFileSync(opts.json, `${JSON.stringify({ when: new Date().toISOString(), rows }, null, 2)}\n`);
