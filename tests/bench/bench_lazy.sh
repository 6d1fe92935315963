#!/bin/bash
# Lazy tasks at scale (issue 12; not a test: numbers drift on shared machines).
#   1. `ssmsweep plan` of 10^6 and 10^7 mf tasks (tests/bench/specs/plan-1e*.yaml):
#      wall time and peak RSS, median of 3 (goals: 10^6 < 1 s and < 64 MB,
#      10^7 < 10 s and < 512 MB).
# SSMSWEEP is the binary; SSMSWEEP_REF (optional) an earlier one, measured
# side by side in the same run (10^6 only: the table of 10^7 needs ~5 GB).
set -u
here=$(cd "$(dirname "$0")" && pwd)
ssmsweep=${SSMSWEEP:-ssmsweep}
ref=${SSMSWEEP_REF:-}
export OPENBLAS_NUM_THREADS=1

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
