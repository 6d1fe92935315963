#!/bin/sh
# Crash safety: kill -9 the whole MPI job at random moments, resume each
# time; the final results equal an uninterrupted run bit for bit, no task
# the journal had recorded is computed again, and the HDF5 file opens
# after every kill (after h5clear -s, which clears the mark a killed SWMR
# writer leaves).
. "$TOP_BUILDDIR/tests/setup.sh"
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
command -v setsid >/dev/null || { echo "SKIP: setsid missing"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Under AddressSanitizer, LeakSanitizer's tracer intermittently dies with
# "Tracer caught signal 11" at the exit of processes that ran MPI_Init in
# this sandbox, failing a correct run: these MPI runs keep ASan's memory
# checks but not the exit-time leak scan (the unit tests scan the same code).
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"; export ASAN_OPTIONS
spec="$TOP_SRCDIR/tests/specs/run/sleepy.yaml"
out="$scratch/killed.h5"

# the reference: one uninterrupted run
"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o "$scratch/reference.h5" --quiet > "$scratch/ref.log" 2>&1 \
  || { fail "reference run: $(tail -3 "$scratch/ref.log")"; finish; }

# kill -9 after a random 0.3 .. 1.5 s, several times
resume=
for round in 1 2 3 4; do
  setsid "$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o "$out" $resume --quiet --sync 0.2 \
    > "$scratch/run$round.log" 2>&1 &
  pid=$!
  delay=$(awk -v seed="$$$round" -v f="${SSM_SLOW_FACTOR:-1}" 'BEGIN { srand(seed); printf "%.2f", f * (0.3 + 1.2 * rand()) }')
  sleep "$delay"
  # the whole job: Open MPI puts each rank in a process group of its own,
  # so the ranks are killed by name and mpirun by its group; the name
  # includes this test's scratch directory, since make -j runs other tests
  # that kill their own ranks by name at the same time
  pkill -9 -f "^$SSMSWEEP run .*$scratch/killed.h5" 2>/dev/null
  kill -9 -"$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  sleep 0.2
  pgrep -f "^$SSMSWEEP run .*$scratch/killed.h5" > /dev/null && fail "round $round: a rank survived kill -9"
  "$SSMSWEEP" status "$out" > "$scratch/status$round.txt" 2>&1
  echo "round $round (killed after $delay s): $(grep '^tasks:' "$scratch/status$round.txt")"
  if command -v h5clear >/dev/null 2>&1; then
    h5clear -s "$out" > /dev/null 2>&1
  fi
  if [ -f "$out" ]; then
    h5dump -H "$out" > /dev/null 2>&1 && pass "round $round: h5dump opens the file after kill -9" \
      || fail "round $round: h5dump cannot open the file after kill -9"
  fi
  # a kill before the journal existed leaves nothing to resume
  [ -f "$out.journal" ] && resume=--resume
done

"$MPIRUN" -np 2 "$SSMSWEEP" run "$spec" -o "$out" --resume --quiet > "$scratch/final.log" 2>&1 \
  && pass "final --resume completes" || fail "final resume: exit $? ($(tail -3 "$scratch/final.log"))"
"$SSMSWEEP" status "$out" > "$scratch/status.txt"
grep -q "300 done, 0 failed, 0 pending" "$scratch/status.txt" && pass "all 300 tasks done" \
  || fail "status: $(cat "$scratch/status.txt")"
grep -q "recomputed: 0" "$scratch/status.txt" && pass "no task recorded in the journal was computed twice" \
  || fail "tasks recomputed: $(grep recomputed "$scratch/status.txt")"

"$PYTHON3" - "$scratch/reference.h5" "$out" <<'PY' && pass "results equal the uninterrupted run bit for bit" || fail "results differ from the uninterrupted run"
import sys, h5py
def cols(path):
    with h5py.File(path, "r") as f:
        return {f"{g}/{n}": d[()] for g in ("params", "results") for n, d in f[g].items()} | \
               {"tasks/status": f["tasks/status"][()], "tasks/seed": f["tasks/seed"][()]}
a, b = cols(sys.argv[1]), cols(sys.argv[2])
bad = [k for k in a if (a[k].tobytes() if a[k].dtype.kind != "O" else list(a[k])) !=
       (b[k].tobytes() if b[k].dtype.kind != "O" else list(b[k]))]
print("differing:", bad)
sys.exit(1 if bad else 0)
PY

# a spec that differs from the journal's refuses to resume without --force
sed 's/sleep: 0.02/sleep: 0.021/' "$spec" > "$scratch/changed.yaml"
"$SSMSWEEP" run "$scratch/changed.yaml" -o "$out" --resume --quiet 2> "$scratch/err"
[ $? -eq 2 ] && grep -qi "spec" "$scratch/err" && pass "changed spec refused: $(cat "$scratch/err")" \
  || fail "changed spec was not refused: $(cat "$scratch/err")"
finish
