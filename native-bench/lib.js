// Shared pieces of the benchmarks: the packs they run on, a corpus that looks like memories, statistics, the table.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateBertPack, MINILM_L6_SHAPE, TINY_SHAPE } from '../dist/embed/packs/bert-pack.js';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const CLI = join(REPO, 'dist', 'cli', 'main.js');
export const NATIVE_CLIENT = join(REPO, 'build', 'mnemo-client');
export const FALLBACK_CLIENT = join(REPO, 'dist', 'client', 'fallback.js');

/**
 * The packs: `minilm` is shaped exactly like all-MiniLM-L6-v2 and int8 like its published model_quantized.onnx
 * (22 MB), with the real tokenizer from ../shared when present, so its costs are the real model's; `tiny` is the
 * test suite's pack, for smoke runs.
 */
export function benchPack(kind) {
  const dir = join(REPO, '.cache', 'packs', kind === 'tiny' ? 'tiny-bert-s1-v1' : 'minilm-l6-int8-bench-v1');
  if (!existsSync(join(dir, 'manifest.json'))) {
    if (kind === 'tiny') {
      generateBertPack(dir, { name: 'tiny-bert-s1', shape: TINY_SHAPE, seed: 1, maxTokens: 32 });
    } else {
      const shared = join(REPO, '..', 'shared', 'models', 'all-MiniLM-L6-v2', 'tokenizer.json');
      generateBertPack(dir, {
        name: 'minilm-l6-shaped-int8',
        shape: MINILM_L6_SHAPE,
        seed: 7,
        maxTokens: 256,
        quantize: 'int8',
        ...(existsSync(shared) ? { tokenizerJson: readFileSync(shared, 'utf8') } : {}),
      });
    }
  }
  return dir;
}

const COMMON =
  `the of and to in is that for it as with was on be by this are or from at an not but have all which one their has
can will more if been when there who also other some into only time would new about two first after these than could
may most then over such any where should very what our just like make how each through use work used out
because way`.split(/\s+/);
const TECH =
  `daemon socket cache index sqlite vector search memory hook session prompt tool commit branch refactor bug fix test
build deploy config token latency worker pool model embed query filter project tag decision note error retry lock
payment gateway invoice ledger webhook refund currency fraud vault checkout order customer account email password login
oauth migration schema table column key constraint transaction rollback journal queue backoff timeout parser lexer
compiler runtime bundle module import export interface class method function closure promise stream buffer encoding
frame protocol handshake certificate proxy router middleware handler endpoint request response header cookie cors
kubernetes container image registry pipeline artifact release version semver changelog lint format typecheck coverage
benchmark profile flamegraph allocation leak heap stack trace panic crash signal thread mutex deadlock race
condition`.split(/\s+/);

/** A seeded generator of memory-like text: Zipf-distributed words, technical terms, file names and numbers. */
export function corpus(seed = 1) {
  let s = seed >>> 0 || 1;
  const rnd = () => {
    s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return s / 4294967296;
  };
  const zipf = (list) => list[Math.min(list.length - 1, Math.floor(list.length * rnd() ** 2.2))];
  let n = 0;
  return {
    rnd,
    sentence(words = 14) {
      n++;
      const out = [];
      for (let i = 0; i < words; i++) {
        const r = rnd();
        if (r < 0.45) out.push(zipf(COMMON));
        else if (r < 0.93) out.push(zipf(TECH));
        else if (r < 0.97) out.push(`src/${zipf(TECH)}_${Math.floor(rnd() * 500)}.ts`);
        else out.push(String(Math.floor(rnd() * 10000)));
      }
      return `${out.join(' ')} (#${n})`;
    },
    query(words = 5) {
      return Array.from({ length: words }, () => (rnd() < 0.8 ? zipf(TECH) : zipf(COMMON))).join(' ');
    },
  };
}

/**
 * `n` memories of corpus text as the bench stores them, numbered from `from`: spread over 20 projects (or as
 * `project` says) and 50 tags.
 */
export function corpusMemories(text, from, n, project = (i) => `/work/p${i % 20}`) {
  return Array.from({ length: n }, (_, k) => ({
    content: text.sentence(),
    project: project(from + k),
    tags: [`t${(from + k) % 50}`],
  }));
}

export function stats(samples) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (p) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return {
    n: s.length,
    median: at(0.5),
    p95: at(0.95),
    p99: at(0.99),
    mean: s.reduce((a, b) => a + b, 0) / Math.max(1, s.length),
  };
}

/** Runs a command the way Claude Code runs a hook: a new process, input on stdin. Resolves with its wall time. */
export function timeProcess(argv, env, stdin = '') {
  return new Promise((resolveRun, reject) => {
    const t0 = performance.now();
    const p = spawn(argv[0], argv.slice(1), { env, stdio: ['pipe', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.on('error', reject);
    p.stdin.on('error', () => {});
    p.stdin.end(stdin);
    p.on('exit', (code) => resolveRun({ ms: performance.now() - t0, code, out }));
  });
}

export function machine() {
  const cpu = cpus()[0]?.model ?? 'unknown cpu';
  const memory = `${(totalmem() / 2 ** 30).toFixed(0)} GiB`;
  return `${cpus().length} cores (${cpu}), ${memory}, node ${process.version}, ${process.platform}`;
}

export function gitProject(dir, branch = 'payment-retries') {
  mkdirSync(join(dir, 'src'), { recursive: true });
  writeFileSync(join(dir, 'src', 'payments.ts'), '// payments\n');
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'b',
    GIT_AUTHOR_EMAIL: 'b@b',
    GIT_COMMITTER_NAME: 'b',
    GIT_COMMITTER_EMAIL: 'b@b',
  };
  const git = (...a) => execFileSync('git', a, { cwd: dir, stdio: 'ignore', env });
  git('init', '-q');
  git('checkout', '-q', '-b', branch);
  git('add', '.');
  git('commit', '-q', '-m', 'Retry card payments on gateway timeouts');
  return dir;
}

/** One row of the results table. `ref` names an in-run reference: the check compares value/ref, which noise cancels. */
export function metric(key, value, unit, extra = {}) {
  return { key, value, unit, ...extra };
}

export function printTable(title, rows) {
  const fmt = (x) =>
    x === undefined || x === null
      ? ''
      : typeof x === 'string'
        ? x
        : Math.abs(x) >= 100
          ? x.toFixed(0)
          : Math.abs(x) >= 10
            ? x.toFixed(1)
            : x.toFixed(2);
  console.log(`\n${title}`);
  console.log(
    ['measure'.padEnd(58), 'value'.padStart(9), 'unit'.padEnd(7), 'p95'.padStart(8), 'p99'.padStart(8), ' target'].join(
      ' ',
    ),
  );
  for (const r of rows) {
    const verdict =
      r.target === undefined
        ? ''
        : `${r.target.op} ${r.target.value}${r.pass === undefined ? '' : r.pass ? '  ok' : '  MISSED'}`;
    console.log(
      [
        r.key.padEnd(58),
        fmt(r.value).padStart(9),
        (r.unit ?? '').padEnd(7),
        fmt(r.p95).padStart(8),
        fmt(r.p99).padStart(8),
        ` ${verdict}`,
      ].join(' '),
    );
  }
}

/** Marks whether a row meets its target. */
export function judge(row) {
  if (!row.target) return row;
  const v = row.target.of === 'p99' ? row.p99 : row.value;
  const pass = row.target.op === '<=' ? v <= row.target.value : v >= row.target.value;
  return { ...row, pass };
}
