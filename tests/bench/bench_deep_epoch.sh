#!/bin/bash
# The deep S4D step inside real sfmnist epochs, next to the isolated step
# and PyTorch, in one run (H 64, N 64, 4 layers, batch 50, length 784,
# float32).  The machine may be shared: every comparison is a ratio of
# measurements taken in the same round, the rounds are repeated, and each
# is given in wall time and in CPU time of the process (user + system),
# which the other processes stretch much less.  Each round:
#   1. the isolated step: bench_deep, one thread;
#   2. the marginal step inside tasks: one-epoch sfmnist tasks on subsets
#      of S images (S / 50 steps, no validation) against the one-epoch
#      subset-500 task (10 steps) of the same round:
#        marginal(S) = (X(S) - X(500)) / (S / 50 - 10)
#      each against the mean of the isolated steps measured just before
#      and just after its tasks (so a drift of the machine between
#      subsets, minutes apart, does not enter the ratio);
#      with X the epoch's wall time (/results/epoch_time, the training loop
#      alone) or the CPU time of the whole process: the issue's "70-step
#      minus 10-step epoch" for S = 3500; subsets of S <= SHORT images
#      (a few seconds an epoch, so the machine's noise would dominate) run
#      E = EPOCHS epochs against the E-epoch task of subset 500:
#        marginal(S) = (X_E(S) - X_E(500)) / (E (S / 50 - 10));
#      subset 500 itself from its E-epoch task (the same 10 batches
#      reshuffled): wall (epoch_time 2 + ... + E) / (10 (E - 1)), CPU
#      (E-epoch task - 1-epoch task) / (10 (E - 1)); and the first epoch's
#      extra wall time over the later ones (the first steps' warm-up);
#      how far apart the isolated steps just before and just after a task
#      are (after / before) shows how much the machine itself drifted
#      across that task: the noise floor of the in-task ratios;
#   3. with THREADS2=1, the isolated step with 2 threads and the marginal
#      step of S = 3500 with SSMSWEEP_THREADS=2 (wall time only).
# Then PyTorch 1.13's step (bench_deep_torch.py, one thread) between two
# isolated steps of ours, and the fixed cost per task: a sweep of K repeats
# of the 10-step task against a sweep of one, per task = (X_K - X_1) / (K - 1)
# minus its 10 steps at the in-task rate (what is left: set-up, the first
# steps' extra, a 50-image test pass, per-layer memory metrics, the result
# record); the first task of a rank pays in addition X_1 - per task
# (process and MPI start, reading the data).  Both estimates subtract 10
# steps measured in another process, so the machine's drift enters them;
# the third is taken inside each task of the K-task sweep: its time
# (/tasks/elapsed) minus its training loop (/results/epoch_time), plus the
# first epoch's extra over the later ones.
# CORETYPE sets OPENBLAS_CORETYPE for every process (unset, the
# environment's value is kept: this machine's sets Haswell, AVX2 kernels,
# where OpenBLAS 0.3.21 would detect Cooperlake, AVX-512); the load
# average is printed for every round.
# usage: SSMSWEEP=... BENCH_DEEP=... bench_deep_epoch.sh
#   ROUNDS (3: a median per subset), SUBSETS ("2000 3500 10000 60000"), REPEATS (6), REPS (10), THREADS2 (1), CORETYPE (unset),
#   EPOCHS (4, at least 2), SHORT (2000)
set -u
here=$(cd "$(dirname "$0")" && pwd)
ssmsweep=${SSMSWEEP:?set SSMSWEEP to the ssmsweep binary}
bench=${BENCH_DEEP:?set BENCH_DEEP to the bench_deep binary}
rounds=${ROUNDS:-3}
subsets=${SUBSETS:-2000 3500 10000 60000}
repeats=${REPEATS:-6}
reps=${REPS:-10}
threads2=${THREADS2:-1}
epochs=${EPOCHS:-4}
short=${SHORT:-2000}
[ "$epochs" -ge 2 ] 2>/dev/null || { echo "bench_deep_epoch.sh: EPOCHS must be a whole number of at least 2, not '$epochs'" >&2; exit 2; }
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
[ -n "${CORETYPE:-}" ] && export OPENBLAS_CORETYPE=$CORETYPE
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
ms() { for v in "$@"; do awk -v v="$v" 'BEGIN { printf "%.1f ", 1000 * v }'; done; }
spec() {   # spec NAME SUBSET REPEATS EPOCHS
  cat > "$work/$1.yaml" <<SPEC
kind: sfmnist
name: $1
seed: 1
repeats: $3
fixed: {init: s4d-lin, N: 64, d_model: 64, layers: 4, batch: 50, epochs: $4, subset: $2, n_val: 0, test_subset: 50, lr: 0.004, tau_max: 100}
SPEC
}
# run NAME: prints "wall_s cpu_s peak_rss_MiB epoch_times_of_task0..." of
# the whole process (cpu: user + system)
run() {
  rm -rf "$work/o.h5" "$work/o.h5".*
  /usr/bin/time -f "%e %U %S %M" -o "$work/time" "$ssmsweep" run "$work/$1.yaml" -o "$work/o.h5" --quiet || exit 1
  local e
  e=$(/usr/bin/python3 -c 'import h5py, sys; print(" ".join("%.6f" % v for v in h5py.File(sys.argv[1], "r")["results/epoch_time"][0]))' "$work/o.h5")
  awk -v e="$e" '{ printf "%s %.3f %.0f %s\n", $1, $2 + $3, $4 / 1024, e }' "$work/time"
}
# iso_step THREADS: "wall_s cpu_s peak_rss_MiB", medians of REPS steps
iso_step() { "$bench" 64 64 4 50 784 "$reps" f32 "$1" | awk -F, '{ print $8, $15, $12 }'; }
# epochs of the task of subset S
epochs_of() { if [ "$1" -le "$short" ]; then echo "$epochs"; else echo 1; fi; }
# sum_epochs FIRST LINE: the sum of a run line's epoch times from epoch FIRST on
sum_epochs() { echo "$2" | awk -v k="$1" '{ s = 0; for (i = 3 + k; i <= NF; ++i) s += $i; printf "%.6f", s }'; }
per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.6f", (a - b) / n }'; }
# step500 LINE CPU1: subset 500's in-task step, "wall cpu", from the run
# line of its EPOCHS-epoch task and the CPU time of its 1-epoch task
step500() {
  local steps=$((10 * (epochs - 1))) c
  read -r _ c _ <<< "$1"
  echo "$(per "$(sum_epochs 2 "$1")" 0 $steps) $(per "$c" "$2" $steps)"
}
mean_per() { awk -v a="$1" -v b="$2" -v n="$3" 'BEGIN { printf "%.6f", (a + b) / n }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }

echo "## Deep S4D step inside real sfmnist epochs (H 64, N 64, 4 layers, batch 50, length 784, float32)"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; OpenBLAS core ${OPENBLAS_CORETYPE:-detected}; load at start $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo

spec s500 500 1 "$epochs"
spec one 500 1 1
for s in $subsets; do spec "s$s" "$s" 1 "$(epochs_of "$s")"; done
spec t3500 3500 1 1   # the 2-thread marginal's (one epoch whatever SHORT)
declare -A mw mc rw rc rss
iso_w=""; iso_c=""; iso_rss=""; drift_w=""; drift_c=""; w500=""; c500=""; rw500=""; rc500=""; warm=""; iso2=""; m2=""; r2=""
loads=""
for r in $(seq 1 "$rounds"); do
  loads="$loads round $r: $(date -u +%H:%MZ) load $(cut -d' ' -f1 /proc/loadavg),"
  read -r iw ic irss <<< "$(iso_step 1)"
  iso_w="$iso_w $iw"; iso_c="$iso_c $ic"; iso_rss="$iso_rss $irss"
  line500=$(run s500)
  read -r _ cE _ e1 _ <<< "$line500"
  read -r _ c1 _ f1 <<< "$(run one)"
  # the load may change between tasks: every in-task measurement is set
  # against the mean of the isolated steps just before and just after it
  read -r bw bc _ <<< "$(iso_step 1)"
  iso_w="$iso_w $bw"; iso_c="$iso_c $bc"
  drift_w="$drift_w $(ratio "$bw" "$iw")"; drift_c="$drift_c $(ratio "$bc" "$ic")"
  read -r sw sc <<< "$(step500 "$line500" "$c1")"
  w500="$w500 $sw"; c500="$c500 $sc"
  rw500="$rw500 $(ratio "$sw" "$(mean_per "$iw" "$bw" 2)")"; rc500="$rc500 $(ratio "$sc" "$(mean_per "$ic" "$bc" 2)")"
  warm="$warm $(awk -v a="$e1" -v s="$sw" 'BEGIN { printf "%.3f", a - 10 * s }')"
  for s in $subsets; do
    line=$(run "s$s")
    read -r _ c m _ <<< "$line"
    read -r jw jc _ <<< "$(iso_step 1)"
    iso_w="$iso_w $jw"; iso_c="$iso_c $jc"
    # against the subset-500 task of as many epochs
    e=$(epochs_of "$s"); n=$((e * (s / 50 - 10)))
    if [ "$e" = 1 ]; then base_w=$f1; base_c=$c1; else base_w=$(sum_epochs 1 "$line500"); base_c=$cE; fi
    vw=$(per "$(sum_epochs 1 "$line")" "$base_w" $n); vc=$(per "$c" "$base_c" $n)
    rss[$s]=$m
    mw[$s]="${mw[$s]:-} $vw"; mc[$s]="${mc[$s]:-} $vc"
    rw[$s]="${rw[$s]:-} $(ratio "$vw" "$(mean_per "$bw" "$jw" 2)")"
    rc[$s]="${rc[$s]:-} $(ratio "$vc" "$(mean_per "$bc" "$jc" 2)")"
    drift_w="$drift_w $(ratio "$jw" "$bw")"; drift_c="$drift_c $(ratio "$jc" "$bc")"
    bw=$jw; bc=$jc
  done
  if [ "$threads2" = 1 ]; then
    read -r i2 _ _ <<< "$(iso_step 2)"
    iso2="$iso2 $i2"
    read -r _ _ _ b1 <<< "$(SSMSWEEP_THREADS=2 run one)"
    read -r _ _ _ e <<< "$(SSMSWEEP_THREADS=2 run t3500)"
    v=$(per "$e" "$b1" 60)
    m2="$m2 $v"; r2="$r2 $(ratio "$v" "$iw")"
  fi
done
echo "Wall time is what a user waits; CPU time (user + system of the process) is what the step costs, nearly"
echo "independent of the other processes on a shared machine. Ratios are taken within each round."
echo
echo "| measurement | median wall | median CPU | in-task / isolated, wall (rounds) | in-task / isolated, CPU (rounds) |"
echo "|---|---|---|---|---|"
echo "| isolated step, 1 thread (bench_deep, $reps steps, before and after each subset's task) | $(ms "$(echo $iso_w | median)")ms | $(ms "$(echo $iso_c | median)")ms | | |"
echo "| in-task step, subset 500 (epochs 2-$epochs of a $epochs-epoch task / $((10 * (epochs - 1))); CPU: $epochs-epoch minus 1-epoch task) | $(ms "$(echo $w500 | median)")ms | $(ms "$(echo $c500 | median)")ms |$rw500 |$rc500 |"
for s in $subsets; do
  e=$(epochs_of "$s"); [ "$e" = 1 ] && e="" || e=", $e epochs of each"
  echo "| in-task marginal, subset $s ($((s / 50)) minus 10 steps$e) | $(ms "$(echo ${mw[$s]} | median)")ms | $(ms "$(echo ${mc[$s]} | median)")ms |${rw[$s]} |${rc[$s]} |"
done
if [ "$threads2" = 1 ]; then
  echo "| isolated step, 2 threads | $(ms "$(echo $iso2 | median)")ms | | | |"
  echo "| in-task marginal, 2 threads (SSMSWEEP_THREADS=2), subset 3500 | $(ms "$(echo $m2 | median)")ms | |$r2 (over 1 thread's isolated step) | |"
fi
within() { tr ' ' '\n' | grep -v '^$' | awk '{ n++; if ($1 >= 0.9 && $1 <= 1.1) k++ } END { printf "%d of %d", k, n }'; }
all_w="$rw500"; all_c="$rc500"
for s in $subsets; do all_w="$all_w ${rw[$s]}"; all_c="$all_c ${rc[$s]}"; done
echo
echo "In-task / isolated within 10% (goal: every one): wall $(echo $all_w | within), CPU $(echo $all_c | within) of the round-measurements above."
meds_w="$(echo $rw500 | median)"; meds_c="$(echo $rc500 | median)"
for s in $subsets; do meds_w="$meds_w $(echo ${rw[$s]} | median)"; meds_c="$meds_c $(echo ${rc[$s]} | median)"; done
echo "Median over the rounds, subset 500 then$(printf ' %s' $subsets): wall $meds_w ($(echo $meds_w | within) within 10%), CPU $meds_c ($(echo $meds_c | within))."
# spread: "lowest to highest, k of n beyond 10%" (the bound: within's)
spread() {
  local v k n
  v=$(tr ' ' '\n' | grep -v '^$' | sort -g)
  read -r k _ n <<< "$(echo $v | within)"
  printf '%s to %s, %d of %d beyond 10%%' "$(echo "$v" | head -1)" "$(echo "$v" | tail -1)" $((n - k)) "$n"
}
echo "Noise floor: the isolated step just after a task over the one just before it (no product code differs between the two): wall $(echo $drift_w | spread), CPU $(echo $drift_c | spread)."
echo
echo "Peak RSS: bench_deep $(echo $iso_rss | median) MiB; whole sfmnist process (data set included):$(for s in $subsets; do printf ' subset %s %s MiB;' "$s" "${rss[$s]}"; done)"
echo "Load average (1 min) at the start of each round:$loads end $(cut -d' ' -f1 /proc/loadavg)"
echo "First epoch of a task over its later ones (subset 500, 10 steps, wall): +$(echo $warm | median) s (rounds:$warm)"
echo

if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  read -r aw ac _ <<< "$(iso_step 1)"
  read -r tw tc <<< "$(/usr/bin/python3 "$here/bench_deep_torch.py" 64 64 4 50 784 "$reps" 1 | awk -F, '{ print $8, $15 }')"
  read -r bw bc _ <<< "$(iso_step 1)"
  last=$(echo $subsets | awk '{ print $NF }')
  awk -v tw="$tw" -v tc="$tc" -v aw="$aw" -v bw="$bw" -v ac="$ac" -v bc="$bc" -v m="$(echo ${rc[$last]} | median)" -v s="$last" 'BEGIN {
    ow = (aw + bw) / 2; oc = (ac + bc) / 2
    printf "PyTorch 1.13 step, one thread, between two isolated steps of ours: wall %.1f ms against %.1f and %.1f ms (%.2fx), CPU %.1f ms against %.1f and %.1f ms (%.2fx); against the in-task marginal step of subset %d (CPU, isolated x %.2f): %.2fx\n",
      1000 * tw, 1000 * aw, 1000 * bw, tw / ow, 1000 * tc, 1000 * ac, 1000 * bc, tc / oc, s, m, tc / (oc * m) }'
  echo
fi

# fixed cost per task
spec many 500 "$repeats" 1
w1=""; wk=""; cw1=""; cwk=""; pw=""; pc=""; direct=""
for r in $(seq 1 "$rounds"); do
  read -r a ca _ _ <<< "$(run one)"
  read -r b cb _ _ <<< "$(run many)"
  # in the same process, so the machine's drift between runs does not enter:
  # each task's time (tasks/elapsed) minus its training loop (epoch_time)
  direct="$direct $(/usr/bin/python3 -c 'import h5py, numpy as np, sys
f = h5py.File(sys.argv[1], "r")
print(" ".join("%.4f" % v for v in f["tasks/elapsed"][:] - np.nansum(f["results/epoch_time"][:], axis=1)))' "$work/o.h5")"
  read -r sw sc <<< "$(step500 "$(run s500)" "$ca")"
  w1="$w1 $a"; wk="$wk $b"; cw1="$cw1 $ca"; cwk="$cwk $cb"
  pw="$pw $sw"; pc="$pc $sc"
done
for kind in wall CPU; do
  if [ $kind = wall ]; then a=$(echo $w1 | median); b=$(echo $wk | median); m=$(echo $pw | median)
  else a=$(echo $cw1 | median); b=$(echo $cwk | median); m=$(echo $pc | median); fi
  awk -v kind=$kind -v a="$a" -v b="$b" -v k="$repeats" -v m="$m" 'BEGIN {
    per = (b - a) / (k - 1)
    printf "%s: tasks of 10 steps, a sweep of %d takes %.2f s, of 1 %.2f s (medians of the rounds): %.3f s per task,", kind, k, b, a, per
    printf " of which 10 steps at the in-task rate (%.1f ms) are %.3f s: fixed cost per task %.3f s (goal < 0.4 s);", 1000 * m, 10 * m, per - 10 * m
    printf " the first task of a rank (process and MPI start, reading the data) adds %.2f s.\n", a - per }'
done
echo "$direct" | tr ' ' '\n' | grep -v '^$' | sort -g | awk -v warm="$(echo $warm | median)" '{ v[NR] = $1 } END {
  med = v[int((NR + 1) / 2)]; w = warm > 0 ? warm : 0
  printf "in the task (same process: immune to the drift that the two estimates above suffer, 10 steps x a few %% of step rate):"
  printf " task time minus its training loop (set-up, the 50-image test pass, memory metrics, the record) median %.3f s,", med
  printf " %.3f .. %.3f over %d tasks; with the first epoch'"'"'s extra (%.3f s): fixed cost %.3f s (goal < 0.4 s).\n", v[1], v[NR], NR, w, med + w }'
echo
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
