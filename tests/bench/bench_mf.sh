#!/bin/bash
# Memory-function engines against a plain numpy implementation of the same
# formulas (bench_mf.py; Debian's python3-numpy on the same OpenBLAS), side
# by side in the same run, and the fraction of OpenBLAS's own rate that the
# BLAS-bound engines reach.  Prints Markdown for the README.
# Not a test: absolute numbers drift on shared machines, the ratios hold
# better; the load average is printed so a noisy run can be recognised.
#
#   SSMSWEEP=.../src/ssmsweep BENCH_BLAS=.../tests/bench/bench_blas bench_mf.sh
# SSMSWEEP falls back to `ssmsweep` on PATH; without BENCH_BLAS the
# fraction-of-BLAS section is skipped.  REPS (default 5) sets the runs per
# case; the slowest cases use fewer to keep the whole under a few minutes.

# `make bench` runs this with $(SHELL), which need not be bash
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
export LC_ALL=C   # a decimal point in EPOCHREALTIME and in awk's output

here=$(cd "$(dirname "$0")" && pwd)
ssmsweep=${SSMSWEEP:-$(command -v ssmsweep)}
if [ ! -x "$ssmsweep" ]; then
  echo "bench_mf.sh: set SSMSWEEP to the ssmsweep binary (none on PATH)" >&2
  exit 2
fi
blas=${BENCH_BLAS:-}
# Debian's interpreter: the one that has numpy (and links the same OpenBLAS)
python=/usr/bin/python3
peer=$here/bench_mf.py
if ! "$python" -c 'import numpy' 2> /dev/null; then
  echo "bench_mf.sh: $python has no numpy (apt-get install python3-numpy)" >&2
  exit 2
fi
# one core for both sides: the comparison is of the code, not of threading
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
reps=${REPS:-5}
model=(--init s4d-inv --dt 0.01)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
started=${EPOCHREALTIME/./}

# microseconds -> seconds with 3 decimals
secs() { awk -v u="$1" 'BEGIN { printf "%.3f", u / 1e6 }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
field() { sed -n "s/^$1 = \\([^ ]*\\).*/\\1/p" "$2"; }   # `key = value` lines

# ours RUNS ARGS...: ssmsweep mf ARGS, RUNS times.  Sets o_us (median wall,
# µs: EPOCHREALTIME, since /usr/bin/time's %e has only 10 ms resolution),
# o_rss (peak RSS, KiB), o_mc and o_rank (of the last run).  The wall time
# includes process start-up and writing the CSV, both small but not zero.
ours() {
  local runs=$1 walls=() t0 rss i
  shift
  o_rss=0
  for ((i = 0; i < runs; ++i)); do
    t0=${EPOCHREALTIME/./}
    if ! /usr/bin/time -f %M -o "$work/rss" "$ssmsweep" mf "$@" > /dev/null 2> "$work/err"; then
      echo "bench_mf.sh: ssmsweep mf $* failed:" >&2
      cat "$work/err" >&2
      exit 1
    fi
    walls+=($((${EPOCHREALTIME/./} - t0)))
    rss=$(tail -1 "$work/rss")
    ((rss > o_rss)) && o_rss=$rss
  done
  o_us=$(printf '%s\n' "${walls[@]}" | median)
  o_mc=$(field MC "$work/err")
  o_rank=$(field rank "$work/err")
}

# peer RUNS ARGS...: bench_mf.py ARGS, RUNS repetitions in one process.
# Sets p_us (median, timed in-process: interpreter start-up and the numpy
# import are not counted, which favours numpy), p_rss, p_mc, p_rate.
peer() {
  local runs=$1
  shift
  if ! /usr/bin/time -f %M -o "$work/rss" "$python" "$peer" "$@" --reps "$runs" > "$work/peer" 2>&1; then
    echo "bench_mf.sh: bench_mf.py $* failed:" >&2
    cat "$work/peer" >&2
    exit 1
  fi
  p_us=$(awk -v s="$(field time "$work/peer")" 'BEGIN { printf "%d", s * 1e6 }')
  p_rss=$(tail -1 "$work/rss")
  p_mc=$(field MC "$work/peer")
  p_rate=$(field rate "$work/peer")
}

# row LABEL: one table line from the last ours and peer
row() {
  awk -v l="$1" -v o="$o_us" -v p="$p_us" -v mo="$o_mc" -v mp="$p_mc" -v ro="$o_rss" -v rp="$p_rss" 'BEGIN {
    printf "| %s | %.3f s | %.3f s | %.1fx | %.12g | %.12g | %.0f / %.0f MiB |\n",
      l, o / 1e6, p / 1e6, p / o, mo, mp, ro / 1024, rp / 1024 }'
}

echo "## Memory-function engines against numpy"
echo
echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(getconf _NPROCESSORS_ONLN) cores online;" \
  "load average at start $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%d)"
echo "- OpenBLAS $(dpkg-query -W -f '${Version}' libopenblas0-pthread 2> /dev/null || echo '?')" \
  "(core: $(OPENBLAS_VERBOSE=2 "$ssmsweep" mf --help 2>&1 > /dev/null | sed -n 's/^Core: //p')) for both;" \
  "numpy $("$python" -c 'import numpy; print(numpy.__version__)'); 1 thread unless stated"
echo "- S4D-Inv, dt = 0.01, ZOH; time = median of $reps runs (fewer where marked);" \
  "ssmsweep timed per process, numpy in-process (start-up and import excluded)"
echo "- ratio = numpy / ssmsweep: above 1, ssmsweep is faster"
echo
echo "| case | ssmsweep time | numpy time | ratio | MC ssmsweep | MC numpy | peak RSS ssmsweep / numpy |"
echo "|---|---|---|---|---|---|---|"

declare -A np_us np_mc np_rss an_us an_rank
for n in 64 256 1024; do
  ours "$reps" "${model[@]}" --N $n --method analytic --tau-max 10000
  peer $((n < 1024 ? reps : 3)) analytic $n 10000
  label="analytic N=$n, tau_max=10000"
  ((n == 1024)) && label+=" (numpy 3 runs)"
  row "$label"
  an_us[$n]=$o_us an_rank[$n]=$o_rank np_us[$n]=$p_us np_mc[$n]=$p_mc np_rss[$n]=$p_rss
done
# The blaschke engine computes the same infinite-sequence MF; numpy has no
# counterpart, so it is compared with the numpy analytic runs above.
for n in 64 256 1024; do
  ours "$reps" "${model[@]}" --N $n --method blaschke --tau-max 10000
  p_us=${np_us[$n]} p_mc=${np_mc[$n]} p_rss=${np_rss[$n]}
  row "blaschke N=$n, tau_max=10000 (numpy: analytic)"
done
ours "$reps" "${model[@]}" --N 256 --method finite --T 4096 --tau-max 4095
peer "$reps" finite 256 4095 4096
row "finite N=256, T=4096, tau_max=4095"

# Simulation: the same streaming least squares on both sides, but different
# random inputs, so the MCs agree only to sampling error; the infinite-T
# value is the analytic MC up to the same tau_max.
declare -A sim_us sim_rss sim_np_rss sim_rate
for t in 10000 100000 1000000; do
  runs=$((t < 1000000 ? reps : 3))
  ours "$runs" "${model[@]}" --N 256 --method simulate --T $t --tau-max 256
  sim_us[$t]=$o_us sim_rss[$t]=$o_rss
  peer $((t < 1000000 ? 3 : 1)) simulate 256 256 $t
  sim_rate[$t]=$p_rate sim_np_rss[$t]=$p_rss
  label="simulate N=256, T=$t, tau_max=256"
  if ((t < 1000000)); then label+=" (numpy 3 runs)"; else label+=" (3 runs, numpy 1)"; fi
  row "$label"
done
ours 1 "${model[@]}" --N 256 --method analytic --tau-max 256
sim_ref=$o_mc

# Threads: only the analytic engine has enough BLAS work to use a second core.
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 ours "$reps" "${model[@]}" --N 1024 --method analytic --tau-max 10000
OPENBLAS_NUM_THREADS=2 OMP_NUM_THREADS=2 peer 3 analytic 1024 10000
row "analytic N=1024, tau_max=10000, **2 threads** (numpy 3 runs)"
two_us=$o_us two_np_us=$p_us
echo
awk -v o1="${an_us[1024]}" -v o2="$two_us" -v p1="${np_us[1024]}" -v p2="$two_np_us" 'BEGIN {
  printf "Second thread, analytic N = 1024: ssmsweep %.2fx, numpy %.2fx faster than with one.\n", o1 / o2, p1 / p2 }'
echo
echo "Simulation reference: analytic (T = ∞) MC up to tau_max = 256 is $(awk -v m="$sim_ref" 'BEGIN { printf "%.6f", m }');" \
  "numpy simulates at $(awk -v r="${sim_rate[100000]}" 'BEGIN { printf "%.3g", r }') samples/s (T = 1e5)," \
  "ssmsweep at $(awk -v t=100000 -v u="${sim_us[100000]}" 'BEGIN { printf "%.3g", t / (u / 1e6) }') samples/s (both including the washout)."
echo

echo "### Simulation memory is flat in T (N = 256, tau_max = 256)"
echo
echo "| T | ssmsweep wall | ssmsweep peak RSS | numpy peak RSS |"
echo "|---|---|---|---|"
for t in 10000 100000 1000000; do
  echo "| $t | $(secs "${sim_us[$t]}") s | $((sim_rss[$t] / 1024)) MiB | $((sim_np_rss[$t] / 1024)) MiB |"
done
echo

if [ -z "$blas" ]; then
  echo "(BENCH_BLAS not set: fraction of the BLAS rate skipped)"
  exit 0
fi
echo "### Fraction of OpenBLAS's rate (1 thread)"
echo
"$blas" > "$work/blas.csv" || exit 1
# the rate of the shape whose description ends with $1 (its role)
gflops() { awk -F, -v s="$1" 'substr($2, length($2) - length(s) + 1) == s { print $3 }' "$work/blas.csv"; }
echo "Analytic engine: its dominant kernel is one dgemm (rank x N) x (N x 512) per block of"
echo "512 delays, 2 rank N (tau_max + 1) flops in all.  Its time is the full run minus a"
echo "--tau-max 0 run (Gram matrix, eigendecomposition, start-up); what is left also"
echo "includes generating the responses, the column norms and the CSV, so the fraction is"
echo "a lower bound for the dgemm itself."
echo
echo "| N | rank | full run | setup (tau_max = 0) | dgemm part | achieved | OpenBLAS, same shape | fraction |"
echo "|---|---|---|---|---|---|---|---|"
for n in 256 1024; do
  ours "$reps" "${model[@]}" --N $n --method analytic --tau-max 0
  awk -v n=$n -v r="${an_rank[$n]}" -v f="${an_us[$n]}" -v s="$o_us" -v p="$(gflops "analytic N=$n")" 'BEGIN {
    t = (f - s) / 1e6; g = 2 * r * n * 10001 / t / 1e9
    printf "| %d | %d | %.3f s | %.3f s | %.3f s | %.1f GFLOP/s | %.1f GFLOP/s | %.0f%% |\n",
      n, r, f / 1e6, s / 1e6, t, g, p, 100 * g / p }'
done
echo
echo "Simulate engine (N = 256, T = 1e6, tau_max = 256): per sample one dsyrk row update"
echo "(N (N + 1) flops) and one dgemm row (2 N (tau_max + 1) flops), blocks of 512 rows;"
echo "the fraction is the time those would take at OpenBLAS's rates over the wall time"
echo "(which also includes the state recursion and the washout)."
echo
awk -v u="${sim_us[1000000]}" -v rs="$(gflops "simulate N=256")" -v rg="$(gflops "simulate N=256 tau_max=256")" 'BEGIN {
  n = 256; k = 257; t = 1e6
  ideal = t * n * (n + 1) / (rs * 1e9) + t * 2 * n * k / (rg * 1e9)
  printf "%.3f s at the BLAS rates (dsyrk %.1f, dgemm %.1f GFLOP/s) against %.3f s: %.0f%%.\n",
    ideal, rs, rg, u / 1e6, 100 * ideal / (u / 1e6) }'
echo
echo "OpenBLAS rates on this machine (bench_blas, median of 7):"
echo
echo "| kernel | shape | GFLOP/s |"
echo "|---|---|---|"
tail -n +2 "$work/blas.csv" | awk -F, '{ printf "| %s | %s | %s |\n", $1, $2, $3 }'
echo
echo "Total benchmark time: $(secs $((${EPOCHREALTIME/./} - started))) s"
