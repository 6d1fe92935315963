#!/bin/sh
# The results file as its users see it: h5dump reads it; h5py finds the
# values, the NaN fill, the strings and the dimension scales; xarray (the
# h5netcdf engine) sees task and tau as coordinates, selects by task and
# by parameter value.  The sample is an mf sweep written by hand by
# `test_h5out --write` (write_mf_sample in tests/test_h5out.c says what it
# holds): 12 tasks, init cycling s4d-inv lin s4d-lin, tau_max 5 + id % 4,
# tasks 4 and 7 failed, 10 and 11 pending, task 5 with a curve of 3.
. "$TOP_BUILDDIR/tests/setup.sh"

sample="$scratch/sample.h5"
if ! "$TOP_BUILDDIR/tests/test_h5out" --write "$sample" 2> "$scratch/err"; then
  fail "test_h5out --write: $(cat "$scratch/err")"
  finish
fi
pass "sample written"

if command -v h5dump > /dev/null 2>&1; then
  h5dump -H "$sample" > "$scratch/header" 2> "$scratch/err" && pass "h5dump -H reads the file" \
    || fail "h5dump -H: $(head -c 300 "$scratch/err")"
  grep -q 'DATASET "mf"' "$scratch/header" && grep -q 'DATASET "tau"' "$scratch/header" \
    && pass "h5dump lists /results/mf and its scale /results/tau" || fail "h5dump: mf or tau missing"
  h5dump -a /provenance/spec "$sample" 2> /dev/null | grep -q "the spec, verbatim" \
    && pass "h5dump: /provenance/spec holds the spec" || fail "h5dump: spec text missing from /provenance"
else
  echo "note: h5dump not found (Debian: hdf5-tools), not run"
fi

have_python3_module h5py || { echo "SKIP: Debian's python3-h5py is missing"; exit 77; }

"$PYTHON3" - "$sample" <<'PY' && pass "h5py: values, NaN fill, strings, scales, attributes" || fail "h5py read-back"
import sys, math
import h5py, numpy as np

inits = ["s4d-inv", "lin", "s4d-lin"]
failed, pending = {4, 7}, {10, 11}
def curve_len(i): return 3 if i == 5 else 5 + i % 4 + 1

with h5py.File(sys.argv[1], "r") as f:
    assert f.attrs["kind"] == "mf" and f.attrs["n_tasks"] == 12, dict(f.attrs)
    assert f.attrs["Conventions"] == "CF-1.8" and len(f.attrs["spec_hash"]) == 16
    status = f["tasks/status"][()]
    want = [2 if i in failed else 0 if i in pending else 1 for i in range(12)]
    assert status.tolist() == want, status
    assert f["tasks/status"].attrs["flag_meanings"] == "pending done failed"
    assert f["params/init"].asstr()[()].tolist() == [inits[i % 3] for i in range(12)]
    assert f["params/tau_max"][()].tolist() == [5 + i % 4 for i in range(12)]
    mc, mf = f["results/mc"][()], f["results/mf"][()]
    assert mf.shape == (12, 9) and f["results/tau"][()].tolist() == list(range(9))
    for i in range(12):
        if want[i] == 1:
            assert mc[i] == 10 * i, (i, mc[i])
            n = curve_len(i)
            assert np.array_equal(mf[i, :n], 10 * i + np.arange(n) / 8), (i, mf[i])
            assert np.isnan(mf[i, n:]).all(), (i, mf[i])
        else:
            assert math.isnan(mc[i]) and np.isnan(mf[i]).all(), i
    host = [h.decode() for h in f["tasks/host"][()]]
    error = [e.decode() for e in f["tasks/error"][()]]
    assert host[3] == "node003" and host[10] == "" and f["tasks/rank"][10] == -1, host
    assert error[4] == "memory function is not finite" and error[0] == "", error
    for name in ("results/mc", "results/mf", "params/init", "tasks/host"):
        assert f[name].attrs["units"] and f[name].attrs["long_name"], name
    # dimension scales: dimension 0 on the group's task, 1 on tau
    assert f["results/mf"].dims[0][0].name == "/results/task"
    assert f["results/mf"].dims[1][0].name == "/results/tau"
    assert f["params/N"].dims[0][0].name == "/params/task"
    prov = f["provenance"].attrs
    assert (prov["n_done"], prov["n_failed"], prov["n_pending"]) == (8, 2, 2), dict(prov)
    assert "the spec, verbatim" in prov["spec"] and prov["end_utc"]
print("h5py: 12 tasks, 8 done, 2 failed, 2 pending, as written")
PY

if have_python3_module xarray && have_python3_module h5netcdf; then
  "$PYTHON3" - "$sample" <<'PY' && pass "xarray: task and tau are coordinates; select by task and by parameter" \
    || fail "xarray read-back"
import sys, warnings
import numpy as np, xarray as xr

# xarray warns when it casts the NaN of a pending task's finish time to NaT
warnings.filterwarnings("ignore", "invalid value encountered in cast", RuntimeWarning)
path = sys.argv[1]
params = xr.open_dataset(path, engine="h5netcdf", group="params")
results = xr.open_dataset(path, engine="h5netcdf", group="results")
tasks = xr.open_dataset(path, engine="h5netcdf", group="tasks")
for ds in (params, results, tasks):
    assert "task" in ds.coords and ds.indexes["task"].tolist() == list(range(12)), ds
assert "tau" in results.coords and results.sizes["tau"] == 9, results

ds = xr.merge([params, results])
sel = ds.where(ds.init == "s4d-inv", drop=True)
assert sel.task.values.tolist() == [0, 3, 6, 9] and sel.mc.values.tolist() == [0, 30, 60, 90], sel.mc
curve = ds.mf.sel(task=5)
assert np.array_equal(curve.values[:3], [50, 50.125, 50.25]) and np.isnan(curve.values[3:]).all(), curve
assert float(ds.mf.sel(task=2, tau=4)) == 20.5
assert ds.sel(task=[9, 3]).mc.values.tolist() == [90, 30]

# /tasks: strings decoded, finished as dates (NaT while pending); its MPI
# "rank" clashes with mf's result "rank", hence the rename
assert tasks.host.values[3] == "node003" and tasks.error.values[7] == "memory function is not finite"
assert np.issubdtype(tasks.finished.dtype, np.datetime64) and np.isnat(tasks.finished.values[11])
full = xr.merge([params, results, tasks.rename(rank="mpi_rank")])
done = full.where(full.status == 1, drop=True)
assert done.sizes["task"] == 8 and not np.isnan(done.mc.values).any()
mean_mc = full.mc.groupby(full.init).mean().to_series().round(6).to_dict()
assert mean_mc == {"lin": 10.0, "s4d-inv": 45.0, "s4d-lin": 50.0}, mean_mc

prov = xr.open_dataset(path, engine="h5netcdf", group="provenance")
assert prov.attrs["n_done"] == 8 and "the spec, verbatim" in prov.attrs["spec"]
print("xarray:", dict(results.sizes), "s4d-inv MC", sel.mc.values.tolist(), "mean MC by init", mean_mc)
PY
else
  echo "note: python3-xarray or python3-h5netcdf missing, xarray checks not run"
fi
finish
