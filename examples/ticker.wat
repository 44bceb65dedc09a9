;; A slow program for the fleet demo (README, "A fleet"): 30 lines, one a second, each with the
;; tick number and a running Fibonacci pair, so a run moved between hosts shows it kept its state.
;; It sleeps in poll_oneoff between lines; a suspension during the sleep starts it again on resume.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "tick : fib = \n")
  ;; writes n in decimal at p, returns the end
  (func $num (param $n i64) (param $p i32) (result i32) (local $q i32)
    (local.set $q (i32.const 400))
    (loop $d
      (local.set $q (i32.sub (local.get $q) (i32.const 1)))
      (i32.store8 (local.get $q) (i32.add (i32.const 48) (i32.wrap_i64 (i64.rem_u (local.get $n) (i64.const 10)))))
      (local.set $n (i64.div_u (local.get $n) (i64.const 10)))
      (br_if $d (i64.ne (local.get $n) (i64.const 0))))
    (memory.copy (local.get $p) (local.get $q) (i32.sub (i32.const 400) (local.get $q)))
    (i32.add (local.get $p) (i32.sub (i32.const 400) (local.get $q))))
  ;; sleeps one second: one relative subscription to the monotonic clock
  (func $sleep
    (i64.store (i32.const 512) (i64.const 0))            ;; userdata
    (i32.store8 (i32.const 520) (i32.const 0))           ;; tag: clock
    (i32.store (i32.const 528) (i32.const 1))            ;; clock id: monotonic
    (i64.store (i32.const 536) (i64.const 1000000000))   ;; timeout: 1 s
    (i64.store (i32.const 544) (i64.const 0))            ;; precision
    (i32.store16 (i32.const 552) (i32.const 0))          ;; flags: relative
    (drop (call $poll_oneoff (i32.const 512) (i32.const 600) (i32.const 1) (i32.const 640))))
  (func (export "_start") (local $k i64) (local $a i64) (local $b i64) (local $t i64) (local $p i32)
    (local.set $b (i64.const 1))
    (loop $tick
      (call $sleep)
      (local.set $t (i64.add (local.get $a) (local.get $b)))
      (local.set $a (local.get $b))
      (local.set $b (local.get $t))
      (local.set $k (i64.add (local.get $k) (i64.const 1)))
      ;; "tick K: fib = A\n"
      (memory.copy (i32.const 1024) (i32.const 0) (i32.const 5))
      (local.set $p (call $num (local.get $k) (i32.const 1029)))
      (memory.copy (local.get $p) (i32.const 5) (i32.const 8))
      (local.set $p (call $num (local.get $a) (i32.add (local.get $p) (i32.const 8))))
      (i32.store8 (local.get $p) (i32.const 10))
      (i32.store (i32.const 800) (i32.const 1024))
      (i32.store (i32.const 804) (i32.sub (i32.add (local.get $p) (i32.const 1)) (i32.const 1024)))
      (drop (call $fd_write (i32.const 1) (i32.const 800) (i32.const 1) (i32.const 808)))
      (br_if $tick (i64.lt_u (local.get $k) (i64.const 30))))))
