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

/**
 * Most tokens (texts x padded length) one model run takes; the embedder's tasks are larger (up to 32 texts of 64
 * tokens, embedder.ts). ONNX Runtime's arena keeps what its largest run needed: measured (issue 14, MiniLM-shaped
 * pack, one thread), 32 texts of 64 tokens in one run left a worker at 116 MiB, in runs of 4 at 84, at the same
 * throughput (runs of 1 to 32 texts of 16 tokens: 108-125 ms for 32; of 128 tokens: 867-966 ms). A single text
 * longer than this is one run of its own.
 */
const TOKENS_PER_RUN = 256;

async function embed(texts: string[]): Promise<EmbedResult> {
  const { ids, batch, seq, tokens } = await tokenizer.encodeBatch(texts);
  const vectors = new Float32Array(batch * manifest.dimension);
  for (let start = 0; start < batch;) {
    // Texts are padded to the longest of their run, not of the task.
    let end = start + 1;
    let longest = tokens[start]!;
    while (end < batch && Math.max(longest, tokens[end]!) * (end - start + 1) <= TOKENS_PER_RUN) {
      longest = Math.max(longest, tokens[end]!);
      end++;
    }
    vectors.set(await runModel(ids, seq, tokens, start, end, longest), start * manifest.dimension);
    start = end;
  }
  return { vectors, dimension: manifest.dimension, tokens, threadId };
}

/** Runs rows [start, end) of a padded batch (rows `seq` long), cut to `width` tokens, and pools each row. */
async function runModel(
  all: BigInt64Array,
  seq: number,
  tokens: number[],
  start: number,
  end: number,
  width: number,
): Promise<Float32Array> {
  const rows = end - start;
  // The whole batch in one run takes the tokenizer's ids as they are.
  const ids = rows * width === all.length ? all : new BigInt64Array(rows * width);
  const mask = new BigInt64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    if (ids !== all) ids.set(all.subarray((start + r) * seq, (start + r) * seq + width), r * width);
    mask.fill(1n, r * width, r * width + tokens[start + r]!);
  }
  const feeds: Record<string, Ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [rows, width]),
    attention_mask: new ort.Tensor('int64', mask, [rows, width]),
  };
  if (wantsTypeIds) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(rows * width), [rows, width]);
  const output = (await session.run(feeds))[outputName]!;
  const dim = Number(output.dims[output.dims.length - 1]);
  if (dim !== manifest.dimension) {
    throw new Error(
      `model ${manifest.name} produced ${dim}-dimensional output but its manifest says ${manifest.dimension}`,
    );
  }
  return pool(output.data as Float32Array, mask, rows, width, dim, manifest.pooling, manifest.normalize);
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
