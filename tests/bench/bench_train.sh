#!/bin/bash
# Training-step throughput, ssmsweep against PyTorch (Debian's python3-torch)
# running the same single-layer model, same machine, same thread count, in
# the same run.  usage: BENCH_TRAIN=path/to/bench_train bench_train.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH_TRAIN:?set BENCH_TRAIN to the bench_train binary}
threads=${THREADS:-1}
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
echo "## Training step, N = 64, length 4096, batch 32 ($threads thread(s))"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; $(date -u +%Y-%m-%d)"
echo
echo "| implementation | precision | median step | sequences x length / s |"
echo "|---|---|---|---|"
"$bench" 64 4096 32 20 | awk -F, '{ printf "| %s | %s | %.2f ms | %.3g |\n", $1, $2, 1000 * $6, $7 }' | tee "$here/.train.ours"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
  /usr/bin/python3 "$here/bench_train_torch.py" 64 4096 32 20 "$threads" \
    | awk -F, '{ printf "| %s | %s | %.2f ms | %.3g |\n", $1, $2, 1000 * $6, $7 }' | tee "$here/.train.torch"
  ours=$(awk -F'|' '{ print $5 }' "$here/.train.ours")
  echo
  awk -F'|' -v ours="$ours" '{ printf "ratio ssmsweep / PyTorch %s: %.1fx\n", $3, ours / $5 }' "$here/.train.torch"
  rm -f "$here/.train.ours" "$here/.train.torch"
else
  echo "PyTorch not installed (apt-get install python3-torch)"
fi
