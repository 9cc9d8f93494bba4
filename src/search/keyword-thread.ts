/**
 * The keyword side of a search on a second, read-only connection in a worker thread (keyword-worker.ts), so that at
 * scale a hybrid search costs the larger of its two sides instead of their sum: the vector side runs on this thread
 * meanwhile. Below PARALLEL_KEYWORD_MIN memories the thread (its own isolate and connection) is not started: at 100k
 * memories, with the vector side in WebAssembly (1.2 ms), a hybrid search took 4.3-4.7 ms in process with it and
 * 4.8-5.0 without, and the daemon held 14 MiB more with it (226 against 212 MiB after warm-up, native-bench/memory.js).
 * At a million memories the keyword side takes about 27 ms and the vector side 13, and side by side they take 27.
 *
 * The thread starts on the first search that could use it and serves from the next one; a thread that fails (or a
 * search it cannot answer) leaves the search to run on this thread, so results never depend on it. Its connection
 * reads what is committed when each query starts (WAL), which is everything the daemon has acknowledged.
 */
import { Worker } from 'node:worker_threads';
import type { MemoryFilter } from '../store/types.js';
import type { SearchMode } from './retrieve.js';

/** The store size from which the keyword side runs on its own thread. */
export const PARALLEL_KEYWORD_MIN = 200_000;

export interface KeywordRequest {
  id: number;
  mode: SearchMode;
  limit: number;
  filter: MemoryFilter;
  text: string;
  /** The main connection's memory count (the worker's store never sees writes happen). */
  memoryCount: number;
}

export type KeywordReply = { id: number; hits: { id: number; score: number }[] } | { id: number; error: string };

const WORKER = new URL('./keyword-worker.js', import.meta.url);

export class KeywordThread {
  private worker: Worker | null = null;
  private ready = false;
  private failed = false;
  private nextId = 1;
  /** Searches whose keyword side the thread answered. */
  answered = 0;
  private readonly pending = new Map<number, (hits: { id: number; score: number }[] | null) => void>();

  constructor(private readonly dbPath: string) {}

  /** Whether a search can use the thread now; starts it the first time it is asked (it serves from the next one). */
  available(): boolean {
    // A database in memory is this connection's alone: another connection would open an empty one.
    if (this.failed || this.dbPath === ':memory:' || this.dbPath === '') return false;
    if (!this.worker) this.start();
    return this.ready;
  }

  /** The keyword side (retrieve.ts keywordSide) on the thread; null if the thread could not answer it. */
  run(request: Omit<KeywordRequest, 'id'>): Promise<{ id: number; score: number }[] | null> {
    const worker = this.worker;
    if (!worker || !this.ready) return Promise.resolve(null);
    const id = this.nextId++;
    // Referenced while it owes an answer, so a process whose only work is this search waits for it.
    if (this.pending.size === 0) worker.ref();
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      worker.postMessage({ ...request, id } satisfies KeywordRequest);
    });
  }

  async close(): Promise<void> {
    this.failed = true;
    this.settleAll();
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  private start(): void {
    const worker = new Worker(WORKER, { workerData: { dbPath: this.dbPath } });
    // An idle daemon must be able to exit; a pending search keeps its own promise alive.
    worker.unref();
    worker.on('message', (m: KeywordReply | 'ready') => {
      if (m === 'ready') {
        this.ready = true;
        return;
      }
      const settle = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker?.unref();
      if ('hits' in m) this.answered++;
      settle?.('hits' in m ? m.hits : null);
    });
    const fail = () => {
      this.failed = true;
      this.ready = false;
      this.settleAll();
    };
    worker.on('error', fail);
    worker.on('exit', fail);
    this.worker = worker;
  }

  private settleAll(): void {
    for (const settle of this.pending.values()) settle(null);
    this.pending.clear();
  }
}
