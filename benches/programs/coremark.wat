;; A CoreMark-like kernel: matrix multiply, CRC-16 and a byte state machine
;; over linear memory, repeated. Loop-heavy with short bodies.
(module
  (memory (export "memory") 1 1)
  ;; A at 0, B at 1024 (16x16 i32 each), C at 2048, text at 4096 (1024 bytes).
  (func $init (local $i i32) (local $seed i32)
    (local.set $seed (i32.const 12345))
    (loop $fill
      (local.set $seed
        (i32.add (i32.mul (local.get $seed) (i32.const 1103515245)) (i32.const 12345)))
      (i32.store (i32.shl (local.get $i) (i32.const 2))
        (i32.and (i32.shr_u (local.get $seed) (i32.const 16)) (i32.const 255)))
      (i32.store8 (i32.add (i32.const 4096) (local.get $i))
        (i32.add (i32.const 32) (i32.rem_u (i32.shr_u (local.get $seed) (i32.const 8)) (i32.const 90))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $fill (i32.lt_u (local.get $i) (i32.const 1024)))))
  (func $matmul (local $i i32) (local $j i32) (local $k i32) (local $sum i32)
    (local.set $i (i32.const 0))
    (loop $li
      (local.set $j (i32.const 0))
      (loop $lj
        (local.set $sum (i32.const 0))
        (local.set $k (i32.const 0))
        (loop $lk
          (local.set $sum
            (i32.add (local.get $sum)
              (i32.mul
                (i32.load (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 4)) (local.get $k)) (i32.const 2)))
                (i32.load offset=1024 (i32.shl (i32.add (i32.shl (local.get $k) (i32.const 4)) (local.get $j)) (i32.const 2))))))
          (local.set $k (i32.add (local.get $k) (i32.const 1)))
          (br_if $lk (i32.lt_u (local.get $k) (i32.const 16))))
        (i32.store offset=2048 (i32.shl (i32.add (i32.shl (local.get $i) (i32.const 4)) (local.get $j)) (i32.const 2))
          (local.get $sum))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br_if $lj (i32.lt_u (local.get $j) (i32.const 16))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $li (i32.lt_u (local.get $i) (i32.const 16)))))
  (func $crc16 (param $ptr i32) (param $len i32) (param $crc i32) (result i32)
    (local $end i32) (local $byte i32) (local $bit i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (loop $bytes
      (local.set $byte (i32.load8_u (local.get $ptr)))
      (local.set $bit (i32.const 8))
      (loop $bits
        (if (i32.and (i32.xor (local.get $crc) (local.get $byte)) (i32.const 1))
          (then (local.set $crc (i32.xor (i32.shr_u (local.get $crc) (i32.const 1)) (i32.const 0xA001))))
          (else (local.set $crc (i32.shr_u (local.get $crc) (i32.const 1)))))
        (local.set $byte (i32.shr_u (local.get $byte) (i32.const 1)))
        (local.set $bit (i32.sub (local.get $bit) (i32.const 1)))
        (br_if $bits (local.get $bit)))
      (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
      (br_if $bytes (i32.lt_u (local.get $ptr) (local.get $end))))
    (local.get $crc))
  ;; Counts numbers, identifiers and other tokens in the text, like
  ;; CoreMark's state machine.
  (func $scan (param $ptr i32) (param $len i32) (result i32)
    (local $end i32) (local $c i32) (local $state i32) (local $count i32)
    (local.set $end (i32.add (local.get $ptr) (local.get $len)))
    (loop $chars
      (local.set $c (i32.load8_u (local.get $ptr)))
      (block $done
        (block $other
          (block $alpha
            (block $digit
              (br_table $digit $alpha $other
                (select (i32.const 0)
                  (select (i32.const 1) (i32.const 2)
                    (i32.lt_u (i32.sub (i32.or (local.get $c) (i32.const 32)) (i32.const 97)) (i32.const 26)))
                  (i32.lt_u (i32.sub (local.get $c) (i32.const 48)) (i32.const 10)))))
            (if (i32.ne (local.get $state) (i32.const 1))
              (then (local.set $count (i32.add (local.get $count) (i32.const 1)))))
            (local.set $state (i32.const 1))
            (br $done))
          (if (i32.ne (local.get $state) (i32.const 2))
            (then (local.set $count (i32.add (local.get $count) (i32.const 3)))))
          (local.set $state (i32.const 2))
          (br $done))
        (local.set $state (i32.const 0)))
      (local.set $ptr (i32.add (local.get $ptr) (i32.const 1)))
      (br_if $chars (i32.lt_u (local.get $ptr) (local.get $end))))
    (local.get $count))
  (func (export "call") (local $round i32) (local $acc i32)
    (call $init)
    (loop $rounds
      (call $matmul)
      (local.set $acc (call $crc16 (i32.const 2048) (i32.const 1024) (local.get $acc)))
      (local.set $acc (i32.xor (local.get $acc) (call $scan (i32.const 4096) (i32.const 1024))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 8))))
    (i32.store (i32.const 8192) (local.get $acc))))
