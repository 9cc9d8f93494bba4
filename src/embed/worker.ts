/**
 * One embedding worker thread (piscina). It owns one tokenizer (tokenizer.ts) and one ONNX session with a single
 * intra-op thread, and runs one inference before piscina hears it is ready, so a pool whose workers are up is warm.
 */
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import type { RuntimeChoice } from './embedder.js';
import type { PackManifest } from './manifest.js';
import { loadOrt } from './ort.js';
import type * as Ort from 'onnxruntime-common';
import { pool } from './pooling.js';
import { loadTokenizer } from './tokenizer.js';

export interface WorkerData {
  dir: string;
  manifest: PackManifest;
  runtime: RuntimeChoice;
}

export interface EmbedTask {
  texts: string[];
}

export interface EmbedResult {
  vectors: Float32Array;
  dimension: number;
  /** Tokens fed to the model per text (after truncation, with special tokens). */
  tokens: number[];
  threadId: number;
}

const { dir, manifest, runtime } = workerData as WorkerData;
const ort = loadOrt(runtime.path);

const tokenizer = await loadTokenizer(join(dir, 'tokenizer.json'), manifest.maxTokens);

const session = await ort.InferenceSession.create(join(dir, 'model.onnx'), {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  executionProviders: runtime.providers ?? ['cpu'],
  graphOptimizationLevel: 'all',
  // Measured: without memory patterns a session holds ~9 MB less and runs as fast (batches vary in shape anyway).
  enableMemPattern: false,
});
const wantsTypeIds = session.inputNames.includes('token_type_ids');
const outputName = session.outputNames.includes('last_hidden_state') ? 'last_hidden_state' : session.outputNames[0]!;

async function embed(texts: string[]): Promise<EmbedResult> {
  const { ids, batch, seq, tokens } = await tokenizer.encodeBatch(texts);
  // Each row is its text's tokens, then padding.
  const mask = new BigInt64Array(batch * seq);
  tokens.forEach((n, b) => mask.fill(1n, b * seq, b * seq + n));
  const feeds: Record<string, Ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [batch, seq]),
    attention_mask: new ort.Tensor('int64', mask, [batch, seq]),
  };
  if (wantsTypeIds) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch * seq), [batch, seq]);
  const output = (await session.run(feeds))[outputName]!;
  const dim = Number(output.dims[output.dims.length - 1]);
  if (dim !== manifest.dimension) {
    throw new Error(
      `model ${manifest.name} produced ${dim}-dimensional output but its manifest says ${manifest.dimension}`,
    );
  }
  const vectors = pool(output.data as Float32Array, mask, batch, seq, dim, manifest.pooling, manifest.normalize);
  return { vectors, dimension: dim, tokens, threadId };
}

await embed(['warm up']);

let crashNext = false;

// The vectors go back by structured clone: a batch of 32 MiniLM vectors is 48 KiB, not worth a transfer list.
export default function run(task: EmbedTask): Promise<EmbedResult> {
  // The thread ends here, outside any model run: a thread stopped inside ONNX Runtime's run aborts the whole process
  // (the binding throws a C++ exception once it can no longer reach JavaScript).
  if (crashNext) process.exit(70);
  return embed(task.texts);
}

/**
 * For the crash-retry tests (`pool.run({}, { name: 'crashNextTask' })`): this worker's next task ends its thread, as a
 * crash would, with the task in flight. Nothing in mnemo calls it. Returns the thread's id.
 */
export function crashNextTask(): number {
  crashNext = true;
  return threadId;
}
