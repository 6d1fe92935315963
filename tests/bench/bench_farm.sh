#!/bin/bash
# Task-farm throughput side by side (not a test: numbers drift on shared
# machines): GNU parallel and `ssmsweep run` (flat on 1 and 2 ranks, node
# leaders on 4) running the same tiny tasks, tasks per second including
# each tool's start-up.
#   trivial: `parallel true` against noop tasks that do nothing;
#   10 ms:   `parallel sleep 0.01` against noop tasks sleeping 10 ms.
# NERSC TaskFarmer (5-10 tasks/s, NERSC's documentation) runs only there.
# Needs SSMSWEEP (the binary) and GNU parallel (Debian: parallel).
set -u
ssmsweep=${SSMSWEEP:-ssmsweep}
command -v parallel > /dev/null || { echo "bench_farm: GNU parallel is not installed (apt-get install parallel)" >&2; exit 1; }
command -v mpirun > /dev/null || { echo "bench_farm: mpirun is not installed" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1

seconds() { local t0 t1; t0=$(date +%s.%N); "$@" > /dev/null 2>&1; t1=$(date +%s.%N); awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'; }
median() { tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rate() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.0f", n / t }'; }

# row LABEL TASKS COMMAND...: median of 3 runs
row() {
  local label=$1 n=$2; shift 2
  local runs="" t
  for rep in 1 2 3; do
    rm -f "$work"/o.h5*
    runs="$runs $(seconds "$@")"
  done
  t=$(echo $runs | median)
  echo "| $label | $n | $t s | $(rate "$n" "$t") |"
}

noop_spec() {   # noop_spec FILE TASKS SLEEP
  printf 'kind: noop\nname: farm\nrepeats: %s\naxes:\n  sleep: [%s]\n' "$2" "$3" > "$1"
}
noop_spec "$work/trivial.yaml" 100000 0
noop_spec "$work/sleep.yaml" 2000 0.01

echo "### Task-farm throughput: $(parallel --version | head -1), ssmsweep flat and hierarchical; $(nproc) cores, $(date -u +%Y-%m-%d)"
echo
echo "| runner | tasks | wall (median of 3) | tasks/s |"
echo "|---|---|---|---|"
row "GNU parallel -j1 true" 200 sh -c 'seq 200 | parallel -j1 true'
row "GNU parallel -j2 true" 200 sh -c 'seq 200 | parallel -j2 true'
row "ssmsweep run, trivial noop, mpirun -np 1" 100000 mpirun -np 1 "$ssmsweep" run "$work/trivial.yaml" -o "$work/o.h5" --quiet
row "ssmsweep run, trivial noop, mpirun -np 2" 100000 mpirun -np 2 "$ssmsweep" run "$work/trivial.yaml" -o "$work/o.h5" --quiet
# hierarchical (4 ranks on the 2 cores: two leaders of groups of 2), with
# rank 0 writing and with per-node part journals merged at the end
row "ssmsweep run, trivial noop, mpirun -np 4, --leaders 2" 100000 mpirun -np 4 --oversubscribe "$ssmsweep" run \
  "$work/trivial.yaml" -o "$work/o.h5" --quiet --leaders 2
row "ssmsweep run, trivial noop, mpirun -np 4, --leaders 2 --part-files" 100000 mpirun -np 4 --oversubscribe \
  "$ssmsweep" run "$work/trivial.yaml" -o "$work/o.h5" --quiet --leaders 2 --part-files
row "GNU parallel -j2 -N0 sleep 0.01" 200 sh -c 'seq 200 | parallel -j2 -N0 sleep 0.01'
row "ssmsweep run, noop sleeping 10 ms, mpirun -np 2" 2000 mpirun -np 2 "$ssmsweep" run "$work/sleep.yaml" -o "$work/o.h5" --quiet
echo "| NERSC TaskFarmer (published, not run here) | | | 5-10 |"
