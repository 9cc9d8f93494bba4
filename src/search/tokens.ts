import { readFileSync } from 'node:fs';

/**
 * Tokens in a text, counted with a real BPE tokenizer: OpenAI's cl100k_base. Claude's tokenizer is not public; cl100k
 * is the closest widely used one, and budgets are set with headroom for the difference.
 *
 * The counts are gpt-tokenizer's exactly (a test compares them on a varied corpus), from a compact copy of its ranks
 * (dist/search/cl100k.ranks, written at build time by scripts/token-ranks.mjs): 744 KB of bytes and a typed-array hash
 * table, about 2 MiB resident, where gpt-tokenizer's Map of 100,256 strings held 35 MiB of the daemon's RSS (issue 14,
 * measured with native-bench/memory-parts.js). Special tokens such as <|endoftext|> count as the plain text they are.
 */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  if (text.length > REMEMBERED_MAX_CHARS) return counter().count(text);
  let n = remembered.get(text);
  if (n === undefined) {
    n = counter().count(text);
    if (remembered.size >= REMEMBERED) remembered.delete(remembered.keys().next().value!);
    remembered.set(text, n);
  }
  return n;
}

/**
 * Counts of recent texts: context is rendered from the same lines again and again (a SessionStart prepared ahead
 * renders the same memories each time; renderCompact counts each line, then the whole text), and counting was most
 * of a prepared SessionStart's time (0.58 of 1.45 ms in process, 2,000 memories). Bounded: at most REMEMBERED texts
 * of at most REMEMBERED_MAX_CHARS (a rendered line), the oldest dropped first (at most about 1 MiB, usually
 * under 150 KB).
 */
const REMEMBERED = 512;
const REMEMBERED_MAX_CHARS = 1024;
const remembered = new Map<string, number>();

/** Loads the ranks now (about 15 ms) instead of at the first count; the daemon does it before it reports ready. */
export function loadTokenCounter(): void {
  counter();
}

// gpt-tokenizer's cl100k pre-tokenisation pattern (its encodingParams/constants.js), verbatim.
const SPLIT = new RegExp(
  [
    "'(?:[sS]|[dD]|[mM]|[tT]|[lL][lL]|[vV][eE]|[rR][eE])",
    '[^\\r\\n\\p{L}\\p{N}]?\\p{L}+',
    '\\p{N}{1,3}',
    ' ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*',
    '\\s+$',
    '\\s*[\\r\\n]',
    '\\s+(?!\\S)',
    '\\s',
  ].join('|'),
  'gu',
);
const NONE = 0x7fffffff;

class Cl100kCounter {
  private readonly bytes: Uint8Array;
  private readonly starts: Uint32Array;
  private readonly table: Int32Array;
  private readonly mask: number;
  private readonly encoder = new TextEncoder();
  private scratch = new Uint8Array(1024);
  private parts = new Int32Array(1025);
  private ranks = new Int32Array(1025);

  constructor(file: Uint8Array) {
    const n = new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(0, true);
    this.bytes = file.subarray(4 + n);
    this.starts = new Uint32Array(n + 1);
    for (let r = 0; r < n; r++) this.starts[r + 1] = this.starts[r]! + file[4 + r]!;
    // Open addressing at under 40% load: 256K slots (1 MiB) for 100,256 ranks.
    let size = 1;
    while (size < n * 2.5) size <<= 1;
    this.table = new Int32Array(size).fill(-1);
    this.mask = size - 1;
    for (let r = 0; r < n; r++) {
      let slot = hash(this.bytes, this.starts[r]!, this.starts[r + 1]!) & this.mask;
      while (this.table[slot] !== -1) slot = (slot + 1) & this.mask;
      this.table[slot] = r;
    }
  }

  /** The rank of bytes [from, to) of `buf`, or NONE. */
  private rank(buf: Uint8Array, from: number, to: number): number {
    const len = to - from;
    for (let slot = hash(buf, from, to) & this.mask; ; slot = (slot + 1) & this.mask) {
      const r = this.table[slot]!;
      if (r === -1) return NONE;
      const start = this.starts[r]!;
      if (this.starts[r + 1]! - start !== len) continue;
      let i = 0;
      while (i < len && this.bytes[start + i] === buf[from + i]) i++;
      if (i === len) return r;
    }
  }

  count(text: string): number {
    let total = 0;
    for (const [piece] of text.matchAll(SPLIT)) total += this.countPiece(piece);
    return total;
  }

  /** Tokens of one pre-tokenised piece: tiktoken's byte-pair merge (lowest rank first, leftmost on ties). */
  private countPiece(piece: string): number {
    if (piece.length * 3 > this.scratch.length) this.grow(piece.length * 3);
    const len = this.encoder.encodeInto(piece, this.scratch).written;
    const buf = this.scratch;
    if (this.rank(buf, 0, len) !== NONE) return 1;
    // parts[i] is where part i starts; ranks[i] the rank of part i merged with part i + 1.
    const { parts, ranks } = this;
    let n = len + 1;
    for (let i = 0; i < n; i++) parts[i] = i;
    for (let i = 0; i < n - 2; i++) ranks[i] = this.rank(buf, i, i + 2);
    ranks[n - 2] = NONE;
    for (;;) {
      let min = NONE;
      let at = -1;
      for (let i = 0; i < n - 1; i++) {
        if (ranks[i]! < min) {
          min = ranks[i]!;
          at = i;
        }
      }
      if (at < 0) break;
      // Part at+1 joins part at: drop its start, then rank the new neighbours.
      parts.copyWithin(at + 1, at + 2, n);
      ranks.copyWithin(at + 1, at + 2, n);
      n--;
      ranks[at] = at + 2 < n ? this.rank(buf, parts[at]!, parts[at + 2]!) : NONE;
      if (at > 0) ranks[at - 1] = this.rank(buf, parts[at - 1]!, parts[at + 1]!);
    }
    return n - 1;
  }

  private grow(bytes: number): void {
    this.scratch = new Uint8Array(bytes);
    this.parts = new Int32Array(bytes + 1);
    this.ranks = new Int32Array(bytes + 1);
  }
}

/** FNV-1a over bytes [from, to). */
function hash(buf: Uint8Array, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h >>> 0;
}

let loaded: Cl100kCounter | null = null;
const counter = (): Cl100kCounter =>
  (loaded ??= new Cl100kCounter(readFileSync(new URL('./cl100k.ranks', import.meta.url))));
