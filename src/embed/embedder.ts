import { LRUCache } from 'lru-cache';
import { Piscina } from 'piscina';
import { ErrorCode, MnemoError, modelError } from '../errors.js';
import { openPack, verifyPack, type ModelPack } from './manifest.js';
import type { EmbedResult, EmbedTask, WorkerData } from './worker.js';

export interface EmbedderOptions {
  /** Worker threads, each with its own ONNX session. Default: DEFAULT_THREADS. */
  threads?: number;
  /** Most texts in one model call. */
  maxBatch?: number;
  /** How long a request waits for others to share its model call, in milliseconds. */
  batchWindowMs?: number;
  /** Query vectors kept in the LRU cache. 0 turns the cache off. */
  cacheSize?: number;
  /** Another ONNX runtime and its execution providers (default: the bundled CPU runtime, `cpu`). */
  runtime?: RuntimeChoice;
}

export interface RuntimeChoice {
  /** An onnxruntime-node folder (absolute). */
  path?: string;
  /** Execution providers in order of preference, as onnxruntime-node names them. */
  providers?: string[];
}

import type { EmbedderStats } from '../protocol/results.js';

export type { EmbedderStats };

interface Pending {
  text: string;
  resolve: (v: Float32Array) => void;
  reject: (e: unknown) => void;
}

const WORKER = new URL('./worker.js', import.meta.url).pathname;
/**
 * One worker unless asked for more (config `threads`, `--threads`). Each worker holds its own isolate, ONNX session
 * and tokenizer: 58 MiB with the MiniLM-shaped pack, 100 MiB with the offline pack (its 200,000-word vocabulary),
 * measured with native-bench/memory.js. What a second one buys is throughput on batches (a bulk import, a reindex);
 * a hook embeds one short query, and on 2 busy cores a second worker gave 26% more documents/s and 36% more
 * concurrent queries/s, not 2x (issue 14).
 */
export const DEFAULT_THREADS = 1;
/** A model load under way (Embedder.start). */
export interface EmbedderLoad {
  pack: ModelPack;
  /** The pack's checksums have passed. */
  verified: Promise<void>;
  /** Every worker has run the model. */
  ready: Promise<Embedder>;
  /** For a load no longer wanted: lets it finish, then closes what it opened. */
  discard(): Promise<void>;
}

/** The longest close() waits for threads that are still loading the model (piscina's own close timeout). */
const CLOSE_WAIT_MS = 30_000;
/** batch x tokens² per model call: 8 texts of 128 tokens, 2 of 256, 32 of 64. */
const ATTENTION_BUDGET = 8 * 128 * 128;

/**
 * Embeds texts with a model pack in a piscina pool. Requests that arrive within `batchWindowMs` of each other share one
 * model call (up to `maxBatch` texts); query vectors are cached by text.
 */
export class Embedder {
  readonly pack: ModelPack;
  readonly threads: number;
  private readonly pool: Piscina<EmbedTask, EmbedResult>;
  private readonly maxBatch: number;
  private readonly windowMs: number;
  private readonly cache: LRUCache<string, Float32Array> | null;
  /** Query texts being embedded: a second request for one waits for it instead of running the model again. */
  private readonly embedding = new Map<string, Promise<Float32Array>>();
  private pending: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private drainQueued = false;
  private inFlight = 0;
  private warmed = 0;
  private closed = false;
  private readonly counters = { calls: 0, texts: 0, cacheHits: 0, cacheMisses: 0 };

  private constructor(
    pack: ModelPack,
    pool: Piscina<EmbedTask, EmbedResult>,
    threads: number,
    options: EmbedderOptions,
  ) {
    this.pack = pack;
    this.pool = pool;
    this.threads = threads;
    this.maxBatch = options.maxBatch ?? 32;
    this.windowMs = options.batchWindowMs ?? 0;
    const cacheSize = options.cacheSize ?? 1024;
    this.cache = cacheSize > 0 ? new LRUCache<string, Float32Array>({ max: cacheSize }) : null;
  }

  /** Loads and verifies the pack, starts the pool and returns once every worker has run the model. */
  static async open(dir: string, options: EmbedderOptions = {}): Promise<Embedder> {
    return Embedder.start(dir, options).ready;
  }

  /**
   * Opens the pack (its manifest and file sizes: it throws here when they are wrong), starts the workers loading the
   * model and this thread checking the pack's checksums (`verified`); `ready` is open()'s promise. The caller has the
   * pack at once, so this thread can do other work while the workers load (a few hundred milliseconds: Engine.open
   * opens the database and its vector index meanwhile).
   */
  static start(dir: string, options: EmbedderOptions = {}): EmbedderLoad {
    const threads = options.threads ?? DEFAULT_THREADS;
    checkInt('threads', threads, 1, 64);
    if (options.maxBatch !== undefined) checkInt('maxBatch', options.maxBatch, 1, 1024);
    if (options.batchWindowMs !== undefined && !(options.batchWindowMs >= 0 && options.batchWindowMs <= 1000)) {
      throw new RangeError(`batchWindowMs must be from 0 to 1000, got ${options.batchWindowMs}`);
    }
    if (options.cacheSize !== undefined) checkInt('cacheSize', options.cacheSize, 0, 1_000_000);
    const pack = openPack(dir);
    const workerData: WorkerData = { dir: pack.dir, manifest: pack.manifest, runtime: options.runtime ?? {} };
    const pool = new Piscina<EmbedTask, EmbedResult>({
      filename: WORKER,
      minThreads: threads,
      maxThreads: threads,
      idleTimeout: Number.POSITIVE_INFINITY,
      workerData,
      // The workers await ONNX Runtime's async run; a worker blocked in Atomics.wait would stall it.
      atomics: 'disabled',
      // Its run and wait-time histograms, which mnemo never reads (0.7 MiB in a heap snapshot of a warm daemon).
      recordTiming: false,
    });
    // A worker that dies outside a task (a model that cannot load, on a thread no task has reached yet) is reported
    // on the pool; unheard, that event would crash the process. Its tasks fail on their own; the pool replaces it.
    pool.on('error', () => {});
    const embedder = new Embedder(pack, pool, threads, options);
    // The workers load the model while this thread checks its checksums (each takes a core; a start is shorter by
    // the check, 60-80 ms for a 22 MB model). Nothing is embedded before both are done, and a damaged file is
    // reported as such even when the workers failed on it too.
    const verifying = verifyPack(pack);
    const ready = Promise.allSettled([verifying, embedder.warm()]).then(async ([verified, warmed]) => {
      if (verified.status === 'rejected' || warmed.status === 'rejected') await pool.destroy();
      if (verified.status === 'rejected') throw verified.reason;
      if (warmed.status === 'rejected') {
        const why = (warmed.reason as Error).message;
        throw modelError(`model ${pack.manifest.name} failed to load in the worker pool: ${why}`);
      }
      return embedder;
    });
    return {
      pack,
      verified: verifying,
      ready,
      // A worker is never stopped while it loads the model (that aborts the process): the load finishes first.
      discard: () =>
        ready.then(
          (loaded) => loaded.close(),
          () => {},
        ),
    };
  }

  get dimension(): number {
    return this.pack.manifest.dimension;
  }

  get stats(): EmbedderStats {
    return { ...this.counters, threads: this.threads };
  }

  /**
   * Each worker loads the model and runs it once before piscina counts it as ready, so it is enough to see every
   * thread answer. A failed run fails the warm-up, once its round has settled: open() then destroys the pool, and a
   * thread stopped inside ONNX Runtime's run aborts the process.
   */
  private async warm(): Promise<void> {
    let round = 0;
    const seen = await this.roundsToEveryThread(
      { texts: ['warm up'] },
      () => round++ < 20,
      (reason) => {
        throw reason;
      },
    );
    this.warmed = seen.size;
  }

  /**
   * Rounds of one `task` per pool thread until every thread has answered one, or `more()` says stop; returns the
   * threads that answered. Tasks go to idle threads first, so a few rounds reach them all; a thread still loading the
   * model takes none until it is up. Each failed task goes to `failed` once its whole round has settled.
   */
  private async roundsToEveryThread(
    task: EmbedTask,
    more: () => boolean,
    failed: (reason: unknown) => void,
  ): Promise<Set<number>> {
    const answered = new Set<number>();
    while (more()) {
      const threads = this.pool.threads.map((t) => t.threadId);
      const results = await Promise.allSettled(threads.map(() => this.pool.run(task)));
      for (const r of results) {
        if (r.status === 'rejected') failed(r.reason);
        else answered.add(r.value.threadId);
      }
      if (this.pool.threads.every((t) => answered.has(t.threadId))) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    return answered;
  }

  /** How many distinct worker threads answered during open(): all of them, unless warming gave up. */
  get warmedThreads(): number {
    return this.warmed;
  }

  /** Vectors for search queries: the manifest's query prefix, the cache. */
  async embedQueries(texts: readonly string[]): Promise<Float32Array[]> {
    const prefix = this.pack.manifest.queryPrefix;
    return Promise.all(
      texts.map(async (text) => {
        const hit = this.cache?.get(text) ?? this.embedding.get(text);
        if (hit) {
          this.counters.cacheHits++;
          return hit;
        }
        this.counters.cacheMisses++;
        const vector = this.enqueue(prefix + text).then((v) => {
          this.cache?.set(text, v);
          return v;
        });
        this.embedding.set(text, vector);
        try {
          return await vector;
        } finally {
          this.embedding.delete(text);
        }
      }),
    );
  }

  /**
   * Query vectors for texts not cached yet, computed in a single model call (the daemon's `batch` op: one request,
   * one inference), then cached.
   */
  async embedQueriesTogether(texts: readonly string[]): Promise<void> {
    if (this.closed) throw new MnemoError(ErrorCode.CLOSED, 'the embedder is closed');
    const missing = [...new Set(texts)].filter((t) => !this.cache?.has(t));
    if (missing.length === 0 || !this.cache) return;
    const prefix = this.pack.manifest.queryPrefix;
    for (let i = 0; i < missing.length; i += this.maxBatch) {
      const chunk = missing.slice(i, i + this.maxBatch);
      this.counters.cacheMisses += chunk.length;
      const vectors = await this.callModel(chunk.map((t) => prefix + t));
      chunk.forEach((t, j) => this.cache!.set(t, vectors[j]));
    }
  }

  /** One model call on one worker: the vectors of `texts`, in order. */
  private async callModel(texts: string[]): Promise<Float32Array[]> {
    this.counters.calls++;
    this.counters.texts += texts.length;
    // A call in flight on a worker that crashed fails with that worker; piscina replaces it, so the call is tried
    // again before the request fails (a store or search is not lost to a worker's crash). Once per worker, plus
    // one: when every worker dies at once, a retry can land on another that is going down too (seen under Node 24).
    for (let attempt = 1; ; attempt++) {
      try {
        const { vectors, dimension } = await this.pool.run({ texts });
        return texts.map((_, i) => vectors.slice(i * dimension, (i + 1) * dimension));
      } catch (err) {
        if (err instanceof MnemoError) throw err;
        if (attempt <= this.threads && !this.closed) continue;
        throw new MnemoError(ErrorCode.INTERNAL, `embedding failed: ${(err as Error).message}`);
      }
    }
  }

  /** Vectors for stored content: the manifest's document prefix, no cache. */
  embedDocuments(texts: readonly string[]): Promise<Float32Array[]> {
    const prefix = this.pack.manifest.documentPrefix;
    return Promise.all(texts.map((text) => this.enqueue(prefix + text)));
  }

  private enqueue(text: string): Promise<Float32Array> {
    if (this.closed) return Promise.reject(new MnemoError(ErrorCode.CLOSED, 'the embedder is closed'));
    return new Promise<Float32Array>((resolve, reject) => {
      this.pending.push({ text, resolve, reject });
      this.scheduleDrain();
    });
  }

  /**
   * Requests made in the same turn of the event loop (or within `batchWindowMs`) share a model call. While every
   * worker is busy, new requests wait and join the next batch, so under load batches grow by themselves; when a worker
   * is idle, a lone query goes out at once instead of waiting out a window.
   */
  private scheduleDrain(): void {
    if (this.timer || this.drainQueued) return;
    if (this.windowMs > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.drain();
      }, this.windowMs);
    } else {
      this.drainQueued = true;
      setImmediate(() => {
        this.drainQueued = false;
        this.drain();
      });
    }
  }

  /**
   * Sends what is waiting to idle workers now rather than at the end of this turn of the event loop: for a caller
   * with synchronous work to do while the model runs (a search's keyword side). Requests that find every worker busy
   * still wait for the next batch.
   */
  dispatchNow(): void {
    this.drain();
  }

  private drain(): void {
    if (this.pending.length === 0 || this.inFlight >= this.threads) return;
    // Similar lengths share a batch, so short texts are not padded to a long one's length.
    this.pending.sort((a, b) => a.text.length - b.text.length);
    while (this.pending.length > 0 && this.inFlight < this.threads) {
      const share = Math.ceil(this.pending.length / (this.threads - this.inFlight));
      void this.runBatch(this.pending.splice(0, this.batchSize(Math.min(this.maxBatch, share))));
    }
  }

  /**
   * How many of the (shortest) pending texts go in one call. Attention holds batch x heads x length² floats and ONNX
   * Runtime's arena keeps its peak for good: 32 texts of 256 tokens would hold 100 MB per worker. So a batch stays
   * under ATTENTION_BUDGET of batch x length², length estimated from characters (about 4 per token).
   */
  private batchSize(max: number): number {
    const maxTokens = this.pack.manifest.maxTokens;
    let n = 0;
    while (n < max && n < this.pending.length) {
      const longest = Math.min(maxTokens, Math.ceil(this.pending[n]!.text.length / 4) + 2);
      if (n > 0 && (n + 1) * longest * longest > ATTENTION_BUDGET) break;
      n++;
    }
    return Math.max(1, n);
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    this.inFlight++;
    try {
      const vectors = await this.callModel(batch.map((p) => p.text));
      batch.forEach((p, i) => p.resolve(vectors[i]!));
    } catch (err) {
      for (const p of batch) p.reject(err);
    } finally {
      this.inFlight--;
      this.drain();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.pending.length > 0 || this.inFlight > 0) {
      this.drain();
      await new Promise((r) => setTimeout(r, 1));
    }
    await this.untilEveryThreadIsUp();
    await this.pool.close();
  }

  /**
   * Waits (up to CLOSE_WAIT_MS) until every thread of the pool has answered an empty task, which runs no model. A
   * thread piscina started in place of a crashed one loads and warms the model before it takes tasks, and piscina's
   * close stops a thread that has no task at once: stopped inside ONNX Runtime's session creation or run, it aborts
   * the whole process (see docs/ARCHITECTURE.md, "A worker thread is never stopped ...").
   */
  private async untilEveryThreadIsUp(): Promise<void> {
    const deadline = Date.now() + CLOSE_WAIT_MS;
    await this.roundsToEveryThread(
      { texts: [] },
      () => Date.now() < deadline,
      () => {},
    );
  }
}

function checkInt(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value)) throw new TypeError(`${name} must be an integer, got ${String(value)}`);
  if (value < min || value > max) throw new RangeError(`${name} must be from ${min} to ${max}, got ${value}`);
}
