/**
 * Programs for the migration tests (issue 5): each prints what it computed, so an interrupted
 * run's output can be compared with an uninterrupted one. Sizes keep an x86-64 run near 0.3 s.
 */
export const prelude = `
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  ;; prints n (u64) in decimal and a newline, through scratch memory at 0..255
  (func $print (param $n i64) (local $p i32)
    (local.set $p (i32.const 100))
    (i32.store8 (local.get $p) (i32.const 10))
    (loop $d
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $d (i64.ne (local.get $n) (i64.const 0))))
    (i32.store (i32.const 200) (local.get $p))
    (i32.store (i32.const 204) (i32.sub (i32.const 101) (local.get $p)))
    (drop (call $fd_write (i32.const 1) (i32.const 200) (i32.const 1) (i32.const 208))))`;

export const PROGRAMS: Record<string, string> = {
  // a long loop whose state is mostly in memory (a sieve, then a checksum over it)
  sieve: `(module ${prelude}
    (func (export "_start") (local $i i32) (local $j i32) (local $count i64) (local $round i32)
      (loop $rounds
        (local.set $i (i32.const 2))
        (memory.fill (i32.const 4096) (i32.const 0) (i32.const 200000))
        (loop $outer
          (if (i32.eqz (i32.load8_u offset=4096 (local.get $i)))
            (then
              (local.set $count (i64.add (local.get $count) (i64.const 1)))
              (local.set $j (i32.mul (local.get $i) (i32.const 2)))
              (block $done (loop $inner
                (br_if $done (i32.ge_u (local.get $j) (i32.const 200000)))
                (i32.store8 offset=4096 (local.get $j) (i32.const 1))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $inner)))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $outer (i32.lt_u (local.get $i) (i32.const 200000))))
        (call $print (local.get $count))
        (local.set $round (i32.add (local.get $round) (i32.const 1)))
        (br_if $rounds (i32.lt_u (local.get $round) (i32.const 300))))))`,

  // deep recursion: thousands of frames with locals and values pending on the operand stack
  recursion: `(module ${prelude}
    (func $down (param $n i32) (param $acc i64) (result i64) (local $mix i64)
      (local.set $mix (i64.mul (local.get $acc) (i64.const 6364136223846793005)))
      (if (result i64) (i32.eqz (local.get $n))
        (then (local.get $acc))
        (else (i64.xor (local.get $mix)
          (i64.add (i64.extend_i32_u (local.get $n)) (call $down (i32.sub (local.get $n) (i32.const 1)) (i64.add (local.get $acc) (i64.const 1))))))))
    (func (export "_start") (local $k i32) (local $sum i64)
      (loop $l
        (local.set $sum (i64.add (local.get $sum) (call $down (i32.const 20000) (i64.extend_i32_u (local.get $k)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $k) (i32.const 3000))))
      (call $print (local.get $sum))))`,

  // references live in locals, a global and three tables while it runs: a table that grows,
  // entries set and read, a passive segment used and dropped, calls through two tables
  refs: `(module ${prelude}
    (type $fi (func (param i64) (result i64)))
    (table $t0 2 funcref)
    (table $t1 1 100 funcref)
    (table $ext 4 externref)
    (global $g (mut funcref) (ref.null func))
    (elem $p funcref (ref.func $a) (ref.func $b) (ref.func $c))
    (func $a (param i64) (result i64) (i64.add (local.get 0) (i64.const 3)))
    (func $b (param i64) (result i64) (i64.mul (local.get 0) (i64.const 5)))
    (func $c (param i64) (result i64) (i64.xor (local.get 0) (i64.const 0x5555)))
    (func (export "_start") (local $k i32) (local $acc i64) (local $f funcref) (local $e externref)
      (table.init $t1 $p (i32.const 0) (i32.const 2) (i32.const 1))
      (table.init $t0 $p (i32.const 0) (i32.const 0) (i32.const 2))
      (elem.drop $p)
      (loop $l
        (local.set $f (select (result funcref) (ref.func $a) (table.get $t0 (i32.const 1)) (i32.and (local.get $k) (i32.const 1))))
        (if (i32.eqz (i32.rem_u (local.get $k) (i32.const 997)))
          (then (drop (table.grow $t1 (local.get $f) (i32.const 1)))))
        (table.set $t1 (i32.rem_u (local.get $k) (table.size $t1)) (local.get $f))
        (global.set $g (table.get $t1 (i32.rem_u (i32.mul (local.get $k) (i32.const 7)) (table.size $t1))))
        (table.set $t0 (i32.and (local.get $k) (i32.const 1)) (global.get $g))
        (local.set $acc (call_indirect $t1 (type $fi) (local.get $acc) (i32.rem_u (i32.mul (local.get $k) (i32.const 3)) (table.size $t1))))
        (local.set $acc (call_indirect $t0 (type $fi) (local.get $acc) (i32.const 0)))
        (local.set $acc (i64.add (local.get $acc)
          (i64.extend_i32_u (i32.add (ref.is_null (local.get $e)) (ref.is_null (table.get $ext (i32.and (local.get $k) (i32.const 3))))))))
        (if (i32.eqz (i32.rem_u (local.get $k) (i32.const 50000)))
          (then (call $print (i64.add (local.get $acc) (i64.extend_i32_u (table.size $t1))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $k) (i32.const 400000))))
      (call $print (local.get $acc))))`,

  // call_indirect through a table of functions of two signatures
  indirect: `(module ${prelude}
    (type $op (func (param i64 i64) (result i64)))
    (table 4 funcref)
    (elem (i32.const 0) $add $mul $xor $rot)
    (func $add (param i64 i64) (result i64) (i64.add (local.get 0) (local.get 1)))
    (func $mul (param i64 i64) (result i64) (i64.mul (local.get 0) (i64.or (local.get 1) (i64.const 1))))
    (func $xor (param i64 i64) (result i64) (i64.xor (local.get 0) (i64.rotl (local.get 1) (i64.const 13))))
    (func $rot (param i64 i64) (result i64) (i64.rotr (local.get 0) (local.get 1)))
    (func (export "_start") (local $i i32) (local $v i64)
      (local.set $v (i64.const 88172645463325252))
      (loop $l
        (local.set $v (call_indirect (type $op) (local.get $v) (i64.extend_i32_u (local.get $i)) (i32.and (local.get $i) (i32.const 3))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 6000000))))
      (call $print (local.get $v))))`,

  // float state in locals and on the operand stack across calls (bit-exact results printed)
  floats: `(module ${prelude}
    (func $step (param $x f64) (result f64)
      (f64.add (f64.mul (local.get $x) (f64.const 0.999999)) (f64.sqrt (f64.abs (local.get $x)))))
    (func (export "_start") (local $i i32) (local $a f64) (local $b f32)
      (local.set $a (f64.const 1.5))
      (local.set $b (f32.const 0.25))
      (loop $l
        ;; $a and the product stay on the operand stack while $step runs
        (local.set $a (f64.add (f64.mul (local.get $a) (f64.const 0.25)) (f64.mul (call $step (local.get $a)) (f64.const 0.5))))
        (local.set $b (f32.add (local.get $b) (f32.demote_f64 (f64.div (local.get $a) (f64.const 1e6)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 3000000))))
      (call $print (i64.reinterpret_f64 (local.get $a)))
      (call $print (i64.extend_i32_u (i32.reinterpret_f32 (local.get $b))))))`,

  // reads stdin to its end, summing bytes: suspended while blocked in a read, it restarts the read
  stdin: `(module ${prelude}
    (func (export "_start") (local $n i32) (local $sum i64) (local $total i64) (local $i i32)
      (loop $more
        (i32.store (i32.const 300) (i32.const 1024))
        (i32.store (i32.const 304) (i32.const 4096))
        (drop (call $fd_read (i32.const 0) (i32.const 300) (i32.const 1) (i32.const 308)))
        (local.set $n (i32.load (i32.const 308)))
        (local.set $i (i32.const 0))
        (block $end (loop $sum
          (br_if $end (i32.ge_u (local.get $i) (local.get $n)))
          (local.set $sum (i64.add (local.get $sum) (i64.load8_u offset=1024 (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br $sum)))
        (local.set $total (i64.add (local.get $total) (i64.extend_i32_u (local.get $n))))
        (br_if $more (local.get $n)))
      (call $print (local.get $total))
      (call $print (local.get $sum))))`,
  // several results (issue 7): a callee with more results than parameters (one lands on its
  // return address slot), suspended inside its loop with a value pending below the call;
  // recursion whose every frame waits for two results, combined by a block with parameters
  multivalue: `(module ${prelude}
    (func $split (param $x i64) (result i32 i64 f64 i32) (local $i i32) (local $acc i64)
      (loop $l
        (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 7)) (i64.xor (local.get $x) (i64.extend_i32_u (local.get $i)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 400))))
      (i32.wrap_i64 (local.get $acc))
      (local.get $acc)
      (f64.convert_i64_s (i64.shr_s (local.get $acc) (i64.const 11)))
      (i32.const 3))
    (func $rec (param $n i32) (param $x i64) (result i64 i64) (local $p i64)
      (if (result i64 i64) (i32.eqz (local.get $n))
        (then (local.get $x) (i64.mul (local.get $x) (i64.const 3)))
        (else
          (call $rec (i32.sub (local.get $n) (i32.const 1)) (i64.add (local.get $x) (i64.extend_i32_u (local.get $n))))
          (block (param i64 i64) (result i64 i64)
            (local.set $x)
            (local.set $p)
            (i64.xor (local.get $x) (i64.mul (local.get $p) (i64.const 6364136223846793005)))
            (i64.add (local.get $p) (i64.extend_i32_u (local.get $n)))))))
    (func (export "_start") (local $k i32) (local $sum i64) (local $a i32) (local $b i64) (local $c f64) (local $d i32)
      (loop $l
        (local.get $sum)
        (call $split (i64.extend_i32_u (local.get $k)))
        (local.set $d) (local.set $c) (local.set $b) (local.set $a)
        (i64.add (i64.add (local.get $b) (i64.extend_i32_u (i32.add (local.get $a) (local.get $d)))) (i64.trunc_f64_s (local.get $c)))
        (i64.add)
        (call $rec (i32.and (local.get $k) (i32.const 255)) (i64.extend_i32_u (local.get $k)))
        (i64.xor)
        (i64.add)
        (local.set $sum)
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $k) (i32.const 50000))))
      (call $print (local.get $sum))))`,
};

/**
 * One call with more results than parameters whose callee runs long (a loop of 100,000,000
 * trips, a value pending below the call): a suspension a little after the start lands in it.
 */
export const SPLIT_PROGRAM = `(module ${prelude}
  (func $split (param $x i64) (result i32 i64 f64 i32) (local $i i32) (local $acc i64)
    (loop $l
      (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 7)) (i64.xor (local.get $x) (i64.extend_i32_u (local.get $i)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (i32.const 100000000))))
    (i32.wrap_i64 (local.get $acc))
    (local.get $acc)
    (f64.convert_i64_s (i64.shr_s (local.get $acc) (i64.const 11)))
    (i32.const 3))
  (func (export "_start") (local $a i32) (local $b i64) (local $c f64) (local $d i32)
    (i64.const 1000)
    (call $split (i64.const 12345))
    (local.set $d) (local.set $c) (local.set $b) (local.set $a)
    (call $print (i64.add (i64.add (local.get $b) (i64.extend_i32_u (i32.add (local.get $a) (local.get $d)))) (i64.trunc_f64_s (local.get $c))))
    (call $print)))`;
