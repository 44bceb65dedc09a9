;; Arithmetic with constants: immediates, folding, a 64-bit constant, division by a constant.
(module
  (func $poly (export "poly") (param $x i32) (param $y i32) (result i32)
    local.get $x
    i32.const 10
    i32.add
    local.get $y
    i32.const 3
    i32.mul
    i32.sub
    i32.const 255
    i32.and
    i32.const 2
    i32.const 3
    i32.add ;; folded: shl by 5
    i32.shl)
  (func $wide (export "wide") (param $a i64) (result i64)
    local.get $a
    i64.const 0x123456789
    i64.xor
    i64.const -1
    i64.add
    i64.const 7
    i64.div_u))
