;; The trusted runtime library (ARCHITECTURE §7): WASI preview1 written in WebAssembly, compiled by wagc
;; and linked with every WASI program as module `wasi_snapshot_preview1`. Every pointer is checked
;; with ordinary wasm loads and stores before a loader routine (module "gate", docs/ARCHITECTURE.md
;; "Host calls") sees it: a bad pointer traps here with "out of bounds memory access".
;;
;; Implemented: fd_write, fd_read, fd_close, fd_fdstat_get, fd_seek/fd_tell (ESPIPE on stdio),
;; proc_exit, args_sizes_get/args_get, environ_sizes_get/environ_get, clock_time_get/clock_res_get
;; (realtime, monotonic, process and thread CPU time), random_get, poll_oneoff (clock timeouts, fd
;; readiness), sched_yield; and on the directories gate-run preopens with --dir (fd 3 on, EBADF
;; without): fd_prestat_get/fd_prestat_dir_name, path_open, fd_filestat_get, path_filestat_get,
;; fd_readdir, path_create_directory, path_unlink_file, path_remove_directory, path_rename,
;; fd_sync, fd_datasync, fd_filestat_set_size. Every other preview1 function is exported with its
;; exact signature and returns ENOSYS (52), so any preview1 program links.
;;
;; A host call blocked in the loader (read, write, poll, getrandom) returns -EINTR (-4) when a
;; suspend request interrupts it; the library then calls again from a loop, whose header check
;; suspends the program, so the call starts again on resume (a relative poll timeout restarts
;; at its full length).
(module
  (import "env" "memory" (memory 0))
  (import "gate" "write" (func $write (param i32 i32 i32) (result i32)))
  (import "gate" "read" (func $read (param i32 i32 i32) (result i32)))
  (import "gate" "exit" (func $exit (param i32)))
  ;; which: 0 argv, 1 environment. sizes: count | bytes << 32 (bytes with each string's NUL)
  (import "gate" "args_sizes" (func $vec_sizes (param i32) (result i64)))
  ;; (which, buf, len = bytes): the strings back to back, NUL-terminated; 0 or -errno
  (import "gate" "args_get" (func $vec_get (param i32 i32 i32) (result i32)))
  ;; (WASI clock id) -> nanoseconds, or -errno
  (import "gate" "clock_time" (func $clock_time (param i32) (result i64)))
  (import "gate" "clock_res" (func $clock_res (param i32) (result i64)))
  ;; (ptr, len) -> bytes filled (maybe fewer), or -errno
  (import "gate" "random" (func $random (param i32 i32) (result i32)))
  ;; (fds: bit k read fd k, bit 16+k write fd k; timeout ns, negative: none)
  ;; -> ready: bit k readable, 16+k writable, 32+k hung up; 0 timed out; or -errno
  (import "gate" "poll" (func $poll (param i32 i64) (result i64)))
  ;; (fd) -> filetype | fdflags << 8 | readable << 16 | writable << 17 | tty << 18 | 1 << 19, or -errno
  (import "gate" "fd_stat" (func $fd_stat (param i32) (result i64)))
  (import "gate" "close" (func $close (param i32) (result i32)))
  (import "gate" "sched_yield" (func $sched_yield))
  ;; files (docs/ARCHITECTURE.md, "Host calls"): paths are (ptr, len) ranges checked here first
  ;; (fd) -> the preopen's name length, or -EBADF
  (import "gate" "prestat" (func $prestat (param i32) (result i64)))
  (import "gate" "prestat_name" (func $prestat_name (param i32 i32 i32) (result i32)))
  ;; (dirfd, lookupflags, path, len, oflags, fdflags, access: 1 read | 2 write) -> new fd, or -errno
  (import "gate" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i32 i32) (result i32)))
  ;; (fd, offset, whence) -> new offset, or -errno
  (import "gate" "seek" (func $seek (param i32 i64 i32) (result i64)))
  ;; (fd, out: 64-byte filestat) / (dirfd, lookupflags, path, len, out)
  (import "gate" "filestat" (func $filestat (param i32 i32) (result i32)))
  (import "gate" "path_filestat" (func $path_filestat (param i32 i32 i32 i32 i32) (result i32)))
  ;; (fd, buf, len, cookie) -> bytes used, or -errno
  (import "gate" "readdir" (func $readdir (param i32 i32 i32 i64) (result i32)))
  ;; (op: 0 mkdir, 1 unlink, 2 rmdir; dirfd, path, len)
  (import "gate" "path_op" (func $path_op (param i32 i32 i32 i32) (result i32)))
  (import "gate" "rename" (func $rename (param i32 i32 i32 i32 i32 i32) (result i32)))
  ;; (fd, data only)
  (import "gate" "sync" (func $sync (param i32 i32) (result i32)))
  (import "gate" "truncate" (func $truncate (param i32 i64) (result i32)))

  ;; WASI errno for a negative Linux errno; EIO for one a stream should not give
  (func $errno (param $e i32) (result i32)
    (local.set $e (i32.sub (i32.const 0) (local.get $e)))
    (if (i32.eq (local.get $e) (i32.const 9)) (then (return (i32.const 8))))    ;; EBADF
    (if (i32.eq (local.get $e) (i32.const 11)) (then (return (i32.const 6))))   ;; EAGAIN
    (if (i32.eq (local.get $e) (i32.const 4)) (then (return (i32.const 27))))   ;; EINTR
    (if (i32.eq (local.get $e) (i32.const 32)) (then (return (i32.const 64))))  ;; EPIPE
    (if (i32.eq (local.get $e) (i32.const 22)) (then (return (i32.const 28))))  ;; EINVAL
    (if (i32.eq (local.get $e) (i32.const 28)) (then (return (i32.const 51))))  ;; ENOSPC
    (if (i32.eq (local.get $e) (i32.const 29)) (then (return (i32.const 70))))  ;; ESPIPE
    (if (i32.eq (local.get $e) (i32.const 21)) (then (return (i32.const 31))))  ;; EISDIR
    (if (i32.eq (local.get $e) (i32.const 27)) (then (return (i32.const 22))))  ;; EFBIG
    (if (i32.eq (local.get $e) (i32.const 122)) (then (return (i32.const 19)))) ;; EDQUOT
    (if (i32.eq (local.get $e) (i32.const 104)) (then (return (i32.const 15)))) ;; ECONNRESET
    (if (i32.eq (local.get $e) (i32.const 12)) (then (return (i32.const 48))))  ;; ENOMEM
    (if (i32.eq (local.get $e) (i32.const 38)) (then (return (i32.const 52))))  ;; ENOSYS
    (if (i32.eq (local.get $e) (i32.const 1)) (then (return (i32.const 63))))   ;; EPERM
    (if (i32.eq (local.get $e) (i32.const 13)) (then (return (i32.const 2))))   ;; EACCES
    (if (i32.eq (local.get $e) (i32.const 2)) (then (return (i32.const 44))))   ;; ENOENT
    (if (i32.eq (local.get $e) (i32.const 17)) (then (return (i32.const 20))))  ;; EEXIST
    (if (i32.eq (local.get $e) (i32.const 20)) (then (return (i32.const 54))))  ;; ENOTDIR
    (if (i32.eq (local.get $e) (i32.const 39)) (then (return (i32.const 55))))  ;; ENOTEMPTY
    (if (i32.eq (local.get $e) (i32.const 40)) (then (return (i32.const 32))))  ;; ELOOP
    (if (i32.eq (local.get $e) (i32.const 36)) (then (return (i32.const 37))))  ;; ENAMETOOLONG
    (if (i32.eq (local.get $e) (i32.const 24)) (then (return (i32.const 33))))  ;; EMFILE
    (if (i32.eq (local.get $e) (i32.const 18)) (then (return (i32.const 75))))  ;; EXDEV
    (if (i32.eq (local.get $e) (i32.const 30)) (then (return (i32.const 69))))  ;; EROFS
    (if (i32.eq (local.get $e) (i32.const 16)) (then (return (i32.const 10))))  ;; EBUSY
    (if (i32.eq (local.get $e) (i32.const 105)) (then (return (i32.const 42)))) ;; ENOBUFS
    (if (i32.eq (local.get $e) (i32.const 75)) (then (return (i32.const 61))))  ;; EOVERFLOW
    (if (i32.eq (local.get $e) (i32.const 31)) (then (return (i32.const 34))))  ;; EMLINK
    (if (i32.eq (local.get $e) (i32.const 26)) (then (return (i32.const 74))))  ;; ETXTBSY
    ;; the loader's own code for a path that would leave its preopen: ENOTCAPABLE
    (if (i32.eq (local.get $e) (i32.const 1000)) (then (return (i32.const 76))))
    (i32.const 29))

  ;; Checks that [ptr, ptr+len) lies in memory by touching its last byte (traps otherwise). A
  ;; range that runs past 4 GiB is out of bounds of any memory: the load at 2^32 traps.
  (func $check (param $ptr i32) (param $len i32)
    (local $last i32)
    (if (local.get $len)
      (then
        (local.set $last (i32.add (local.get $ptr) (i32.sub (local.get $len) (i32.const 1))))
        (if (i32.lt_u (local.get $last) (local.get $ptr))
          (then (drop (i32.load8_u offset=1 (i32.const -1))) (unreachable)))
        (drop (i32.load8_u (local.get $last))))))

  ;; [ptr, ptr + count·size): a product past 4 GiB traps as out of bounds
  (func $check_n (param $ptr i32) (param $count i32) (param $size i32)
    (local $len i64)
    (local.set $len (i64.mul (i64.extend_i32_u (local.get $count)) (i64.extend_i32_u (local.get $size))))
    (if (i64.gt_u (local.get $len) (i64.const 0xffffffff))
      (then (drop (i32.load8_u offset=1 (i32.const -1))) (unreachable)))
    (call $check (local.get $ptr) (i32.wrap_i64 (local.get $len))))

  ;; ---- fds ----------------------------------------------------------------------------------

  (func $rw (param $isWrite i32) (param $fd i32) (param $iovs i32) (param $count i32) (param $out i32) (result i32)
    (local $total i32) (local $ptr i32) (local $len i32) (local $n i32) (local $k i32)
    (drop (i32.load (local.get $out)))
    ;; nothing to transfer: still EBADF for a bad fd, as readv/writev
    (if (i32.eqz (local.get $count))
      (then
        (i32.store (local.get $out) (i32.const 0))
        (if (i64.lt_s (call $fd_stat (local.get $fd)) (i64.const 0)) (then (return (i32.const 8))))
        (return (i32.const 0))))
    ;; every buffer before any I/O: a bad one traps with nothing transferred
    (call $check_n (local.get $iovs) (local.get $count) (i32.const 8))
    (block $checked
      (loop $each
        (br_if $checked (i32.ge_u (local.get $k) (local.get $count)))
        (local.set $ptr (i32.add (local.get $iovs) (i32.shl (local.get $k) (i32.const 3))))
        (call $check (i32.load (local.get $ptr)) (i32.load offset=4 (local.get $ptr)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $each)))
    (block $done
      (loop $next
        (br_if $done (i32.eqz (local.get $count)))
        (local.set $ptr (i32.load (local.get $iovs)))
        (local.set $len (i32.load offset=4 (local.get $iovs)))
        (call $check (local.get $ptr) (local.get $len))
        ;; the byte count is a u32 the program may read as signed, and buffers can add up to more
        ;; than 4 GiB: stop at Linux's largest single transfer (0x7ffff000), as readv/writev do
        (br_if $done (i32.ge_u (local.get $total) (i32.const 0x7ffff000)))
        (if (i32.gt_u (local.get $len) (i32.sub (i32.const 0x7ffff000) (local.get $total)))
          (then (local.set $len (i32.sub (i32.const 0x7ffff000) (local.get $total)))))
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
            ;; an error after some bytes moved: report the bytes (the error comes again next time)
            (i32.store (local.get $out) (local.get $total))
            (if (local.get $total) (then (return (i32.const 0))))
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

  (func (export "fd_close") (param $fd i32) (result i32)
    (local $r i32)
    (local.set $r (call $close (local.get $fd)))
    (if (result i32) (local.get $r) (then (call $errno (local.get $r))) (else (i32.const 0))))

  ;; fdstat: fs_filetype u8 @0, fs_flags u16 @2, fs_rights_base u64 @8, fs_rights_inheriting u64 @16
  (func (export "fd_fdstat_get") (param $fd i32) (param $out i32) (result i32)
    (local $st i64) (local $type i32) (local $rights i64) (local $inheriting i64)
    (drop (i64.load offset=16 (local.get $out)))
    (local.set $st (call $fd_stat (local.get $fd)))
    (if (i64.lt_s (local.get $st) (i64.const 0)) (then (return (call $errno (i32.wrap_i64 (local.get $st))))))
    (local.set $type (i32.and (i32.wrap_i64 (local.get $st)) (i32.const 0xff)))
    ;; a stream's rights: fd_read, fd_fdstat_set_flags, fd_write, fd_filestat_get, poll_fd_readwrite
    (local.set $rights (i64.const 0x0820004a))
    ;; as node:wasi (libuv): what is neither a tty nor a pipe or socket also has fd_seek and
    ;; fd_tell (wasi-libc's isatty looks at them), though fd_seek answers ESPIPE here
    (if (i32.and
          (i64.eqz (i64.and (local.get $st) (i64.const 0x40000)))
          (i32.ne (local.get $type) (i32.const 6)))
      (then (local.set $rights (i64.or (local.get $rights) (i64.const 0x24)))))
    ;; a preopen or a file path_open opened: every right of preview1 (0x1fffffff), and
    ;; directories pass them all on to what they open (wasi-libc's open asks for no more)
    (if (i64.ne (i64.and (local.get $st) (i64.const 0x100000)) (i64.const 0))
      (then
        (local.set $rights (i64.const 0x1fffffff))
        (if (i32.eq (local.get $type) (i32.const 3)) (then (local.set $inheriting (i64.const 0x1fffffff))))))
    (if (i64.eqz (i64.and (local.get $st) (i64.const 0x10000)))
      (then (local.set $rights (i64.and (local.get $rights) (i64.const -3)))))   ;; not readable: no fd_read
    (if (i64.eqz (i64.and (local.get $st) (i64.const 0x20000)))
      (then (local.set $rights (i64.and (local.get $rights) (i64.const -65)))))  ;; not writable: no fd_write
    (i64.store (local.get $out) (i64.const 0))
    (i32.store8 (local.get $out) (local.get $type))
    (i32.store16 offset=2 (local.get $out) (i32.and (i32.wrap_i64 (i64.shr_u (local.get $st) (i64.const 8))) (i32.const 0xff)))
    (i64.store offset=8 (local.get $out) (local.get $rights))
    (i64.store offset=16 (local.get $out) (local.get $inheriting))
    (i32.const 0))

  (func (export "fd_seek") (param $fd i32) (param $offset i64) (param $whence i32) (param $out i32) (result i32)
    (local $st i64) (local $r i64)
    (drop (i64.load (local.get $out)))
    (local.set $st (call $fd_stat (local.get $fd)))
    (if (i64.lt_s (local.get $st) (i64.const 0)) (then (return (call $errno (i32.wrap_i64 (local.get $st))))))
    (if (i32.gt_u (local.get $whence) (i32.const 2)) (then (return (i32.const 28))))  ;; EINVAL
    ;; stdio is a stream to this runtime: ESPIPE from the loader; files seek
    (local.set $r (call $seek (local.get $fd) (local.get $offset) (local.get $whence)))
    (if (i64.lt_s (local.get $r) (i64.const 0)) (then (return (call $errno (i32.wrap_i64 (local.get $r))))))
    (i64.store (local.get $out) (local.get $r))
    (i32.const 0))

  (func (export "fd_tell") (param $fd i32) (param $out i32) (result i32)
    (local $r i64)
    (drop (i64.load (local.get $out)))
    (local.set $r (call $seek (local.get $fd) (i64.const 0) (i32.const 1)))
    (if (i64.lt_s (local.get $r) (i64.const 0)) (then (return (call $errno (i32.wrap_i64 (local.get $r))))))
    (i64.store (local.get $out) (local.get $r))
    (i32.const 0))

  ;; ---- files (--dir) ---------------------------------------------------------------------------
  ;; The preopens are fds 3.. (EBADF past the last ends wasi-libc's scan); every path is resolved
  ;; by the loader beneath the directory fd it is relative to (docs/sandbox.md, "Files").

  ;; prestat: tag u8 @0 (0: directory), name length u32 @4
  (func (export "fd_prestat_get") (param $fd i32) (param $out i32) (result i32)
    (local $n i64)
    (drop (i64.load (local.get $out)))
    (local.set $n (call $prestat (local.get $fd)))
    (if (i64.lt_s (local.get $n) (i64.const 0)) (then (return (call $errno (i32.wrap_i64 (local.get $n))))))
    (i64.store (local.get $out) (i64.const 0))
    (i32.store offset=4 (local.get $out) (i32.wrap_i64 (local.get $n)))
    (i32.const 0))

  (func (export "fd_prestat_dir_name") (param $fd i32) (param $path i32) (param $len i32) (result i32)
    (local $r i32)
    (call $check (local.get $path) (local.get $len))
    (local.set $r (call $prestat_name (local.get $fd) (local.get $path) (local.get $len)))
    (if (result i32) (local.get $r) (then (call $errno (local.get $r))) (else (i32.const 0))))

  ;; 0, or the WASI errno of a negative host result
  (func $status (param $r i32) (result i32)
    (if (result i32) (i32.lt_s (local.get $r) (i32.const 0)) (then (call $errno (local.get $r))) (else (i32.const 0))))

  (func (export "path_open") (param $fd i32) (param $dirflags i32) (param $path i32) (param $len i32)
      (param $oflags i32) (param $base i64) (param $inheriting i64) (param $fdflags i32) (param $out i32) (result i32)
    (local $access i32) (local $r i32)
    (call $check (local.get $path) (local.get $len))
    (drop (i32.load (local.get $out)))
    ;; the access mode from the rights asked for, as node:wasi (uvwasi): fd_read or fd_readdir
    ;; read; fd_datasync, fd_write, fd_allocate or fd_filestat_set_size write
    (if (i64.ne (i64.and (local.get $base) (i64.const 0x4002)) (i64.const 0))
      (then (local.set $access (i32.const 1))))
    (if (i64.ne (i64.and (local.get $base) (i64.const 0x400141)) (i64.const 0))
      (then (local.set $access (i32.or (local.get $access) (i32.const 2)))))
    (local.set $r (call $path_open (local.get $fd) (local.get $dirflags) (local.get $path) (local.get $len)
      (local.get $oflags) (local.get $fdflags) (local.get $access)))
    (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $errno (local.get $r)))))
    (i32.store (local.get $out) (local.get $r))
    (i32.const 0))

  (func (export "fd_filestat_get") (param $fd i32) (param $out i32) (result i32)
    (call $check (local.get $out) (i32.const 64))
    (call $status (call $filestat (local.get $fd) (local.get $out))))

  (func (export "path_filestat_get") (param $fd i32) (param $flags i32) (param $path i32) (param $len i32) (param $out i32) (result i32)
    (call $check (local.get $path) (local.get $len))
    (call $check (local.get $out) (i32.const 64))
    (call $status (call $path_filestat (local.get $fd) (local.get $flags) (local.get $path) (local.get $len) (local.get $out))))

  (func (export "fd_readdir") (param $fd i32) (param $buf i32) (param $len i32) (param $cookie i64) (param $out i32) (result i32)
    (local $r i32)
    (call $check (local.get $buf) (local.get $len))
    (drop (i32.load (local.get $out)))
    (local.set $r (call $readdir (local.get $fd) (local.get $buf) (local.get $len) (local.get $cookie)))
    (if (i32.lt_s (local.get $r) (i32.const 0)) (then (return (call $errno (local.get $r)))))
    (i32.store (local.get $out) (local.get $r))
    (i32.const 0))

  (func $path_op_checked (param $op i32) (param $fd i32) (param $path i32) (param $len i32) (result i32)
    (call $check (local.get $path) (local.get $len))
    (call $status (call $path_op (local.get $op) (local.get $fd) (local.get $path) (local.get $len))))

  (func (export "path_create_directory") (param $fd i32) (param $path i32) (param $len i32) (result i32)
    (call $path_op_checked (i32.const 0) (local.get $fd) (local.get $path) (local.get $len)))

  (func (export "path_unlink_file") (param $fd i32) (param $path i32) (param $len i32) (result i32)
    (call $path_op_checked (i32.const 1) (local.get $fd) (local.get $path) (local.get $len)))

  (func (export "path_remove_directory") (param $fd i32) (param $path i32) (param $len i32) (result i32)
    (call $path_op_checked (i32.const 2) (local.get $fd) (local.get $path) (local.get $len)))

  (func (export "path_rename") (param $fd i32) (param $old i32) (param $oldlen i32) (param $newfd i32) (param $new i32) (param $newlen i32) (result i32)
    (call $check (local.get $old) (local.get $oldlen))
    (call $check (local.get $new) (local.get $newlen))
    (call $status (call $rename (local.get $fd) (local.get $old) (local.get $oldlen) (local.get $newfd) (local.get $new) (local.get $newlen))))

  (func (export "fd_sync") (param $fd i32) (result i32)
    (call $status (call $sync (local.get $fd) (i32.const 0))))

  (func (export "fd_datasync") (param $fd i32) (result i32)
    (call $status (call $sync (local.get $fd) (i32.const 1))))

  (func (export "fd_filestat_set_size") (param $fd i32) (param $size i64) (result i32)
    (call $status (call $truncate (local.get $fd) (local.get $size))))

  ;; ---- process -------------------------------------------------------------------------------

  (func (export "proc_exit") (param $status i32)
    (call $exit (local.get $status))
    (unreachable))

  (func (export "sched_yield") (result i32)
    (call $sched_yield)
    (i32.const 0))

  (func $sizes (param $which i32) (param $countp i32) (param $sizep i32) (result i32)
    (local $s i64)
    (drop (i32.load (local.get $countp)))
    (drop (i32.load (local.get $sizep)))
    (local.set $s (call $vec_sizes (local.get $which)))
    (i32.store (local.get $countp) (i32.wrap_i64 (local.get $s)))
    (i32.store (local.get $sizep) (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 32))))
    (i32.const 0))

  (func $strings (param $which i32) (param $ptrs i32) (param $buf i32) (result i32)
    (local $s i64) (local $n i32) (local $bytes i32) (local $k i32) (local $p i32) (local $r i32)
    (local.set $s (call $vec_sizes (local.get $which)))
    (local.set $n (i32.wrap_i64 (local.get $s)))
    (local.set $bytes (i32.wrap_i64 (i64.shr_u (local.get $s) (i64.const 32))))
    (call $check_n (local.get $ptrs) (local.get $n) (i32.const 4))
    (call $check (local.get $buf) (local.get $bytes))
    (local.set $r (call $vec_get (local.get $which) (local.get $buf) (local.get $bytes)))
    (if (local.get $r) (then (return (call $errno (local.get $r)))))
    ;; the pointer array: each string starts after the previous one's NUL
    (local.set $p (local.get $buf))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $n)))
        (i32.store (i32.add (local.get $ptrs) (i32.shl (local.get $k) (i32.const 2))) (local.get $p))
        (loop $scan
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br_if $scan (i32.load8_u (i32.sub (local.get $p) (i32.const 1)))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func (export "args_sizes_get") (param $argc i32) (param $size i32) (result i32)
    (call $sizes (i32.const 0) (local.get $argc) (local.get $size)))

  (func (export "args_get") (param $argv i32) (param $buf i32) (result i32)
    (call $strings (i32.const 0) (local.get $argv) (local.get $buf)))

  (func (export "environ_sizes_get") (param $count i32) (param $size i32) (result i32)
    (call $sizes (i32.const 1) (local.get $count) (local.get $size)))

  (func (export "environ_get") (param $environ i32) (param $buf i32) (result i32)
    (call $strings (i32.const 1) (local.get $environ) (local.get $buf)))

  ;; ---- clocks and random ---------------------------------------------------------------------

  (func (export "clock_time_get") (param $id i32) (param $precision i64) (param $out i32) (result i32)
    (local $t i64)
    (drop (i64.load (local.get $out)))
    (local.set $t (call $clock_time (local.get $id)))
    (if (i64.lt_s (local.get $t) (i64.const 0)) (then (return (call $errno (i32.wrap_i64 (local.get $t))))))
    (i64.store (local.get $out) (local.get $t))
    (i32.const 0))

  (func (export "clock_res_get") (param $id i32) (param $out i32) (result i32)
    (local $t i64)
    (drop (i64.load (local.get $out)))
    (local.set $t (call $clock_res (local.get $id)))
    (if (i64.lt_s (local.get $t) (i64.const 0)) (then (return (call $errno (i32.wrap_i64 (local.get $t))))))
    (i64.store (local.get $out) (local.get $t))
    (i32.const 0))

  (func (export "random_get") (param $buf i32) (param $len i32) (result i32)
    (local $n i32)
    (call $check (local.get $buf) (local.get $len))
    (block $done
      (loop $more
        (br_if $done (i32.eqz (local.get $len)))
        (local.set $n (call $random (local.get $buf) (local.get $len)))
        (br_if $more (i32.eq (local.get $n) (i32.const -4)))  ;; a suspend request: suspends here
        (if (i32.lt_s (local.get $n) (i32.const 0)) (then (return (call $errno (local.get $n)))))
        (local.set $buf (i32.add (local.get $buf) (local.get $n)))
        (local.set $len (i32.sub (local.get $len) (local.get $n)))
        (br $more)))
    (i32.const 0))

  ;; ---- poll_oneoff ---------------------------------------------------------------------------
  ;; subscription (48 bytes): userdata u64 @0, tag u8 @8 (0 clock, 1 fd_read, 2 fd_write);
  ;;   clock: id u32 @16, timeout u64 @24, precision u64 @32, flags u16 @40 (1: absolute);
  ;;   fd: fd u32 @16
  ;; event (32 bytes): userdata u64 @0, error u16 @8, type u8 @10, nbytes u64 @16, flags u16 @24

  ;; A clock subscription's time left in ns (0: expired), or -(WASI errno) for a bad clock.
  (func $left (param $sub i32) (result i64)
    (local $id i32) (local $timeout i64) (local $now i64)
    (local.set $id (i32.load offset=16 (local.get $sub)))
    (local.set $timeout (i64.load offset=24 (local.get $sub)))
    ;; past 2^63 ns (292 years) is no limit: treat as the largest
    (if (i64.lt_s (local.get $timeout) (i64.const 0)) (then (local.set $timeout (i64.const 0x7fffffffffffffff))))
    (if (i32.eqz (i32.and (i32.load16_u offset=40 (local.get $sub)) (i32.const 1)))
      (then
        (if (i32.gt_u (local.get $id) (i32.const 3)) (then (return (i64.const -28))))
        (return (local.get $timeout))))
    (local.set $now (call $clock_time (local.get $id)))
    (if (i64.lt_s (local.get $now) (i64.const 0)) (then (return (i64.const -28))))
    (if (i64.le_u (local.get $timeout) (local.get $now)) (then (return (i64.const 0))))
    (i64.sub (local.get $timeout) (local.get $now)))

  (func $event (param $at i32) (param $sub i32) (param $error i32) (param $flags i32)
    (i64.store (local.get $at) (i64.load (local.get $sub)))
    (i64.store offset=8 (local.get $at) (i64.const 0))
    (i32.store16 offset=8 (local.get $at) (local.get $error))
    (i32.store8 offset=10 (local.get $at) (i32.load8_u offset=8 (local.get $sub)))
    (i64.store offset=16 (local.get $at) (i64.const 0))
    (i64.store offset=24 (local.get $at) (i64.const 0))
    (i32.store16 offset=24 (local.get $at) (local.get $flags)))

  (func (export "poll_oneoff") (param $in i32) (param $out i32) (param $nsubs i32) (param $neventsp i32) (result i32)
    (local $k i32) (local $sub i32) (local $tag i32) (local $fd i32) (local $mask i32)
    (local $min i64) (local $minsub i32) (local $t i64) (local $ready i64) (local $nev i32)
    (local $errors i32) (local $timedout i32) (local $fired i32)
    (call $check_n (local.get $in) (local.get $nsubs) (i32.const 48))
    (call $check_n (local.get $out) (local.get $nsubs) (i32.const 32))
    (drop (i32.load (local.get $neventsp)))
    (if (i32.eqz (local.get $nsubs)) (then (return (i32.const 28))))  ;; EINVAL
    (local.set $min (i64.const -1))
    (local.set $minsub (i32.const -1))
    ;; pass 1: the fds to wait for and the shortest timeout; a bad subscription is an event now
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $nsubs)))
        (local.set $sub (i32.add (local.get $in) (i32.mul (local.get $k) (i32.const 48))))
        (local.set $tag (i32.load8_u offset=8 (local.get $sub)))
        (if (i32.gt_u (local.get $tag) (i32.const 2)) (then (return (i32.const 28))))
        (if (i32.eqz (local.get $tag))
          (then
            (local.set $t (call $left (local.get $sub)))
            (if (i64.lt_s (local.get $t) (i64.const 0))
              (then
                (call $event (i32.add (local.get $out) (i32.shl (local.get $nev) (i32.const 5))) (local.get $sub)
                  (i32.wrap_i64 (i64.sub (i64.const 0) (local.get $t))) (i32.const 0))
                (local.set $nev (i32.add (local.get $nev) (i32.const 1)))
                (local.set $errors (i32.add (local.get $errors) (i32.const 1))))
              (else
                (if (i32.or (i64.lt_s (local.get $min) (i64.const 0)) (i64.lt_u (local.get $t) (local.get $min)))
                  (then (local.set $min (local.get $t)) (local.set $minsub (local.get $k)))))))
          (else
            (local.set $fd (i32.load offset=16 (local.get $sub)))
            (if (i32.or (i32.ge_u (local.get $fd) (i32.const 16))
                        (i64.lt_s (call $fd_stat (local.get $fd)) (i64.const 0)))
              (then
                (call $event (i32.add (local.get $out) (i32.shl (local.get $nev) (i32.const 5))) (local.get $sub)
                  (i32.const 8) (i32.const 0))  ;; EBADF
                (local.set $nev (i32.add (local.get $nev) (i32.const 1)))
                (local.set $errors (i32.add (local.get $errors) (i32.const 1))))
              (else
                (local.set $mask (i32.or (local.get $mask)
                  (i32.shl (i32.const 1)
                    (i32.add (local.get $fd) (select (i32.const 0) (i32.const 16) (i32.eq (local.get $tag) (i32.const 1)))))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    ;; errors already to report: look at the fds without waiting
    (if (local.get $errors) (then (local.set $min (i64.const 0))))
    (if (i32.or (local.get $mask) (i64.ge_s (local.get $min) (i64.const 0)))
      (then
        ;; -4 (EINTR): a suspend request; this loop's check suspends, and the poll starts again
        ;; on resume with the full relative timeout (absolute ones keep their deadline)
        (loop $retry
          (local.set $ready (call $poll (local.get $mask) (local.get $min)))
          (br_if $retry (i64.eq (local.get $ready) (i64.const -4))))
        (if (i64.lt_s (local.get $ready) (i64.const 0))
          (then (return (call $errno (i32.wrap_i64 (local.get $ready))))))))
    (local.set $timedout (i32.and (i64.eqz (local.get $ready)) (i32.eqz (local.get $errors))))
    ;; pass 2: the events
    (local.set $k (i32.const 0))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $k) (local.get $nsubs)))
        (local.set $sub (i32.add (local.get $in) (i32.mul (local.get $k) (i32.const 48))))
        (local.set $tag (i32.load8_u offset=8 (local.get $sub)))
        (if (i32.eqz (local.get $tag))
          (then
            (local.set $t (call $left (local.get $sub)))
            ;; expired, or the shortest relative timeout the poll waited for
            (if (i32.or (i64.eqz (local.get $t))
                  (i32.and (local.get $timedout)
                    (i32.and (i64.eq (local.get $t) (local.get $min))
                      (i32.eqz (i32.and (i32.load16_u offset=40 (local.get $sub)) (i32.const 1))))))
              (then
                (call $event (i32.add (local.get $out) (i32.shl (local.get $nev) (i32.const 5))) (local.get $sub) (i32.const 0) (i32.const 0))
                (local.set $nev (i32.add (local.get $nev) (i32.const 1)))
                (local.set $fired (i32.const 1)))))
          (else
            (local.set $fd (i32.load offset=16 (local.get $sub)))
            (if (i32.lt_u (local.get $fd) (i32.const 16))
              (then
                (if (i32.wrap_i64 (i64.and (i64.const 1)
                      (i64.shr_u (local.get $ready)
                        (i64.extend_i32_u (i32.add (local.get $fd) (select (i32.const 0) (i32.const 16) (i32.eq (local.get $tag) (i32.const 1))))))))
                  (then
                    (call $event (i32.add (local.get $out) (i32.shl (local.get $nev) (i32.const 5))) (local.get $sub) (i32.const 0)
                      (i32.wrap_i64 (i64.and (i64.const 1) (i64.shr_u (local.get $ready) (i64.extend_i32_u (i32.add (local.get $fd) (i32.const 32)))))))
                    (local.set $nev (i32.add (local.get $nev) (i32.const 1)))))))))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $next)))
    ;; timed out with no clock fired (an absolute deadline read a moment early): the one waited for
    (if (i32.and (local.get $timedout) (i32.and (i32.eqz (local.get $fired)) (i32.ge_s (local.get $minsub) (i32.const 0))))
      (then
        (call $event (i32.add (local.get $out) (i32.shl (local.get $nev) (i32.const 5)))
          (i32.add (local.get $in) (i32.mul (local.get $minsub) (i32.const 48))) (i32.const 0) (i32.const 0))
        (local.set $nev (i32.add (local.get $nev) (i32.const 1)))))
    (i32.store (local.get $neventsp) (local.get $nev))
    (i32.const 0))

  ;; ---- the rest of preview1: ENOSYS ----------------------------------------------------------
  (func (export "fd_advise") (param i32 i64 i64 i32) (result i32) (i32.const 52))
  (func (export "fd_allocate") (param i32 i64 i64) (result i32) (i32.const 52))
  (func (export "fd_fdstat_set_flags") (param i32 i32) (result i32) (i32.const 52))
  (func (export "fd_fdstat_set_rights") (param i32 i64 i64) (result i32) (i32.const 52))
  (func (export "fd_filestat_set_times") (param i32 i64 i64 i32) (result i32) (i32.const 52))
  (func (export "fd_pread") (param i32 i32 i32 i64 i32) (result i32) (i32.const 52))
  (func (export "fd_pwrite") (param i32 i32 i32 i64 i32) (result i32) (i32.const 52))
  (func (export "fd_renumber") (param i32 i32) (result i32) (i32.const 52))
  (func (export "path_filestat_set_times") (param i32 i32 i32 i32 i64 i64 i32) (result i32) (i32.const 52))
  (func (export "path_link") (param i32 i32 i32 i32 i32 i32 i32) (result i32) (i32.const 52))
  (func (export "path_readlink") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 52))
  (func (export "path_symlink") (param i32 i32 i32 i32 i32) (result i32) (i32.const 52))
  (func (export "proc_raise") (param i32) (result i32) (i32.const 52))
  (func (export "sock_accept") (param i32 i32 i32) (result i32) (i32.const 52))
  (func (export "sock_recv") (param i32 i32 i32 i32 i32 i32) (result i32) (i32.const 52))
  (func (export "sock_send") (param i32 i32 i32 i32 i32) (result i32) (i32.const 52))
  (func (export "sock_shutdown") (param i32 i32) (result i32) (i32.const 52)))
