import type { Pooling } from './manifest.js';

/**
 * Turns a model output into one vector per text. `hidden` is [batch, seq, dim] for mean/cls pooling, or already
 * [batch, dim] for `none`. Mean pooling averages only the positions the attention mask marks as real tokens, so a
 * text's vector does not depend on how much padding its batch needed.
 */
export function pool(
  hidden: Float32Array,
  mask: ArrayLike<number | bigint>,
  batch: number,
  seq: number,
  dim: number,
  pooling: Pooling,
  normalize: boolean,
): Float32Array {
  const out = new Float32Array(batch * dim);
  for (let b = 0; b < batch; b++) {
    const o = b * dim;
    if (pooling === 'none') {
      out.set(hidden.subarray(b * dim, (b + 1) * dim), o);
    } else if (pooling === 'cls') {
      out.set(hidden.subarray(b * seq * dim, b * seq * dim + dim), o);
    } else {
      let count = 0;
      for (let s = 0; s < seq; s++) {
        if (Number(mask[b * seq + s]) === 0) continue;
        count++;
        const h = (b * seq + s) * dim;
        for (let d = 0; d < dim; d++) out[o + d]! += hidden[h + d]!;
      }
      if (count > 0) for (let d = 0; d < dim; d++) out[o + d]! /= count;
    }
    if (normalize) {
      let norm = 0;
      for (let d = 0; d < dim; d++) norm += out[o + d]! * out[o + d]!;
      norm = Math.sqrt(norm);
      if (norm > 0) for (let d = 0; d < dim; d++) out[o + d]! /= norm;
    }
  }
  return out;
}
