#!/bin/bash
# Lazy tasks at scale (issue 12; not a test: numbers drift on shared machines).
#   1. `ssmsweep plan` of 10^6 and 10^7 mf tasks (tests/bench/specs/plan-1e*.yaml):
#      wall time and peak RSS, median of 3 (goals: 10^6 < 1 s and < 64 MB,
#      10^7 < 10 s and < 512 MB).
#   2. `ssmsweep run` of 10^6 noop tasks on 2 ranks (specs/run-1e6.yaml): peak
#      RSS of each rank, rank 0's growth per task over a 1000-task run
#      (goals: worker < 64 MB, rank 0 < 24 B/task), and the throughput of
#      10^5 noop tasks on one rank (specs/overhead.yaml; goal: at least the
#      version before, ~1.3e5 tasks/s).
#   3. `ssmsweep run` of 10^7 noop tasks on 2 ranks (specs/run-1e7.yaml): time,
#      peak RSS, file size, and xarray opening the file (skipped with
#      BENCH_LAZY_1E7=0).
# SSMSWEEP is the binary; SSMSWEEP_REF (optional) an earlier one, measured
# side by side in the same run (not at 10^7: its tables need ~5 GB a rank).
# Run as root: mpirun is told it may.
set -u
here=$(cd "$(dirname "$0")" && pwd)
ssmsweep=${SSMSWEEP:-ssmsweep}
ref=${SSMSWEEP_REF:-}
export OPENBLAS_NUM_THREADS=1 OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# "SECONDS KB" of one run of the command
measure() { /usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -1; }
median() { sort -g | awk '{ v[NR] = $0 } END { print v[int((NR + 1) / 2)] }'; }
# median time and median peak RSS of 3 runs, "T s, M MB"
three() {
  local runs t m
  runs=$(for rep in 1 2 3; do measure "$@"; done)
  t=$(echo "$runs" | cut -d' ' -f1 | median)
  m=$(echo "$runs" | cut -d' ' -f2 | median)
  echo "$t s | $(awk -v k="$m" 'BEGIN { printf "%.0f MB", k / 1024 }')"
}

echo "## Lazy tasks"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; load $(cut -d' ' -f1 /proc/loadavg); $(date -u +%Y-%m-%d)"
echo
echo "### ssmsweep plan (median of 3: wall time | peak RSS)"
echo
echo "| spec | tasks | time | peak RSS |${ref:+ earlier version: time | peak RSS |}"
echo "|---|---|---|---|${ref:+---|---|}"
for n in 1e6 1e7; do
  spec=$here/specs/plan-$n.yaml
  line="| plan-$n.yaml | $n | $(three "$ssmsweep" plan "$spec") |"
  if [ -n "$ref" ]; then
    if [ "$n" = 1e6 ]; then line="$line $(three "$ref" plan "$spec") |"; else line="$line (not run) | |"; fi
  fi
  echo "$line"
done

# "SECONDS RSS0_KB RSS1_KB ..." of `mpirun -np NP BIN run SPEC` (each rank under /usr/bin/time)
run_rss() {
  local bin=$1 np=$2 spec=$3 t0 t1 line
  rm -f "$work"/o.h5 "$work"/o.h5.* "$work"/rss.*
  t0=$(date +%s.%N)
  mpirun -np "$np" sh -c '/usr/bin/time -o "$0.$OMPI_COMM_WORLD_RANK" -f %M "$@"' "$work/rss" \
    "$bin" run "$spec" -o "$work/o.h5" --quiet || { echo "run failed"; return 1; }
  t1=$(date +%s.%N)
  line=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
  for r in $(seq 0 $((np - 1))); do line="$line $(tail -1 "$work/rss.$r")"; done
  echo "$line"
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f MB", k / 1024 }'; }

echo
echo "### ssmsweep run, 10^6 noop tasks on 2 ranks (mpirun -np 2)"
echo
echo "| binary | time | tasks/s | rank 0 peak RSS | worker peak RSS | rank 0 above a 1000-task run |"
echo "|---|---|---|---|---|---|"
for bin in "$ssmsweep" ${ref:+"$ref"}; do
  small=$(run_rss "$bin" 2 "$here/specs/run-small.yaml")
  big=$(run_rss "$bin" 2 "$here/specs/run-1e6.yaml")
  read -r t r0 r1 <<<"$big"
  read -r _ s0 _ <<<"$small"
  echo "| $([ "$bin" = "$ssmsweep" ] && echo this || echo earlier) | $t s | $(awk -v t="$t" 'BEGIN { printf "%.3g", 1e6 / t }') | $(mb "$r0") | $(mb "$r1") | $(awk -v a="$r0" -v b="$s0" 'BEGIN { printf "%.1f B/task", (a - b) * 1024 / 1e6 }') |"
done

echo
echo "### Throughput on one rank (10^5 noop tasks, specs/overhead.yaml, median of 3)"
echo
echo "| binary | time | tasks/s |"
echo "|---|---|---|"
for bin in "$ssmsweep" ${ref:+"$ref"}; do
  runs=$(for rep in 1 2 3; do run_rss "$bin" 1 "$here/specs/overhead.yaml" | cut -d' ' -f1; done)
  t=$(echo "$runs" | median)
  echo "| $([ "$bin" = "$ssmsweep" ] && echo this || echo earlier) | $t s | $(awk -v t="$t" 'BEGIN { printf "%.3g", 1e5 / t }') |"
done

if [ "${BENCH_LAZY_1E7:-1}" != 0 ]; then
  echo
  echo "### ssmsweep run, 10^7 noop tasks on 2 ranks"
  echo
  big=$(run_rss "$ssmsweep" 2 "$here/specs/run-1e7.yaml")
  read -r t r0 r1 <<<"$big"
  size=$(stat -c %s "$work/o.h5")
  echo "$t s ($(awk -v t="$t" 'BEGIN { printf "%.3g", 1e7 / t }') tasks/s), peak RSS rank 0 $(mb "$r0"), worker $(mb "$r1"), file $(awk -v s="$size" 'BEGIN { printf "%.2f GB", s / 1e9 }')"
  /usr/bin/python3 - "$work/o.h5" <<'PY'
import json, sys, time
import numpy as np
import xarray as xr
import h5py
t0 = time.time()
params = xr.open_dataset(sys.argv[1], engine="h5netcdf", group="params")
results = xr.open_dataset(sys.argv[1], engine="h5netcdf", group="results")
tasks = xr.open_dataset(sys.argv[1], engine="h5netcdf", group="tasks")
ds = xr.merge([params, results])
n = ds.sizes["task"]
sel = ds.isel(task=slice(n - 1000, n))
assert n == 10**7 and (tasks.status.values == 1).all()
assert np.array_equal(sel.square.values, sel.value.values ** 2)
with h5py.File(sys.argv[1], "r") as f:
    shape = json.loads(f.attrs["axes"])["shape"]
square = results.square.values.reshape(shape)
print(f"xarray: opened in {time.time() - t0:.1f} s, {n} tasks, all done, square = value^2 in the last 1000; "
      f"shaped {square.shape} by the attribute axes")
PY
fi
