#!/bin/bash
# Training-step throughput, ssmsweep against PyTorch (Debian's python3-torch)
# running the same single-layer model, same machine, same thread count, in
# the same run, in float64 and in float32 (each against its own precision).
# usage: BENCH_TRAIN=path/to/bench_train bench_train.sh   (THREADS=1, REPS=20, ROUNDS=3)
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH_TRAIN:?set BENCH_TRAIN to the bench_train binary}
threads=${THREADS:-1}
reps=${REPS:-20}
export OPENBLAS_NUM_THREADS=$threads OMP_NUM_THREADS=$threads
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "## Training step, N = 64, length 4096, batch 32 ($threads thread(s))"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
# ROUNDS rounds, each ours then PyTorch's: the machine's speed drifts
# between minutes (shared cores), so each round's ratio compares steps
# measured within seconds of each other, and the median ratio is the result
rounds=${ROUNDS:-3}
table_rows() { awk -F, -v r="$1" '{ printf "| %d | %s | %s | %.3f ms | %.3g |\n", r, $1, $2, 1000 * $6, $7 }' "$2"; }
have_torch=0
/usr/bin/python3 -c 'import torch' 2>/dev/null && have_torch=1
echo "| round | implementation | precision | median step | sequences x length / s |"
echo "|---|---|---|---|---|"
for r in $(seq "$rounds"); do
  { "$bench" 64 4096 32 "$reps" f64 && "$bench" 64 4096 32 "$reps" f32; } > "$work/ours" || exit 1
  table_rows "$r" "$work/ours"
  [ "$have_torch" = 1 ] || continue
  /usr/bin/python3 "$here/bench_train_torch.py" 64 4096 32 "$reps" "$threads" > "$work/torch" || exit 1
  table_rows "$r" "$work/torch"
  for p in float64 float32; do
    o=$(awk -F, -v p=$p '$2 == p { print $6 }' "$work/ours"); t=$(awk -F, -v p=$p '$2 == p { print $6 }' "$work/torch")
    awk -v o="$o" -v t="$t" 'BEGIN { print t / o }' >> "$work/ratio.$p"
  done
done
echo
if [ "$have_torch" = 1 ]; then
  for p in float64 float32; do
    by_round=$(awk '{ printf("%s%.1fx", (NR > 1 ? ", " : ""), $1) }' "$work/ratio.$p")
    median=$(sort -g "$work/ratio.$p" | awk '{ v[NR] = $1 } END { printf("%.1fx", (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2)) }')
    echo "ratio PyTorch / ssmsweep, $p, by round: $by_round; median $median"
  done
else
  echo "PyTorch not installed (apt-get install python3-torch)"
fi
