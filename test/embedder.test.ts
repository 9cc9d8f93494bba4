import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Embedder } from '../dist/embed/embedder.js';
import type { PackManifest } from '../dist/embed/manifest.js';
import { Engine, ErrorCode, MnemoError } from '../dist/engine-index.js';
import { ORT_PATH } from '../dist/embed/ort.js';
import { miniLmShapedPack, REPO, TINY_MAX_TOKENS, tinyPack } from './helpers/packs.js';

const maxDiff = (a: Float32Array, b: Float32Array) => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};
const norm = (v: Float32Array) => Math.hypot(...v);

describe('embedder', () => {
  let e: Embedder;
  beforeAll(async () => {
    e = await Embedder.open(tinyPack(), { threads: 2, cacheSize: 16 });
  });
  afterAll(async () => {
    await e?.close();
  });

  it('warms every worker before it is ready and reports the manifest dimension', () => {
    expect(e.threads).toBe(2);
    // Two distinct worker threads each ran the model during open(), before any request.
    expect(e.warmedThreads).toBe(2);
    expect(e.dimension).toBe(32);
  });

  it('gives identical vectors for identical text, normalised, and different vectors for different text', async () => {
    const [a, b, c] = await e.embedDocuments([
      'the daemon keeps the model warm',
      'the daemon keeps the model warm',
      'rain',
    ]);
    expect(maxDiff(a!, b!)).toBe(0);
    expect(norm(a!)).toBeCloseTo(1, 5);
    expect(maxDiff(a!, c!)).toBeGreaterThan(1e-3);
  });

  it('batched output equals one-by-one output', async () => {
    const texts = [
      'short',
      'a somewhat longer text about sqlite and vectors',
      'x',
      'fix the build',
      'tokenizer test 123',
    ];
    const one: Float32Array[] = [];
    for (const t of texts) one.push((await e.embedDocuments([t]))[0]!);
    const batched = await e.embedDocuments(texts);
    const before = e.stats.calls;
    // Concurrent single requests are coalesced into fewer model calls than requests.
    const concurrent = await Promise.all(texts.map((t) => e.embedDocuments([`${t}!`])));
    expect(e.stats.calls - before).toBeLessThan(texts.length);
    texts.forEach((_, i) => {
      expect(maxDiff(one[i]!, batched[i]!)).toBeLessThan(1e-5);
      expect(concurrent[i]![0]!.length).toBe(32);
    });
  });

  it('a batch larger than one model run embeds as its texts do one at a time', async () => {
    // 40 texts of 1 to 50 words hold more tokens than one run takes (worker.ts, TOKENS_PER_RUN), so the worker cuts
    // the batch into several runs of different widths.
    const words = ['code', 'file', 'test', 'cache', 'latency', 'server', 'index', 'sqlite'];
    const texts = Array.from({ length: 40 }, (_, i) =>
      Array.from({ length: 1 + ((i * 7) % 50) }, (_, k) => words[(i + k) % words.length]).join(' '),
    );
    const batched = await e.embedDocuments(texts);
    for (const [i, text] of texts.entries()) {
      const [alone] = await e.embedDocuments([text]);
      expect(maxDiff(alone!, batched[i]!)).toBeLessThan(1e-5);
    }
  });

  it('pooling honours the attention mask: padding in a batch does not change a vector', async () => {
    const [alone] = await e.embedDocuments(['cache']);
    const [padded] = await e.embedDocuments([
      'cache',
      'cache latency is slow because the index is rebuilt on every start of the server',
    ]);
    expect(maxDiff(alone!, padded!)).toBeLessThan(1e-5);
  });

  it('truncates at the model max tokens', async () => {
    // Each word is one token of the tiny vocabulary; [CLS] and [SEP] take two of the positions.
    const head = Array.from({ length: TINY_MAX_TOKENS }, () => 'code').join(' ');
    const [a, b] = await e.embedDocuments([`${head} alpha beta gamma`, `${head} delta`]);
    expect(maxDiff(a!, b!)).toBe(0);
    const [short1, short2] = await e.embedDocuments(['code alpha', 'code delta']);
    expect(maxDiff(short1!, short2!)).toBeGreaterThan(1e-3);
  });

  it('caches query vectors so a repeated query never reaches the model', async () => {
    const calls = e.stats.calls;
    const [q1] = await e.embedQueries(['what did we decide about logging']);
    expect(e.stats.calls).toBe(calls + 1);
    const [q2] = await e.embedQueries(['what did we decide about logging']);
    expect(e.stats.calls).toBe(calls + 1);
    expect(e.stats.cacheHits).toBeGreaterThan(0);
    expect(maxDiff(q1!, q2!)).toBe(0);
  });

  // A crash is made with the worker's `crashNextTask` hook: its next task ends the thread before the model runs.
  // Terminating a thread from outside can land inside ONNX Runtime's run, which aborts the whole process.
  type TestPool = {
    threads: { threadId: number }[];
    run(task: object, options: { name: string }): Promise<number>;
  };
  const testPool = () => (e as unknown as { pool: TestPool }).pool;
  const fullPool = async () => {
    for (let i = 0; i < 250 && testPool().threads.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(testPool().threads.length).toBe(2);
  };
  /** Sets the hook on both workers (idle workers take tasks first, so a few concurrent rounds reach them both). */
  const crashBothWorkers = async () => {
    const flagged = new Set<number>();
    for (let round = 0; round < 20 && flagged.size < 2; round++) {
      const ids = await Promise.all([0, 1].map(() => testPool().run({}, { name: 'crashNextTask' })));
      ids.forEach((id) => flagged.add(id));
    }
    expect(flagged.size).toBe(2);
    return flagged;
  };

  it('replaces a crashed worker and keeps serving', async () => {
    await fullPool();
    const victim = await testPool().run({}, { name: 'crashNextTask' });
    // Two concurrent calls at a time: idle workers take them, so the victim gets one within a few rounds.
    for (let i = 0; i < 10 && testPool().threads.some((t) => t.threadId === victim); i++) {
      const vs = await Promise.all([0, 1].map((k) => e.embedDocuments([`still serving ${i} ${k}`])));
      expect(vs.every(([v]) => v!.length === 32)).toBe(true);
    }
    await fullPool();
    expect(testPool().threads.map((t) => t.threadId)).not.toContain(victim);
    const many = await Promise.all(Array.from({ length: 8 }, (_, i) => e.embedDocuments([`after crash ${i}`])));
    expect(many.every(([x]) => x!.length === 32)).toBe(true);
  });

  it('tries a call again when its worker crashes under it, even when the retry lands on a dying worker', async () => {
    await fullPool();
    const doomed = await crashBothWorkers();
    // The call's first worker ends with it in flight, then its retry lands on the other, which ends too; the third
    // try (once per worker, plus one) reaches a replacement.
    const [v] = await e.embedDocuments(['a request outlives two worker crashes']);
    expect(v!.length).toBe(32);
    expect(norm(v!)).toBeCloseTo(1, 5);
    const [again] = await e.embedDocuments(['a request outlives two worker crashes']);
    expect(maxDiff(v!, again!)).toBe(0);
    await fullPool();
    for (const t of testPool().threads) expect(doomed.has(t.threadId)).toBe(false);
  });

  it('a batch whose workers both crash is retried whole: every text gets its own vector', async () => {
    await fullPool();
    await crashBothWorkers();
    const texts = Array.from({ length: 64 }, (_, i) => `batch text ${i} ${'word '.repeat(i)}`);
    const vectors = await e.embedDocuments(texts);
    await fullPool();
    const alone = await e.embedDocuments([texts[5]!, texts[60]!]);
    expect(maxDiff(vectors[5]!, alone[0]!)).toBeLessThan(1e-5);
    expect(maxDiff(vectors[60]!, alone[1]!)).toBeLessThan(1e-5);
    expect(vectors.every((v) => v.length === 32 && v.every(Number.isFinite))).toBe(true);
  });

  it('closes without stopping a thread that is still loading the model after a crash (in a child process)', () => {
    // Piscina starts a replacement for a crashed worker, which loads the model before it takes tasks; a close that
    // stopped it there aborted the process (terminate after a Napi::Error) in 2 of 6 runs with the MiniLM-shaped
    // pack. A child process, so that an abort fails this test and not the whole file.
    const script = join(mkdtempSync(join(tmpdir(), 'mnemo-close-')), 'close.mjs');
    writeFileSync(
      script,
      `import { Embedder } from ${JSON.stringify(join(REPO, 'dist', 'embed', 'embedder.js'))};
      const e = await Embedder.open(process.argv[2], { threads: 2 });
      const flagged = new Set();
      for (let r = 0; r < 20 && flagged.size < 2; r++)
        for (const id of await Promise.all([0, 1].map(() => e.pool.run({}, { name: 'crashNextTask' }))))
          flagged.add(id);
      await e.embedDocuments(['a request outlives two worker crashes']);
      await e.close();
      console.log('closed');`,
    );
    for (let i = 0; i < 4; i++) {
      const r = spawnSync(process.execPath, [script, miniLmShapedPack()], { encoding: 'utf8', timeout: 60_000 });
      expect(r.stdout, r.stderr).toContain('closed');
      expect(r.status, r.stderr).toBe(0);
    }
  });

  it('handles empty, unicode and very long text', async () => {
    const vs = await e.embedDocuments(['', '日本語のテキスト 🚀', 'word '.repeat(50_000)]);
    // Real unit vectors (an all-zero vector would pass a finiteness check), and different texts differ.
    for (const v of vs) {
      expect(v.every(Number.isFinite)).toBe(true);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(maxDiff(vs[0]!, vs[1]!)).toBeGreaterThan(1e-3);
    expect(maxDiff(vs[1]!, vs[2]!)).toBeGreaterThan(1e-3);
  });
});

describe('model pack checks', () => {
  const copy = () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'mnemo-pack-')), 'pack');
    cpSync(tinyPack(), dir, { recursive: true });
    return dir;
  };
  const openFails = async (dir: string, pattern: RegExp, options: Parameters<typeof Embedder.open>[1] = {}) => {
    let error: unknown;
    try {
      const e = await Embedder.open(dir, { threads: 1, ...options });
      await e.close();
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(MnemoError);
    expect((error as MnemoError).code).toBe(ErrorCode.MODEL);
    expect((error as MnemoError).message).toMatch(pattern);
  };

  it('refuses a model file whose bytes were changed (same size)', async () => {
    const dir = copy();
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    await openFails(dir, /model\.onnx has SHA-256 .* but the manifest says/);
  });

  it('refuses a truncated model file', async () => {
    const dir = copy();
    const bytes = readFileSync(join(dir, 'model.onnx'));
    writeFileSync(join(dir, 'model.onnx'), bytes.subarray(0, bytes.length - 100));
    await openFails(dir, /model\.onnx is \d+ bytes but the manifest says/);
  });

  it('reports a corrupt model whose manifest matches it', async () => {
    const dir = copy();
    const garbage = Buffer.from('this is not an onnx model');
    writeFileSync(join(dir, 'model.onnx'), garbage);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PackManifest;
    const { createHash } = await import('node:crypto');
    manifest.files['model.onnx'] = { sha256: createHash('sha256').update(garbage).digest('hex'), size: garbage.length };
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    await openFails(dir, /failed to load in the worker pool/);
  });

  it('refuses a missing or malformed manifest', async () => {
    const dir = copy();
    writeFileSync(join(dir, 'manifest.json'), '{"name": "x", "dimension": "big"}');
    await openFails(dir, /`source` must be|`dimension` must be/);
    await openFails(join(dir, 'nowhere'), /does not exist/);
  });

  it('checks its options', async () => {
    await expect(Embedder.open(tinyPack(), { threads: 0 })).rejects.toThrow(RangeError);
    await expect(Embedder.open(tinyPack(), { threads: 1.5 })).rejects.toThrow(TypeError);
  });

  it('loads another ONNX runtime folder and providers when asked, and says why it cannot', async () => {
    // The bundled runtime named explicitly, with the CPU provider: the same vectors as the default.
    const explicit = await Embedder.open(tinyPack(), { threads: 1, runtime: { path: ORT_PATH, providers: ['cpu'] } });
    const plain = await Embedder.open(tinyPack(), { threads: 1 });
    try {
      const [a] = await explicit.embedDocuments(['runtime choice']);
      const [b] = await plain.embedDocuments(['runtime choice']);
      expect(maxDiff(a!, b!)).toBe(0);
    } finally {
      await Promise.all([explicit.close(), plain.close()]);
    }
    const missing = join(mkdtempSync(join(tmpdir(), 'mnemo-ort-')), 'onnxruntime-node');
    await openFails(tinyPack(), new RegExp(`cannot load the ONNX runtime: it is not in ${missing}`), {
      runtime: { path: missing },
    });
    // The bundled runtime has no CUDA provider (mnemo never downloads it): asking for one fails at start, plainly.
    await openFails(tinyPack(), /failed to load in the worker pool: .*cuda/i, { runtime: { providers: ['cuda'] } });
  });

  it('opens the database while the workers load; a pack that fails its checksums leaves it as it was', async () => {
    const home = mkdtempSync(join(tmpdir(), 'mnemo-open-'));
    const dbPath = join(home, 'mnemo.db');
    const good = await Engine.open({ modelDir: tinyPack(), dbPath, embedder: { threads: 1 } });
    await good.storeBatch([{ content: 'kept across a failed start' }]);
    const models = good.storage.models();
    await good.close();
    // Another model, damaged: its record and vector table must not be made.
    const dir = join(mkdtempSync(join(tmpdir(), 'mnemo-pack-')), 'pack');
    cpSync(tinyPack(2), dir, { recursive: true });
    const bytes = readFileSync(join(dir, 'model.onnx'));
    bytes[bytes.length - 10]! ^= 0xff;
    writeFileSync(join(dir, 'model.onnx'), bytes);
    await expect(Engine.open({ modelDir: dir, dbPath, embedder: { threads: 1 } })).rejects.toThrow(/SHA-256/);
    // The same model again, damaged: the index of a model the database knows loads only after the checksums pass.
    const again = join(mkdtempSync(join(tmpdir(), 'mnemo-pack-')), 'pack');
    cpSync(tinyPack(), again, { recursive: true });
    const same = readFileSync(join(again, 'model.onnx'));
    same[same.length - 10]! ^= 0xff;
    writeFileSync(join(again, 'model.onnx'), same);
    await expect(Engine.open({ modelDir: again, dbPath, embedder: { threads: 1 } })).rejects.toThrow(/SHA-256/);
    const reopened = await Engine.open({ modelDir: tinyPack(), dbPath, embedder: { threads: 1 } });
    expect(reopened.storage.models()).toEqual(models);
    await reopened.indexed;
    expect((await reopened.search({ text: 'kept', mode: 'hybrid', limit: 5, filter: {} })).hits).toHaveLength(1);
    await reopened.close();
    // A database that cannot be opened fails the start only once the workers have loaded (a worker stopped inside
    // ONNX Runtime's model load aborts the process, and this test's with it).
    const broken = join(home, 'broken.db');
    writeFileSync(broken, Buffer.alloc(8192, 0x41));
    await expect(Engine.open({ modelDir: tinyPack(), dbPath: broken, embedder: { threads: 1 } })).rejects.toThrow(
      /not a database/,
    );
    for (const d of [home, dirname(dir), dirname(again)]) rmSync(d, { recursive: true, force: true });
  });
});

describe('tokenizers and pack shapes', () => {
  it('runs a WordLevel tokenizer.json (unknown words become [UNK])', async () => {
    const { generateBertPack, TINY_SHAPE } = await import('../dist/embed/packs/bert-pack.js');
    const words = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', 'car', 'repair', 'fixing', 'my', 'automobile'];
    const tokenizer = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [],
      normalizer: { type: 'Lowercase' },
      pre_tokenizer: { type: 'Whitespace' },
      post_processor: null,
      decoder: null,
      model: { type: 'WordLevel', vocab: Object.fromEntries(words.map((w, i) => [w, i])), unk_token: '[UNK]' },
    };
    const dir = join(mkdtempSync(join(tmpdir(), 'mnemo-wordlevel-')), 'pack');
    generateBertPack(dir, {
      name: 'wordlevel-test',
      shape: TINY_SHAPE,
      seed: 3,
      maxTokens: 16,
      tokenizerJson: JSON.stringify(tokenizer),
    });
    const e = await Embedder.open(dir, { threads: 1 });
    try {
      const [a, b, c] = await e.embedDocuments(['Car repair', 'car REPAIR', 'zebra quantum']);
      expect(maxDiff(a!, b!)).toBe(0);
      const [d] = await e.embedDocuments(['unknown words']);
      // Two unknown words each become [UNK], so any two-unknown-word text embeds the same.
      expect(maxDiff(c!, d!)).toBe(0);
      expect(maxDiff(a!, c!)).toBeGreaterThan(1e-3);
    } finally {
      await e.close();
    }
  });

  it('runs the MiniLM-L6-shaped pack (384 dims) with the real all-MiniLM-L6-v2 tokenizer if present', async () => {
    const e = await Embedder.open(miniLmShapedPack(), { threads: 1 });
    try {
      const [v] = await e.embedQueries(['How do we rotate the signing keys?']);
      expect(v!.length).toBe(384);
      expect(norm(v!)).toBeCloseTo(1, 5);
      expect(e.pack.manifest.maxTokens).toBe(256);
    } finally {
      await e.close();
    }
  });
});
