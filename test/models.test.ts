import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Embedder } from '../dist/embed/embedder.js';
import type { PackManifest } from '../dist/embed/manifest.js';
import { buildOfflinePack, wordVectorsPath } from '../dist/embed/packs/offline-pack.js';
import { pullModel } from '../dist/embed/pull.js';
import type { RegistryModel } from '../dist/embed/registry.js';
import { Engine, ErrorCode, LocalMnemo, MnemoError } from '../dist/engine-index.js';
import { openTestEngine } from './helpers/engine.js';
import { PACK_CACHE, tinyPack } from './helpers/packs.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Serves files the way the hub does: /<repo>/resolve/<revision>/<path> redirects to a CDN URL that honours Range. */
class FakeHub {
  server!: Server;
  requests: { url: string; range?: string }[] = [];
  mode: 'ok' | 'cut' | 'corrupt' | '404' = 'ok';
  private cutDone = false;
  constructor(private readonly files: Record<string, Buffer>) {}

  async start(): Promise<string> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests.push({ url: req.url!, ...(req.headers.range ? { range: req.headers.range } : {}) });
    const resolveMatch = /^\/test-org\/tiny-model\/resolve\/([0-9a-f]+)\/(.+)$/.exec(req.url!);
    if (resolveMatch) {
      if (this.mode === '404' || !this.files[resolveMatch[2]!]) {
        res.writeHead(404).end('Entry not found');
        return;
      }
      res.writeHead(302, { Location: `/cdn/${encodeURIComponent(resolveMatch[2]!)}?expires=1` }).end();
      return;
    }
    const cdn = /^\/cdn\/([^?]+)/.exec(req.url!);
    const body = cdn ? this.files[decodeURIComponent(cdn[1]!)] : undefined;
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    let bytes = this.mode === 'corrupt' ? Buffer.from(body.map((b) => b ^ 1)) : body;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range) {
      const from = Number(range[1]);
      res.writeHead(206, {
        'Content-Range': `bytes ${from}-${bytes.length - 1}/${bytes.length}`,
        'Content-Length': bytes.length - from,
        'Accept-Ranges': 'bytes',
      });
      bytes = bytes.subarray(from);
    } else {
      res.writeHead(200, { 'Content-Length': bytes.length, 'Accept-Ranges': 'bytes' });
    }
    if (this.mode === 'cut' && !this.cutDone && bytes.length > 1000) {
      // The connection dies part way through the first big file.
      this.cutDone = true;
      res.write(bytes.subarray(0, Math.floor(bytes.length * 0.6)), () => res.socket?.destroy());
      return;
    }
    res.end(bytes);
  }

  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('mnemo model pull', () => {
  const files: Record<string, Buffer> = {
    'onnx/model_quantized.onnx': readFileSync(join(tinyPack(), 'model.onnx')),
    'tokenizer.json': readFileSync(join(tinyPack(), 'tokenizer.json')),
  };
  const model: RegistryModel = {
    name: 'tiny-model',
    description: 'test',
    repo: 'test-org/tiny-model',
    revision: '0123456789abcdef0123456789abcdef01234567',
    files: {
      'model.onnx': {
        path: 'onnx/model_quantized.onnx',
        size: files['onnx/model_quantized.onnx']!.length,
        sha256: sha(files['onnx/model_quantized.onnx']!),
      },
      'tokenizer.json': {
        path: 'tokenizer.json',
        size: files['tokenizer.json']!.length,
        sha256: sha(files['tokenizer.json']!),
      },
    },
    dimension: 32,
    maxTokens: 32,
    pooling: 'mean',
    normalize: true,
    queryPrefix: '',
    documentPrefix: '',
    license: 'test',
  };
  let hub: FakeHub;
  let endpoint: string;
  beforeAll(async () => {
    hub = new FakeHub(files);
    endpoint = await hub.start();
  });
  afterAll(async () => {
    await hub?.stop();
  });
  const modelsDir = () => join(mkdtempSync(join(tmpdir(), 'mnemo-models-')), 'models');

  it('downloads through the redirect, verifies, installs a pack that loads and embeds', async () => {
    hub.mode = 'ok';
    const dir = modelsDir();
    const seen: number[] = [];
    const r = await pullModel(model, dir, {
      env: { MNEMO_HF_ENDPOINT: endpoint },
      onProgress: (p) => seen.push(p.received),
    });
    expect(r.alreadyInstalled).toBe(false);
    expect(r.downloadedBytes).toBe(model.files['model.onnx'].size + model.files['tokenizer.json'].size);
    expect(seen.length).toBeGreaterThan(0);
    expect(readdirSync(dir).sort()).toEqual(['.downloads', 'tiny-model']);
    expect(
      hub.requests.some((q) => q.url === `/test-org/tiny-model/resolve/${model.revision}/onnx/model_quantized.onnx`),
    ).toBe(true);
    const e = await Embedder.open(r.dir, { threads: 1 });
    const [v] = await e.embedDocuments(['pulled and working']);
    expect(v!.length).toBe(32);
    await e.close();
    expect((await pullModel(model, dir, { env: { HF_ENDPOINT: endpoint } })).alreadyInstalled).toBe(true);
  });

  it('resumes an interrupted download with a Range request', async () => {
    hub.mode = 'cut';
    hub.requests = [];
    const dir = modelsDir();
    const first = await pullModel(model, dir, { env: { HF_ENDPOINT: endpoint } }).catch((e: MnemoError) => e);
    expect(first).toBeInstanceOf(MnemoError);
    expect((first as MnemoError).message).toMatch(/run the same command again to resume/);
    expect(existsSync(join(dir, 'tiny-model'))).toBe(false);
    const part = join(dir, '.downloads', 'tiny-model', 'model.onnx.part');
    const partial = readFileSync(part).length;
    expect(partial).toBeGreaterThan(0);
    const second = await pullModel(model, dir, { env: { HF_ENDPOINT: endpoint } });
    expect(second.resumedBytes).toBe(partial);
    expect(hub.requests.some((q) => q.range === `bytes=${partial}-`)).toBe(true);
    expect(readFileSync(join(second.dir, 'model.onnx')).equals(files['onnx/model_quantized.onnx']!)).toBe(true);
  });

  it('deletes a download whose checksum does not match and installs nothing', async () => {
    hub.mode = 'corrupt';
    const dir = modelsDir();
    const err = await pullModel(model, dir, { env: { MNEMO_HF_ENDPOINT: endpoint } }).catch((e: MnemoError) => e);
    expect((err as MnemoError).code).toBe(ErrorCode.MODEL);
    expect((err as MnemoError).message).toMatch(/checksum mismatch .* the file was deleted and nothing was installed/);
    expect(existsSync(join(dir, 'tiny-model'))).toBe(false);
    expect(readdirSync(join(dir, '.downloads', 'tiny-model')).filter((f) => f.startsWith('model.onnx'))).toEqual([]);
  });

  it('says 404 plainly', async () => {
    hub.mode = '404';
    const err = await pullModel(model, modelsDir(), { env: { MNEMO_HF_ENDPOINT: endpoint } }).catch(
      (e: MnemoError) => e,
    );
    expect((err as MnemoError).message).toMatch(
      /^not found \(HTTP 404\): http:\/\/127\.0\.0\.1:\d+\/test-org\/tiny-model\/resolve\//,
    );
  });

  it('says plainly when the hub cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const err = await pullModel(model, modelsDir(), { env: { MNEMO_HF_ENDPOINT: `http://127.0.0.1:${port}` } }).catch(
      (e: MnemoError) => e,
    );
    expect((err as MnemoError).message).toMatch(/cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\): offline or blocked/);
    const dns = await pullModel(model, modelsDir(), {
      env: { MNEMO_HF_ENDPOINT: 'http://no-such-host.invalid' },
    }).catch((e: MnemoError) => e);
    expect((dns as MnemoError).message).toMatch(
      /cannot resolve no-such-host\.invalid|cannot reach no-such-host\.invalid/,
    );
  });

  it('refuses an unknown model name', async () => {
    await expect(pullModel('no-such-model', modelsDir())).rejects.toThrow(
      /unknown model 'no-such-model'; models that can be pulled: all-MiniLM-L6-v2/,
    );
  });
});

const PARAPHRASES: [string, string][] = [
  ['Fixing my automobile took the whole weekend', 'car repair'],
  ['The puppy chewed my new shoes', 'dog destroyed footwear'],
  ['We booked flights and a hotel for the holiday', 'vacation travel plans'],
  ['The physician prescribed antibiotics for the infection', 'doctor gave medicine'],
  ['Stock prices fell sharply after the earnings report', 'market shares dropped'],
  ['The kids played football in the park after school', 'children soccer game'],
  ['Heavy rain flooded the streets downtown', 'storm water city'],
  ['She baked a chocolate cake for his birthday', 'dessert party celebration'],
  ['The lawyer argued the case before the judge', 'attorney court trial'],
  ['Our server crashed because the disk was full', 'computer storage failure'],
  ['He bought a new laptop and a monitor', 'purchased computer equipment'],
  ['The orchestra performed a symphony by Beethoven', 'classical music concert'],
];

describe.runIf(wordVectorsPath() !== null)('the offline pack', () => {
  const dir = join(PACK_CACHE, 'offline-v1');
  beforeAll(() => {
    if (!existsSync(join(dir, 'manifest.json'))) buildOfflinePack(dir);
  }, 120_000);

  it('builds a small real pack that loads in the worker pool', async () => {
    // From the manifest, so the check holds whether this run built the pack or found it cached.
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as PackManifest;
    expect(manifest).toMatchObject({ name: 'offline', dimension: 100, pooling: 'none', normalize: true });
    expect(manifest.source).toMatch(/: 200000 words, int8, SIF-weighted mean$/);
    const tokenizer = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8')) as { model: { vocab: object } };
    expect(tokenizer.model.vocab).toHaveProperty('daemon');
    expect(manifest.files['model.onnx'].size + manifest.files['tokenizer.json'].size).toBeLessThan(30 * 1024 * 1024);
    const e = await Embedder.open(dir, { threads: 1 });
    const [a, b, unknown] = await e.embedDocuments(['car repair', 'Car  REPAIR', 'zzqxv wvbnq']);
    expect(a!.length).toBe(100);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 5);
    expect([...a!]).toEqual([...b!]);
    expect(unknown!.every((x) => x === 0)).toBe(true);
    await e.close();
  });

  it('finds paraphrases that keyword search misses', async () => {
    const t = await openTestEngine({ modelDir: dir });
    try {
      const stored = await t.api.storeBatch({ memories: PARAPHRASES.map(([doc]) => ({ content: doc })) });
      let semantic = 0;
      let keyword = 0;
      for (const [i, [, query]] of PARAPHRASES.entries()) {
        const s = await t.api.search({ query, mode: 'semantic', limit: 1 });
        const k = await t.api.search({ query, mode: 'keyword', limit: 1 });
        if (s.format === 'compact' && s.results[0]?.hash === stored[i]!.memory.hash) semantic++;
        if (k.format === 'compact' && k.results[0]?.hash === stored[i]!.memory.hash) keyword++;
      }
      const n = PARAPHRASES.length;
      console.log(`offline pack paraphrase top-1: semantic ${semantic}/${n}, keyword ${keyword}/${n}`);
      expect(semantic).toBeGreaterThanOrEqual(9);
      expect(semantic).toBeGreaterThan(keyword + 5);
    } finally {
      await t.close();
    }
  });
});

describe('switching models', () => {
  it('counts the memories a switch left without vectors when first needed, and again after a delete', async () => {
    const t = await openTestEngine();
    const old = await t.engine.storeBatch(
      ['caching keys expire hourly', 'payments retry twice'].map((content) => ({ content })),
    );
    await t.engine.close();
    const engine = await Engine.open({ modelDir: tinyPack(2), dbPath: t.dbPath, embedder: { threads: 1 } });
    try {
      const api = new LocalMnemo(engine);
      await api.store({ content: 'stored after the switch: payments retry with backoff' });
      const before = await api.search({ query: 'payments retry', mode: 'semantic' });
      expect(before.notice).toMatch(/embeds 2 memories with tiny-bert-s2/);
      // Deleting the memories without a vector turns semantic search back on, with no reindex.
      engine.delete({ hashes: old.map((r) => r.memory.hash), filter: {}, dryRun: false });
      const after = await api.search({ query: 'payments retry', mode: 'semantic', format: 'full' });
      expect(after.notice).toBeUndefined();
      expect(after.format === 'full' && after.results[0]?.content).toMatch(/backoff/);
    } finally {
      await engine.close();
      await t.close();
    }
  });

  it('detects a model switch: keyword with a notice, a resumable reindex, then vector search again', async () => {
    const t = await openTestEngine();
    const contents = Array.from({ length: 70 }, (_, i) => `memory number ${i} about ${i % 2 ? 'payments' : 'caching'}`);
    await t.api.storeBatch({ memories: contents.map((content) => ({ content })) });
    await t.engine.close();

    // The same database, another model with another dimension.
    const other = tinyPack(2);
    let engine = await Engine.open({ modelDir: other, dbPath: t.dbPath, embedder: { threads: 1 } });
    try {
      const health = await new LocalMnemo(engine).health();
      expect(health.status).toBe('degraded');
      expect(health.vectors).toEqual({ current: 0, missing: 70 });
      expect(health.warnings[0]).toMatch(/70 memories have no vector from tiny-bert-s2 .*mnemo reindex/);
      const degraded = await new LocalMnemo(engine).search({
        query: 'memory number 7 about payments',
        mode: 'semantic',
      });
      expect(degraded.notice).toMatch(
        /semantic search is off until `mnemo reindex` embeds 70 memories with tiny-bert-s2; these are keyword matches/,
      );
      expect(degraded.format === 'compact' && degraded.results.length).toBeGreaterThan(0);
      // Stores with the new model still work.
      await new LocalMnemo(engine).store({ content: 'stored after the switch' });

      const first = await new LocalMnemo(engine).reindex({ limit: 32 });
      expect(first).toMatchObject({ model: 'tiny-bert-s2', reindexed: 32, remaining: 38, total: 71, dropped: [] });
    } finally {
      await engine.close();
    }
    // Interrupted: a new process picks it up where it stopped.
    engine = await Engine.open({ modelDir: other, dbPath: t.dbPath, embedder: { threads: 1 } });
    try {
      expect((await new LocalMnemo(engine).health()).vectors.missing).toBe(38);
      let r = await new LocalMnemo(engine).reindex({ limit: 32 });
      while (r.remaining > 0) r = await new LocalMnemo(engine).reindex({ limit: 32 });
      expect(r.dropped).toEqual(['tiny-bert-s1']);
      expect(await new LocalMnemo(engine).health()).toMatchObject({
        status: 'ok',
        vectors: { current: 71, missing: 0 },
      });
      const back = await new LocalMnemo(engine).search({ query: contents[7]!, mode: 'semantic', format: 'full' });
      expect(back.notice).toBeUndefined();
      expect(back.format === 'full' && back.results[0]?.content).toBe(contents[7]);
      expect(back.format === 'full' && back.results[0]?.scores.semantic).toBeCloseTo(1, 4);
      const tables = (
        engine.storage as unknown as { db: { prepare(sql: string): { pluck(): { all(): unknown[] } } } }
      ).db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'vectors_m%'")
        .pluck()
        .all() as string[];
      // Only the current model's vec0 table (and its shadow tables) remain.
      expect(tables.length).toBeGreaterThan(0);
      expect(tables.every((n) => n === engine.model.vecTable || n.startsWith(`${engine.model.vecTable}_`))).toBe(true);
    } finally {
      await engine.close();
    }
  });
});

describe('which model the daemon uses', () => {
  const home = () => mkdtempSync(join(tmpdir(), 'mnemo-choice-'));

  it('auto: the pulled default if present, else the offline pack (built if missing) with a notice', async () => {
    const { chooseModel } = await import('../dist/config.js');
    const { resolvePaths } = await import('../dist/paths.js');
    const paths = resolvePaths({ MNEMO_HOME: home() });
    const auto = chooseModel(paths, {});
    expect(auto).toMatchObject({ asked: 'auto', dir: join(paths.modelsDir, 'offline'), build: true });
    expect(auto.notice).toMatch(/mnemo model pull/);
    const { cpSync } = await import('node:fs');
    cpSync(tinyPack(), join(paths.modelsDir, 'all-MiniLM-L6-v2'), { recursive: true });
    expect(chooseModel(paths, {})).toMatchObject({
      dir: join(paths.modelsDir, 'all-MiniLM-L6-v2'),
      build: false,
      notice: null,
    });
    expect(() => chooseModel(paths, { MNEMO_MODEL: 'no-such-pack' })).toThrow(/not installed/);
    expect(chooseModel(paths, { MNEMO_MODEL: tinyPack() })).toMatchObject({ dir: tinyPack(), build: false });
  });

  it.runIf(wordVectorsPath() !== null)(
    'with no model and no network, `mnemo start` builds the offline pack and serves',
    async () => {
      const { spawnSync } = await import('node:child_process');
      const { CLI, cleanup } = await import('./helpers/daemon.js');
      const env: NodeJS.ProcessEnv = { ...process.env, MNEMO_HOME: home(), MNEMO_HF_ENDPOINT: 'http://127.0.0.1:9' };
      delete env.MNEMO_MODEL;
      delete env.XDG_RUNTIME_DIR;
      try {
        const start = spawnSync(process.execPath, [CLI, 'start', '--threads', '1'], {
          env,
          encoding: 'utf8',
          timeout: 120_000,
        });
        expect(start.status, start.stderr).toBe(0);
        expect(start.stdout).toMatch(/mnemo started \(pid \d+, model offline, ready in \d+ ms\)/);
        const status = JSON.parse(
          spawnSync(process.execPath, [CLI, 'status', '--json'], { env, encoding: 'utf8' }).stdout,
        ) as { notice?: string };
        expect(status.notice).toMatch(/offline word-vector pack/);
        spawnSync(process.execPath, [CLI, 'store', 'Fixing my automobile took all weekend'], { env });
        const found = spawnSync(process.execPath, [CLI, 'search', 'car repair', '--mode', 'semantic', '--json'], {
          env,
          encoding: 'utf8',
        });
        expect((JSON.parse(found.stdout) as { results: { preview: string }[] }).results[0]?.preview).toBe(
          'Fixing my automobile took all weekend',
        );
      } finally {
        spawnSync(process.execPath, [CLI, 'stop'], { env });
        cleanup(env);
      }
    },
    180_000,
  );
});

describe('mnemo model and mnemo reindex commands', () => {
  it('lists, refuses a missing pack, switches, and reindexes with progress', async () => {
    const { spawnSync } = await import('node:child_process');
    const { CLI, cleanup, testEnv } = await import('./helpers/daemon.js');
    const env = testEnv();
    const run = (...args: string[]) =>
      spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 });
    try {
      const list = JSON.parse(run('model', 'list', '--json').stdout) as { models: { name: string }[] };
      expect(list.models.find((m) => m.name === 'all-MiniLM-L6-v2')).toMatchObject({
        kind: 'pull',
        installed: false,
        dimension: 384,
      });
      const missing = run('model', 'use', 'all-MiniLM-L6-v2');
      expect(missing.status).toBe(1);
      expect(missing.stderr).toMatch(/pull it first: mnemo model pull all-MiniLM-L6-v2/);
      const closed = createServer();
      await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
      const port = (closed.address() as AddressInfo).port;
      await new Promise<void>((r) => closed.close(() => r()));
      const offline = spawnSync(process.execPath, [CLI, 'model', 'pull'], {
        env: { ...env, MNEMO_HF_ENDPOINT: `http://127.0.0.1:${port}` },
        encoding: 'utf8',
      });
      expect(offline.status).toBe(1);
      expect(offline.stderr).toMatch(/^mnemo: cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);

      expect(run('start', '--threads', '1').status).toBe(0);
      for (let i = 0; i < 5; i++) run('store', `note ${i} about the billing service`);
      // Switch to another pack (MNEMO_MODEL would win over config, so drop it for the restart).
      delete env.MNEMO_MODEL;
      const use = run('model', 'use', tinyPack(2));
      expect(use.stdout).toMatch(/will use .* from its next start/);
      expect(run('restart', '--threads', '1').status).toBe(0);
      const note = run('search', 'billing service');
      expect(note.stdout).toMatch(
        /^note: semantic search is off until `mnemo reindex` embeds 5 memories with tiny-bert-s2/,
      );
      const reindex = run('reindex', '--batch', '2');
      expect(reindex.status, reindex.stderr).toBe(0);
      expect(reindex.stdout).toBe(
        're-embedded 5 memories with tiny-bert-s2; semantic search is on (dropped the vectors of tiny-bert-s1)\n',
      );
      expect(reindex.stderr).toMatch(/reindex: 100% \(5 of 5\)/);
      expect(run('search', 'billing service').stdout).not.toMatch(/^note:/);
      // Again: there is nothing left to do, and it says so rather than "re-embedded 0".
      expect(run('reindex').stdout).toBe('nothing to re-embed: every memory (5) has vectors from tiny-bert-s2\n');
    } finally {
      run('stop');
      cleanup(env);
    }
  }, 120_000);
});
