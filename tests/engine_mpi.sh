#!/bin/sh
# The engine with a kind defined only in a test program (tests/engine_kind.c,
# linked without libexperiments), on two MPI ranks; then the file's values
# as h5py sees them.  And: the engine's objects reference no experiment and
# no core symbol beyond errors and hashing (the RNG is allowed too).
. "$TOP_BUILDDIR/tests/setup.sh"

nm_out=$(nm -u "$TOP_BUILDDIR/src/libsweep.a" 2>&1) || { fail "nm on libsweep.a: $nm_out"; finish; }
bad=$(printf '%s\n' "$nm_out" | awk '$1 == "U" { print $2 }' |
      grep -E '^(ssm_|ex_|sw_kind_find$|sw_kinds$)' |
      grep -vxE 'ssm_fail|ssm_error_clear|ssm_status_name|ssm_mix64|ssm_rng_.*' | sort -u | tr '\n' ' ')
[ -z "$bad" ] && pass "libsweep.a references no experiment and no core symbol beyond errors, hashing, RNG" \
  || fail "libsweep.a references $bad"
nm "$TOP_BUILDDIR/tests/engine_kind" | grep -qE ' (T|D|R) ex_' \
  && fail "engine_kind links experiments" || pass "engine_kind links no experiment"

[ "$MPIRUN" != no ] || { echo "SKIP: mpirun not found"; exit 77; }
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# MPI runs: no LeakSanitizer exit scan (setup.sh)
without_leak_scan
if "$MPIRUN" -np 2 "$TOP_BUILDDIR/tests/engine_kind" "$scratch/poly.h5" > "$scratch/out" 2> "$scratch/err"; then
  grep -q "^ok: .* 12 tasks on 2 ranks" "$scratch/out" && pass "$(sed "s/^ok: //" "$scratch/out")" \
    || fail "engine_kind said: $(cat "$scratch/out")"
else
  fail "mpirun -np 2 engine_kind: exit $? ($(tail -5 "$scratch/err"))"
fi

if have_python3_module h5py; then
  "$PYTHON3" - "$scratch/poly.h5" <<'PY' && pass "h5py reads the kind's columns: cube, powers, status" || fail "h5py check"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
x = np.repeat([0.5, 1, -1, 1.5, 2, 3], 2)
n = np.tile([1, 4], 6)
assert f.attrs["kind"] in ("poly", b"poly")
assert f["params/x"][()].tolist() == x.tolist() and f["params/n"][()].tolist() == n.tolist()
status = f["tasks/status"][()]
assert status.tolist() == [2 if v < 0 else 1 for v in x], status
cube = f["results/cube"][()]
assert np.array_equal(cube[x >= 0], x[x >= 0] ** 3) and np.isnan(cube[x < 0]).all()
powers = f["results/powers"][()]
assert powers.shape == (12, 4)
for i in range(12):
    want = [x[i] ** k if k < n[i] and x[i] >= 0 else np.nan for k in range(4)]
    assert np.array_equal(powers[i], want, equal_nan=True), (i, powers[i], want)
PY
fi
finish
