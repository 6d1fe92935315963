"""pytest tests of ssmsweep.open_sweep and open_sweeps (analysis/ssmsweep)
on files the real ssmsweep binary (SSMSWEEP) writes: grid, range, zip and
repeat specs; shards, a merge, a partial merge and a file a sweep is still
writing (SWMR); every value checked against the flat file row by row,
read independently with h5py."""
import os
import signal
import subprocess
import time

import h5py
import numpy as np
import pytest

import ssmsweep

SSMSWEEP = os.environ.get("SSMSWEEP", "ssmsweep")

# 3 x 3 x 2 x 2 = 36 tasks: a list, a log range rounded to integers, a zip
# group, repeats; random spectra differ between repeats
GRID_SPEC = """kind: mf
name: grid
seed: 4
repeats: 2
fixed: {method: finite}
axes:
  init: [s4d-inv, random, step]
  N: {from: 4, to: 16, num: 3, scale: log}
zip:
  - {T: [40, 80], tau_max: [30, 60]}
"""


SMALL_SPEC = "kind: mf\nname: small\nfixed: {tau_max: 20}\naxes:\n  init: [s4d-inv, random]\n  N: [4, 8]\n"
SPACING_SPEC = "kind: mf\nname: spacing\nfixed: {tau_max: 40, N: 8}\naxes:\n  init: [s4d-inv]\n  dt: [0.01, 0.1]\n"
TRAIN_SPEC = """kind: train
repeats: 2
fixed: {N: 4, length: 32, delay: 3, n_train: 4, n_val: 2, epochs: 2, batch: 2}
axes:
  freeze: [none, 'A,dt']
"""
# name -> (spec, extra arguments of run, its exit status); all run at once
# (each run's MPI start-up takes most of its time)
SWEEPS = {
    "grid": (GRID_SPEC, (), 0),
    **{f"grid.shard{k}of3": (GRID_SPEC, ("--shard", f"{k}/3"), 0) for k in range(3)},
    "fails": ("kind: noop\nrepeats: 2\naxes:\n  fail: [0, 1]\n  value: [1.5, 2]\n", (), 4),
    "small": (SMALL_SPEC, (), 0),
    "spacing": (SPACING_SPEC, (), 0),
    "noop": ("kind: noop\naxes:\n  value: [1, 2]\n", (), 0),
    "other": ("kind: mf\naxes:\n  N: [4, 8]\n", (), 0),
    "train": (TRAIN_SPEC, (), 0),
}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("xr")
    runs = {}
    for name, (spec, extra, status) in SWEEPS.items():
        (tmp / f"{name}.yaml").write_text(spec)
        out = tmp / f"{name}.h5"
        runs[name] = (out, status, subprocess.Popen([SSMSWEEP, "run", str(tmp / f"{name}.yaml"), "-o", str(out),
                                                     "--quiet", *extra], stderr=subprocess.PIPE, text=True))
    for name, (out, status, proc) in runs.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == status, (name, err)
    paths = {name: out for name, (out, _, _) in runs.items()}
    paths["tmp"] = tmp
    return paths


@pytest.fixture(scope="module")
def grid(files):
    return files["grid"]


@pytest.fixture(scope="module")
def shards(files):
    return [files[f"grid.shard{k}of3"] for k in range(3)]


@pytest.fixture(scope="module")
def tmp(files):
    return files["tmp"]


def text(x):
    return x.decode() if isinstance(x, bytes) else x


def flat_file(path):
    """The file's columns, read with h5py alone."""
    with h5py.File(path, "r") as f:
        params = {k: f["params"][k][()] for k in f["params"] if k != "task"}
        results = {k: f["results"][k][()] for k in f["results"]
                   if k not in ("task", "tau", "mode") and f["results"][k].shape[0] == len(f["tasks/status"])}
        tasks = {k: f["tasks"][k][()] for k in f["tasks"] if k != "task"}
        ids = f["tasks/task"][()]
        spec = f["provenance"].attrs["spec"]
    params = {k: np.array([text(x) for x in v]) if v.dtype.kind in "OS" else v for k, v in params.items()}
    return ids, params, results, tasks, text(spec)


def same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f" or b.dtype.kind == "f":
        return np.array_equal(a.astype(float), b.astype(float), equal_nan=True)
    return np.array_equal(a, b)


def check_rows(ds, path, absent_ok=False):
    """Every row of the file, looked up in ds by its parameter values (the
    coordinates: not the index arithmetic open_sweep uses), holds the
    file's results and bookkeeping; the zip group's T selects its cell."""
    ids, params, results, tasks, _ = flat_file(path)
    for i, t in enumerate(ids):
        where = {"init": params["init"][i], "N": params["N"][i], "repeat": params["repeat"][i]}
        cell = ds.sel(where)
        cell = cell.isel(T_tau_max=int(np.where(cell["T"].values == params["T"][i])[0][0]))
        assert int(cell["task"]) == t
        assert cell["tau_max"] == params["tau_max"][i]
        done = tasks["status"][i] == 1
        for name, column in results.items():
            want = column[i] if done else np.full_like(column[i], np.nan, dtype=float)
            got = cell[name].values
            if got.shape != np.shape(want):   # curves: ds holds the longest over the sweep
                assert np.isnan(got[np.shape(want)[0]:]).all()
                got = got[:np.shape(want)[0]]
            assert same(got, want), (name, t, got, want)
        assert int(cell["task_status"]) == tasks["status"][i]
        assert int(cell["task_rank"]) == tasks["rank"][i]
        assert cell["task_host"].item() == text(tasks["host"][i]).rstrip("\0")
        assert same(cell["task_elapsed"], tasks["elapsed"][i])
        assert int(cell["task_hash"]) == tasks["hash"][i]
    n_cells = int(np.prod([ds.sizes[d] for d in ds["task"].dims]))
    assert int((ds["task"] >= 0).sum()) == len(ids)
    if not absent_ok:
        assert len(ids) == n_cells


def test_grid_dims_and_coords(grid):
    ds = ssmsweep.open_sweep(grid)
    assert ds["task"].dims == ("init", "N", "T_tau_max", "repeat")
    assert dict(ds.sizes) == {"init": 3, "N": 3, "T_tau_max": 2, "repeat": 2, "tau": 61, "mode": 16}
    assert list(ds.init.values) == ["s4d-inv", "random", "step"]
    assert list(ds.N.values) == [4, 8, 16] and ds.N.dtype.kind == "i"
    assert list(ds["T"].values) == [40, 80] and ds["T"].dims == ("T_tau_max",)
    assert list(ds.tau_max.values) == [30, 60] and ds.tau_max.dims == ("T_tau_max",)
    assert list(ds.repeat.values) == [0, 1]
    # the fixed parameters: scalar coordinates
    assert ds.method.ndim == 0 and ds.method.item() == "finite"
    assert ds.dt.ndim == 0 and float(ds.dt) == 0.01
    assert ds.mf.dims == ("init", "N", "T_tau_max", "repeat", "tau")
    # the name clash of the flat file: the result rank and the MPI rank
    assert ds["rank"].attrs["long_name"].startswith("numerical rank")
    assert "MPI rank" in ds["task_rank"].attrs["long_name"]
    # spec and provenance in attrs
    assert ds.attrs["spec"] == flat_file(grid)[4] and ds.attrs["kind"] == "mf" and ds.attrs["title"] == "grid"
    assert "git_describe" in ds.attrs and "spec_hash" in ds.attrs
    # a selection by parameter values: the cells are in task order
    assert int(ds.task.sel(init="random", N=8, repeat=1).isel(T_tau_max=0)) == 1 * 12 + 1 * 4 + 0 * 2 + 1


def test_grid_values_row_by_row(grid):
    check_rows(ssmsweep.open_sweep(grid), grid)


def test_curve_beyond_tau_max_is_nan(grid):
    ds = ssmsweep.open_sweep(grid)
    short = ds.mf.isel(T_tau_max=0)
    assert np.isnan(short.sel(tau=slice(31, None))).all() and np.isfinite(short.sel(tau=slice(0, 30))).all()


def test_flat(grid):
    ds = ssmsweep.open_sweep(grid, flat=True)
    ids, params, results, tasks, _ = flat_file(grid)
    assert ds.mc.dims == ("task",) and list(ds.task.values) == list(ids)
    assert same(ds.mc, results["mc"]) and same(ds.N, params["N"]) and list(ds.init.values) == list(params["init"])
    assert same(ds.task_rank, tasks["rank"]) and ds.mf.dims == ("task", "tau")


def test_shard_file_is_the_whole_grid(grid, shards):
    full = ssmsweep.open_sweep(grid)
    ds = ssmsweep.open_sweep(shards[1])
    assert dict(ds.sizes) == dict(full.sizes)
    for d in ("init", "N", "T", "tau_max", "repeat"):
        assert same(ds[d], full[d])
    check_rows(ds, shards[1], absent_ok=True)
    mine = (ds.task >= 0).values
    assert mine.sum() == 12 and (ds.task.values[mine] % 3 == 1).all()
    assert (ds.task_status.values[~mine] == ssmsweep.ABSENT).all()
    assert np.isnan(ds.mc.values[~mine]).all()
    assert same(ds.mc.where(mine), full.mc.where(mine))


def test_shards_together_and_merged_equal_the_full_run(tmp, grid, shards):
    full = ssmsweep.open_sweep(grid)
    joined = ssmsweep.open_sweep(shards)
    merged = tmp / "merged.h5"
    r = subprocess.run([SSMSWEEP, "merge", *map(str, shards), "-o", str(merged)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    for ds in (joined, ssmsweep.open_sweep(merged)):
        for name in ("mc", "rank", "mf", "eig_re", "task", "task_status", "task_hash"):
            assert same(ds[name], full[name]), name
    check_rows(ssmsweep.open_sweep(merged), merged)


def test_partial_merge_has_pending_cells(tmp, shards):
    part = tmp / "part.h5"
    r = subprocess.run([SSMSWEEP, "merge", str(shards[0]), str(shards[2]), "-o", str(part)],
                       capture_output=True, text=True)
    assert r.returncode == 3, r.stderr   # a shard missing: resume me
    ds = ssmsweep.open_sweep(part)
    check_rows(ds, part)
    pending = (ds.task_status == 0).values
    assert pending.sum() == 12 and ((ds.task.values % 3 == 1) == pending).all()
    assert np.isnan(ds.mc.values[pending]).all() and np.isfinite(ds.mc.values[~pending]).all()


def test_failed_tasks_are_nan(files):
    path = files["fails"]
    ds = ssmsweep.open_sweep(path)
    assert ds.square.dims == ("fail", "value", "repeat")
    assert (ds.task_status.sel(fail=1) == 2).all() and ds.square.sel(fail=1).isnull().all()
    assert (ds.task_error.sel(fail=1) != "").all()
    assert same(ds.square.sel(fail=0, repeat=0), [2.25, 4.0])


def test_uncommitted_rows_are_pending(files, tmp):
    """A row whose results reached the file but not its status (the writer
    commits the status last; a kill can fall between) reads pending: NaN."""
    import shutil
    path = tmp / "uncommitted.h5"
    shutil.copy(files["small"], path)
    with h5py.File(path, "r+") as f:
        f["tasks/status"][1] = 0
        f["tasks/status"][2] = 0
        mc = f["results/mc"][()]
    assert np.isfinite(mc).all()
    flat = ssmsweep.open_sweep(path, flat=True)
    pending = flat.task_status.values == 0
    assert pending.tolist() == [False, True, True, False]
    assert np.isnan(flat.mc.values[pending]).all() and np.isnan(flat.mf.values[pending]).all()
    assert same(flat.mc.values[~pending], mc[~pending])


def test_running_file_swmr(tmp):
    """A sweep still writing its file: opened in SWMR mode, the done tasks
    there, the rest pending and NaN."""
    spec = tmp / "slow.yaml"
    # 400 tasks of 0.25 s: 100 s to catch it running (the test stops it once seen), also under
    # the sanitizers at load 8, where one open_sweep took more than the 10 s of 40 tasks
    spec.write_text("kind: noop\nfixed: {sleep: 0.25, length: 3}\naxes:\n  value: {from: 0, to: 399, num: 400}\n")
    out = tmp / "slow.h5"
    writer = subprocess.Popen([SSMSWEEP, "run", str(spec), "-o", str(out), "--quiet", "--sync", "0.05"])
    try:
        deadline = time.time() + 60
        ds = None
        while time.time() < deadline:
            time.sleep(0.3)
            if not os.path.exists(out):
                continue
            ds = ssmsweep.open_sweep(out)
            if 0 < int((ds.task_status == 1).sum()) < 400:
                break
        assert writer.poll() is None, "the sweep ended before it could be seen running"
        done = ds.task_status == 1
        assert 0 < int(done.sum()) < 400
        assert same(ds.square.where(done), (ds.value ** 2).where(done))
        assert ds.square.where(~done).isnull().all() and (ds.task_status.values[~done.values] == 0).all()
    finally:
        writer.send_signal(signal.SIGTERM)
        writer.wait(timeout=30)


def test_open_sweeps(files):
    a, b = files["small"], files["spacing"]
    ds = ssmsweep.open_sweeps([a, b])
    assert list(ds.sweep.values) == ["small", "spacing"]
    assert set(ds.mc.dims) == {"sweep", "init", "N", "dt"}
    assert list(ds.N.values) == [4, 8] and list(ds.dt.values) == [0.01, 0.1]
    one, two = ssmsweep.open_sweep(a), ssmsweep.open_sweep(b)
    assert same(ds.mc.sel(sweep="small", dt=0.01, init=["s4d-inv", "random"]), one.mc)
    assert same(ds.mc.sel(sweep="spacing", N=8, init="s4d-inv"), two.mc.sel(init="s4d-inv"))
    assert ds.mc.sel(sweep="small", dt=0.1).isnull().all()   # not in that sweep
    assert ds.mf.sizes["tau"] == 41 and ds.mf.sel(sweep="small", tau=slice(21, None)).isnull().all()
    assert list(ds.spec_hash.dims) == ["sweep"]
    noop = files["noop"]
    with pytest.raises(ValueError, match="different kinds"):
        ssmsweep.open_sweeps([a, noop])


def test_another_sweeps_shard_is_refused(grid, files):
    other = files["other"]
    with pytest.raises(ValueError, match="another sweep"):
        ssmsweep.open_sweep([grid, other])


def test_train_curves_over_epochs(files):
    path = files["train"]
    ds = ssmsweep.open_sweep(path)
    assert ds.val_loss.dims == ("freeze", "repeat", "epoch")
    assert list(ds.freeze.values) == ["none", "A,dt"]
    ids, params, results, tasks, _ = flat_file(path)
    for i, t in enumerate(ids):
        cell = ds.sel(freeze=params["freeze"][i], repeat=params["repeat"][i])
        assert same(cell.val_loss, results["val_loss"][i]) and int(cell.task) == t


def test_v01_file_reads_like_a_fresh_one(tmp):
    """A file of ssmsweep 0.1 (variable-length strings, no attribute axes)
    opens as a fresh run of its spec does (fixed-length strings): the same
    dims, coordinates and values."""
    top = os.environ["TOP_SRCDIR"]
    old = tmp / "v01-smoke.h5"
    old.write_bytes(open(os.path.join(top, "tests/ref/v0.1/smoke.h5"), "rb").read())
    fresh = tmp / "fresh-smoke.h5"
    subprocess.run([SSMSWEEP, "run", os.path.join(top, "jobs/examples/smoke.yaml"), "-o", str(fresh), "--quiet"],
                   check=True)
    with h5py.File(old, "r") as f_old, h5py.File(fresh, "r") as f_new:
        strings = [k for k in f_new["params"] if f_new["params"][k].dtype.kind == "S"]
        assert strings and all(h5py.check_string_dtype(f_old["params"][k].dtype).length is None for k in strings)
        assert all(f_new["params"][k].attrs["_Encoding"] == "utf-8" for k in strings)
        assert "axes" in f_new.attrs and "axes" not in f_old.attrs
    a, b = ssmsweep.open_sweep(old), ssmsweep.open_sweep(fresh)
    assert dict(a.sizes) == dict(b.sizes)
    for name in b.coords:
        assert same(a[name].values, b[name].values), name
    for name in b.data_vars:
        if name.startswith("task_") and name not in ("task_status", "task_hash", "task_seed"):
            continue   # hosts, ranks, times and ids differ between runs
        assert same(a[name].values, b[name].values), name
