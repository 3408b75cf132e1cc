;; Provides wasmesh:lattice-test/math (version 2): scalar calls, a trap, and a list<u8>
;; parameter (with a bump allocator that grows memory) for payload-size tests.
(component
  (core module $m
    (memory (export "mem") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
    (func (export "version") (result i32) i32.const 2)
    (func (export "fail") (result i32) unreachable)
    (func (export "len") (param i32 i32) (result i32) local.get 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32) (local $end i32)
      global.get $bump
      local.set $p
      local.get $p local.get 3 i32.add local.set $end
      (if (i32.gt_u (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
        (then (drop (memory.grow (i32.add (i32.const 1)
          (i32.div_u (i32.sub (local.get $end) (i32.mul (memory.size) (i32.const 65536)))
                     (i32.const 65536)))))))
      local.get $end global.set $bump
      local.get $p))
  (core instance $i (instantiate $m))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func $version (result u32) (canon lift (core func $i "version")))
  (func $fail (result u32) (canon lift (core func $i "fail")))
  (func $len (param "data" (list u8)) (result u32)
    (canon lift (core func $i "len") (memory (core memory $i "mem"))
      (realloc (core func $i "realloc"))))
  (instance $math (export "add" (func $add)) (export "version" (func $version))
    (export "fail" (func $fail)) (export "len" (func $len)))
  (export "wasmesh:lattice-test/math" (instance $math)))
