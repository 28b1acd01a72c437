;; Recursive Fibonacci: call-heavy, almost no loops. `call` stores fib(25) at 0.
(module
  (memory (export "memory") 1 1)
  (func $fib (param $n i32) (result i64)
    (if (result i64) (i32.lt_u (local.get $n) (i32.const 2))
      (then (i64.extend_i32_u (local.get $n)))
      (else
        (i64.add
          (call $fib (i32.sub (local.get $n) (i32.const 1)))
          (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "call")
    (i64.store (i32.const 0) (call $fib (i32.const 25)))))
