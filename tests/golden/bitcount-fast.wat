;; clz, ctz and popcnt with the CPU features that make each one instruction (bitcount.wat: baseline).
;; cpu-features: popcnt,lzcnt,bmi1
(module
  (func $clz32 (export "clz32") (param i32) (result i32) (i32.clz (local.get 0)))
  (func $ctz32 (export "ctz32") (param i32) (result i32) (i32.ctz (local.get 0)))
  (func $popcnt32 (export "popcnt32") (param i32) (result i32) (i32.popcnt (local.get 0)))
  (func $clz64 (export "clz64") (param i64) (result i64) (i64.clz (local.get 0)))
  (func $ctz64 (export "ctz64") (param i64) (result i64) (i64.ctz (local.get 0)))
  (func $popcnt64 (export "popcnt64") (param i64) (result i64) (i64.popcnt (local.get 0))))
