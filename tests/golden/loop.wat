;; A counted loop: its locals in registers for the whole function (no load or store per
;; iteration), the loop's stack check, whose out-of-line slow path writes them back to their slots
;; before the runtime's check and loads them again after it (where a resumed frame enters), a
;; conditional exit.
(module
  (func $sum (export "sum") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $top
        local.get $i
        local.get $n
        i32.ge_u
        br_if $done
        local.get $acc
        local.get $i
        i32.add
        local.set $acc
        local.get $i
        i32.const 1
        i32.add
        local.set $i
        br $top))
    local.get $acc))
