;; Recursive quicksort (Lomuto partition) of 4,096 pseudo-random i32s,
;; then a checksum: a mix of loops, calls and memory traffic.
(module
  (memory (export "memory") 1 1)
  (func $fill (param $n i32) (local $i i32) (local $seed i32)
    (local.set $seed (i32.const 42))
    (loop $l
      (local.set $seed
        (i32.add (i32.mul (local.get $seed) (i32.const 1664525)) (i32.const 1013904223)))
      (i32.store (i32.shl (local.get $i) (i32.const 2)) (local.get $seed))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $l (i32.lt_u (local.get $i) (local.get $n)))))
  (func $swap (param $a i32) (param $b i32) (local $t i32)
    (local.set $t (i32.load (local.get $a)))
    (i32.store (local.get $a) (i32.load (local.get $b)))
    (i32.store (local.get $b) (local.get $t)))
  ;; Sorts the i32s in [lo, hi] (byte addresses, inclusive).
  (func $quicksort (param $lo i32) (param $hi i32) (local $pivot i32) (local $i i32) (local $j i32)
    (if (i32.ge_s (local.get $lo) (local.get $hi)) (then (return)))
    (local.set $pivot (i32.load (local.get $hi)))
    (local.set $i (local.get $lo))
    (local.set $j (local.get $lo))
    (block $done
      (loop $part
        (br_if $done (i32.ge_s (local.get $j) (local.get $hi)))
        (if (i32.lt_s (i32.load (local.get $j)) (local.get $pivot))
          (then
            (call $swap (local.get $i) (local.get $j))
            (local.set $i (i32.add (local.get $i) (i32.const 4)))))
        (local.set $j (i32.add (local.get $j) (i32.const 4)))
        (br $part)))
    (call $swap (local.get $i) (local.get $hi))
    (call $quicksort (local.get $lo) (i32.sub (local.get $i) (i32.const 4)))
    (call $quicksort (i32.add (local.get $i) (i32.const 4)) (local.get $hi)))
  (func (export "call") (local $i i32) (local $sum i32)
    (call $fill (i32.const 4096))
    (call $quicksort (i32.const 0) (i32.const 16380))
    (loop $check
      (local.set $sum
        (i32.add (i32.mul (local.get $sum) (i32.const 31)) (i32.load (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br_if $check (i32.lt_u (local.get $i) (i32.const 16384))))
    (i32.store (i32.const 16384) (local.get $sum))))
