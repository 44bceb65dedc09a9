;; bench:fleet's program to migrate: "tick K\n" after every million iterations of a busy loop,
;; for ever (the benchmark cancels it), so the resumed run's first output comes a moment after it
;; starts again on either arch.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "_start") (local $k i64) (local $j i32) (local $n i64) (local $p i32)
    (loop $tick
      (local.set $j (i32.const 0))
      (loop $busy
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $busy (i32.lt_u (local.get $j) (i32.const 1000000))))
      (local.set $k (i64.add (local.get $k) (i64.const 1)))
      ;; "tick K\n" built backwards from 200
      (local.set $p (i32.const 199))
      (i32.store8 (local.get $p) (i32.const 10))
      (local.set $n (local.get $k))
      (loop $d
        (local.set $p (i32.sub (local.get $p) (i32.const 1)))
        (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
        (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
        (br_if $d (i64.ne (local.get $n) (i64.const 0))))
      (local.set $p (i32.sub (local.get $p) (i32.const 5)))
      (i32.store (local.get $p) (i32.const 0x6b636974))
      (i32.store8 offset=4 (local.get $p) (i32.const 32))
      (i32.store (i32.const 300) (local.get $p))
      (i32.store (i32.const 304) (i32.sub (i32.const 200) (local.get $p)))
      (drop (call $fd_write (i32.const 1) (i32.const 300) (i32.const 1) (i32.const 308)))
      (br $tick))))
