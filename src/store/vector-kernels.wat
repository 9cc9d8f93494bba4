;; The two scans of the quantised vector index (vector-index.ts), in WebAssembly: the plain JavaScript loops they
;; replace took 25 ms (Hamming) and about 20 ms (int8 re-scoring) of a search over a million vectors.
;; Built into dist/store/vector-kernels.wasm by scripts/build-wasm.mjs. All pointers are byte offsets into the
;; memory the index gives (one per index); the layout is the index's.
(module
  (import "env" "memory" (memory 1))

  ;; For each of `n` one-bit codes of `words` 64-bit words (at `codes`, one after another): the Hamming distance to
  ;; the query's code (at `query`), as a u16 at `dist`, counted into the u32 histogram at `hist` (words * 64 + 2
  ;; entries, zeroed by the caller). Scalar popcnt: SIMD's i8x16.popcnt was slower here (11 against 7.5 ms over a
  ;; million codes of 384 bits; x86 without AVX-512 has no byte-wise popcount, so V8 emulates it).
  (func (export "hamming")
    (param $codes i32) (param $words i32) (param $n i32) (param $query i32) (param $dist i32) (param $hist i32)
    (local $end i32) (local $w i32) (local $s i64) (local $h i32)
    (local.set $end (i32.add (local.get $dist) (i32.shl (local.get $n) (i32.const 1))))
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $dist) (local.get $end)))
        (local.set $s (i64.const 0))
        (local.set $w (i32.const 0))
        (loop $word
          (local.set $s
            (i64.add (local.get $s)
              (i64.popcnt
                (i64.xor
                  (i64.load (local.get $codes))
                  (i64.load (i32.add (local.get $query) (i32.shl (local.get $w) (i32.const 3))))))))
          (local.set $codes (i32.add (local.get $codes) (i32.const 8)))
          (local.set $w (i32.add (local.get $w) (i32.const 1)))
          (br_if $word (i32.lt_u (local.get $w) (local.get $words))))
        (i32.store16 (local.get $dist) (i32.wrap_i64 (local.get $s)))
        (local.set $h (i32.add (local.get $hist) (i32.shl (i32.wrap_i64 (local.get $s)) (i32.const 2))))
        (i32.store (local.get $h) (i32.add (i32.load (local.get $h)) (i32.const 1)))
        (local.set $dist (i32.add (local.get $dist) (i32.const 2)))
        (br $each))))

  ;; The shortlist: the slots i < n whose distance (u16 at `dist`) is below `cut`, and the first `room` of those at
  ;; `cut`, written as i32s at `slots`; returns how many.
  (func (export "shortlist")
    (param $dist i32) (param $n i32) (param $cut i32) (param $room i32) (param $slots i32) (result i32)
    (local $i i32) (local $d i32) (local $count i32)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $d (i32.load16_u (i32.add (local.get $dist) (i32.shl (local.get $i) (i32.const 1)))))
        (block $skip
          (br_if $skip (i32.gt_u (local.get $d) (local.get $cut)))
          (if (i32.eq (local.get $d) (local.get $cut))
            (then
              (br_if $skip (i32.le_s (local.get $room) (i32.const 0)))
              (local.set $room (i32.sub (local.get $room) (i32.const 1)))))
          (i32.store (i32.add (local.get $slots) (i32.shl (local.get $count) (i32.const 2))) (local.get $i))
          (local.set $count (i32.add (local.get $count) (i32.const 1))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $each)))
    (local.get $count))

  ;; For each of the `count` slots at `slots`: the dot product of its int8 vector (at `vectors` + slot * `stride`;
  ;; `stride` a multiple of 16) with the query in int16 (at `query`, `stride` values, 0 past the dimension, so a
  ;; vector's padding never counts), as an i32 at `dots`. (Reading ahead the vectors of later slots, to wait for memory once for several, did not help here.)
  (func (export "dots")
    (param $vectors i32) (param $stride i32) (param $query i32) (param $slots i32) (param $count i32) (param $dots i32)
    (local $c i32) (local $v i32) (local $vend i32) (local $qp i32)
    (local $a v128) (local $x v128)
    (block $done
      (loop $each
        (br_if $done (i32.ge_u (local.get $c) (local.get $count)))
        (local.set $v
          (i32.add (local.get $vectors)
            (i32.mul (local.get $stride) (i32.load (i32.add (local.get $slots) (i32.shl (local.get $c) (i32.const 2)))))))
        (local.set $vend (i32.add (local.get $v) (local.get $stride)))
        (local.set $qp (local.get $query))
        (local.set $a (v128.const i32x4 0 0 0 0))
        (loop $lanes
          (local.set $x (v128.load (local.get $v)))
          (local.set $a
            (i32x4.add (local.get $a)
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $x)) (v128.load (local.get $qp)))))
          (local.set $a
            (i32x4.add (local.get $a)
              (i32x4.dot_i16x8_s
                (i16x8.extend_high_i8x16_s (local.get $x))
                (v128.load (i32.add (local.get $qp) (i32.const 16))))))
          (local.set $v (i32.add (local.get $v) (i32.const 16)))
          (local.set $qp (i32.add (local.get $qp) (i32.const 32)))
          (br_if $lanes (i32.lt_u (local.get $v) (local.get $vend))))
        (i32.store (i32.add (local.get $dots) (i32.shl (local.get $c) (i32.const 2)))
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $a)) (i32x4.extract_lane 1 (local.get $a)))
            (i32.add (i32x4.extract_lane 2 (local.get $a)) (i32x4.extract_lane 3 (local.get $a)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $each)))))
