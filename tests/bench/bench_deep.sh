#!/bin/bash
# Deep S4D classifier training step (forward, backward, AdamW) for the
# issue's configuration, H = 64, N = 64, 4 layers, batch 50, length 784:
# ssmsweep against PyTorch (Debian's python3-torch) running the same
# architecture (tests/bench/bench_deep_torch.py), same machine, same
# thread count, in the same run; plus the fraction of the machine's sgemm
# rate, peak memory, and the implied time of a full 60k-image epoch.
# usage: BENCH_DEEP=path/to/bench_deep bench_deep.sh      (THREADS=1 default)
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH_DEEP:?set BENCH_DEEP to the bench_deep binary}
threads=${THREADS:-1}
reps=${REPS:-15}
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
shape="64 64 4 50 784"
echo "## Deep S4D training step: H = 64, N = 64, 4 layers, batch 50, length 784 ($threads thread(s))"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; $(date -u +%Y-%m-%d)"
echo
ours=$("$bench" $shape "$reps" f32) || exit 1
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  torch=$(/usr/bin/python3 "$here/bench_deep_torch.py" $shape "$reps" "$threads") || exit 1
else
  torch=""
  echo "PyTorch not installed (apt-get install python3-torch): ssmsweep only"
fi
echo "| implementation | median step | p10 .. p90 | peak RSS | 60k-image epoch (1200 steps) |"
echo "|---|---|---|---|---|"
for line in "$ours" "$torch"; do
  [ -n "$line" ] || continue
  echo "$line" | awk -F, '{ printf "| %s %s | %.1f ms | %.1f .. %.1f ms | %.0f MiB | %.0f s |\n", $1, $2, 1000 * $8, 1000 * $9, 1000 * $10, $12, 1200 * $8 }'
done
echo
echo "$ours" | awk -F, '{ printf "ssmsweep: activation workspace %.0f MiB; pointwise GEMMs %.2f GFLOP per step = %.1f GFLOP/s over the whole step, %.0f%% of this machine'"'"'s sgemm rate (%.1f GFLOP/s on 1024^3)\n", $11, $13, $13 / $8, 100 * $13 / $8 / $14, $14 }'
if [ -n "$torch" ]; then
  o=$(echo "$ours" | cut -d, -f8); t=$(echo "$torch" | cut -d, -f8)
  awk -v o="$o" -v t="$t" 'BEGIN { printf "ratio PyTorch / ssmsweep step time: %.2fx (goal: 5x)\n", t / o }'
fi
