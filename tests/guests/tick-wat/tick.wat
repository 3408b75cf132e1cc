;; tick(): logs "tick" (context "cron") at info; boom(): traps; add(a, b): a + b.
(module
  (import "wasi:logging/logging@0.1.0-draft" "log" (func $log (param i32 i32 i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "cron")
  (data (i32.const 32) "tick")
  (func (export "tick")
    (call $log (i32.const 2) (i32.const 16) (i32.const 4) (i32.const 32) (i32.const 4)))
  (func (export "boom") unreachable)
  (func (export "add") (param i32 i32) (result i32)
    (i32.add (local.get 0) (local.get 1))))
