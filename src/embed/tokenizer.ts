/**
 * The embedding worker's tokenizer: the parts of a Hugging Face `tokenizer.json` that BERT-style packs (MiniLM's
 * WordPiece) and the offline pack (WordLevel) use, in plain TypeScript, giving the same ids as the Rust `tokenizers`
 * library (test/tokenizer.test.ts compares the two on generated text). Measured (issue 14): the native library held
 * 29 MiB per worker with MiniLM's vocabulary and 62 MiB with the offline pack's 200,000 words; a vocabulary here is one
 * Map (1.6 and 12 MiB). A file that needs anything else (BPE, Unigram, byte-level, added tokens that strip spaces)
 * is refused with `UnsupportedTokenizer`, and the worker then loads the native library if it is installed.
 */
import { readFileSync } from 'node:fs';
import { modelError } from '../errors.js';

/** A batch of texts as model input: ids, row-major, each row padded at its end to the longest text. */
export interface TokenBatch {
  ids: BigInt64Array;
  batch: number;
  seq: number;
  /** Tokens per text, special tokens included (the rest of its row is padding). */
  tokens: number[];
}

export interface TextTokenizer {
  encodeBatch(texts: readonly string[]): TokenBatch | Promise<TokenBatch>;
}

export class UnsupportedTokenizer extends Error {}

type Json = Record<string, unknown>;
type Step = (text: string) => string;
type Split = (text: string) => string[];

const unsupported = (what: string): never => {
  throw new UnsupportedTokenizer(what);
};
const config = (value: unknown, where: string): Json =>
  value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Json)
    : unsupported(`${where} is not an object`);

// Rust's `regex` crate, which the tokenizers library uses, defines \w and \s by these Unicode properties.
const WORD = String.raw`\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}`;
const WHITESPACE_PIECES = new RegExp(`[${WORD}]+|[^${WORD}\\p{White_Space}]+`, 'gu');
// Punctuation to BERT: Unicode's P* categories and every ASCII symbol ($, +, <, =, >, ^, `, | and ~ are S* to Unicode).
const BERT_PUNCTUATION = String.raw`\p{P}\x21-\x2F\x3A-\x40\x5B-\x60\x7B-\x7E`;
const BERT_PIECES = new RegExp(`[${BERT_PUNCTUATION}]|[^${BERT_PUNCTUATION}\\p{White_Space}]+`, 'gu');
const CHINESE = new RegExp(
  String.raw`[\u4E00-\u9FFF\u3400-\u4DBF\u{20000}-\u{2A6DF}\u{2A700}-\u{2B73F}\u{2B740}-\u{2B81F}` +
    String.raw`\u{2B920}-\u{2CEAF}\uF900-\uFAFF\u{2F800}-\u{2FA1F}]`,
  'gu',
);
const ASCII = /^[\0-\x7F]*$/;

/** Lower case one code point at a time, as the library does (so a final capital sigma stays σ, not ς). */
const lowercase: Step = (s) => (ASCII.test(s) ? s.toLowerCase() : Array.from(s, (c) => c.toLowerCase()).join(''));
const stripMarks: Step = (s) => s.replace(/\p{Mn}/gu, '');

function bertNormalizer(c: Json): Step {
  const steps: Step[] = [];
  if (c.clean_text !== false) {
    // Control, format and private-use characters go (unassigned ones stay, as in the library); spaces become ' '.
    steps.push((s) => s.replace(/[\0\uFFFD\p{Cf}\p{Co}]|(?![\t\n\r])\p{Cc}/gu, '').replace(/\p{White_Space}/gu, ' '));
  }
  if (c.handle_chinese_chars !== false) steps.push((s) => s.replace(CHINESE, ' $& '));
  const lower = c.lowercase !== false;
  if ((c.strip_accents ?? lower) === true) steps.push((s) => stripMarks(s.normalize('NFD')));
  if (lower) steps.push(lowercase);
  return sequence(steps);
}

const sequence =
  <T>(steps: ((s: T) => T)[]) =>
  (s: T): T =>
    steps.reduce((acc, step) => step(acc), s);

function normalizer(value: unknown): Step {
  if (value === null || value === undefined) return (s) => s;
  const c = config(value, 'normalizer');
  switch (c.type) {
    case 'BertNormalizer':
      return bertNormalizer(c);
    case 'Lowercase':
      return lowercase;
    case 'StripAccents':
      return stripMarks;
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD':
      return (s) => s.normalize(c.type as string);
    case 'Sequence':
      return sequence(((c.normalizers as unknown[]) ?? []).map(normalizer));
    default:
      return unsupported(`normalizer ${String(c.type)}`);
  }
}

function splitter(c: Json): Split {
  const pattern = config(c.pattern, 'Split pattern');
  const source =
    typeof pattern.Regex === 'string'
      ? pattern.Regex
      : typeof pattern.String === 'string'
        ? pattern.String.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&')
        : unsupported('a Split pattern that is neither Regex nor String');
  if (c.invert === true) unsupported('an inverted Split');
  let re: RegExp;
  try {
    re = new RegExp(source, 'gu');
  } catch {
    return unsupported(`the Split pattern ${source}`);
  }
  if (c.behavior === 'Removed') return (s) => s.split(re).filter((p) => p.length > 0);
  if (c.behavior === 'Isolated') {
    return (s) => {
      const pieces: string[] = [];
      let last = 0;
      for (const m of s.matchAll(re)) {
        if (m.index > last) pieces.push(s.slice(last, m.index));
        if (m[0].length > 0) pieces.push(m[0]);
        last = m.index + m[0].length;
      }
      if (last < s.length) pieces.push(s.slice(last));
      return pieces;
    };
  }
  return unsupported(`Split behavior ${String(c.behavior)}`);
}

function preTokenizer(value: unknown): Split {
  if (value === null || value === undefined) return (s) => (s.length > 0 ? [s] : []);
  const c = config(value, 'pre_tokenizer');
  switch (c.type) {
    case 'BertPreTokenizer':
      return (s) => s.match(BERT_PIECES) ?? [];
    case 'Whitespace':
      return (s) => s.match(WHITESPACE_PIECES) ?? [];
    case 'WhitespaceSplit':
      return (s) => s.split(/\p{White_Space}+/u).filter((p) => p.length > 0);
    case 'Split':
      return splitter(c);
    case 'Sequence': {
      const steps = ((c.pretokenizers as unknown[]) ?? []).map(preTokenizer);
      return (s) => steps.reduce<string[]>((pieces, step) => pieces.flatMap(step), [s]);
    }
    default:
      return unsupported(`pre_tokenizer ${String(c.type)}`);
  }
}

type Model = (word: string, out: number[]) => void;

function vocabulary(c: Json): Vocabulary {
  if (c.vocab instanceof Vocabulary) return c.vocab;
  const entries = Object.entries(config(c.vocab, 'model.vocab'));
  const bytes = entries.map(([token]) => UTF8.encode(token));
  const vocab = new Vocabulary(
    entries.length,
    bytes.reduce((sum, b) => sum + b.length, 0),
  );
  entries.forEach(([token, id], i) => {
    if (!Number.isInteger(id)) unsupported(`a vocabulary id for ${token} that is not an integer`);
    vocab.add(bytes[i]!, 0, bytes[i]!.length, id as number);
  });
  return vocab;
}

function unknownId(vocab: Vocabulary, c: Json): number {
  const id = vocab.get(String(c.unk_token));
  return id ?? unsupported(`an unk_token (${String(c.unk_token)}) that is not in the vocabulary`);
}

function wordPiece(c: Json): Model {
  const vocab = vocabulary(c);
  const unk = unknownId(vocab, c);
  const prefix = typeof c.continuing_subword_prefix === 'string' ? c.continuing_subword_prefix : '##';
  const maxChars = typeof c.max_input_chars_per_word === 'number' ? c.max_input_chars_per_word : 100;
  return (word, out) => {
    const chars = ASCII.test(word) ? word : Array.from(word);
    if (chars.length > maxChars) {
      out.push(unk);
      return;
    }
    const pieces: number[] = [];
    for (let start = 0; start < chars.length;) {
      let end = chars.length;
      let id: number | undefined;
      for (; end > start; end--) {
        const piece = typeof chars === 'string' ? chars.slice(start, end) : chars.slice(start, end).join('');
        id = vocab.get(start > 0 ? prefix + piece : piece);
        if (id !== undefined) break;
      }
      if (id === undefined) {
        out.push(unk);
        return;
      }
      pieces.push(id);
      start = end;
    }
    out.push(...pieces);
  };
}

function model(value: unknown): Model {
  const c = config(value, 'model');
  if (c.type === 'WordPiece') return wordPiece(c);
  if (c.type === 'WordLevel') {
    const vocab = vocabulary(c);
    const unk = unknownId(vocab, c);
    return (word, out) => void out.push(vocab.get(word) ?? unk);
  }
  return unsupported(`model ${String(c.type)}`);
}

/** The special-token ids put before and after a single sequence. */
function template(value: unknown): { before: number[]; after: number[] } {
  const none = { before: [], after: [] };
  if (value === null || value === undefined) return none;
  const c = config(value, 'post_processor');
  if (c.type === 'BertProcessing') {
    const id = (pair: unknown) => (Array.isArray(pair) ? Number(pair[1]) : unsupported('BertProcessing tokens'));
    return { before: [id(c.cls)], after: [id(c.sep)] };
  }
  if (c.type !== 'TemplateProcessing') return unsupported(`post_processor ${String(c.type)}`);
  const specials = config(c.special_tokens ?? {}, 'special_tokens');
  const result = { before: [] as number[], after: [] as number[] };
  let seen = false;
  for (const item of (c.single as unknown[]) ?? []) {
    const piece = config(item, 'template piece');
    if (piece.Sequence) {
      seen = true;
      continue;
    }
    const name = String(config(piece.SpecialToken, 'SpecialToken').id);
    const ids = config(specials[name], `special token ${name}`).ids;
    if (!Array.isArray(ids)) unsupported(`special token ${name} without ids`);
    (seen ? result.after : result.before).push(...(ids as number[]));
  }
  return result;
}

/** Added tokens found verbatim in the raw text (the leftmost, then the longest), which the model never splits. */
function addedTokens(value: unknown): (text: string) => (string | number)[] {
  const tokens = ((value as unknown[]) ?? []).map((t) => config(t, 'added token'));
  for (const t of tokens) {
    if (t.single_word === true || t.lstrip === true || t.rstrip === true || t.normalized === true) {
      unsupported(`the added token ${String(t.content)} (only plain tokens matched before normalising are read)`);
    }
  }
  const ids = new Map(tokens.map((t) => [String(t.content), Number(t.id)]));
  if (ids.size === 0) return (text) => [text];
  const escaped = [...ids.keys()]
    .filter((k) => k.length > 0)
    .sort((a, b) => b.length - a.length)
    .map((k) => k.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'));
  const re = new RegExp(escaped.join('|'), 'gu');
  return (text) => {
    const parts: (string | number)[] = [];
    let last = 0;
    for (const m of text.matchAll(re)) {
      if (m.index > last) parts.push(text.slice(last, m.index));
      parts.push(ids.get(m[0])!);
      last = m.index + m[0].length;
    }
    if (last < text.length) parts.push(text.slice(last));
    return parts;
  };
}

/**
 * The tokenizer of a pack's tokenizer.json: this module's when it reads the file, else the native library's (an
 * optional dependency, loaded only then), else an E_MODEL error that says what the file needs.
 */
export async function loadTokenizer(path: string, maxTokens: number): Promise<TextTokenizer> {
  let json: unknown;
  try {
    json = parseTokenizerJson(readFileSync(path));
  } catch (err) {
    throw modelError(`cannot read the tokenizer ${path}: ${(err as Error).message}`);
  }
  try {
    return jsTokenizer(json, maxTokens);
  } catch (err) {
    if (!(err instanceof UnsupportedTokenizer)) throw err;
    return nativeTokenizer(path, maxTokens, err.message);
  }
}

async function nativeTokenizer(path: string, maxTokens: number, need: string): Promise<TextTokenizer> {
  let Tokenizer: typeof import('@anush008/tokenizers').Tokenizer;
  try {
    ({ Tokenizer } = await import('@anush008/tokenizers'));
  } catch {
    throw modelError(
      `the tokenizer ${path} uses ${need}, which needs the optional package @anush008/tokenizers; ` +
        'it is not installed (`npm install @anush008/tokenizers` in the mnemo folder)',
    );
  }
  const tokenizer = Tokenizer.fromFile(path);
  tokenizer.setTruncation(maxTokens);
  // Pad at the end to the longest text of each batch, whatever padding the file asks for (MiniLM's: a fixed 128).
  tokenizer.setPadding({});
  return {
    async encodeBatch(texts) {
      const encodings = await tokenizer.encodeBatch([...texts]);
      const batch = encodings.length;
      const seq = encodings[0]?.getLength() ?? 0;
      const ids = new BigInt64Array(batch * seq);
      const tokens = encodings.map((enc, b) => {
        const encIds = enc.getIds();
        for (let s = 0; s < seq; s++) ids[b * seq + s] = BigInt(encIds[s] ?? 0);
        return enc.getAttentionMask().reduce((sum, m) => sum + m, 0);
      });
      return { ids, batch, seq, tokens };
    },
  };
}

/**
 * Reads a parsed tokenizer.json. Sequences are cut to `maxTokens` (special tokens included, the end of the text
 * dropped); a batch is padded with id 0 to its longest text.
 */
export function jsTokenizer(json: unknown, maxTokens: number): { encodeBatch(texts: readonly string[]): TokenBatch } {
  const c = config(json, 'tokenizer.json');
  const added = addedTokens(c.added_tokens);
  const normalize = normalizer(c.normalizer);
  const split = preTokenizer(c.pre_tokenizer);
  const tokenize = model(c.model);
  const { before, after } = template(c.post_processor);
  const room = Math.max(0, maxTokens - before.length - after.length);

  const encode = (text: string): number[] => {
    const ids: number[] = [];
    for (const part of added(text.toWellFormed())) {
      if (typeof part === 'number') ids.push(part);
      else {
        for (const word of split(normalize(part))) {
          tokenize(word, ids);
          if (ids.length >= room) break;
        }
      }
      if (ids.length >= room) break;
    }
    ids.length = Math.min(ids.length, room);
    return [...before, ...ids, ...after];
  };

  return {
    encodeBatch(texts) {
      const encoded = texts.map(encode);
      const batch = encoded.length;
      const seq = Math.max(0, ...encoded.map((e) => e.length));
      const ids = new BigInt64Array(batch * seq);
      encoded.forEach((e, b) => {
        for (let s = 0; s < e.length; s++) ids[b * seq + s] = BigInt(e[s]!);
      });
      return { ids, batch, seq, tokens: encoded.map((e) => e.length) };
    },
  };
}

const UTF8 = new TextEncoder();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Token -> id without an object per token: the tokens' UTF-8 bytes in one pool and an open-addressing hash table.
 * The offline pack's 200,000 words take 4 MiB here; as a Map they took 12 MiB, and building the Map from a parsed
 * file left 37 MiB more of garbage in the worker's heap, which an idle worker never collects (measured, issue 14).
 */
export class Vocabulary {
  private readonly pool: Uint8Array;
  private readonly starts: Uint32Array;
  private readonly ids: Int32Array;
  private readonly table: Int32Array;
  private count = 0;
  private used = 0;
  private scratch = new Uint8Array(256);

  constructor(entries: number, bytes: number) {
    this.pool = new Uint8Array(bytes);
    this.starts = new Uint32Array(entries + 1);
    this.ids = new Int32Array(entries);
    let size = 8;
    while (size < entries * 2) size *= 2;
    this.table = new Int32Array(size);
  }

  get size(): number {
    return this.count;
  }

  /** Adds the token in `source[from, to)` (UTF-8); a token added twice keeps its last id, as JSON.parse would. */
  add(source: Uint8Array, from: number, to: number, id: number): void {
    const slot = this.find(source, from, to);
    if (this.table[slot]! > 0) {
      this.ids[this.table[slot]! - 1] = id;
      return;
    }
    // A byte loop: tokens are short, and a subarray per token was a tenth of loading the offline pack's 200,000.
    this.starts[this.count] = this.used;
    for (let i = from; i < to; i++) this.pool[this.used++] = source[i]!;
    this.starts[this.count + 1] = this.used;
    this.ids[this.count] = id;
    this.table[slot] = ++this.count;
  }

  get(token: string): number | undefined {
    let n = token.length;
    if (n * 3 > this.scratch.length) this.scratch = new Uint8Array(n * 3);
    const bytes = this.scratch;
    for (let i = 0; i < n; i++) {
      const c = token.charCodeAt(i);
      if (c >= 0x80) {
        n = UTF8.encodeInto(token, bytes).written;
        break;
      }
      bytes[i] = c;
    }
    const entry = this.table[this.find(bytes, 0, n)]!;
    return entry > 0 ? this.ids[entry - 1] : undefined;
  }

  /** The table slot that holds the token in `bytes[from, to)`, or the empty slot where it would go. */
  private find(bytes: Uint8Array, from: number, to: number): number {
    let hash = 0x811c9dc5;
    for (let i = from; i < to; i++) hash = Math.imul(hash ^ bytes[i]!, 0x01000193);
    const mask = this.table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot]!;
      if (entry === 0) return slot;
      const start = this.starts[entry - 1]!;
      if (this.starts[entry]! - start !== to - from) continue;
      let same = true;
      for (let i = 0; i < to - from && same; i++) same = this.pool[start + i] === bytes[from + i];
      if (same) return slot;
    }
  }
}

/**
 * JSON.parse of a tokenizer.json, except that `model.vocab` is read straight from the bytes into a Vocabulary.
 * Anything unexpected in the vocabulary's text falls back to plain JSON.parse.
 */
export function parseTokenizerJson(bytes: Uint8Array): unknown {
  const text = () => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const model = member(bytes, 0, 'model');
  const from = model === undefined ? undefined : member(bytes, model, 'vocab');
  if (from === undefined || bytes[from] !== 0x7b) return JSON.parse(text());
  const read = readVocabulary(bytes, from);
  if (!read) return JSON.parse(text());
  const rest = Buffer.concat([bytes.subarray(0, from), Buffer.from('{}'), bytes.subarray(read.end)]);
  const json = JSON.parse(rest.toString('utf8')) as { model: Json };
  json.model.vocab = read.vocab;
  return json;
}

/**
 * The entries of the JSON object that starts at `bytes[from]`, whose values must all be integers (else undefined),
 * and the index just past it. Two passes: one counts (to size the vocabulary), one fills.
 */
function readVocabulary(bytes: Uint8Array, from: number): { vocab: Vocabulary; end: number } | undefined {
  let entries = 0;
  let keyBytes = 0;
  const end = scanEntries(bytes, from, (start, keyEnd) => {
    entries++;
    keyBytes += keyEnd - start; // an escaped key is never shorter than its UTF-8
  });
  if (end < 0) return undefined;
  const vocab = new Vocabulary(entries, keyBytes);
  scanEntries(bytes, from, (start, keyEnd, id, escaped) => {
    if (!escaped) vocab.add(bytes, start, keyEnd, id);
    else {
      const quoted = Buffer.from(bytes.subarray(start - 1, keyEnd + 1)).toString('utf8');
      const key = UTF8.encode(JSON.parse(quoted) as string);
      vocab.add(key, 0, key.length, id);
    }
  });
  return { vocab, end };
}

/**
 * Calls `visit` with each key's bytes (no quotes), its value and whether the key has an escape; returns the index just
 * past the object, or -1 if it is not an object of string -> integer.
 */
function scanEntries(
  bytes: Uint8Array,
  from: number,
  visit: (start: number, end: number, id: number, escaped: boolean) => void,
): number {
  let i = skipSpace(bytes, from + 1);
  while (bytes[i] === QUOTE) {
    const keyEnd = skipString(bytes, i);
    const escaped = lastStringEscaped;
    let j = skipSpace(bytes, keyEnd);
    if (bytes[j] !== 0x3a) return -1;
    j = skipSpace(bytes, j + 1);
    const digits = j;
    let id = 0;
    for (; bytes[j]! >= 0x30 && bytes[j]! <= 0x39; j++) id = id * 10 + bytes[j]! - 0x30;
    if (j === digits || j - digits > 9) return -1;
    visit(i + 1, keyEnd - 1, id, escaped);
    i = skipSpace(bytes, j);
    if (bytes[i] === 0x2c) i = skipSpace(bytes, i + 1);
  }
  return bytes[i] === 0x7d ? i + 1 : -1;
}

const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;

const skipSpace = (bytes: Uint8Array, i: number): number => {
  while (isSpace(bytes[i])) i++;
  return i;
};

/** Whether the string the last skipString call passed over holds an escape. */
let lastStringEscaped = false;

/** The index just past the JSON string that starts at `bytes[i]` (its opening quote). */
function skipString(bytes: Uint8Array, i: number): number {
  lastStringEscaped = false;
  for (i++; i < bytes.length; i++) {
    if (bytes[i] === BACKSLASH) {
      lastStringEscaped = true;
      i++;
    } else if (bytes[i] === QUOTE) return i + 1;
  }
  return bytes.length;
}

function skipValue(bytes: Uint8Array, i: number): number {
  const first = bytes[i];
  if (first === QUOTE) return skipString(bytes, i);
  if (first !== 0x7b && first !== 0x5b) {
    while (i < bytes.length && !isSpace(bytes[i]) && bytes[i] !== 0x2c && bytes[i] !== 0x7d && bytes[i] !== 0x5d) i++;
    return i;
  }
  for (let depth = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === QUOTE) i = skipString(bytes, i) - 1;
    else if (b === 0x7b || b === 0x5b) depth++;
    else if ((b === 0x7d || b === 0x5d) && --depth === 0) return i + 1;
  }
  return bytes.length;
}

/**
 * Where the value of `key` starts in the JSON object at `bytes[start]`: the values before it are skipped, the value
 * itself is not (the vocabulary is read in its own passes).
 */
function member(bytes: Uint8Array, start: number, key: string): number | undefined {
  const want = UTF8.encode(`"${key}"`);
  let i = skipSpace(bytes, start);
  if (bytes[i] !== 0x7b) return undefined;
  for (i = skipSpace(bytes, i + 1); bytes[i] === QUOTE; i = skipSpace(bytes, i + 1)) {
    const keyEnd = skipString(bytes, i);
    const valueStart = skipSpace(bytes, skipSpace(bytes, keyEnd) + 1);
    if (keyEnd - i === want.length && want.every((b, k) => bytes[i + k] === b)) return valueStart;
    i = skipSpace(bytes, skipValue(bytes, valueStart));
    if (bytes[i] !== 0x2c) return undefined;
  }
  return undefined;
}
