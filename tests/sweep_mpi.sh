#!/bin/sh
# ssmsweep run over MPI: bit-identical results for 1, 2 and 3 ranks, the
# HDF5 layout read back by h5dump, h5py and xarray, failures recorded,
# SIGTERM handled.
. "$TOP_BUILDDIR/tests/setup.sh"
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# MPI runs: no LeakSanitizer exit scan (setup.sh)
without_leak_scan
specs="$TOP_SRCDIR/tests/specs/run"

for np in 1 2 3; do
  if "$MPIRUN" -np $np "$SSMSWEEP" run "$specs/mixed.yaml" -o "$scratch/np$np.h5" --quiet \
      > "$scratch/np$np.log" 2>&1; then
    pass "mpirun -np $np completes"
  else
    fail "mpirun -np $np: exit $? ($(tail -3 "$scratch/np$np.log"))"
  fi
done
# the same spec without mpirun: a singleton MPI run
"$SSMSWEEP" run "$specs/mixed.yaml" -o "$scratch/single.h5" --quiet 2> "$scratch/single.log" \
  && pass "singleton run (no mpirun) completes" || fail "singleton run: $(cat "$scratch/single.log")"

"$PYTHON3" - "$scratch" <<'PY' && pass "results and params bit-identical for 1, 2, 3 ranks and singleton" || fail "results differ between rank counts"
import sys, h5py, numpy as np
d = sys.argv[1]
files = [f"{d}/np{n}.h5" for n in (1, 2, 3)] + [f"{d}/single.h5"]
def columns(path):
    out = {}
    with h5py.File(path, "r") as f:
        for group in ("params", "results"):
            for name, ds in f[group].items():
                out[f"{group}/{name}"] = ds[()]
        for name in ("status", "hash", "seed"):
            out[f"tasks/{name}"] = f["tasks"][name][()]
    return out
ref = columns(files[0])
ok = True
for other in files[1:]:
    cols = columns(other)
    for key, value in ref.items():
        same = value.tobytes() == cols[key].tobytes() if value.dtype.kind != "O" else list(value) == list(cols[key])
        if not same:
            print(f"{other}: {key} differs"); ok = False
status = ref["tasks/status"]
print(f"{len(status)} tasks, {int((status == 1).sum())} done")
ok &= bool((status == 1).all())
sys.exit(0 if ok else 1)
PY

# which ranks ran tasks: with 3 ranks every rank, rank 0 included, computes
"$PYTHON3" - "$scratch/np3.h5" <<'PY' && pass "all three ranks ran tasks (rank 0 computes too)" || fail "some rank ran nothing"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    ranks = set(np.unique(f["tasks/rank"][()]).tolist())
print("ranks that ran tasks:", sorted(ranks))
sys.exit(0 if ranks == {0, 1, 2} else 1)
PY

# readable by h5dump
if command -v h5dump >/dev/null 2>&1; then
  h5dump -H "$scratch/np2.h5" > /dev/null 2>&1 && pass "h5dump reads the header" || fail "h5dump failed"
  h5dump -a /provenance/spec "$scratch/np2.h5" 2>/dev/null | grep -q "mpi-bit-identity" \
    && pass "provenance holds the spec verbatim" || fail "spec text missing from /provenance"
fi

# xarray through h5netcdf: select results by parameter
if have_python3_module xarray && have_python3_module h5netcdf; then
  "$PYTHON3" - "$scratch/np2.h5" <<'PY' && pass "xarray opens the file and selects by parameter" || fail "xarray"
import sys, xarray as xr, numpy as np
path = sys.argv[1]
params = xr.open_dataset(path, engine="h5netcdf", group="params")
results = xr.open_dataset(path, engine="h5netcdf", group="results")
ds = xr.merge([params, results])
print(ds)
assert "task" in ds.dims and "tau" in ds.dims, ds.dims
sel = ds.where((ds.init == "s4d-inv") & (ds.method == "blaschke") & (ds.N == 16), drop=True)
assert sel.sizes["task"] == 2, sel.sizes            # two repeats
assert np.allclose(sel.mc.values, sel.mc.values[0])  # deterministic engine, same MC
curve = ds.mf.sel(task=0)
assert curve.sizes["tau"] == 151 and np.isfinite(curve.values).all()
print("selected", sel.sizes["task"], "tasks; MC", sel.mc.values)
PY
else
  echo "note: python3-xarray/python3-h5netcdf missing, xarray check not run"
fi

# failures are recorded with their reason and the sweep goes on
"$MPIRUN" -np 2 "$SSMSWEEP" run "$specs/failing.yaml" -o "$scratch/fail.h5" --quiet > "$scratch/fail.log" 2>&1
code=$?
[ $code -eq 4 ] && pass "failed tasks: exit status 4" || fail "failing spec: exit $code, expected 4"
"$SSMSWEEP" status "$scratch/fail.h5" > "$scratch/status.txt" 2>&1
grep -q "5 done, 5 failed, 0 pending" "$scratch/status.txt" && grep -q "failed on purpose" "$scratch/status.txt" \
  && pass "status: counts and failure reason" || fail "status output: $(cat "$scratch/status.txt")"
"$PYTHON3" - "$scratch/fail.h5" <<'PY' && pass "failed rows: status 2, reason, NaN results" || fail "failed rows in HDF5"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    status, fail = f["tasks/status"][()], f["params/fail"][()]
    err = [e.decode() if isinstance(e, bytes) else e for e in f["tasks/error"][()]]
    square = f["results/square"][()]
assert (status[fail == 1] == 2).all() and (status[fail == 0] == 1).all()
assert all("failed on purpose" in err[i] for i in np.where(fail == 1)[0])
assert np.isnan(square[fail == 1]).all() and np.isfinite(square[fail == 0]).all()
PY
# output exists: refused without --resume/--force; --force starts over
"$SSMSWEEP" run "$specs/failing.yaml" -o "$scratch/fail.h5" --quiet 2> "$scratch/err"
[ $? -eq 2 ] && grep -q "already exists" "$scratch/err" && pass "existing output refused" || fail "existing output not refused"
"$SSMSWEEP" run "$specs/failing.yaml" -o "$scratch/fail.h5" --resume --retry-failed --quiet 2> "$scratch/err"
[ $? -eq 4 ] && pass "--retry-failed reruns the failures (they fail again: exit 4)" || fail "--retry-failed: $(cat "$scratch/err")"

# Stop signals: a clean stop within seconds (exit 3), then --resume
# finishes the sweep.  SLURM sends SIGTERM to every task of a step; mpirun
# forwards SIGUSR1 to the ranks (SIGTERM to mpirun itself makes it abort
# the job with its own status 1, though the ranks still stop cleanly).
stop_test() {   # stop_test LABEL SIGNAL TARGET(mpirun|ranks|single)
  out="$scratch/stop-$1.h5"
  if [ "$3" = single ]; then
    "$SSMSWEEP" run "$specs/sleepy.yaml" -o "$out" --quiet > "$scratch/stop.log" 2>&1 &
  else
    "$MPIRUN" -np 2 "$SSMSWEEP" run "$specs/sleepy.yaml" -o "$out" --quiet > "$scratch/stop.log" 2>&1 &
  fi
  pid=$!
  # signal once the sweep is under way (start-up is slow under sanitizers
  # and under load): the journal has its first result, so every rank is
  # past its start-up and holds its signal handlers
  for _ in $(seq 300); do [ -f "$out.journal" ] && break; sleep 0.1; done
  start_size=$(stat -c %s "$out.journal" 2>/dev/null || echo 0)
  for _ in $(seq 300); do [ "$(stat -c %s "$out.journal" 2>/dev/null || echo 0)" -gt "$start_size" ] && break; sleep 0.1; done
  sleep 0.5
  t0=$(date +%s.%N)
  if [ "$3" = ranks ]; then
    pkill -"$2" -f "^$SSMSWEEP run .*$scratch/stop-$1.h5" 2>/dev/null   # the ranks, not mpirun
  else
    kill -"$2" $pid
  fi
  wait $pid
  code=$?
  took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
  [ $code -eq 3 ] && pass "$1: exit status 3 (resumable) after $took s" \
    || fail "$1: exit $code, expected 3 ($(tail -3 "$scratch/stop.log"))"
  awk -v t="$took" -v f="$(load_factor)" 'BEGIN { exit !(t < 5 * f) }' || fail "$1: stopping took $took s (load $(cut -d" " -f1 /proc/loadavg))"
  h5dump -H "$out" > /dev/null 2>&1 && pass "$1: file readable after the stop" || fail "$1: file unreadable"
  "$SSMSWEEP" status "$out" | grep -q "pending" || fail "$1: status"
  "$MPIRUN" -np 2 "$SSMSWEEP" run "$specs/sleepy.yaml" -o "$out" --resume --quiet > "$scratch/stop2.log" 2>&1 \
    && "$SSMSWEEP" status "$out" | grep -q "300 done, 0 failed, 0 pending" \
    && pass "$1: --resume completes the sweep" || fail "$1: resume: $(tail -3 "$scratch/stop2.log")"
}
# progress: a redrawn bar on a terminal, plain lines in a batch log
if command -v script > /dev/null; then
  script -qc "'$SSMSWEEP' run '$specs/failing.yaml' -o '$scratch/tty.h5'" "$scratch/tty.log" > /dev/null 2>&1
  tr '\r' '\n' < "$scratch/tty.log" | grep -q '^\[####################\] 5/10 done, 5 failed' \
    && pass "terminal: one-line progress bar" || fail "no progress bar on a terminal: $(head -c 300 "$scratch/tty.log")"
fi
"$SSMSWEEP" run "$specs/failing.yaml" -o "$scratch/log.h5" --progress 0.001 2> "$scratch/log.txt"
grep -q '^progress: .* done, .* failed, .* pending, .* tasks/s, elapsed .*, ETA ' "$scratch/log.txt" \
  && pass "batch log: plain progress lines" || fail "batch-log progress: $(cat "$scratch/log.txt")"

# --walltime: no new tasks after the limit (margin 0 here), exit 3, resumable
t0=$(date +%s.%N)
"$SSMSWEEP" run "$specs/sleepy.yaml" -o "$scratch/wall.h5" --walltime 1 --walltime-margin 0 --quiet 2> "$scratch/err"
code=$?
took=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
[ $code -eq 3 ] && awk -v t="$took" -v f="$time_factor" 'BEGIN { exit !(t < 4 * f) }' \
  && pass "--walltime 1: stopped after $took s with exit 3" || fail "--walltime: exit $code after $took s"
"$SSMSWEEP" run "$specs/sleepy.yaml" -o "$scratch/wall.h5" --walltime 00:10 --walltime-margin x 2> "$scratch/err"
[ $? -eq 2 ] && pass "bad --walltime-margin refused" || fail "bad --walltime-margin accepted"
"$SSMSWEEP" run "$specs/sleepy.yaml" -o "$scratch/wall2.h5" --walltime 1:2:3:4 2> "$scratch/err"
[ $? -eq 2 ] && grep -q -- '--walltime' "$scratch/err" && pass "bad --walltime refused: $(cat "$scratch/err")" \
  || fail "bad --walltime: $(cat "$scratch/err")"

stop_test sigterm-ranks TERM ranks
stop_test sigusr1-mpirun USR1 mpirun
stop_test sigterm-single TERM single
finish
