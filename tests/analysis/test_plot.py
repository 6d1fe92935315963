"""pytest tests of analysis/ssmsweep-plot on results files written by the
real ssmsweep binary (SSMSWEEP) for a small mf sweep and a small train
sweep; each figure command must write a valid PNG, the summary must match
the file, the export must hold every task."""
import csv
import importlib.machinery
import importlib.util
import os
import subprocess

import h5py
import matplotlib.image
import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.environ.get("TOP_SRCDIR", os.path.join(HERE, "..", ".."))
SSMSWEEP = os.environ.get("SSMSWEEP", "ssmsweep")
PLOT = os.path.join(TOP, "analysis", "ssmsweep-plot")

MF_SPEC = """kind: mf
fixed: {tau_max: 300}
axes:
  init: [s4d-inv, s4d-lin, random, lin, step]
  N: [8, 16]
  dt: [0.01, 0.1]
"""
TRAIN_SPEC = """kind: train
repeats: 2
fixed: {N: 8, length: 128, delay: 10, n_train: 8, n_val: 4, epochs: 3, batch: 4}
axes:
  freeze: [none, 'A,dt']
"""


def run_sweep(tmp_path, name, spec):
    spec_path = tmp_path / f"{name}.yaml"
    spec_path.write_text(spec)
    out = tmp_path / f"{name}.h5"
    subprocess.run([SSMSWEEP, "run", str(spec_path), "-o", str(out), "--quiet"], check=True)
    return out


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweeps")
    return {"mf": run_sweep(tmp, "mf", MF_SPEC), "train": run_sweep(tmp, "train", TRAIN_SPEC)}


def plot(*args):
    return subprocess.run(["/usr/bin/python3", PLOT, *map(str, args)], capture_output=True, text=True)


def check_png(path):
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 100 and image.shape[1] > 100
    assert image.std() > 0.01, "an empty picture"


@pytest.mark.parametrize("command,kind", [("mf", "mf"), ("mc", "mf"), ("tradeoff", "mf"),
                                          ("learning", "train"), ("drift", "train")])
def test_figures(files, tmp_path, command, kind):
    out = tmp_path / f"{command}.png"
    r = plot(command, files[kind], "-o", out)
    assert r.returncode == 0, r.stderr
    check_png(out)


def test_pdf(files, tmp_path):
    out = tmp_path / "mf.pdf"
    assert plot("mf", files["mf"], "-o", out).returncode == 0
    assert out.read_bytes()[:4] == b"%PDF"


def test_summary_matches_file(files):
    r = plot("summary", files["mf"])
    assert r.returncode == 0, r.stderr
    with h5py.File(files["mf"], "r") as f:
        status = f["tasks/status"][()]
        n = len(status)
        done = int((status == 1).sum())
    assert f"{n} tasks, {done} done, 0 failed, 0 pending" in r.stdout


def test_export_holds_every_task(files, tmp_path):
    out = tmp_path / "mf.csv"
    assert plot("export", files["mf"], "-o", out).returncode == 0
    rows = list(csv.DictReader(open(out)))
    with h5py.File(files["mf"], "r") as f:
        mc = f["results/mc"][()]
        inits = [x.decode() if isinstance(x, bytes) else x for x in f["params/init"][()]]
    assert len(rows) == len(mc)
    assert np.allclose([float(r["mc"]) for r in rows], mc)
    assert [r["init"] for r in rows] == inits


def test_wrong_kind_is_refused(files):
    r = plot("learning", files["mf"])
    assert r.returncode != 0 and "needs a sweep of kind train" in r.stderr


def test_unreadable_file(tmp_path):
    bad = tmp_path / "not.h5"
    bad.write_text("no")
    r = plot("summary", bad)
    assert r.returncode != 0 and "cannot read" in r.stderr
