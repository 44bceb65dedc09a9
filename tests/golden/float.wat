;; Floating point: promotion, arithmetic with a constant, sqrt, min, saturating truncation.
(module
  (func $f (export "f") (param $a f64) (param $b f32) (result i32)
    local.get $a
    local.get $b
    f64.promote_f32
    f64.mul
    f64.const 0.5
    f64.add
    f64.sqrt
    local.get $a
    f64.min
    i32.trunc_sat_f64_s))
