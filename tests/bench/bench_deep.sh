#!/bin/bash
# Deep S4D classifier training step (forward, backward, AdamW) for the
# issue's configuration, H = 64, N = 64, 4 layers, batch 50, length 784,
# float32: ssmsweep against PyTorch (Debian's python3-torch) running the
# same architecture (tests/bench/bench_deep_torch.py), same machine, same
# thread count, in the same run; the step's FLOP count (GEMMs + FFTs) and
# the fraction of the floor the machine's sgemm rate sets; peak memory;
# the lane FFT against FFTW (bench_rfft, if BENCH_RFFT is set); and what
# 8x PyTorch would take against one core's float32 FMA peak.
# CORETYPES lists OPENBLAS_CORETYPE values to measure, each for ours and
# PyTorch's (which uses the same OpenBLAS); "default" unsets the variable
# and lets OpenBLAS detect the core: OpenBLAS 0.3.21 detects AMD Zen 4 and
# Zen 5 as Cooperlake and runs its AVX-512 kernels; OPENBLAS_CORETYPE=Haswell
# (AVX2 kernels) is what the tests set, and some machines' environments too:
# CORETYPES="default Haswell" measures both.
# Wall and CPU time are both given: on a shared machine wall time
# stretches with the load, CPU time much less; the sgemm rate is measured
# in CPU time, so the floor fraction is one of CPU times.  The floor is
# set by the machine's sgemm rate, OpenBLAS's with the core it detects
# (measured once, OPENBLAS_CORETYPE unset), for every row: ssmsweep's
# deep step runs its own GEMM (src/ssm/deep_gemm.c) whatever the core, so
# a slower core's rate is no bound on it.
# usage: BENCH_DEEP=path/to/bench_deep bench_deep.sh   (THREADS=1, REPS=15, CORETYPES=default)
set -u
here=$(cd "$(dirname "$0")" && pwd)
bench=${BENCH_DEEP:?set BENCH_DEEP to the bench_deep binary}
threads=${THREADS:-1}
reps=${REPS:-15}
coretypes=${CORETYPES:-default}
ratios=""
needs=""
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=$threads
shape="64 64 4 50 784"
echo "## Deep S4D training step: H = 64, N = 64, 4 layers, batch 50, length 784, float32 ($threads thread(s))"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; load at start $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
# FLOPs of one step: 3 GEMMs of 2H x H x T per sequence and layer, and
# 4 real transforms of length n = 1600 per channel, sequence and layer
# (2.5 n log2 n each, the usual count) plus the kernels' 2 per channel and layer
flops=$(awk 'BEGIN { H = 64; L = 4; B = 50; T = 784; n = 1600
  gemm = 3 * 2 * (2 * H * H) * T * B * L; fft = (4 * B + 2) * H * L * 2.5 * n * log(n) / log(2)
  printf "%.4f %.4f", gemm / 1e9, fft / 1e9 }')
read -r gemm_gf fft_gf <<< "$flops"
probe=$(env -u OPENBLAS_CORETYPE "$bench" 8 4 1 1 16 1 f32 "$threads") || exit 1
machine_rate=$(echo "$probe" | cut -d, -f14); fma_peak=$(echo "$probe" | cut -d, -f16)
echo "| OpenBLAS core | implementation | median step (wall) | p10 .. p90 | median step (CPU time) | peak RSS | this core's sgemm rate (1024^3, CPU time) | floor (GEMM + FFT FLOPs / machine's sgemm rate) | floor / step (CPU time) |"
echo "|---|---|---|---|---|---|---|---|---|"
for ct in $coretypes; do
  if [ "$ct" = default ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$ct; fi
  ours=$("$bench" $shape "$reps" f32 "$threads") || exit 1
  torch=""
  if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    torch=$(/usr/bin/python3 "$here/bench_deep_torch.py" $shape "$reps" "$threads") || exit 1
  fi
  rate=$(echo "$ours" | cut -d, -f14)   # this core's rate, shown; the floor uses the machine's
  for line in "$ours" "$torch"; do
    [ -n "$line" ] || continue
    echo "$line" | awk -F, -v ct="$ct" -v g="$gemm_gf" -v f="$fft_gf" -v r="$rate" -v mr="$machine_rate" '{
      floor = (g + f) / mr
      printf "| %s | %s %s | %.1f ms | %.1f .. %.1f ms | %.1f ms | %.0f MiB | %.0f GFLOP/s | %.1f ms | %.0f%% |\n",
        ct, $1, $2, 1000 * $8, 1000 * $9, 1000 * $10, 1000 * $15, $12, r, 1000 * floor, 100 * floor / $15 }'
  done
  if [ -n "$torch" ]; then
    o=$(echo "$ours" | cut -d, -f8); t=$(echo "$torch" | cut -d, -f8)
    oc=$(echo "$ours" | cut -d, -f15); tc=$(echo "$torch" | cut -d, -f15)
    ratios="$ratios $(awk -v o="$o" -v t="$t" -v oc="$oc" -v tc="$tc" -v ct="$ct" \
      'BEGIN { printf "%s: %.2fx wall, %.2fx CPU time;", ct, t / o, tc / oc }')"
    # what 8x would take: the step's FLOPs in an eighth of PyTorch's CPU
    # time, against one core's arithmetic peak (threads times that with more)
    needs="$needs $(awk -v tc="$tc" -v g="$gemm_gf" -v f="$fft_gf" -v p="$fma_peak" -v n="$threads" -v ct="$ct" \
      'BEGIN { s = tc / 8; printf "%s: %.1f ms, %.0f GFLOP/s, %.0f%% of the peak;", ct, 1000 * s, (g + f) / s, 100 * (g + f) / s / (p * n) }')"
  fi
  workspace=$(echo "$ours" | cut -d, -f11)
done
unset OPENBLAS_CORETYPE
echo
echo "FLOPs per step: GEMMs $gemm_gf G + FFTs $fft_gf G; machine's sgemm rate (detected core) $machine_rate GFLOP/s; ssmsweep's activation workspace $workspace MiB."
[ -n "${ratios:-}" ] && echo "PyTorch step / ssmsweep step (same run, same OpenBLAS core):$ratios (goal: 8x)"
[ -n "${needs:-}" ] && echo "8x PyTorch's step (CPU time) would be, for the step's $(awk -v g="$gemm_gf" -v f="$fft_gf" 'BEGIN { printf "%.2f", g + f }') GFLOP against one core's float32 FMA peak of $fma_peak GFLOP/s (bench_deep: widest vectors, 12 chains):$needs"
if [ -n "${BENCH_RFFT:-}" ]; then
  echo
  echo "Lane FFT against FFTW 3.3.10 (r2c + c2r, n = 1600, 784 nonzero samples, per signal):"
  "$BENCH_RFFT" 1600 784 21 | awk -F, '{ t[$1 "," $2] = $5 }
    END { printf "float32: %.2f us (FFTW %.2f us, %.1fx); float64: %.2f us (FFTW %.2f us, %.1fx)\n",
      t["rfft,float32"], t["fftw-estimate,float32"], t["fftw-estimate,float32"] / t["rfft,float32"],
      t["rfft,float64"], t["fftw-estimate,float64"], t["fftw-estimate,float64"] / t["rfft,float64"] }'
fi
echo
echo "load at end $(cut -d' ' -f1-3 /proc/loadavg)"
