;; A direct call and an indirect call through the table.
(module
  (type $t (func (param i32) (result i32)))
  (table 1 funcref)
  (elem (i32.const 0) $sq)
  (func $sq (param $x i32) (result i32)
    local.get $x
    local.get $x
    i32.mul)
  (func $main (export "main") (param $a i32) (result i32)
    local.get $a
    call $sq
    i32.const 1
    i32.add
    local.get $a
    i32.const 0
    call_indirect (type $t)
    i32.add))
