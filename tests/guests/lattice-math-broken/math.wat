;; A bad new version of the math unit: its core module's start function traps, so no
;; instance of it can ever be made. A rolling update to it must leave the old version serving.
(component
  (core module $m
    (func $start unreachable)
    (start $start)
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "version") (result i32) i32.const 99))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func $version (result u32) (canon lift (core func $i "version")))
  (instance $math (export "add" (func $add)) (export "version" (func $version)))
  (export "wasmesh:lattice-test/math" (instance $math)))
