/**
 * An in-memory quantised index over one model's vectors, for KNN at sizes where sqlite-vec's exact brute force gets
 * slow (about 3 ms per 10k vectors of 384 floats, measured here; 63 ms at 100k).
 *
 * Two passes, both over compact copies of the vectors:
 * 1. Hamming distance between one-bit codes: the signs of each vector minus the mean vector (centring matters:
 *    sentence embeddings share a common direction that would otherwise set most bits the same way). 48 bytes per
 *    384-dimensional vector; about 2.6 ms per 100k vectors in plain JavaScript.
 * 2. The shortlist (the nearest codes: at least 1000, 50 per result wanted, and n·8/dimension, since fewer bits
 *    tell less apart) is re-scored by cosine similarity against int8 copies of the vectors (one scale per vector):
 *    within about 2e-3 of the float value.
 * Memory: dimension + 4 + dimension/8 bytes per vector (436 bytes at 384 dimensions: 44 MB at 100k).
 */
/** Vectors per step of endLoad(): about 10 ms of work at 384 dimensions. */
const LOAD_CHUNK = 16_384;

export class QuantizedIndex {
  readonly dim: number;
  private readonly words: number;
  private capacity = 0;
  private n = 0;
  private ids = new Float64Array(0);
  private q = new Int8Array(0);
  private scales = new Float32Array(0);
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
    this.words = Math.ceil(dim / 32);
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

  /** Makes room for `n` vectors at once (loading), so the arrays are not regrown and copied on the way. */
  reserve(n: number): void {
    this.grow(n, true);
  }

  private grow(need: number, exact = false): void {
    if (need <= this.capacity) return;
    const cap = exact ? need : Math.max(need, Math.ceil(this.capacity * 1.5), 1024);
    const ids = new Float64Array(cap);
    ids.set(this.ids.subarray(0, this.n));
    const q = new Int8Array(cap * this.dim);
    q.set(this.q.subarray(0, this.n * this.dim));
    const scales = new Float32Array(cap);
    scales.set(this.scales.subarray(0, this.n));
    const codes = new Uint32Array(cap * this.words);
    codes.set(this.codes.subarray(0, this.n * this.words));
    Object.assign(this, { ids, q, scales, codes, capacity: cap });
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
    this.q.set(q, slot * this.dim);
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
      this.q.copyWithin(slot * this.dim, last * this.dim, (last + 1) * this.dim);
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
      const o = i * this.dim;
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
    const o = slot * this.dim;
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

  private queryCode(v: Float32Array): Uint32Array {
    const code = new Uint32Array(this.words);
    for (let d = 0; d < this.dim; d++) if (v[d]! > this.mean[d]!) code[d >>> 5]! |= 1 << (d & 31);
    return code;
  }

  /** The `k` nearest among the given ids only, scored directly from the int8 copies (for narrow filters). */
  searchIds(vector: Float32Array, ids: readonly number[], k: number): { id: number; distance: number }[] {
    let norm = 0;
    for (let d = 0; d < vector.length; d++) norm += vector[d]! * vector[d]!;
    norm = Math.sqrt(norm) || 1;
    const out: { id: number; distance: number }[] = [];
    for (const id of ids) {
      const slot = this.slotOf.get(id);
      if (slot === undefined) continue;
      const o = slot * this.dim;
      let dot = 0;
      for (let j = 0; j < this.dim; j++) dot += this.q[o + j]! * vector[j]!;
      out.push({ id, distance: 1 - (dot * this.scales[slot]!) / norm });
    }
    return out.sort((a, b) => a.distance - b.distance).slice(0, k);
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
    const n = this.n;
    if (n === 0 || k <= 0) return [];
    let norm = 0;
    for (let d = 0; d < vector.length; d++) norm += vector[d]! * vector[d]!;
    norm = Math.sqrt(norm) || 1;
    const query = vector.map((x) => x / norm);
    const W = this.words;
    const qc = this.queryCode(query);
    const dist = new Uint16Array(n);
    const hist = new Uint32Array(this.dim + 2);
    const skip = this.dim + 1;
    const allowed = options.allowed;
    let admitted = 0;
    for (let i = 0; i < n; i++) {
      if (allowed && !allowed(this.ids[i]!)) {
        dist[i] = skip;
        continue;
      }
      admitted++;
      let s = 0;
      const o = i * W;
      for (let w = 0; w < W; w++) {
        let x = this.codes[o + w]! ^ qc[w]!;
        x -= (x >>> 1) & 0x55555555;
        x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
        s += Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24;
      }
      dist[i] = s;
      hist[s]!++;
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
    let room = want - acc;
    // Re-score the shortlist, keeping the best k in a small sorted array (k is tens; the shortlist thousands).
    const bestSlot = new Int32Array(k).fill(-1);
    const bestDist = new Float64Array(k).fill(Number.POSITIVE_INFINITY);
    const dim = this.dim;
    const q8 = this.q;
    for (let i = 0; i < n; i++) {
      const d = dist[i]!;
      if (d > cut) continue;
      if (d === cut) {
        if (room <= 0) continue;
        room--;
      }
      const o = i * dim;
      let dot = 0;
      for (let j = 0; j < dim; j++) dot += q8[o + j]! * query[j]!;
      const distance = 1 - dot * this.scales[i]!;
      if (distance >= bestDist[k - 1]!) continue;
      let at = k - 1;
      while (at > 0 && bestDist[at - 1]! > distance) {
        bestDist[at] = bestDist[at - 1]!;
        bestSlot[at] = bestSlot[at - 1]!;
        at--;
      }
      bestDist[at] = distance;
      bestSlot[at] = i;
    }
    const out: { id: number; distance: number }[] = [];
    for (let r = 0; r < k && bestSlot[r]! >= 0; r++) out.push({ id: this.ids[bestSlot[r]!]!, distance: bestDist[r]! });
    return out;
  }
}
