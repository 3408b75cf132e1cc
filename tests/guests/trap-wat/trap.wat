;; Core module: `boom` executes `unreachable` two calls deep, so a backtrace has frames.
(module
  (func $inner (result i32) unreachable)
  (func $outer (result i32) call $inner)
  (func (export "boom") (result i32) call $outer)
  (func (export "ok") (result i32) i32.const 7)
  (memory (export "memory") 1))
