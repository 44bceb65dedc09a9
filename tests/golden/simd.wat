;; SIMD: a vector loop over memory (load, add, store), constants from the pool, a shuffle of two
;; vectors, the i64x2 multiply and f32x4 min sequences, a bitmask, v128 locals and a v128 result.
(module
  (memory 1)
  (func $add_arrays (export "add_arrays") (param $dst i32) (param $a i32) (param $b i32) (param $n i32)
    (local $i i32)
    (block $done
      (loop $top
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (v128.store (i32.add (local.get $dst) (local.get $i))
          (i32x4.add (v128.load (i32.add (local.get $a) (local.get $i)))
                     (v128.load (i32.add (local.get $b) (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $top))))
  (func $consts (export "consts") (param $x v128) (result v128)
    (v128.and (i16x8.add (local.get $x) (v128.const i16x8 1 2 3 4 5 6 7 8)) (v128.const i32x4 -1 0 -1 0)))
  (func $shuffle (export "shuffle") (param $x v128) (param $y v128) (result v128)
    (i8x16.shuffle 0 17 2 19 4 21 6 23 8 25 10 27 12 29 14 31 (local.get $x) (local.get $y)))
  (func $mul64 (export "mul64") (param $x v128) (param $y v128) (result v128)
    (i64x2.mul (local.get $x) (local.get $y)))
  (func $fmin (export "fmin") (param $x v128) (param $y v128) (result v128)
    (f32x4.min (local.get $x) (local.get $y)))
  (func $mask (export "mask") (param $x v128) (result i32)
    (i8x16.bitmask (i8x16.lt_s (local.get $x) (i8x16.splat (i32.const 3))))))
