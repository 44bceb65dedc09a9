;; A switch: bounds check, jump table of rel32 entries, default.
(module
  (func $switch (export "switch") (param $k i32) (result i32)
    (block $d
      (block $c
        (block $b
          (block $a
            local.get $k
            br_table $a $b $c $d)
          i32.const 10
          return)
        i32.const 20
        return)
      i32.const 30
      return)
    i32.const 40))
