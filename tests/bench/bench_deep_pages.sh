#!/bin/bash
# The controlled experiment behind issue 14's "unstable in-task step": the
# same binary runs the same one-epoch sfmnist task (H 64, N 64, 4 layers,
# batch 50, subset 2000: 40 steps, no validation, one thread) alternately
# with glibc's malloc on 4 KiB pages (as always) and with
# GLIBC_TUNABLES=glibc.malloc.hugetlb=1, which makes malloc advise
# transparent huge pages (2 MiB) for every mapping it creates -- nothing
# else changes: same code, same data, same arithmetic (the results are
# compared bit for bit).  Prints per run the epoch's wall time, the
# process's user CPU time and the THP memory the process used.
# The experiment is about the binary of commit e7472df (342 MiB of
# activations streamed per pass, all in 4 KiB pages); since 0b4c85e the
# step works on 6 MiB per sequence in one arena that asks for 2 MiB pages
# itself, so both arms then run the same way.
# usage: SSMSWEEP=path/to/ssmsweep bench_deep_pages.sh [runs per arm, 4]
set -u
ssmsweep=${SSMSWEEP:?set SSMSWEEP to the ssmsweep binary}
runs=${1:-4}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export OPENBLAS_NUM_THREADS=1
cat > "$work/spec.yaml" <<'SPEC'
kind: sfmnist
name: page-size experiment
seed: 1
fixed: {init: s4d-lin, N: 64, d_model: 64, layers: 4, batch: 50, epochs: 1, subset: 2000, n_val: 0, test_subset: 50, lr: 0.004, tau_max: 100}
SPEC
echo "## Page size of the activations: same binary, same task, alternating (subset 2000, 40 steps)"
echo
echo "machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc --all) cores; load $(cut -d' ' -f1-3 /proc/loadavg); $(date -u +%Y-%m-%dT%H:%MZ)"
echo
echo "| run | pages | epoch wall time | per step | user CPU of the process | AnonHugePages peak |"
echo "|---|---|---|---|---|---|"
ref=""
for r in $(seq 1 "$runs"); do
  for arm in 4k huge; do
    [ $((r % 2)) -eq 0 ] && arm=$([ "$arm" = 4k ] && echo huge || echo 4k)   # alternate which arm goes first
    tun=""; [ "$arm" = huge ] && tun=glibc.malloc.hugetlb=1
    rm -rf "$work/o.h5" "$work/o.h5".*
    GLIBC_TUNABLES=$tun /usr/bin/time -f %U -o "$work/cpu" "$ssmsweep" run "$work/spec.yaml" -o "$work/o.h5" --quiet &
    pid=$!; thp=0
    while kill -0 $pid 2>/dev/null; do
      child=$(pgrep -P $pid | head -1)
      if [ -n "$child" ]; then
        v=$(awk '/^AnonHugePages/ { print $2 }' /proc/$child/smaps_rollup 2>/dev/null)
        [ -n "$v" ] && [ "$v" -gt "$thp" ] && thp=$v
      fi
      sleep 0.5
    done
    wait $pid || { echo "run failed"; exit 1; }
    t=$(h5dump -d /results/epoch_time "$work/o.h5" | sed -n 's/.*(0,0): //p')
    acc=$(/usr/bin/python3 -c 'import h5py, sys; print(repr(float(h5py.File(sys.argv[1], "r")["results/test_loss"][0])))' "$work/o.h5")
    [ -z "$ref" ] && ref=$acc
    [ "$acc" = "$ref" ] || { echo "results differ between arms: $acc vs $ref"; exit 1; }
    awk -v r="$r" -v a="$arm" -v t="$t" -v c="$(cat "$work/cpu")" -v h="$thp" \
      'BEGIN { printf "| %d | %s | %.2f s | %.3f s | %.2f s | %.0f MiB |\n", r, a == "4k" ? "4 KiB" : "2 MiB (THP)", t, t / 40, c, h / 1024 }'
  done
done
echo
echo "test loss identical in every run: $ref"
