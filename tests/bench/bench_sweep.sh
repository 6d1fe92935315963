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

echo "### Parallel efficiency, heterogeneous sweep (42 mf tasks, N = 16..1024)"
echo
t1=$(seconds mpirun -np 1 "$ssmsweep" run "$here/specs/heterogeneous.yaml" -o "$work/h1.h5" --quiet)
t2=$(seconds mpirun -np 2 "$ssmsweep" run "$here/specs/heterogeneous.yaml" -o "$work/h2.h5" --quiet)
echo "| ranks | time | efficiency |"
echo "|---|---|---|"
echo "| 1 | $t1 s | 1 |"
echo "| 2 | $t2 s | $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.0f%%", 100 * a / (2 * b) }') |"
