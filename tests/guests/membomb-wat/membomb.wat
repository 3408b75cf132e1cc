;; Core module: `grow` adds one 64 KiB page at a time until memory.grow fails (a store
;; limit or the 4 GiB maximum), then traps with `unreachable`. `pages` reports the size.
(module
  (memory (export "memory") 1)
  (func (export "grow") (result i32)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable)
  (func (export "pages") (result i32) memory.size))
