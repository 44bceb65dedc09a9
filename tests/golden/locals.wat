;; Locals in registers (docs/ARCHITECTURE.md, "Locals in registers").
;; $escape: a float loop (mandelbrot's) over locals in registers, the constant 4.0 from the
;; function's constant pool, results written straight into the locals' registers.
;; $calls: a loop with a call: the locals changed since the last write-back are stored before it
;; (the unchanged parameter is not), all are reloaded after it.
(module
  (func $escape (export "escape") (param $cr f64) (param $ci f64) (param $max i32) (result i32)
    (local $zr f64) (local $zi f64) (local $zr2 f64) (local $zi2 f64) (local $i i32)
    (block $out
      (loop $top
        (br_if $out (i32.ge_u (local.get $i) (local.get $max)))
        (br_if $out (f64.gt (f64.add (local.get $zr2) (local.get $zi2)) (f64.const 4)))
        (local.set $zi (f64.add (f64.mul (f64.add (local.get $zr) (local.get $zr)) (local.get $zi)) (local.get $ci)))
        (local.set $zr (f64.add (f64.sub (local.get $zr2) (local.get $zi2)) (local.get $cr)))
        (local.set $zr2 (f64.mul (local.get $zr) (local.get $zr)))
        (local.set $zi2 (f64.mul (local.get $zi) (local.get $zi)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $top)))
    (local.get $i))
  (func $next (param i32) (result i32) (i32.add (local.get 0) (i32.const 1)))
  (func $calls (export "calls") (param $n i32) (result i32) (local $i i32) (local $sum i32)
    (loop $top
      (local.set $sum (i32.add (local.get $sum) (call $next (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $top (i32.lt_u (local.get $i) (local.get $n))))
    (local.get $sum)))
