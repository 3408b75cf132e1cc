;; say(level, count): logs "hello from wasm" with context "test", `count` times, at `level`.
(module
  (import "wasi:logging/logging@0.1.0-draft" "log" (func $log (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "test")
  (data (i32.const 32) "hello from wasm")
  (func (export "say") (param $level i32) (param $count i32)
    (block $done
      (loop $again
        (br_if $done (i32.eqz (local.get $count)))
        (call $log (local.get $level) (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 15))
        (local.set $count (i32.sub (local.get $count) (i32.const 1)))
        (br $again)))))
