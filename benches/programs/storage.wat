;; Host-call heavy: 256 read-modify-write rounds over 64 storage slots, two
;; host calls per round (`storage_read`, `storage_write`) around a little
;; arithmetic, like a contract updating balances. Keys are 32 bytes at 0,
;; the value buffer is at 64.
(module
  (import "cairn_v1" "storage_read" (func $read (param i32 i32 i32 i32) (result i32)))
  (import "cairn_v1" "storage_write" (func $write (param i32 i32 i32 i32)))
  (memory (export "memory") 1 1)
  (func (export "call") (local $i i32) (local $v i64)
    (loop $rounds
      ;; key: slot number in the first 4 bytes, the rest zero
      (i32.store (i32.const 0) (i32.and (local.get $i) (i32.const 63)))
      ;; an absent slot reads as 0
      (local.set $v (i64.const 0))
      (if (i32.ge_s (call $read (i32.const 0) (i32.const 32) (i32.const 64) (i32.const 8)) (i32.const 0))
        (then (local.set $v (i64.load (i32.const 64)))))
      (i64.store (i32.const 64)
        (i64.add (i64.mul (local.get $v) (i64.const 6364136223846793005))
                 (i64.extend_i32_u (local.get $i))))
      (call $write (i32.const 0) (i32.const 32) (i32.const 64) (i32.const 8))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $i) (i32.const 256))))
    ;; a checksum of the last value written, for the cross-mode test
    (i64.store (i32.const 128) (i64.load (i32.const 64)))))
