#!/bin/sh
# ssmsweep train: CSV per epoch, the summary, export/import of parameters
# (read back and checked by numpy), RC mode, the ridge baseline, bad input.
. "$TOP_BUILDDIR/tests/setup.sh"
common="--init s4d-inv --N 16 --dt 0.02 --tau 20 --length 256 --train 32 --val 8 --epochs 5 --batch 8 --seed 3"

if expect_status 0 "train" -- "$SSMSWEEP" train $common --export "$scratch/model.h5"; then
  [ "$(head -n 1 "$scratch/out")" = "epoch,train_loss,val_loss,seconds" ] && [ "$(wc -l < "$scratch/out")" -eq 6 ] \
    && pass "one CSV line per epoch" || fail "epoch CSV: $(cat "$scratch/out")"
  grep -q '^validation loss: ' "$scratch/err" && grep -q '^MF(tau\* = 20)' "$scratch/err" \
    && grep -q '^teacher information at init' "$scratch/err" && grep -q '^eigenvalue drift' "$scratch/err" \
    && pass "summary: loss, MF(tau*), teacher information, drift" || fail "summary: $(cat "$scratch/err")"
  cp "$scratch/out" "$scratch/first.csv"
fi
# deterministic: the same command gives the same losses
"$SSMSWEEP" train $common > "$scratch/second.csv" 2>/dev/null
cut -d, -f1-3 "$scratch/first.csv" > "$scratch/a"; cut -d, -f1-3 "$scratch/second.csv" > "$scratch/b"
cmp -s "$scratch/a" "$scratch/b" && pass "training is reproducible from the seed" || fail "two runs differ"

# the exported parameters are plain HDF5: numpy recomputes the eigenvalues
if have_python3_module h5py; then
  "$PYTHON3" - "$scratch/model.h5" <<'PY' && pass "export: numpy rebuilds lambda from the parameters" || fail "export layout"
import sys, h5py, numpy as np
with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["format"] in (b"ssmsweep-dssm-1", "ssmsweep-dssm-1")
    nr, npair = int(f.attrs["n_real"]), int(f.attrs["n_pair"])
    a = -np.exp(f["log_neg_re_a"][()]) + 1j * np.concatenate([np.zeros(nr), f["im_a"][()]])
    lam = np.exp(np.exp(f["log_dt"][0]) * a)
    got = f["lambda_re"][()] + 1j * f["lambda_im"][()]
    assert np.max(np.abs(lam - got)) < 1e-15, np.max(np.abs(lam - got))
    assert f["c"].shape == (1, nr + 2 * npair)
print("modes", nr + npair)
PY
fi
# import: starting from the exported model with zero learning rates keeps it
if expect_status 0 "import" -- "$SSMSWEEP" train $common --import "$scratch/model.h5" --lr 0 --lr-ssm 0 --weight-decay 0 \
    --export "$scratch/again.h5"; then
  if have_python3_module h5py; then
    "$PYTHON3" - "$scratch/model.h5" "$scratch/again.h5" <<'PY' && pass "import -> export round trip is exact" || fail "round trip"
import sys, h5py, numpy as np
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
for k in ("log_neg_re_a", "im_a", "log_dt", "b", "c", "d", "bias"):
    assert a[k][()].tobytes() == b[k][()].tobytes(), k
PY
  fi
fi
# RC mode keeps the eigenvalues: drift exactly 0
expect_status 0 "freeze" -- "$SSMSWEEP" train $common --freeze A,dt \
  && grep -q 'drift: max |lambda_end - lambda_init| = 0$' "$scratch/err" && pass "--freeze A,dt: no drift" \
  || fail "RC drift: $(grep drift "$scratch/err")"
# the closed-form ridge readout (RC baseline)
expect_status 0 "ridge" -- "$SSMSWEEP" train $common --ridge 1e-6 && grep -q '^validation loss: nan -> 0\.' "$scratch/err" \
  && pass "--ridge fits the readout in closed form" || fail "ridge: $(cat "$scratch/err")"
# other tasks
expect_status 0 "teacher" -- "$SSMSWEEP" train --task teacher --teacher-memory 20 --N 8 --length 200 --train 16 --val 4 \
  --epochs 2 && pass "teacher task runs"
expect_status 0 "multi" -- "$SSMSWEEP" train --task multi-delay --tau 5,10,30 --N 8 --length 200 --train 16 --val 4 \
  --epochs 2 && pass "multi-delay task runs"

# bad input: exit 2, one line naming the option
for args in "--tau 300 --length 256" "--freeze A,Z" "--task recall" "--tau 5,10" "--epochs 0" "--lr -1" \
            "--optimizer adam" "--init legs-dense" "--import $scratch/no-such.h5" "--import $TOP_SRCDIR/README.md" \
            "--warmup 2" "--tau x"; do
  "$SSMSWEEP" train $args > /dev/null 2> "$scratch/err"
  code=$?
  [ $code -eq 2 ] && [ "$(wc -l < "$scratch/err")" -eq 1 ] && pass "train $args -> $(cat "$scratch/err")" \
    || fail "train $args: exit $code, $(cat "$scratch/err")"
done
finish
