;; Core module: `spin` loops forever (only an epoch deadline or fuel can stop it);
;; `count` counts down from n, a bounded loop for fuel measurements.
(module
  (func (export "spin") (result i32)
    (loop $forever (br $forever))
    unreachable)
  (func (export "count") (param $n i32) (result i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $again)))
    local.get $n)
  (memory (export "memory") 1))
