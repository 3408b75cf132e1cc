;; Uses wasmesh:lattice-test/math, which another unit provides (in the lattice: on another host).
(component
  (import "wasmesh:lattice-test/math" (instance $math
    (export "add" (func (param "a" u32) (param "b" u32) (result u32)))
    (export "fail" (func (result u32)))
    (export "len" (func (param "data" (list u8)) (result u32)))))
  (core module $mm (memory (export "mem") 1))
  (core instance $mi (instantiate $mm))
  (core func $add (canon lower (func $math "add")))
  (core func $fail (canon lower (func $math "fail")))
  (core func $len (canon lower (func $math "len") (memory (core memory $mi "mem"))))
  (core module $m
    (import "math" "add" (func $add (param i32 i32) (result i32)))
    (import "math" "fail" (func $fail (result i32)))
    (import "math" "len" (func $len (param i32 i32) (result i32)))
    (import "env" "mem" (memory 1))
    (func (export "sum3") (param i32 i32 i32) (result i32)
      (call $add (call $add (local.get 0) (local.get 1)) (local.get 2)))
    (func (export "fail-through") (result i32) call $fail)
    ;; blob(n): pass n zero bytes to math.len
    (func (export "blob") (param i32) (result i32)
      (drop (memory.grow (i32.add (i32.const 1) (i32.div_u (local.get 0) (i32.const 65536)))))
      (call $len (i32.const 0) (local.get 0))))
  (core instance $i (instantiate $m
    (with "math" (instance (export "add" (func $add)) (export "fail" (func $fail))
      (export "len" (func $len))))
    (with "env" (instance $mi))))
  (func $sum3 (param "a" u32) (param "b" u32) (param "c" u32) (result u32)
    (canon lift (core func $i "sum3")))
  (func $ft (result u32) (canon lift (core func $i "fail-through")))
  (func $blob (param "n" u32) (result u32) (canon lift (core func $i "blob")))
  (instance $front (export "sum3" (func $sum3)) (export "fail-through" (func $ft))
    (export "blob" (func $blob)))
  (export "wasmesh:lattice-test/front" (instance $front)))
