#!/bin/bash
# The deep S4D step inside real sfmnist epochs, next to the isolated step
# and PyTorch, in one run (H 64, N 64, 4 layers, batch 50, length 784,
# float32, one thread):
#   1. isolated step: bench_deep and PyTorch 1.13 (bench_deep_torch.py);
#   2. marginal step inside a task: one-epoch sfmnist tasks on subsets of
#      S images (S / 50 steps, no validation), repeated, the S = 500 task
#      (10 steps) run in the same round as every other:
#        marginal(S) = (epoch_time(S) - epoch_time(500)) / (S / 50 - 10);
#      wall time from /results/epoch_time, CPU time of the whole process
#      (user + system) the same way;
#   3. fixed cost per task: a sweep of K repeats of the 10-step task
#      against a sweep of one: per task = (T_K - T_1) / (K - 1), minus its
#      10 steps at the marginal rate (what is left: set-up, the first
#      steps' extra, a 50-image test pass, per-layer memory metrics, the
#      result record); the first task of a rank pays in addition what
#      (T_1 - per task) says (process and MPI start, reading the data).
# usage: SSMSWEEP=... BENCH_DEEP=... bench_deep_epoch.sh
#   ROUNDS (3), SUBSETS ("2000 3500 10000 60000"), REPEATS (6), REPS (15)
set -u
here=$(cd "$(dirname "$0")" && pwd)
ssmsweep=${SSMSWEEP:?set SSMSWEEP to the ssmsweep binary}
bench=${BENCH_DEEP:?set BENCH_DEEP to the bench_deep binary}
rounds=${ROUNDS:-3}
subsets=${SUBSETS:-2000 3500 10000 60000}
repeats=${REPEATS:-6}
reps=${REPS:-15}
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spec() {   # spec NAME SUBSET REPEATS
  cat > "$work/$1.yaml" <<SPEC
kind: sfmnist
name: $1
seed: 1
repeats: $3
fixed: {init: s4d-lin, N: 64, d_model: 64, layers: 4, batch: 50, epochs: 1, subset: $2, n_val: 0, test_subset: 50, lr: 0.004, tau_max: 100}
SPEC
}
# run NAME: prints "wall_of_process cpu_of_process epoch_time_of_task0"
run() {
  rm -rf "$work/o.h5" "$work/o.h5".*
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$ssmsweep" run "$work/$1.yaml" -o "$work/o.h5" --quiet || exit 1
  local e
  e=$(/usr/bin/python3 -c 'import h5py, sys; print(h5py.File(sys.argv[1], "r")["results/epoch_time"][0, 0])' "$work/o.h5")
  awk -v e="$e" '{ printf "%s %.3f %s\n", $1, $2 + $3, e }' "$work/time"
}

echo "## Deep S4D step inside real sfmnist epochs (H 64, N 64, 4 layers, batch 50, length 784, float32, 1 thread)"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; load at start $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo

# 1. isolated step, ours and PyTorch's, side by side
iso=$("$bench" 64 64 4 50 784 "$reps" f32) || exit 1
torch=""
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  torch=$(/usr/bin/python3 "$here/bench_deep_torch.py" 64 64 4 50 784 "$reps" 1) || exit 1
fi

# 2. marginal step inside tasks, rounds interleaved
spec s500 500 1
for s in $subsets; do spec "s$s" "$s" 1; done
declare -A wall cpu
for r in $(seq 1 "$rounds"); do
  read -r w0 c0 e0 <<< "$(run s500)"
  for s in $subsets; do
    read -r w c e <<< "$(run "s$s")"
    steps=$((s / 50 - 10))
    wall[$s]="${wall[$s]:-} $(awk -v a="$e" -v b="$e0" -v n=$steps 'BEGIN { printf "%.5f", (a - b) / n }')"
    cpu[$s]="${cpu[$s]:-} $(awk -v a="$c" -v b="$c0" -v n=$steps 'BEGIN { printf "%.5f", (a - b) / n }')"
    e500="${e500:-} $e0"
  done
done
iso_s=$(echo "$iso" | cut -d, -f8)
echo "| measurement | median per step | all rounds | / isolated step |"
echo "|---|---|---|---|"
printf "| isolated step (bench_deep, %s reps; p10 .. p90 %.1f .. %.1f ms) | %.1f ms | | 1.00 |\n" "$reps" \
  "$(echo "$iso" | awk -F, '{ print 1000 * $9 }')" "$(echo "$iso" | awk -F, '{ print 1000 * $10 }')" "$(awk -v s="$iso_s" 'BEGIN { print 1000 * s }')"
for s in $subsets; do
  mw=$(echo ${wall[$s]} | median); mc=$(echo ${cpu[$s]} | median)
  all=$(for v in ${wall[$s]}; do awk -v v="$v" 'BEGIN { printf "%.1f ", 1000 * v }'; done)
  awk -v s="$s" -v w="$mw" -v c="$mc" -v i="$iso_s" -v a="$all" 'BEGIN {
    printf "| in-task marginal, subset %d (%d steps) minus subset 500, wall | %.1f ms | %s| %.2f |\n", s, s / 50, 1000 * w, a, w / i
    printf "| the same, CPU time of the process | %.1f ms | | %.2f |\n", 1000 * c, c / i }'
done
echo
if [ -n "$torch" ]; then
  t=$(echo "$torch" | cut -d, -f8)
  awk -v t="$t" -v o="$iso_s" -v m="$(echo ${wall[$(echo $subsets | awk '{ print $NF }')]} | median)" 'BEGIN {
    printf "PyTorch 1.13 step (same run): %.1f ms: %.2fx the isolated step, %.2fx the in-task marginal step of the largest subset\n", 1000 * t, t / o, t / m }'
  echo
fi

# 3. fixed cost per task
spec one 500 1
spec many 500 "$repeats"
t1=""; tk=""
for r in $(seq 1 "$rounds"); do
  read -r w1 c1 e1 <<< "$(run one)"
  read -r wk ck ek <<< "$(run many)"
  t1="$t1 $w1"; tk="$tk $wk"
done
m1=$(echo $t1 | median); mk=$(echo $tk | median)
marg=$(echo ${wall[$(echo $subsets | awk '{ print $NF }')]} | median)
awk -v a="$m1" -v b="$mk" -v k="$repeats" -v m="$marg" 'BEGIN {
  per = (b - a) / (k - 1)
  printf "Tasks of 10 steps: a sweep of %d takes %.2f s, of 1 %.2f s (medians of the rounds): %.3f s per task,\n", k, b, a, per
  printf "of which 10 steps at the marginal rate are %.3f s: fixed cost per task %.3f s (goal < 0.4 s);\n", 10 * m, per - 10 * m
  printf "the first task of a rank (process and MPI start, reading the data) adds %.2f s.\n", a - per }'
echo
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
