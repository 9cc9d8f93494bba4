/** The keyword thread's worker (keyword-thread.ts): one read-only connection, keywordSide per request. */
import { parentPort, workerData } from 'node:worker_threads';
import { openDb } from '../store/db.js';
import { MemoryStore } from '../store/memory-store.js';
import type { KeywordReply, KeywordRequest } from './keyword-thread.js';
import { keywordSide } from './retrieve.js';

const port = parentPort!;
const store = new MemoryStore(openDb((workerData as { dbPath: string }).dbPath, { readonly: true }));

port.on('message', (r: KeywordRequest) => {
  let reply: KeywordReply;
  try {
    store.syncCount(r.memoryCount);
    reply = { id: r.id, hits: keywordSide(store, r) };
  } catch (err) {
    reply = { id: r.id, error: (err as Error).message };
  }
  port.postMessage(reply);
});
port.postMessage('ready');
