;; The {{name}} component in WebAssembly text: implements wit/world.wit through the canonical
;; ABI by hand. A string argument arrives as (pointer, length) in memory the host filled through
;; cabi_realloc; a string result is written as (pointer, length) to a return area whose address
;; the export returns; the host calls cabi_post_* once it has read it.
(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 1024))
  (data (i32.const 16) "Hello, ")

  ;; A bump allocator: everything is released after each call (see the cabi_post_* export).
  (func $alloc (export "cabi_realloc")
    (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32) (local $end i32) (local $have i32)
    (local.set $p
      (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
               (i32.sub (i32.const 0) (local.get $align))))
    (local.set $end (i32.add (local.get $p) (local.get $size)))
    (local.set $have (i32.mul (memory.size) (i32.const 65536)))
    (if (i32.gt_u (local.get $end) (local.get $have))
      (then
        (if (i32.eq (memory.grow (i32.add (i32.shr_u (i32.sub (local.get $end) (local.get $have))
                                                     (i32.const 16))
                                          (i32.const 1)))
                    (i32.const -1))
          (then unreachable))))
    (global.set $heap (local.get $end))
    (if (local.get $old_size)
      (then
        (memory.copy (local.get $p) (local.get $old)
          (select (local.get $old_size) (local.get $size)
                  (i32.lt_u (local.get $old_size) (local.get $size))))))
    (local.get $p))

  ;; greet: func(name: string) -> string, answering "Hello, NAME!".
  (func (export "{{name}}:component/greeter@0.1.0#greet")
    (param $name i32) (param $len i32) (result i32)
    (local $out i32) (local $n i32)
    (local.set $n (i32.add (local.get $len) (i32.const 8)))
    (local.set $out (call $alloc (i32.const 0) (i32.const 0) (i32.const 1) (local.get $n)))
    (memory.copy (local.get $out) (i32.const 16) (i32.const 7))
    (memory.copy (i32.add (local.get $out) (i32.const 7)) (local.get $name) (local.get $len))
    (i32.store8 (i32.add (local.get $out) (i32.add (local.get $len) (i32.const 7)))
                (i32.const 33))
    ;; the return area: (pointer, length) at address 8
    (i32.store (i32.const 8) (local.get $out))
    (i32.store (i32.const 12) (local.get $n))
    (i32.const 8))

  (func (export "cabi_post_{{name}}:component/greeter@0.1.0#greet") (param i32)
    (global.set $heap (i32.const 1024))))
