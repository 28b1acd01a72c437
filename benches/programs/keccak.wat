;; keccak-f[1600] written in Wasm (the permutation behind keccak256),
;; applied 100 times to a 200-byte state: 64-bit logic and rotations in loops.
(module
  (memory (export "memory") 1 1)
  ;; state at 0 (25 lanes), C[5] at 200, round constants at 256,
  ;; rotation counts at 512, pi lane byte offsets at 640, (i mod 5)*8 at 768.
  (data (i32.const 256) "\01\00\00\00\00\00\00\00\82\80\00\00\00\00\00\00\8a\80\00\00\00\00\00\80\00\80\00\80\00\00\00\80\8b\80\00\00\00\00\00\00\01\00\00\80\00\00\00\00\81\80\00\80\00\00\00\80\09\80\00\00\00\00\00\80\8a\00\00\00\00\00\00\00\88\00\00\00\00\00\00\00\09\80\00\80\00\00\00\00\0a\00\00\80\00\00\00\00\8b\80\00\80\00\00\00\00\8b\00\00\00\00\00\00\80\89\80\00\00\00\00\00\80\03\80\00\00\00\00\00\80\02\80\00\00\00\00\00\80\80\00\00\00\00\00\00\80\0a\80\00\00\00\00\00\00\0a\00\00\80\00\00\00\80\81\80\00\80\00\00\00\80\80\80\00\00\00\00\00\80\01\00\00\80\00\00\00\00\08\80\00\80\00\00\00\80")
  (data (i32.const 512) "\01\00\00\00\03\00\00\00\06\00\00\00\0a\00\00\00\0f\00\00\00\15\00\00\00\1c\00\00\00\24\00\00\00\2d\00\00\00\37\00\00\00\02\00\00\00\0e\00\00\00\1b\00\00\00\29\00\00\00\38\00\00\00\08\00\00\00\19\00\00\00\2b\00\00\00\3e\00\00\00\12\00\00\00\27\00\00\00\3d\00\00\00\14\00\00\00\2c\00\00\00")
  (data (i32.const 640) "\50\00\00\00\38\00\00\00\58\00\00\00\88\00\00\00\90\00\00\00\18\00\00\00\28\00\00\00\80\00\00\00\40\00\00\00\a8\00\00\00\c0\00\00\00\20\00\00\00\78\00\00\00\b8\00\00\00\98\00\00\00\68\00\00\00\60\00\00\00\10\00\00\00\a0\00\00\00\70\00\00\00\b0\00\00\00\48\00\00\00\30\00\00\00\08\00\00\00")
  (data (i32.const 768) "\00\00\00\00\08\00\00\00\10\00\00\00\18\00\00\00\20\00\00\00\00\00\00\00\08\00\00\00\10\00\00\00\18\00\00\00\20\00\00\00")
  (func $keccak_f (local $round i32) (local $i i32) (local $j i32) (local $t i64) (local $b0 i64) (local $x i32)
    (local.set $round (i32.const 0))
    (loop $rounds
      ;; theta: C[x] = xor of column x
      (local.set $i (i32.const 0))
      (loop $cols
        (i64.store offset=200 (local.get $i)
          (i64.xor (i64.xor (i64.xor (i64.xor
            (i64.load (local.get $i))
            (i64.load offset=40 (local.get $i)))
            (i64.load offset=80 (local.get $i)))
            (i64.load offset=120 (local.get $i)))
            (i64.load offset=160 (local.get $i))))
        (local.set $i (i32.add (local.get $i) (i32.const 8)))
        (br_if $cols (i32.lt_u (local.get $i) (i32.const 40))))
      ;; theta: A[x, y] ^= C[x-1] ^ rotl(C[x+1], 1)
      (local.set $x (i32.const 0))
      (loop $dx
        (local.set $t
          (i64.xor
            (i64.load offset=200 (i32.load offset=768 (i32.add (local.get $x) (i32.const 16))))
            (i64.rotl (i64.load offset=200 (i32.load offset=768 (i32.add (local.get $x) (i32.const 4)))) (i64.const 1))))
        (local.set $j (i32.shl (i32.load offset=768 (local.get $x)) (i32.const 0)))
        (loop $dy
          (i64.store (local.get $j) (i64.xor (i64.load (local.get $j)) (local.get $t)))
          (local.set $j (i32.add (local.get $j) (i32.const 40)))
          (br_if $dy (i32.lt_u (local.get $j) (i32.const 200))))
        (local.set $x (i32.add (local.get $x) (i32.const 4)))
        (br_if $dx (i32.lt_u (local.get $x) (i32.const 20))))
      ;; rho and pi
      (local.set $t (i64.load offset=8 (i32.const 0)))
      (local.set $i (i32.const 0))
      (loop $rp
        (local.set $j (i32.load offset=640 (local.get $i)))
        (local.set $b0 (i64.load (local.get $j)))
        (i64.store (local.get $j) (i64.rotl (local.get $t) (i64.extend_i32_u (i32.load offset=512 (local.get $i)))))
        (local.set $t (local.get $b0))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br_if $rp (i32.lt_u (local.get $i) (i32.const 96))))
      ;; chi, row by row
      (local.set $j (i32.const 0))
      (loop $rows
        (local.set $i (i32.const 0))
        (loop $copy
          (i64.store offset=200 (local.get $i) (i64.load (i32.add (local.get $j) (local.get $i))))
          (local.set $i (i32.add (local.get $i) (i32.const 8)))
          (br_if $copy (i32.lt_u (local.get $i) (i32.const 40))))
        (local.set $x (i32.const 0))
        (loop $chi
          (i64.store (i32.add (local.get $j) (i32.load offset=768 (local.get $x)))
            (i64.xor
              (i64.load (i32.add (local.get $j) (i32.load offset=768 (local.get $x))))
              (i64.and
                (i64.xor (i64.load offset=200 (i32.load offset=768 (i32.add (local.get $x) (i32.const 4)))) (i64.const -1))
                (i64.load offset=200 (i32.load offset=768 (i32.add (local.get $x) (i32.const 8)))))))
          (local.set $x (i32.add (local.get $x) (i32.const 4)))
          (br_if $chi (i32.lt_u (local.get $x) (i32.const 20))))
        (local.set $j (i32.add (local.get $j) (i32.const 40)))
        (br_if $rows (i32.lt_u (local.get $j) (i32.const 200))))
      ;; iota
      (i64.store (i32.const 0)
        (i64.xor (i64.load (i32.const 0)) (i64.load offset=256 (i32.shl (local.get $round) (i32.const 3)))))
      (local.set $round (i32.add (local.get $round) (i32.const 1)))
      (br_if $rounds (i32.lt_u (local.get $round) (i32.const 24)))))
  ;; One permutation of the current state (lets a test check against keccak256).
  (func (export "deploy") (call $keccak_f))
  (func (export "call") (local $n i32)
    (memory.fill (i32.const 0) (i32.const 0) (i32.const 200))
    (loop $perms
      (call $keccak_f)
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br_if $perms (i32.lt_u (local.get $n) (i32.const 100))))))
