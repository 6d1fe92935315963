#!/bin/bash
# Memory-function engines against a plain numpy implementation of the same
# formulas (Debian's python3-numpy, same machine, same run), and the
# fraction of OpenBLAS's own dgemm rate the analytic engine reaches.
# Not a test: numbers drift on shared machines, the ratios hold.
#   SSMSWEEP=.../ssmsweep BENCH_BLAS=.../bench_blas bench_mf.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
ssmsweep=${SSMSWEEP:?set SSMSWEEP to the ssmsweep binary}
blas=${BENCH_BLAS:?set BENCH_BLAS to the bench_blas binary}
python=/usr/bin/python3
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1
reps=${REPS:-3}

# wall seconds and peak RSS (KiB) of one command, median wall of $reps runs
measure() {
  local walls="" rss=0 out
  for _ in $(seq "$reps"); do
    out=$( { /usr/bin/time -f '%e %M' "$@" > /dev/null 2> /dev/null; } 2>&1 | tail -1)
    walls="$walls ${out% *}"
    rss=${out#* }
  done
  echo "$(echo $walls | tr ' ' '\n' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }') $rss"
}
mc_of() { "$@" 2>&1 >/dev/null | sed -n 's/^MC = //p'; }

echo "## Memory-function engines"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores, 1 thread; $(date -u +%Y-%m-%d); median of $reps"
echo
echo "| case | ssmsweep | numpy | numpy / ssmsweep | MC ssmsweep | MC numpy |"
echo "|---|---|---|---|---|---|"
row() {   # row LABEL "ssmsweep args" "numpy args"
  local ours np mc_ours
  ours=$(measure "$ssmsweep" mf $2)
  mc_ours=$(mc_of "$ssmsweep" mf $2)
  np=$(REPS=$reps $python "$here/bench_mf.py" $3)
  awk -v l="$1" -v o="${ours% *}" -v n="${np% *}" -v mo="$mc_ours" -v mn="${np#* }" \
    'BEGIN { printf "| %s | %.3f s | %.3f s | %.1fx | %.6f | %.6f |\n", l, o, n, n / o, mo, mn }'
}
for n in 64 256 1024; do
  row "analytic N=$n tau_max=10000" "--init s4d-inv --N $n --method analytic --tau-max 10000" "analytic $n 10000"
done
for n in 64 256 1024; do
  row "blaschke N=$n tau_max=10000 (vs numpy analytic)" "--init s4d-inv --N $n --method blaschke --tau-max 10000" "analytic $n 10000"
done
row "finite N=256 T=4096" "--init s4d-inv --N 256 --method finite --T 4096 --tau-max 4095" "finite 256 4096"
row "simulate N=256 T=1e5 tau_max=256" "--init s4d-inv --N 256 --method simulate --T 100000 --tau-max 256" "simulate 256 100000 256"
echo

echo "### Simulation memory is flat in T (N = 256, tau_max = 256)"
echo
echo "| T | wall | peak RSS |"
echo "|---|---|---|"
for t in 10000 100000 1000000; do
  r=$(REPS=1 measure "$ssmsweep" mf --init s4d-inv --N 256 --method simulate --T $t --tau-max 256)
  echo "| $t | ${r% *} s | $(( ${r#* } / 1024 )) MiB |"
done
echo

echo "### Fraction of the BLAS rate (analytic engine, dominant kernel dgemm)"
echo
"$blas" > "$here/.blas.csv"
echo "| N | engine dgemm part | OpenBLAS dgemm, same shape | fraction |"
echo "|---|---|---|---|"
for n in 64 256 1024; do
  full=$(measure "$ssmsweep" mf --init s4d-inv --N $n --method analytic --tau-max 10000)
  setup=$(measure "$ssmsweep" mf --init s4d-inv --N $n --method analytic --tau-max 0)
  rank=$("$ssmsweep" mf --init s4d-inv --N $n --method analytic --tau-max 0 2>&1 >/dev/null | sed -n 's/^rank = \([0-9]*\).*/\1/p')
  peak=$(awk -F, -v s="analytic N=$n" '$2 ~ s { print $3 }' "$here/.blas.csv")
  awk -v n=$n -v r=$rank -v f="${full% *}" -v s="${setup% *}" -v p="$peak" 'BEGIN {
    t = f - s; g = 2 * r * n * 10001 / t / 1e9
    printf "| %d | %.2f GFLOP/s (%.3f s for 2 r N K flops, r = %d) | %.2f GFLOP/s | %.0f%% |\n", n, g, t, r, p, 100 * g / p }'
done
echo
echo "OpenBLAS rates on this machine:"
echo
sed 's/^/    /' "$here/.blas.csv"
rm -f "$here/.blas.csv"
