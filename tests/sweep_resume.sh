#!/bin/sh
# Crash safety: kill -9 the whole 2-rank MPI job at 20 seeded random
# moments, resume each time; the final results equal an uninterrupted run
# bit for bit, every row holds the results of its own parameters, the HDF5
# file opens after every kill (after h5clear -s, which clears the mark a
# killed SWMR writer leaves), and the work lost is counted and bounded:
# every task start is logged (a nanosleep of the noop task, seen by the
# LD_PRELOAD library of tests/faultinject.c), so tasks computed again
# because a kill lost their results are counted, not only the ones the
# journal recorded twice.  A kill loses at most the tasks running on each
# rank and the results of the last --sync seconds of each rank.
. "$TOP_BUILDDIR/tests/setup.sh"
. "$TOP_SRCDIR/tests/faultlib.sh"
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
command -v setsid >/dev/null || { echo "SKIP: setsid missing"; exit 77; }
build_faultinject || { echo "SKIP: $(build_faultinject)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# MPI runs: no LeakSanitizer exit scan (setup.sh)
without_leak_scan
MIN_PASSES=6
KILLS=20 RANKS=2 SYNC=0.05 TASK_SECONDS=0.005
f=${SSM_SLOW_FACTOR:-1}
spec="$scratch/killable.yaml"
out="$scratch/killed.h5"
# 4000 tasks of 5 ms: 10 s on two ranks, long enough for 20 kills (each
# round runs ~0.1 to 0.3 s); on a loaded machine a round runs longer (the
# tasks sleep at full speed while the killer waits for the CPU), so the
# sweep grows with the load, up to 4 times
scale=$(awk -v t="$time_factor" -v s="$f" 'BEGIN { x = int(t / s); if (x < 1) x = 1; if (x > 4) x = 4; print x }')
values=$((1000 * scale))
cat > "$spec" <<YAML
kind: noop
name: killable
seed: 11
fixed: {sleep: 0.005}
axes:
  value: {from: 0, to: $((values - 1)), num: $values}
  length: [0, 5, 40, 3]
YAML
ntasks=$((4 * values))

# the reference: one uninterrupted run
"$MPIRUN" -np $RANKS "$SSMSWEEP" run "$spec" -o "$scratch/reference.h5" --quiet > "$scratch/ref.log" 2>&1 \
  || { fail "reference run: $(tail -3 "$scratch/ref.log")"; finish; }

tasklog="$scratch/tasks.log"
kill_job() {   # the whole job: mpirun's group, then the ranks (each in a process group of its own)
  kill -9 -"$1" 2>/dev/null
  pkill -9 -f "^$SSMSWEEP run .*$out" 2>/dev/null
  { wait "$1"; } 2>/dev/null
  # a rank mpirun was starting as it died
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pgrep -f "^$SSMSWEEP run .*$out" > /dev/null || break
    sleep 0.1
    pkill -9 -f "^$SSMSWEEP run .*$out" 2>/dev/null
  done
}
size_of() { stat -c %s "$1" 2>/dev/null || echo 0; }
resume= done_rounds=0 alive=0 opened=0
for round in $(seq $KILLS); do
  LD_PRELOAD="$FAULT_SO" FAULT_TASK_LOG="$tasklog" setsid "$MPIRUN" -np $RANKS "$SSMSWEEP" run "$spec" -o "$out" \
    $resume --quiet --sync $SYNC > "$scratch/run$round.log" 2>&1 &
  pid=$!
  # the kill comes at a seeded moment once the sweep is under way, that is
  # once new records reach the journal (start-up time varies with the load
  # of the machine, and is no moment to test)
  before=$(size_of "$out.journal") i=0
  while [ "$(size_of "$out.journal")" -le "$before" ] && [ $i -lt $((400 * f)) ] && kill -0 "$pid" 2>/dev/null; do
    sleep 0.02; i=$((i + 1))
  done
  # (not stretched under the sanitizers: the tasks sleep, they are no slower there)
  delay=$(awk -v s="$round" 'BEGIN { srand(4242 + s); printf "%.3f", 0.02 + 0.15 * rand() }')
  sleep "$delay"
  kill -0 "$pid" 2>/dev/null && alive=$((alive + 1))
  kill_job "$pid"
  sleep 0.1
  pgrep -f "^$SSMSWEEP run .*$out" > /dev/null && fail "round $round: a rank survived kill -9"
  "$SSMSWEEP" status "$out" > "$scratch/status$round.txt" 2>&1
  echo "round $round (killed $delay s in): $(grep '^tasks:' "$scratch/status$round.txt")"
  if [ -f "$out" ]; then
    command -v h5clear >/dev/null 2>&1 && h5clear -s "$out" > /dev/null 2>&1
    h5dump -H "$out" > /dev/null 2>&1 && opened=$((opened + 1)) || fail "round $round: h5dump cannot open the file after kill -9"
  fi
  # a kill before the journal existed leaves nothing to resume
  [ -f "$out.journal" ] && resume=--resume
  done_rounds=$((done_rounds + 1))
done
[ $alive -eq $KILLS ] && pass "$KILLS kills, each of a running sweep; the file opened after $opened of them" \
  || fail "only $alive of $KILLS kills hit a running sweep (the sweep ended too soon)"

LD_PRELOAD="$FAULT_SO" FAULT_TASK_LOG="$tasklog" "$MPIRUN" -np $RANKS "$SSMSWEEP" run "$spec" -o "$out" --resume \
  --quiet > "$scratch/final.log" 2>&1 && pass "final --resume completes" \
  || fail "final resume: exit $? ($(tail -3 "$scratch/final.log"))"
"$SSMSWEEP" status "$out" > "$scratch/status.txt"
grep -q "$ntasks done, 0 failed, 0 pending" "$scratch/status.txt" && pass "all $ntasks tasks done" \
  || fail "status: $(cat "$scratch/status.txt")"
grep -q "recomputed: 0" "$scratch/status.txt" && pass "the journal recorded no task twice" \
  || fail "tasks recorded twice: $(grep recomputed "$scratch/status.txt")"

# the work the kills cost: task starts beyond one per task
starts=$(grep -c ' ssmsweep$' "$tasklog")
recomputed=$((starts - ntasks))
bound=$(awk -v k=$KILLS -v r=$RANKS -v s=$SYNC -v t=$TASK_SECONDS 'BEGIN { printf "%d", k * r * (1 + 2 * s / t) }')
echo "task starts: $starts for $ntasks tasks: $recomputed computed again after $KILLS kills (bound $bound)"
[ "$recomputed" -ge 0 ] && [ "$recomputed" -le "$bound" ] \
  && pass "$recomputed tasks computed again after $KILLS kills, within the bound of $bound (running tasks + $SYNC s of results per rank and kill)" \
  || fail "$recomputed tasks computed again after $KILLS kills, more than the bound of $bound"

"$PYTHON3" "$TOP_SRCDIR/tests/slurm/h5compare.py" "$scratch/reference.h5" "$out" > "$scratch/cmp.txt" 2>&1 \
  && pass "results equal the uninterrupted run bit for bit" || fail "results differ: $(cat "$scratch/cmp.txt")"
"$PYTHON3" "$TOP_SRCDIR/tests/faultcheck.py" rows "$out" > "$scratch/rows.txt" 2>&1 \
  && pass "every row holds the results of its own parameters: $(tail -1 "$scratch/rows.txt")" \
  || fail "rows: $(cat "$scratch/rows.txt")"

# a spec that differs from the journal's refuses to resume without --force,
# and the refusal suggests no option
sed 's/sleep: 0.005/sleep: 0.006/' "$spec" > "$scratch/changed.yaml"
"$SSMSWEEP" run "$scratch/changed.yaml" -o "$out" --resume --quiet 2> "$scratch/err"
[ $? -eq 2 ] && grep -qi "spec" "$scratch/err" && ! grep -q -- "--force" "$scratch/err" \
  && pass "changed spec refused: $(cat "$scratch/err")" \
  || fail "changed spec was not refused as expected: $(cat "$scratch/err")"
finish
