#!/bin/bash
# Coordinator benchmarks (not a test: numbers drift on shared machines).
#   1. overhead per task: 100 000 trivial tasks through `ssmsweep run`
#      (scheduling + journal + HDF5), against GNU parallel running
#      `true` (its per-job cost), same machine, same run;
#   2. parallel efficiency on a heterogeneous sweep: T(1 rank) / (2 T(2 ranks));
#   3. HDF5 + journal size per task.
# Needs SSMSWEEP (the binary); GNU parallel is optional (Debian: parallel).
set -u
here=$(cd "$(dirname "$0")" && pwd)
ssmsweep=${SSMSWEEP:-ssmsweep}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "## Coordinator benchmarks"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; $(date -u +%Y-%m-%d)"
echo

echo "### Overhead per task (100 000 trivial tasks, median of 3)"
echo
echo "| runner | total | per task |"
echo "|---|---|---|"
for np in 1 2; do
  runs=""
  for rep in 1 2 3; do
    rm -f "$work/o.h5" "$work/o.h5.journal"
    runs="$runs $(seconds mpirun -np $np "$ssmsweep" run "$here/specs/overhead.yaml" -o "$work/o.h5" --quiet)"
  done
  t=$(echo $runs | median)
  echo "| ssmsweep run, mpirun -np $np | $t s | $(awk -v t="$t" 'BEGIN { printf "%.1f µs", t / 100000 * 1e6 }') |"
done
size_h5=$(stat -c %s "$work/o.h5"); size_j=$(stat -c %s "$work/o.h5.journal")
if command -v parallel > /dev/null; then
  runs=""
  for rep in 1 2 3; do
    runs="$runs $(seconds sh -c 'seq 2000 | parallel -j2 true')"
  done
  t=$(echo $runs | median)
  echo "| GNU parallel -j2 true (2000 jobs) | $t s | $(awk -v t="$t" 'BEGIN { printf "%.0f µs", t / 2000 * 1e6 }') |"
else
  echo "| GNU parallel | not installed (apt-get install parallel) | |"
fi
echo
echo "### Output size per 10^5 trivial tasks"
echo
echo "HDF5 $(awk -v s="$size_h5" 'BEGIN { printf "%.2f MB", s / 1e6 }'), journal $(awk -v s="$size_j" 'BEGIN { printf "%.2f MB", s / 1e6 }') (2 scalars, params, per-task metadata)."
echo

efficiency() {   # efficiency LABEL SPEC
  local t1 t2
  t1=$(seconds mpirun -np 1 "$ssmsweep" run "$2" -o "$work/e1.h5" --quiet --force)
  t2=$(seconds mpirun -np 2 "$ssmsweep" run "$2" -o "$work/e2.h5" --quiet --force)
  echo "| $1 | $t1 s | $t2 s | $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.0f%%", 100 * a / (2 * b) }') |"
}
echo "### Parallel efficiency at P = 2 on heterogeneous sweeps (T1 / (2 T2), MPI start-up included)"
echo
echo "| sweep | 1 rank | 2 ranks | efficiency |"
echo "|---|---|---|---|"
efficiency "80 noop tasks sleeping 5 ms .. 0.5 s (scheduling only)" "$here/specs/heterogeneous-sleep.yaml"
efficiency "42 mf tasks, N = 16 .. 1024 (compute-bound)" "$here/specs/heterogeneous.yaml"
echo
# what two compute-bound processes cost each other on this machine, with
# no coordinator at all: the ceiling of the compute-bound line above
solo=$(seconds "$ssmsweep" mf --init s4d-inv --N 1024 --tau-max 4000)
both=$( { t0=$(date +%s.%N); "$ssmsweep" mf --init s4d-inv --N 1024 --tau-max 4000 > /dev/null 2>&1 &
          "$ssmsweep" mf --init s4d-inv --N 1024 --tau-max 4000 > /dev/null 2>&1; wait
          awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }'; } )
echo "Two independent \`ssmsweep mf --N 1024\` processes side by side, no MPI: $solo s alone, $both s together,"
echo "an efficiency ceiling of $(awk -v a="$solo" -v b="$both" 'BEGIN { printf "%.0f%%", 100 * a / b }') for compute-bound work on these two vCPUs."
