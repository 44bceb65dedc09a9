;; The trusted runtime library (DESIGN §7): WASI preview1 functions written in WebAssembly,
;; compiled by wagc and linked with every WASI program. Every pointer is checked with ordinary
;; wasm loads and stores before a loader routine (module "gate") sees it.
;; This is the subset of issue 2 (fd_write, fd_read, proc_exit); issue 6 brings the rest.
(module
  (import "env" "memory" (memory 0))
  (import "gate" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "gate" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "gate" "exit" (func $exit (param i32)))

  ;; WASI errno for a negative Linux errno (the few a stream can give); EIO otherwise
  (func $errno (param $e i32) (result i32)
    (local.set $e (i32.sub (i32.const 0) (local.get $e)))
    (if (i32.eq (local.get $e) (i32.const 9)) (then (return (i32.const 8))))    ;; EBADF
    (if (i32.eq (local.get $e) (i32.const 11)) (then (return (i32.const 6))))   ;; EAGAIN
    (if (i32.eq (local.get $e) (i32.const 4)) (then (return (i32.const 27))))   ;; EINTR
    (if (i32.eq (local.get $e) (i32.const 32)) (then (return (i32.const 64))))  ;; EPIPE
    (if (i32.eq (local.get $e) (i32.const 22)) (then (return (i32.const 28))))  ;; EINVAL
    (if (i32.eq (local.get $e) (i32.const 28)) (then (return (i32.const 51))))  ;; ENOSPC
    (i32.const 29))

  ;; Checks that [ptr, ptr+len) lies in memory by touching its last byte (traps otherwise).
  (func $check (param $ptr i32) (param $len i32)
    (if (local.get $len)
      (then (drop (i32.load8_u (i32.sub (i32.add (local.get $ptr) (local.get $len)) (i32.const 1)))))))

  (func $rw (param $isWrite i32) (param $fd i32) (param $iovs i32) (param $count i32) (param $out i32) (result i32)
    (local $total i32) (local $ptr i32) (local $len i32) (local $n i32)
    (i32.store (local.get $out) (i32.const 0))  ;; traps early on a bad result pointer
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $count)))
        (local.set $ptr (i32.load (local.get $iovs)))
        (local.set $len (i32.load offset=4 (local.get $iovs)))
        (call $check (local.get $ptr) (local.get $len))
        ;; -4 (EINTR): a suspend request interrupted the host call; this loop's check suspends
        ;; the program, and the call starts again when it resumes
        (loop $retry
          (local.set $n
            (if (result i32) (local.get $isWrite)
              (then (call $write (local.get $fd) (local.get $ptr) (local.get $len)))
              (else (call $read (local.get $fd) (local.get $ptr) (local.get $len)))))
          (br_if $retry (i32.eq (local.get $n) (i32.const -4))))
        (if (i32.lt_s (local.get $n) (i32.const 0))
          (then
            (i32.store (local.get $out) (local.get $total))
            (return (call $errno (local.get $n)))))
        (local.set $total (i32.add (local.get $total) (local.get $n)))
        ;; a short transfer ends the call, as readv/writev do
        (br_if $done (i32.lt_u (local.get $n) (local.get $len)))
        (local.set $iovs (i32.add (local.get $iovs) (i32.const 8)))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $out) (local.get $total))
    (i32.const 0))

  (func (export "fd_write") (param $fd i32) (param $iovs i32) (param $count i32) (param $out i32) (result i32)
    (call $rw (i32.const 1) (local.get $fd) (local.get $iovs) (local.get $count) (local.get $out)))

  (func (export "fd_read") (param $fd i32) (param $iovs i32) (param $count i32) (param $out i32) (result i32)
    (call $rw (i32.const 0) (local.get $fd) (local.get $iovs) (local.get $count) (local.get $out)))

  (func (export "proc_exit") (param $status i32)
    (call $exit (local.get $status))
    (unreachable)))
