#!/bin/sh
# Bounds before allocation, through the binary: `plan` shows the estimated
# peak memory (largest task, per axis value, what a rank has); `run`
# refuses a sweep whose largest task cannot fit in a rank's memory before
# anything is written (exit 2, one line with both numbers), also under
# mpirun; mf, train and figure1 refuse absurd sizes at once; lengths have
# upper bounds; an sfmnist task with 28x28 training and 14x14 test images
# fails naming both files.
. "$TOP_BUILDDIR/tests/setup.sh"
MIN_PASSES=21
cd "$scratch" || exit 99

cat > big.yaml <<'YAML'
kind: mf
fixed: {tau_max: 2000}
axes:
  init: [s4d-inv, s4d-lin]
  N: [16, 1024, 64]
YAML

# plan: the largest task and where it occurs, a row per axis, the verdict
"$SSMSWEEP" plan big.yaml > plan.txt 2> err
code=$?
grep -q '^memory:   ~[0-9.]* MiB for the largest task, task 1 (init=s4d-inv, N=1024)$' plan.txt &&
  grep -q '^  N                16: [0-9.]* [KM]iB, 1024: [0-9.]* MiB, 64: [0-9.]* [KM]iB$' plan.txt &&
  grep -q '^  init             s4d-inv: [0-9.]* MiB, s4d-lin: [0-9.]* MiB$' plan.txt &&
  grep -q 'a rank needs ~.* has .*physical memory / 1 rank per node): fits$' plan.txt && [ $code -eq 0 ] &&
  [ ! -s err ] && pass "plan shows the memory: $(grep -A1 '^memory:' plan.txt | tr -s ' ' | tr '\n' ' ')" ||
  fail "plan memory lines: $(cat plan.txt err)"
"$SSMSWEEP" plan big.yaml --memory-limit 80M > plan.txt 2> err
grep -q 'has 80 MiB (--memory-limit=80M): DOES NOT FIT, run refuses$' plan.txt && [ ! -s err ] &&
  pass "plan --memory-limit 80M: does not fit" || fail "plan with a limit: $(cat plan.txt err)"
usage_error "plan --memory-limit lots" "--memory-limit: expected a size such as 512M, 4G or none, got 'lots'" -- \
  "$SSMSWEEP" plan big.yaml --memory-limit lots && pass "a bad limit: $(cat err)"

# plan on a long axis lists the first values, the largest and the last ones
cat > long.yaml <<'YAML'
kind: noop
axes:
  length: [1, 2, 3, 4, 1000000, 6, 7, 8, 9, 10]
YAML
"$SSMSWEEP" plan long.yaml > plan.txt 2>&1
grep -q '^  length           1: .*, 2: .*, 3: .*, \.\.\., 1000000: 15.3 MiB, \.\.\., 9: .*, 10: .*$' plan.txt &&
  pass "a long axis: $(grep "1000000: " plan.txt | tr -s " ")" || fail "long axis: $(cat plan.txt)"

# run: refused before anything is written
expect_refusal() {   # LABEL -- COMMAND...: exit 2, one line, nothing written
  label=$1; shift 2
  rm -rf out.h5 out.h5.journal out.h5.ckpt
  "$@" > out 2> err
  code=$?
  if [ $code -ne 2 ]; then fail "$label: exit $code ($(head -c 300 err))"; return 1; fi
  if [ "$(grep -c 'ssmsweep run:' err)" -ne 1 ] || ! grep -q 'not enough memory: task 1 (init=s4d-inv, N=1024) needs about [0-9.]* MiB ([0-9.]* MiB for the task, [0-9.]* MiB for the rank and its task state), a rank has 100 MiB' err; then
    fail "$label: message: $(cat err)"; return 1
  fi
  if [ -e out.h5 ] || [ -e out.h5.journal ] || [ -e out.h5.ckpt ]; then fail "$label: wrote files"; return 1; fi
  pass "$label: $(grep 'ssmsweep run:' err)"
}
expect_refusal "run --memory-limit 100M" -- "$SSMSWEEP" run big.yaml -o out.h5 --memory-limit 100M
[ "$(wc -l < err)" -eq 1 ] && pass "... on exactly one line" || fail "more than one line: $(cat err)"
expect_refusal "SSMSWEEP_MEMORY_LIMIT=100M" -- env SSMSWEEP_MEMORY_LIMIT=100M "$SSMSWEEP" run big.yaml -o out.h5
if [ "$MPIRUN" != no ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
  without_leak_scan
  expect_refusal "mpirun -np 2, SSMSWEEP_MEMORY_LIMIT=100M" -- \
    env SSMSWEEP_MEMORY_LIMIT=100M "$MPIRUN" -np 2 "$SSMSWEEP" run big.yaml -o out.h5
  # 2 ranks per node halve what a rank has
  "$MPIRUN" -np 2 "$SSMSWEEP" plan big.yaml > plan.txt 2>&1
  grep -q 'physical memory / 2 ranks per node): fits$' plan.txt && pass "mpirun -np 2: 2 ranks per node" ||
    fail "ranks per node under mpirun: $(grep -A1 '^memory' plan.txt)"
fi
rm -f out.h5 out.h5.journal
"$SSMSWEEP" run big.yaml -o out.h5 --memory-limit 1G --quiet > out 2> err && [ -s out.h5 ] &&
  pass "run --memory-limit 1G: fits and runs" || fail "run that fits: $(cat err)"

# single computations refuse absurd sizes at once
for args in "mf --init s4d-inv --N 65536 --tau-max 10" "mf --init s4d-inv --N 4096 --method finite --T 1000000000" \
            "train --length 100000000 --train 100000 --tau 5" "figure1 --N 65536 --T 100000 --outdir $scratch/f1"; do
  start=$(date +%s%N)
  # shellcheck disable=SC2086
  usage_error "$args" "not enough memory: " -- "$SSMSWEEP" $args || continue
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  [ "$ms" -lt $((2000 * time_factor)) ] && [ ! -e "$scratch/f1" ] &&
    pass "$args: refused in $ms ms: $(cat err)" || fail "$args: refused after $ms ms"
done
SSMSWEEP_MEMORY_LIMIT=10M "$SSMSWEEP" mf --init s4d-inv --N 64 > out 2> err
[ $? -eq 2 ] && grep -q 'needs about .* this process has 10 MiB (SSMSWEEP_MEMORY_LIMIT=10M)$' err &&
  pass "mf under SSMSWEEP_MEMORY_LIMIT=10M: $(cat err)" || fail "mf with a limit: $(cat err)"

# lengths have upper bounds
usage_error "mf --T 2e9" "--T: 2000000000 is beyond the limit 1e9" -- \
  "$SSMSWEEP" mf --init s4d-inv --method simulate --T 2000000000 && pass "$(cat err)"
usage_error "mf --washout 2e9" "--washout: 2000000000 is beyond the limit 1e9" -- \
  "$SSMSWEEP" mf --init s4d-inv --method simulate --washout 2000000000 && pass "$(cat err)"
usage_error "train --epochs 2e6" "the limit is 1e6" -- "$SSMSWEEP" train --epochs 2000000 && pass "$(cat err)"
usage_error "train --train 2e8" "the limit is 1e8" -- "$SSMSWEEP" train --train 200000000 && pass "$(cat err)"
printf 'kind: mf\nfixed: {method: simulate, T: 2e9}\n' > longT.yaml
usage_error "spec T: 2e9" "key 'T': task 0: T: 2000000000 is beyond the limit 1e9" -- "$SSMSWEEP" plan longT.yaml &&
  pass "$(cat err)"

# Fashion-MNIST files of two shapes: 28x28 training images, 14x14 test images
be32() { printf "$(printf '\\%03o\\%03o\\%03o\\%03o' $(($1 >> 24 & 255)) $(($1 >> 16 & 255)) $(($1 >> 8 & 255)) $(($1 & 255)))"; }
labels() { i=0; while [ $i -lt "$1" ]; do printf "$(printf '\\%03o' $((i % 10)))"; i=$((i + 1)); done; }
mkdir data
{ printf '\000\000\010\003'; be32 40; be32 28; be32 28; head -c $((40 * 784)) /dev/urandom; } > data/train-images-idx3-ubyte
{ printf '\000\000\010\001'; be32 40; labels 40; } > data/train-labels-idx1-ubyte
{ printf '\000\000\010\003'; be32 20; be32 14; be32 14; head -c $((20 * 196)) /dev/urandom; } > data/t10k-images-idx3-ubyte
{ printf '\000\000\010\001'; be32 20; labels 20; } > data/t10k-labels-idx1-ubyte
cat > shapes.yaml <<YAML
kind: sfmnist
fixed: {init: s4d-lin, N: 4, d_model: 4, layers: 1, epochs: 1, batch: 10, n_val: 10, tau_max: 10,
        data_dir: $scratch/data}
YAML
rm -f out.h5 out.h5.journal
"$SSMSWEEP" run shapes.yaml -o out.h5 --quiet > out 2> err
code=$?
"$SSMSWEEP" status out.h5 > status.txt 2>&1
want="images of different shapes: $scratch/data/train-images-idx3-ubyte holds 28x28 images, $scratch/data/t10k-images-idx3-ubyte 14x14"
[ $code -eq 4 ] && grep -qF "failure:  1 x $want" status.txt &&
  pass "28x28 train with 14x14 test: the task fails (exit 4): $want" ||
  fail "data shapes: exit $code, $(cat err status.txt)"
finish
