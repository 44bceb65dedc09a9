;; Several results come back in memory (docs/ARCHITECTURE.md, "Several results"): result k in
;; the caller's slot of argument k. $split has more results than parameters, so one lands on its
;; return address slot: it returns with jmp rcx. $main pushes them as values in memory.
(module
  (func $swap (param i64 i64) (result i64 i64)
    local.get 1
    local.get 0)
  (func $split (param $x i64) (result i32 i64 f64)
    local.get $x
    i32.wrap_i64
    local.get $x
    i64.const 3
    i64.mul
    f64.const 0.5)
  (func $main (export "main") (param $a i64) (result i64) (local $t i64)
    local.get $a
    i64.const 7
    call $swap
    i64.sub
    local.get $a
    call $split
    i64.trunc_f64_s
    i64.add
    local.set $t
    drop
    local.get $t
    i64.add))
