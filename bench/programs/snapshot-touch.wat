;; The program of the snapshot benchmark (bench/src/snapshot.ts): 64 MiB of linear memory, of which
;; it fills [4096, $touched) with non-zero words (the benchmark rewrites the constant of $touched
;; for each size; 0 touches only the I/O scratch of the first 4 KiB), prints "ready", then works in
;; rounds: 4096 steps of an xorshift generator in locals, each step also reading and rewriting one
;; random word of the touched memory when there is some. After each round it reads one byte of
;; stdin and goes on while there is one: with stdin /dev/zero it runs until it is suspended; once
;; resumed with stdin /dev/null it finishes its round, prints "rounds R checksum C" (hex) and exits.
;; Run uninterrupted with R - 1 bytes on stdin it prints the same line.
(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_read" (func $fd_read (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1024 1024)
  (global $touched i32 (i32.const 0)) ;; @touched-bytes
  ;; scratch: 0 iovec, 8 count written or read, 16 the byte read, 64 and 128 text
  (data (i32.const 64) "ready\n")
  (data (i32.const 128) "rounds 0000000000000000 checksum 0000000000000000\n")
  (func $write (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  ;; one byte of stdin: 1, or 0 at its end (or on an error)
  (func $more (result i32)
    (i32.store (i32.const 0) (i32.const 16))
    (i32.store (i32.const 4) (i32.const 1))
    (if (call $fd_read (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)) (then (return (i32.const 0))))
    (i32.ne (i32.load (i32.const 8)) (i32.const 0)))
  ;; the 16 hex digits of $v at $at
  (func $hex (param $v i64) (param $at i32) (local $k i32) (local $d i32)
    (local.set $k (i32.const 16))
    (loop $digit
      (local.set $k (i32.sub (local.get $k) (i32.const 1)))
      (local.set $d (i32.wrap_i64 (i64.and (local.get $v) (i64.const 15))))
      (i32.store8 (i32.add (local.get $at) (local.get $k))
        (i32.add (local.get $d) (select (i32.const 48) (i32.const 87) (i32.lt_u (local.get $d) (i32.const 10)))))
      (local.set $v (i64.shr_u (local.get $v) (i64.const 4)))
      (br_if $digit (local.get $k))))
  (func (export "_start") (local $i i32) (local $words i32) (local $k i32) (local $a i32) (local $v i32)
    (local $x i64) (local $acc i64) (local $rounds i64)
    (local.set $i (i32.const 4096))
    (block $filled
      (loop $fill
        (br_if $filled (i32.ge_u (local.get $i) (global.get $touched)))
        (i32.store (local.get $i) (i32.or (i32.mul (local.get $i) (i32.const 0x9e3779b1)) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $fill)))
    (call $write (i32.const 64) (i32.const 6))
    (if (i32.gt_u (global.get $touched) (i32.const 4096))
      (then (local.set $words (i32.shr_u (i32.sub (global.get $touched) (i32.const 4096)) (i32.const 2)))))
    (local.set $x (i64.const 0x853c49e6748fea9b))
    (loop $round
      (local.set $k (i32.const 4096))
      (loop $step
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 13))))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 7))))
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 17))))
        (if (local.get $words)
          (then
            (local.set $a (i32.add (i32.const 4096)
              (i32.shl (i32.wrap_i64 (i64.rem_u (local.get $x) (i64.extend_i32_u (local.get $words)))) (i32.const 2))))
            (local.set $v (i32.load (local.get $a)))
            (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 5)) (i64.extend_i32_u (local.get $v))))
            (i32.store (local.get $a) (i32.or (i32.xor (local.get $v) (i32.wrap_i64 (local.get $acc))) (i32.const 1))))
          (else (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 5)) (local.get $x)))))
        (local.set $k (i32.sub (local.get $k) (i32.const 1)))
        (br_if $step (local.get $k)))
      (local.set $rounds (i64.add (local.get $rounds) (i64.const 1)))
      (br_if $round (call $more)))
    ;; the checksum also takes one word of every touched 4 KiB
    (local.set $i (i32.const 4096))
    (block $summed
      (loop $sum
        (br_if $summed (i32.ge_u (local.get $i) (global.get $touched)))
        (local.set $acc (i64.add (i64.rotl (local.get $acc) (i64.const 7)) (i64.load32_u (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 4096)))
        (br $sum)))
    (call $hex (local.get $rounds) (i32.const 135))
    (call $hex (local.get $acc) (i32.const 161))
    (call $write (i32.const 128) (i32.const 50))))
