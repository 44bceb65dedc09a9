;; Loads and stores: offsets, narrow widths, constant addresses and values, memory.grow.
(module
  (memory 1)
  (func $copy (export "copy") (param $dst i32) (param $src i32)
    local.get $dst
    local.get $src
    i32.load offset=4
    i32.store offset=8
    local.get $dst
    local.get $src
    i64.load8_s
    i64.store16 offset=2
    i32.const 16
    f64.const 1.5
    f64.store
    i32.const 1024
    i32.const 7
    i32.store8)
  (func $grow (export "grow") (param $pages i32) (result i32)
    local.get $pages
    memory.grow))
