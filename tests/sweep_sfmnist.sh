#!/bin/sh
# The sfmnist task kind end to end: a small deep S4D sweep on the real
# Fashion-MNIST files; a task killed with kill -9 after its first epoch
# resumes from its checkpoint (resumed_at > 1) and ends bit for bit where
# an uninterrupted run ends; a corrupt checkpoint is ignored, never
# trusted; bad specs and a missing dataset give one clear line.  The
# reference runs with SSMSWEEP_THREADS=auto (one process, not bound: 2
# threads on a machine of 2 or more CPUs), the corrupt-checkpoint run with
# 2 threads, the killed and resumed one bound to a core by mpirun (1
# thread): all the same bits; SSMSWEEP_THREADS=4 is refused.
. "$TOP_BUILDDIR/tests/setup.sh"
[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }
command -v setsid >/dev/null || { echo "SKIP: setsid missing"; exit 77; }
data=/usr/share/datasets/fashion-mnist
[ -f "$data/train-images-idx3-ubyte.gz" ] || { echo "SKIP: $data missing (apt-get install dataset-fashion-mnist)"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
without_leak_scan
MIN_PASSES=10

# one task, four epochs of ~0.3 s (more under ASan): time to kill it mid-way
cat > "$scratch/one.yaml" <<'YAML'
kind: sfmnist
name: checkpoint test
seed: 7
fixed: {init: s4d-lin, d_model: 12, layers: 2, N: 8, epochs: 4, subset: 1000, n_val: 200,
        test_subset: 300, batch: 25, tau_max: 300, dropout: 0.1, threshold: 0.5}
YAML
SSMSWEEP_THREADS=auto "$SSMSWEEP" run "$scratch/one.yaml" -o "$scratch/ref.h5" --quiet > "$scratch/ref.log" 2>&1 \
  || { fail "reference run: $(tail -3 "$scratch/ref.log")"; finish; }
[ ! -e "$scratch/ref.h5.ckpt" ] && pass "a finished sweep leaves no checkpoint directory" \
  || fail "checkpoints left behind: $(ls "$scratch/ref.h5.ckpt")"

compare() {   # compare A B: every /params and /results value except timings
  "$PYTHON3" - "$1" "$2" <<'PY'
import sys, h5py, numpy as np
skip = {"results/train_seconds", "results/epoch_seconds", "results/epoch_time", "results/resumed_at"}
def cols(path):
    with h5py.File(path, "r") as f:
        return {f"{g}/{n}": d[()] for g in ("params", "results") for n, d in f[g].items()}
a, b = cols(sys.argv[1]), cols(sys.argv[2])
bad = [k for k in a if k not in skip and (a[k].tobytes() if a[k].dtype.kind != "O" else list(a[k])) !=
       (b[k].tobytes() if b[k].dtype.kind != "O" else list(b[k]))]
print("differing:", bad)
sys.exit(1 if bad else 0)
PY
}
resumed_at() {
  "$PYTHON3" -c 'import sys, h5py; print(int(h5py.File(sys.argv[1], "r")["results/resumed_at"][0]))' "$1"
}

# kill -9 as soon as the first checkpoint exists, then resume
out="$scratch/killed.h5"
setsid "$MPIRUN" -np 1 "$SSMSWEEP" run "$scratch/one.yaml" -o "$out" --quiet > "$scratch/run1.log" 2>&1 &
pid=$!
i=0 bound=$((1200 * ${SSM_SLOW_FACTOR:-1}))
while [ ! -f "$out.ckpt/"*.ckpt ] 2>/dev/null && [ $i -lt $bound ] && kill -0 "$pid" 2>/dev/null; do
  sleep 0.05; i=$((i + 1))
done
pkill -9 -f "^$SSMSWEEP run .*$scratch/killed.h5" 2>/dev/null
kill -9 -"$pid" 2>/dev/null
wait "$pid" 2>/dev/null
ls "$out.ckpt/"*.ckpt > /dev/null 2>&1 && pass "a checkpoint was written after epoch 1" \
  || fail "no checkpoint appeared ($(tail -2 "$scratch/run1.log"))"
"$MPIRUN" -np 1 "$SSMSWEEP" run "$scratch/one.yaml" -o "$out" --resume --quiet > "$scratch/run2.log" 2>&1 \
  && pass "--resume completes" || fail "--resume: $(tail -3 "$scratch/run2.log")"
at=$(resumed_at "$out")
[ "$at" -gt 1 ] && pass "the task continued from its checkpoint at epoch $at" \
  || fail "the task started over (resumed_at $at)"
compare "$scratch/ref.h5" "$out" > "$scratch/cmp.txt" && pass "resumed run == uninterrupted run, bit for bit" \
  || fail "resumed run differs: $(cat "$scratch/cmp.txt")"

# a corrupt checkpoint is ignored: the task starts over and still ends the same
out="$scratch/corrupt.h5"
"$SSMSWEEP" run "$scratch/one.yaml" -o "$out" --quiet > /dev/null 2>&1
hash=$("$PYTHON3" -c 'import sys, h5py; print("%016x" % int(h5py.File(sys.argv[1], "r")["tasks/hash"][0]))' "$out")
rm -f "$out" "$out.journal"
mkdir -p "$out.ckpt"
head -c 5000 /dev/urandom > "$out.ckpt/$hash.ckpt"
SSMSWEEP_THREADS=2 "$SSMSWEEP" run "$scratch/one.yaml" -o "$out" --quiet > "$scratch/run3.log" 2>&1 \
  && [ "$(resumed_at "$out")" -eq 1 ] && pass "a corrupt checkpoint is ignored (run starts at epoch 1)" \
  || fail "corrupt checkpoint: $(tail -2 "$scratch/run3.log")"
compare "$scratch/ref.h5" "$out" > "$scratch/cmp.txt" && pass "... and the results are unchanged (2 threads)" \
  || fail "after a corrupt checkpoint: $(cat "$scratch/cmp.txt")"

# the numbers are sane: accuracy above chance on 300 test images, the
# frozen run keeps its eigenvalues
cat > "$scratch/modes.yaml" <<'YAML'
kind: sfmnist
name: modes
seed: 3
fixed: {init: s4d-inv, d_model: 8, layers: 1, N: 8, epochs: 2, subset: 600, n_val: 200, test_subset: 300, tau_max: 300}
axes:
  mode: [learned, frozen]
YAML
"$MPIRUN" -np 2 "$SSMSWEEP" run "$scratch/modes.yaml" -o "$scratch/modes.h5" --quiet > "$scratch/modes.log" 2>&1 \
  || fail "modes sweep: $(tail -3 "$scratch/modes.log")"
"$PYTHON3" - "$scratch/modes.h5" <<'PY' && pass "test accuracy above chance (0.1); frozen eigenvalues do not drift, learned ones do" \
  || fail "sanity of the sfmnist results"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
mode = [m.decode() if isinstance(m, bytes) else m for m in f["params/mode"][()]]
acc, drift = f["results/test_acc"][()], f["results/eig_drift"][()]
print(dict(zip(mode, acc)), dict(zip(mode, drift)))
ok = all(a > 0.15 for a in acc)   # chance is 0.1; 0.15 is 3 sd above it on 300 images and drift[mode.index("frozen")] == 0 and drift[mode.index("learned")] > 0
fz = mode.index("frozen")
ok &= f["results/mc_init"][fz] == f["results/mc_final"][fz]
sys.exit(0 if ok else 1)
PY

# bad input: one line, exit 2 and nothing written; a missing dataset fails the task
usage_error "4 threads" "SSMSWEEP_THREADS: expected 1, 2 or auto, got '4'" -- \
  env SSMSWEEP_THREADS=4 "$SSMSWEEP" run "$scratch/one.yaml" -o "$scratch/bad.h5" && [ ! -e "$scratch/bad.h5" ] \
  && pass "SSMSWEEP_THREADS=4 refused, nothing written: $(cat "$scratch/err")"
sed 's/init: s4d-lin/init: legs-dense/' "$scratch/one.yaml" > "$scratch/dense.yaml"
usage_error "legs-dense init" "not a diagonal family" -- "$SSMSWEEP" run "$scratch/dense.yaml" -o "$scratch/bad.h5" \
  && [ ! -e "$scratch/bad.h5" ] && pass "legs-dense refused, nothing written: $(cat "$scratch/err")"
sed 's/epochs: 4/epochs: 4, dt_min: 0.5, dt_max: 0.1/' "$scratch/one.yaml" > "$scratch/dt.yaml"
usage_error "dt range" "dt_min" -- "$SSMSWEEP" run "$scratch/dt.yaml" -o "$scratch/bad.h5" \
  && pass "dt_min > dt_max refused: $(cat "$scratch/err")"
sed 's|epochs: 4|epochs: 4, data_dir: /nonexistent|' "$scratch/one.yaml" > "$scratch/nodata.yaml"
"$SSMSWEEP" run "$scratch/nodata.yaml" -o "$scratch/nodata.h5" --quiet > /dev/null 2>&1
[ $? -eq 4 ] && "$SSMSWEEP" status "$scratch/nodata.h5" 2>&1 | grep -q "dataset-fashion-mnist" \
  && pass "a missing dataset fails the task (exit 4) naming the Debian package" \
  || fail "missing dataset: $("$SSMSWEEP" status "$scratch/nodata.h5" 2>&1 | tail -3)"
finish
