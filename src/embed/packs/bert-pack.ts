import { GraphBuilder, SeededRandom } from './onnx-builder.js';
import type { PackManifest } from '../manifest.js';
import { writePack } from './write-pack.js';

/** The shape of a BERT encoder. */
export interface BertShape {
  layers: number;
  hidden: number;
  heads: number;
  ffn: number;
  maxPositions: number;
}

/** Exactly all-MiniLM-L6-v2's architecture (its config.json), for honest latency figures. */
export const MINILM_L6_SHAPE: BertShape = { layers: 6, hidden: 384, heads: 12, ffn: 1536, maxPositions: 512 };
/** Small enough that the test suite's packs build and run in milliseconds. */
export const TINY_SHAPE: BertShape = { layers: 2, hidden: 32, heads: 2, ffn: 64, maxPositions: 128 };

/**
 * A BERT encoder as a real ONNX graph: token, position and segment embeddings, then `layers` blocks of multi-head
 * self-attention (with the attention mask as an additive bias) and a GELU feed-forward, each followed by a residual
 * and LayerNormalization. Inputs input_ids, attention_mask, token_type_ids [batch, seq]; output last_hidden_state
 * [batch, seq, hidden]. Weights are seeded random numbers with BERT's initialisation scale.
 */
export function buildBertOnnx(
  shape: BertShape,
  vocabSize: number,
  seed: number,
  quantize: 'none' | 'int8' = 'none',
): Uint8Array {
  const { layers, hidden: H, heads, ffn: F, maxPositions } = shape;
  if (H % heads !== 0) throw new RangeError(`hidden (${H}) must be a multiple of heads (${heads})`);
  const dh = H / heads;
  const rnd = new SeededRandom(seed);
  const g = new GraphBuilder();
  const size = (dims: number[]) => dims.reduce((a, b) => a * b, 1);
  const w = (name: string, dims: number[]) => g.floats(name, dims, rnd.normals(size(dims), 0.02));
  const zeros = (name: string, n: number) => g.floats(name, [n], new Float32Array(n));
  const ones = (name: string, n: number) => g.floats(name, [n], new Float32Array(n).fill(1));
  const layerNorm = (x: string, prefix: string) =>
    g.op('LayerNormalization', [x, ones(`${prefix}.gamma`, H), zeros(`${prefix}.beta`, H)], {
      axis: -1,
      epsilon: 1e-12,
    });
  /** Per-tensor symmetric int8 weights, as onnxruntime's dynamic quantisation stores them. */
  const int8Weight = (name: string, dims: number[]) => {
    const values = rnd.normals(size(dims), 0.02);
    let max = 0;
    for (const v of values) max = Math.max(max, Math.abs(v));
    const scale = max / 127;
    return {
      q: g.int8s(
        name,
        dims,
        Int8Array.from(values, (v) => Math.round(v / scale)),
      ),
      scale: g.floats(`${name}.scale`, [], [scale]),
    };
  };
  const int8Zero = g.int8s('int8_zero', [], new Int8Array(1));
  // The dense layers of the int8 form are what quantize_dynamic writes: DynamicQuantizeLinear on the activations,
  // MatMulInteger against int8 weights, then the two scales multiplied back in.
  const dense = (x: string, prefix: string, inDim: number, outDim: number) => {
    if (quantize === 'none')
      return g.op('Add', [
        g.op('MatMul', [x, w(`${prefix}.weight`, [inDim, outDim])]),
        zeros(`${prefix}.bias`, outDim),
      ]);
    const { q, scale } = int8Weight(`${prefix}.weight_q`, [inDim, outDim]);
    const xq = g.tmp('xq');
    const xs = g.tmp('xs');
    const xzp = g.tmp('xzp');
    g.op('DynamicQuantizeLinear', [x], {}, [xq, xs, xzp]);
    const product = g.op('Cast', [g.op('MatMulInteger', [xq, q, xzp, int8Zero])], { to: 1 });
    return g.op('Add', [g.op('Mul', [product, g.op('Mul', [xs, scale])]), zeros(`${prefix}.bias`, outDim)]);
  };

  const ids = g.input('input_ids', 'int64', ['batch', 'sequence']);
  const mask = g.input('attention_mask', 'int64', ['batch', 'sequence']);
  const types = g.input('token_type_ids', 'int64', ['batch', 'sequence']);

  // Embeddings (the word table quantised too in the int8 form: it is half of MiniLM's weights).
  let word: string;
  if (quantize === 'none') word = g.op('Gather', [w('embeddings.word', [vocabSize, H]), ids], { axis: 0 });
  else {
    const { q, scale } = int8Weight('embeddings.word_q', [vocabSize, H]);
    word = g.op('DequantizeLinear', [g.op('Gather', [q, ids], { axis: 0 }), scale, int8Zero]);
  }
  const seqLen = g.op('Gather', [g.op('Shape', [ids]), g.ints('one_index', [], [1])], { axis: 0 });
  const positions = g.op('Range', [g.ints('zero', [], [0]), seqLen, g.ints('one', [], [1])]);
  const pos = g.op('Gather', [w('embeddings.position', [maxPositions, H]), positions], { axis: 0 });
  const seg = g.op('Gather', [w('embeddings.token_type', [2, H]), types], { axis: 0 });
  let x = layerNorm(g.op('Add', [g.op('Add', [word, pos]), seg]), 'embeddings.norm');

  // Padding positions get -10000 added to their attention scores: [batch, 1, 1, seq].
  const maskF = g.op('Cast', [mask], { to: 1 });
  const bias = g.op('Mul', [g.op('Sub', [g.floats('one_f', [], [1]), maskF]), g.floats('neg_big', [], [-10000])]);
  const maskBias = g.op('Unsqueeze', [bias, g.ints('mask_axes', [2], [1, 2])]);
  const headsShape = g.ints('heads_shape', [4], [0, 0, heads, dh]);
  const mergeShape = g.ints('merge_shape', [3], [0, 0, H]);
  const scale = g.floats('attn_scale', [], [1 / Math.sqrt(dh)]);
  const sqrt2 = g.floats('sqrt2', [], [Math.SQRT2]);
  const half = g.floats('half', [], [0.5]);
  const oneF = 'one_f';

  for (let l = 0; l < layers; l++) {
    const p = `layer${l}`;
    const split = (t: string, perm: number[]) => g.op('Transpose', [g.op('Reshape', [t, headsShape])], { perm });
    const q = split(dense(x, `${p}.query`, H, H), [0, 2, 1, 3]);
    const k = split(dense(x, `${p}.key`, H, H), [0, 2, 3, 1]);
    const v = split(dense(x, `${p}.value`, H, H), [0, 2, 1, 3]);
    const scores = g.op('Add', [g.op('Mul', [g.op('MatMul', [q, k]), scale]), maskBias]);
    const probs = g.op('Softmax', [scores], { axis: -1 });
    const context = g.op('Reshape', [
      g.op('Transpose', [g.op('MatMul', [probs, v])], { perm: [0, 2, 1, 3] }),
      mergeShape,
    ]);
    x = layerNorm(g.op('Add', [x, dense(context, `${p}.attn_out`, H, H)]), `${p}.attn_norm`);
    // GELU, exact form: 0.5 * h * (1 + erf(h / sqrt(2))).
    const h = dense(x, `${p}.ffn_in`, H, F);
    const gelu = g.op('Mul', [g.op('Mul', [h, half]), g.op('Add', [g.op('Erf', [g.op('Div', [h, sqrt2])]), oneF])]);
    x = layerNorm(g.op('Add', [x, dense(gelu, `${p}.ffn_out`, F, H)]), `${p}.ffn_norm`);
  }
  g.op('Identity', [x], {}, ['last_hidden_state']);
  g.output('last_hidden_state', 'float', ['batch', 'sequence', H]);
  return g.encode('bert');
}

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

/** A BERT-style WordPiece tokenizer.json (the same normalizer, pre-tokenizer and template as MiniLM's). */
export function wordPieceTokenizer(vocab: readonly string[]): Record<string, unknown> {
  const index = new Map(vocab.map((t, i) => [t, i] as const));
  for (const s of SPECIALS) if (!index.has(s)) throw new Error(`vocabulary lacks ${s}`);
  const special = (t: string) => ({ id: t, ids: [index.get(t)!], tokens: [t] });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map((content) => ({
      id: index.get(content)!,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(index),
    },
  };
}

const WORDS = `the of and to in is that for it as with was on be by this are or from at an not but have all
which one their has can will more if been when there who also other some into only time would new about two first
after these than could may most then over such any where should very what our just like make how each through use
work used out because way those them before see between many both same while here under much well back still last
code file files test tests function class method type types value values error errors bug bugs fix fixed fixing build
run running server client daemon socket memory memories search query index database table schema migration commit
branch merge git npm node package install config session hook hooks prompt tool tools model models vector vectors
token tokens cache latency fast slow start stop restart user users project api request response json data string
number list map set read write delete update create store get search find add remove change changed refactor
decision important note notes todo done issue issues review release version deploy log logs timeout retry lock
car repair automobile fixing vehicle engine house home cat dog weather rain sunny cloud python typescript rust go
sqlite postgres redis docker linux mac windows shell bash terminal editor vim debug trace stack crash panic`;

/** The tiny test vocabulary: specials, single characters, their `##` continuations and a few hundred common words. */
export function tinyVocabulary(): string[] {
  const chars: string[] = [];
  for (let c = 33; c < 127; c++) chars.push(String.fromCharCode(c).toLowerCase());
  const unique = [...new Set(chars)];
  const words = [...new Set(WORDS.split(/\s+/).filter(Boolean))];
  return [
    ...new Set([...SPECIALS, ...unique, ...unique.filter((c) => /[a-z0-9]/.test(c)).map((c) => `##${c}`), ...words]),
  ];
}

export interface BertPackOptions {
  name: string;
  shape: BertShape;
  seed: number;
  /** `int8`: weights stored and multiplied as int8, like the published all-MiniLM-L6-v2 model_quantized.onnx. */
  quantize?: 'none' | 'int8';
  /** A tokenizer.json to use (its vocabulary sizes the embedding table); default: the tiny generated vocabulary. */
  tokenizerJson?: string;
  maxTokens: number;
}

/** Generates a BERT pack (random weights, real graph, real tokenizer) into `dir`. */
export function generateBertPack(dir: string, options: BertPackOptions): PackManifest {
  const tokenizerJson = options.tokenizerJson ?? JSON.stringify(wordPieceTokenizer(tinyVocabulary()));
  const parsed = JSON.parse(tokenizerJson) as { model?: { vocab?: Record<string, number> } };
  const vocab = parsed.model?.vocab;
  if (!vocab) throw new Error('tokenizer.json has no model.vocab');
  const vocabSize = Math.max(...Object.values(vocab)) + 1;
  if (options.maxTokens > options.shape.maxPositions) {
    throw new RangeError(
      `maxTokens (${options.maxTokens}) exceeds the model's ${options.shape.maxPositions} positions`,
    );
  }
  return writePack(dir, {
    name: options.name,
    source:
      `generated:bert layers=${options.shape.layers} hidden=${options.shape.hidden} heads=${options.shape.heads} ` +
      `ffn=${options.shape.ffn} seed=${options.seed}${options.quantize === 'int8' ? ' int8' : ''}`,
    model: buildBertOnnx(options.shape, vocabSize, options.seed, options.quantize ?? 'none'),
    tokenizerJson,
    dimension: options.shape.hidden,
    maxTokens: options.maxTokens,
    pooling: 'mean',
    normalize: true,
  });
}
