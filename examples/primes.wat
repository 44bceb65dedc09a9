;; Counts the primes below 2,000,000 with a sieve in linear memory, prints the count, and exits
;; with status (count mod 256). A long-running loop with memory state: the demo's workload.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 32)
  (global $limit i32 (i32.const 2000000))
  (func $sieve (result i32)
    (local $i i32) (local $j i32) (local $count i32)
    (local.set $i (i32.const 2))
    (block $done
      (loop $outer
        (br_if $done (i32.ge_u (local.get $i) (global.get $limit)))
        (if (i32.eqz (i32.load8_u offset=1024 (local.get $i)))
          (then
            (local.set $count (i32.add (local.get $count) (i32.const 1)))
            (local.set $j (i32.mul (local.get $i) (local.get $i)))
            (block $inner_done
              (br_if $inner_done (i32.gt_u (local.get $i) (i32.const 46340)))
              (loop $inner
                (br_if $inner_done (i32.ge_u (local.get $j) (global.get $limit)))
                (i32.store8 offset=1024 (local.get $j) (i32.const 1))
                (local.set $j (i32.add (local.get $j) (local.get $i)))
                (br $inner)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $outer)))
    (local.get $count))
  ;; writes n in decimal followed by a newline at 100.., returns the length
  (func $itoa (param $n i32) (result i32)
    (local $p i32) (local $len i32)
    (local.set $p (i32.const 120))
    (i32.store8 (local.get $p) (i32.const 10))
    (loop $digits
      (local.set $p (i32.sub (local.get $p) (i32.const 1)))
      (i32.store8 (local.get $p) (i32.add (i32.const 48) (i32.rem_u (local.get $n) (i32.const 10))))
      (local.set $n (i32.div_u (local.get $n) (i32.const 10)))
      (br_if $digits (local.get $n)))
    (i32.store (i32.const 0) (local.get $p))
    (i32.store (i32.const 4) (i32.sub (i32.const 121) (local.get $p)))
    (i32.const 0))
  (func (export "_start")
    (local $count i32)
    (local.set $count (call $sieve))
    (drop (call $itoa (local.get $count)))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))
    (call $proc_exit (i32.and (local.get $count) (i32.const 255)))))
