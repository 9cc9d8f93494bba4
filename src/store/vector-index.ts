import { readFileSync } from 'node:fs';

/**
 * An in-memory quantised index over one model's vectors, for KNN at sizes where sqlite-vec's exact brute force gets
 * slow (about 3 ms per 10k vectors of 384 floats, measured here; 63 ms at 100k).
 *
 * Two passes, both over compact copies of the vectors, both in WebAssembly (vector-kernels.wat; a search took 5.3 ms
 * at 100k vectors and 60 ms at a million in plain JavaScript, 1.8 and 12-13 ms with them, in process here):
 * 1. Hamming distance between one-bit codes: the signs of each vector minus the mean vector (centring matters:
 *    sentence embeddings share a common direction that would otherwise set most bits the same way). 48 bytes per
 *    384-dimensional vector.
 * 2. The shortlist (the nearest codes: at least 1000, 50 per result wanted, and n·8/dimension, since fewer bits
 *    tell less apart) is re-scored by cosine similarity against int8 copies of the vectors (one scale per vector)
 *    and the query in int16: within about 2e-3 of the float value.
 * The codes and int8 copies live in the index's own WebAssembly memory, which grows in place (typed arrays were
 * copied at each growth). Memory per vector: the int8 copy (the dimension rounded up to 16), a 4-byte scale, the code
 * (dimension/8 rounded up to 8) and 10 bytes of search scratch: 446 bytes at 384 dimensions (45 MB at 100k), plus
 * the id and its map entry.
 */
/** Vectors per step of endLoad(): about 10 ms of work at 384 dimensions. */
const LOAD_CHUNK = 16_384;
const PAGE = 65_536;
/** A 32-bit WebAssembly memory holds at most 4 GiB (about 9.6 million vectors of 384 dimensions). */
const MEMORY_LIMIT = 65_536 * PAGE;

/** The index cannot hold more vectors: its memory is at the 4 GiB a WebAssembly memory can have. */
export class IndexFullError extends RangeError {}

interface Kernels {
  hamming(codes: number, words: number, n: number, query: number, dist: number, hist: number): void;
  shortlist(dist: number, n: number, cut: number, room: number, slots: number): number;
  dots(vectors: number, stride: number, query: number, slots: number, count: number, dots: number): void;
}

let kernelModule: WebAssembly.Module | undefined;

/** The kernels' module, compiled once per thread (469 bytes). */
function instantiateKernels(memory: WebAssembly.Memory): Kernels {
  kernelModule ??= new WebAssembly.Module(readFileSync(new URL('./vector-kernels.wasm', import.meta.url)));
  return new WebAssembly.Instance(kernelModule, { env: { memory } }).exports as unknown as Kernels;
}

const align16 = (bytes: number): number => Math.ceil(bytes / 16) * 16;

/**
 * Where each array sits in the index's memory, for a capacity: the query's code and int16 copy and the histogram,
 * then the codes, the int8 vectors, and the search's scratch (distances, shortlisted slots, their dot products).
 */
function layout(dim: number, capacity: number) {
  const codeBytes = Math.ceil(dim / 64) * 8;
  const stride = align16(dim);
  const queryCode = 0;
  const query16 = align16(codeBytes);
  const hist = query16 + stride * 2;
  // One count per possible distance (the code's padding bits included, which are 0 once a code is written).
  const codes = align16(hist + (codeBytes * 8 + 2) * 4);
  const vectors = codes + capacity * codeBytes;
  const dist = vectors + capacity * stride;
  const slots = align16(dist + capacity * 2);
  const dots = slots + capacity * 4;
  return { codeBytes, stride, queryCode, query16, hist, codes, vectors, dist, slots, dots, end: dots + capacity * 4 };
}

export class QuantizedIndex {
  readonly dim: number;
  /** u32 words per code (a code is a whole number of 64-bit words; the bits past the dimension are 0). */
  private readonly words: number;
  /** Bytes per int8 vector (the dimension rounded up to 16; the rest 0). */
  private readonly stride: number;
  private capacity = 0;
  private n = 0;
  private ids = new Float64Array(0);
  private scales = new Float32Array(0);
  private readonly memory = new WebAssembly.Memory({ initial: 1 });
  private readonly kernels = instantiateKernels(this.memory);
  private at: ReturnType<typeof layout>;
  /** Views of the memory: refreshed whenever it grows. */
  private q = new Int8Array(0);
  private codes = new Uint32Array(0);
  private mean: Float32Array;
  private meanCount = 0;
  /** While loading (beginLoad() to the end of endLoad()), codes wait for one centring at the end. */
  private loading = false;
  /** During endLoad(): the slots below this have their codes. */
  private encodedUpTo = 0;
  private readonly slotOf = new Map<number, number>();

  constructor(dim: number) {
    this.dim = dim;
    this.at = layout(dim, 0);
    this.words = this.at.codeBytes / 4;
    this.stride = this.at.stride;
    this.mean = new Float32Array(dim);
  }

  get size(): number {
    return this.n;
  }

  /** The unit vector in symmetric int8 with one scale: v / |v| ≈ scale * q, so a dot product is a cosine. */
  static quantize(vector: Float32Array): { q: Int8Array; scale: number } {
    let max = 0;
    let norm = 0;
    for (let d = 0; d < vector.length; d++) {
      max = Math.max(max, Math.abs(vector[d]!));
      norm += vector[d]! * vector[d]!;
    }
    norm = Math.sqrt(norm);
    const q = new Int8Array(vector.length);
    if (max === 0 || !Number.isFinite(max)) return { q, scale: 0 };
    const f = 127 / max;
    for (let d = 0; d < vector.length; d++) q[d] = Math.round(vector[d]! * f);
    return { q, scale: max / 127 / norm };
  }

  /** Makes room for `n` vectors at once (loading), so the memory is grown once. */
  reserve(n: number): void {
    this.grow(n, true);
  }

  /**
   * Grows the memory in place to hold `need` vectors: the codes stay where they are, the int8 vectors move up to
   * their new place (a copy within the memory; the scratch above them is not kept).
   */
  private grow(need: number, exact = false): void {
    if (need <= this.capacity) return;
    let cap = exact ? Math.max(need, this.capacity) : Math.max(need, Math.ceil(this.capacity * 1.5), 1024);
    if (layout(this.dim, cap).end > MEMORY_LIMIT) {
      let most = Math.floor(MEMORY_LIMIT / (this.at.codeBytes + this.stride + 10));
      while (layout(this.dim, most).end > MEMORY_LIMIT) most--;
      if (need > most)
        throw new IndexFullError(`the vector index is full: ${most} vectors of ${this.dim} dimensions fill its 4 GiB`);
      cap = most;
    }
    const old = this.at;
    const next = layout(this.dim, cap);
    const pages = Math.ceil(next.end / PAGE) - this.memory.buffer.byteLength / PAGE;
    if (pages > 0) this.memory.grow(pages);
    const bytes = new Uint8Array(this.memory.buffer);
    bytes.copyWithin(next.vectors, old.vectors, old.vectors + this.n * this.stride);
    const ids = new Float64Array(cap);
    ids.set(this.ids.subarray(0, this.n));
    const scales = new Float32Array(cap);
    scales.set(this.scales.subarray(0, this.n));
    this.ids = ids;
    this.scales = scales;
    this.capacity = cap;
    this.at = next;
    this.q = new Int8Array(this.memory.buffer, next.vectors, cap * this.stride);
    this.codes = new Uint32Array(this.memory.buffer, next.codes, cap * this.words);
  }

  /** Adds (or replaces) a memory's vector, given in quantised form. */
  addQuantized(id: number, q: Int8Array, scale: number): void {
    if (q.length !== this.dim) throw new RangeError(`vector has ${q.length} dimensions, the index ${this.dim}`);
    let slot = this.slotOf.get(id);
    if (slot === undefined) {
      this.grow(this.n + 1);
      slot = this.n++;
      this.slotOf.set(id, slot);
    }
    this.ids[slot] = id;
    // The padding after the vector may hold bytes of what sat there before the memory grew: the query's padding is
    // 0, so they never count.
    this.q.set(q, slot * this.stride);
    this.scales[slot] = scale;
    if (this.loading) {
      // endLoad() has already passed this slot: its code is made now.
      if (slot < this.encodedUpTo) this.encode(slot);
      return;
    }
    // The centring mean is refreshed whenever the index has doubled since it was computed.
    if (this.n >= 2 * this.meanCount && this.n >= 64) this.recentre();
    else this.encode(slot);
  }

  add(id: number, vector: Float32Array): { q: Int8Array; scale: number } {
    const quantized = QuantizedIndex.quantize(vector);
    this.addQuantized(id, quantized.q, quantized.scale);
    return quantized;
  }

  remove(id: number): void {
    const slot = this.slotOf.get(id);
    if (slot === undefined) return;
    const last = this.n - 1;
    if (slot !== last) {
      const lastId = this.ids[last]!;
      this.ids[slot] = lastId;
      this.q.copyWithin(slot * this.stride, last * this.stride, (last + 1) * this.stride);
      this.scales[slot] = this.scales[last]!;
      this.codes.copyWithin(slot * this.words, last * this.words, (last + 1) * this.words);
      this.slotOf.set(lastId, slot);
      // The vector moved from the end may not have a code yet while endLoad() has passed this slot.
      if (this.loading && slot < this.encodedUpTo) this.encode(slot);
    }
    this.slotOf.delete(id);
    this.n--;
  }

  has(id: number): boolean {
    return this.slotOf.has(id);
  }

  /**
   * Bulk loading: until endLoad(), vectors go in without their one-bit codes; endLoad() computes the centring mean and
   * every code once, instead of again each time the index doubles (loading a million vectors took 18 s). Search is
   * not meaningful in between: the store does not use the index until it has loaded.
   */
  beginLoad(): void {
    this.loading = true;
    this.encodedUpTo = 0;
  }

  /**
   * Ends a bulk load: the centring mean, then every code, LOAD_CHUNK vectors at a time with `pause()` between them,
   * so a large index does not hold the thread (at 100k memories this is about 300 ms of work, which held up every
   * request right after a start). Vectors added or removed during the pauses get their codes too.
   */
  async endLoad(pause: () => Promise<void> = () => Promise.resolve()): Promise<void> {
    if (this.n >= 64) {
      const sum = new Float64Array(this.dim);
      let counted = 0;
      while (counted < this.n) {
        const to = Math.min(this.n, counted + LOAD_CHUNK);
        this.sumInto(sum, counted, to);
        counted = to;
        if (counted < this.n) await pause();
      }
      this.setMean(sum, counted);
      await pause();
    }
    while (this.encodedUpTo < this.n) {
      const to = Math.min(this.n, this.encodedUpTo + LOAD_CHUNK);
      for (let i = this.encodedUpTo; i < to; i++) this.encode(i);
      this.encodedUpTo = to;
      if (to < this.n) await pause();
    }
    this.loading = false;
  }

  /** Adds the vectors of slots [from, to) into `sum`. */
  private sumInto(sum: Float64Array, from: number, to: number): void {
    for (let i = from; i < to; i++) {
      const s = this.scales[i]!;
      const o = i * this.stride;
      for (let d = 0; d < this.dim; d++) sum[d]! += this.q[o + d]! * s;
    }
  }

  /** The centring mean from the sum of `count` vectors. */
  private setMean(sum: Float64Array, count: number): void {
    for (let d = 0; d < this.dim; d++) this.mean[d] = sum[d]! / Math.max(1, count);
    this.meanCount = count;
  }

  private recentre(): void {
    const sum = new Float64Array(this.dim);
    this.sumInto(sum, 0, this.n);
    this.setMean(sum, this.n);
    for (let i = 0; i < this.n; i++) this.encode(i);
  }

  private encode(slot: number): void {
    const o = slot * this.stride;
    const s = this.scales[slot]!;
    const c = slot * this.words;
    for (let w = 0; w < this.words; w++) {
      let bits = 0;
      const base = w * 32;
      for (let b = 0; b < 32 && base + b < this.dim; b++)
        if (this.q[o + base + b]! * s > this.mean[base + b]!) bits |= 1 << b;
      this.codes[c + w] = bits >>> 0;
    }
  }

  /** Writes the query's one-bit code and its int16 copy into the memory; returns the int16 copy's scale. */
  private writeQuery(query: Float32Array): number {
    const code = new Uint32Array(this.memory.buffer, this.at.queryCode, this.words).fill(0);
    for (let d = 0; d < this.dim; d++) if (query[d]! > this.mean[d]!) code[d >>> 5]! |= 1 << (d & 31);
    let max = 0;
    for (let d = 0; d < this.dim; d++) max = Math.max(max, Math.abs(query[d]!));
    // The largest int16 value at which a dot product with int8 values (down to -128) cannot overflow an i32.
    const top = Math.min(32767, Math.floor(0x7fffffff / (128 * this.stride)));
    const f = max > 0 ? top / max : 0;
    const q16 = new Int16Array(this.memory.buffer, this.at.query16, this.stride).fill(0);
    for (let d = 0; d < this.dim; d++) q16[d] = Math.round(query[d]! * f);
    return f;
  }

  /**
   * The `k` nearest among the given (distinct) ids only, each scored from its int8 copy by the kernels' dot products,
   * with no one-bit pass: for a filter that admits few memories. Ids not in the index are skipped.
   */
  searchIds(vector: Float32Array, ids: readonly number[], k: number): { id: number; distance: number }[] {
    const query = this.unitQuery(vector);
    if (query === null || this.n === 0 || !(k >= 1)) return [];
    const f = this.writeQuery(query);
    const slots = new Int32Array(this.memory.buffer, this.at.slots, this.n);
    let count = 0;
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot !== undefined && count < this.n) slots[count++] = slot;
    }
    this.kernels.dots(this.at.vectors, this.stride, this.at.query16, this.at.slots, count, this.at.dots);
    return this.best(count, f, k);
  }

  /**
   * The `k` nearest by cosine distance (1 - similarity), among ids `allowed` accepts. `shortlist` codes go on to the
   * int8 re-scoring; more is slower and closer to exact.
   */
  search(
    vector: Float32Array,
    k: number,
    options: { allowed?: (id: number) => boolean; shortlist?: number } = {},
  ): { id: number; distance: number }[] {
    const query = this.unitQuery(vector);
    const n = this.n;
    if (query === null || n === 0 || !(k >= 1)) return [];
    const at = this.at;
    const f = this.writeQuery(query);
    const hist = new Uint32Array(this.memory.buffer, at.hist, at.codeBytes * 8 + 2).fill(0);
    this.kernels.hamming(at.codes, at.codeBytes / 8, n, at.queryCode, at.dist, at.hist);
    const allowed = options.allowed;
    let admitted = n;
    if (allowed) {
      const dist = new Uint16Array(this.memory.buffer, at.dist, n);
      const skip = this.dim + 1;
      for (let i = 0; i < n; i++) {
        if (allowed(this.ids[i]!)) continue;
        hist[dist[i]!]!--;
        dist[i] = skip;
        admitted--;
      }
    }
    // The shortlist: every slot closer than the cut-off distance, found from the histogram in one pass.
    // Fewer bits tell less apart: the shortlist grows as the dimension shrinks (n/48 at 384 dimensions, n/4 at 32).
    // A filter that admits a fraction f of the vectors puts its k-th neighbour about 1/f times deeper, among vectors
    // less alike: the shortlist grows by 2/f (measured on the test set's filtered queries).
    const base = Math.max(options.shortlist ?? Math.max(1000, Math.ceil((n * 8) / this.dim)), k * 50);
    const want = Math.min(admitted, Math.ceil(admitted < n ? (base * 2 * n) / Math.max(1, admitted) : base));
    let cut = 0;
    let acc = 0;
    while (cut <= this.dim && acc + hist[cut]! < want) acc += hist[cut++]!;
    // Re-score the shortlist, then keep the best k in a small sorted array (k is tens; the shortlist thousands).
    const count = this.kernels.shortlist(at.dist, n, cut, want - acc, at.slots);
    this.kernels.dots(at.vectors, this.stride, at.query16, at.slots, count, at.dots);
    return this.best(count, f, k);
  }

  /** The query as a unit vector; null for one with a NaN or an infinity (near nothing). */
  private unitQuery(vector: Float32Array): Float32Array | null {
    if (vector.length !== this.dim)
      throw new RangeError(`query has ${vector.length} dimensions, the index ${this.dim}`);
    let norm = 0;
    for (let d = 0; d < vector.length; d++) norm += vector[d]! * vector[d]!;
    if (!Number.isFinite(norm)) return null;
    norm = Math.sqrt(norm) || 1;
    return vector.map((x) => x / norm);
  }

  /** The best `k` of the `count` slots scored in the scratch (their dot products with the query scaled by `f`). */
  private best(count: number, f: number, wanted: number): { id: number; distance: number }[] {
    const k = Math.floor(wanted);
    const slots = new Int32Array(this.memory.buffer, this.at.slots, count);
    const dots = new Int32Array(this.memory.buffer, this.at.dots, count);
    const bestSlot = new Int32Array(k).fill(-1);
    const bestDist = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
    for (let c = 0; c < count; c++) {
      const i = slots[c]!;
      const distance = f > 0 ? 1 - (dots[c]! / f) * this.scales[i]! : 1;
      if (distance >= bestDist[k - 1]!) continue;
      let r = k - 1;
      while (r > 0 && bestDist[r - 1]! > distance) {
        bestDist[r] = bestDist[r - 1]!;
        bestSlot[r] = bestSlot[r - 1]!;
        r--;
      }
      bestDist[r] = distance;
      bestSlot[r] = i;
    }
    const out: { id: number; distance: number }[] = [];
    for (let r = 0; r < k && bestSlot[r]! >= 0; r++) out.push({ id: this.ids[bestSlot[r]!]!, distance: bestDist[r]! });
    return out;
  }
}
