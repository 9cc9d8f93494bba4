/**
 * One embedding worker thread (piscina). It owns one tokenizer and one ONNX session with a single intra-op thread, and
 * runs one inference before piscina hears it is ready, so a pool whose workers are up is a warm pool.
 */
import { Tokenizer } from '@anush008/tokenizers';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { workerData } from 'piscina';
import type { RuntimeChoice } from './embedder.js';
import type { PackManifest } from './manifest.js';
import { loadOrt } from './ort.js';
import type * as Ort from 'onnxruntime-common';
import { pool } from './pooling.js';

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

const tokenizer = Tokenizer.fromFile(join(dir, 'tokenizer.json'));
tokenizer.setTruncation(manifest.maxTokens);
// Pad to the longest text of each batch, whatever padding the tokenizer file asks for (MiniLM's says a fixed 128).
tokenizer.setPadding({});

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
  const encodings = await tokenizer.encodeBatch(texts);
  const batch = encodings.length;
  const seq = encodings[0]?.getLength() ?? 0;
  const ids = new BigInt64Array(batch * seq);
  const mask = new BigInt64Array(batch * seq);
  const tokens: number[] = [];
  encodings.forEach((enc, b) => {
    const encIds = enc.getIds();
    const encMask = enc.getAttentionMask();
    let real = 0;
    for (let s = 0; s < seq; s++) {
      ids[b * seq + s] = BigInt(encIds[s] ?? 0);
      mask[b * seq + s] = BigInt(encMask[s] ?? 0);
      real += encMask[s] ?? 0;
    }
    tokens.push(real);
  });
  const feeds: Record<string, Ort.Tensor> = {
    input_ids: new ort.Tensor('int64', ids, [batch, seq]),
    attention_mask: new ort.Tensor('int64', mask, [batch, seq]),
  };
  if (wantsTypeIds) feeds.token_type_ids = new ort.Tensor('int64', new BigInt64Array(batch * seq), [batch, seq]);
  const output = (await session.run(feeds))[outputName]!;
  const data = output.data as Float32Array;
  const dim = Number(output.dims[output.dims.length - 1]);
  if (dim !== manifest.dimension) {
    throw new Error(
      `model ${manifest.name} produced ${dim}-dimensional output but its manifest says ${manifest.dimension}`,
    );
  }
  const vectors = pool(data, mask, batch, seq, dim, manifest.pooling, manifest.normalize);
  return { vectors, dimension: dim, tokens, threadId };
}

await embed(['warm up']);

// The vectors go back by structured clone: a batch of 32 MiniLM vectors is 48 KiB, not worth a transfer list.
export default function run(task: EmbedTask): Promise<EmbedResult> {
  return embed(task.texts);
}
