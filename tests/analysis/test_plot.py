"""pytest tests of analysis/ssmsweep-plot on results files written by the
real ssmsweep binary (SSMSWEEP) for a small mf sweep, a small train sweep
and a tiny sfmnist sweep (skipped without Debian's dataset-fashion-mnist);
each figure command must write a valid PNG, the summary and the Markdown
tables must match the file (their cells computed here from the HDF5 file with
h5py, not through the package ssmsweep), the export must hold every task."""
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


def test_export_of_a_shard_names_global_task_ids(tmp_path):
    spec = tmp_path / "mf.yaml"
    spec.write_text(MF_SPEC)
    out = tmp_path / "shard.h5"
    subprocess.run([SSMSWEEP, "run", str(spec), "-o", str(out), "--shard", "1/3", "--quiet"], check=True)
    result = plot("export", out)
    assert result.returncode == 0, result.stderr
    ids = [int(r["task"]) for r in csv.DictReader(result.stdout.splitlines())]
    assert ids == list(range(1, 20, 3))   # MF_SPEC has 20 tasks: shard 1/3 holds 1, 4, ..., 19


def test_wrong_kind_is_refused(files):
    r = plot("learning", files["mf"])
    assert r.returncode != 0 and "needs a sweep of kind train" in r.stderr


def test_unreadable_file(tmp_path):
    bad = tmp_path / "not.h5"
    bad.write_text("no")
    r = plot("summary", bad)
    assert r.returncode != 0 and "cannot read" in r.stderr


# ---- kind sfmnist: learning and drift on a tiny deep-S4D sweep ----------------

FMNIST_DIR = "/usr/share/datasets/fashion-mnist"
# 8 tasks of a few seconds each; the threshold is low enough that some seeds
# reach it within 3 epochs and some do not
SFMNIST_SPEC = """kind: sfmnist
name: sfmnist plot test
seed: 3
repeats: 2
fixed: {d_model: 8, layers: 2, N: 8, epochs: 3, subset: 200, n_val: 100, test_subset: 200, batch: 50,
        tau_max: 200, threshold: 0.15}
axes:
  init: [s4d-inv, s4d-lin]
  mode: [learned, frozen]
"""


@pytest.fixture(scope="module")
def sfmnist(tmp_path_factory):
    if not os.path.isdir(FMNIST_DIR):
        pytest.skip(f"no Fashion-MNIST in {FMNIST_DIR} (Debian: dataset-fashion-mnist)")
    return run_sweep(tmp_path_factory.mktemp("sfmnist"), "sfmnist", SFMNIST_SPEC)


@pytest.fixture(scope="module")
def sfmnist_runs(sfmnist, tmp_path_factory):
    """learning and drift, each run once: command -> (process, figure)."""
    tmp = tmp_path_factory.mktemp("sfmnist-plots")
    return {command: (plot(command, sfmnist, "-o", tmp / f"{command}.png"), tmp / f"{command}.png")
            for command in ("learning", "drift")}


def strings(dataset):
    return [x.decode() if isinstance(x, bytes) else x for x in dataset[()]]


def file_groups(path):
    """Independently of the script: the done rows per (init, mode), the
    scalars and curves, the threshold."""
    with h5py.File(path, "r") as f:
        init, mode = strings(f["params/init"]), strings(f["params/mode"])
        status = f["tasks/status"][()]
        res = {k: f["results"][k][()] for k in f["results"] if k not in ("task", "epoch", "layer")}
        threshold = float(np.unique(f["params/threshold"][()])[0])
    groups = {}
    for i in np.where(status == 1)[0]:
        groups.setdefault((init[i], mode[i]), []).append(i)
    return {k: np.array(v) for k, v in groups.items()}, res, threshold


def markdown_rows(stdout):
    """The rows of the first Markdown table in stdout, as header -> cell dicts."""
    lines = stdout.splitlines()
    cells = lambda line: [c.strip() for c in line.strip().strip("|").split("|")]
    for k, line in enumerate(lines[:-1]):
        if line.startswith("|") and set(lines[k + 1]) <= set("|:-"):
            header = cells(line)
            rows = []
            for row in lines[k + 2:]:
                if not row.startswith("|"):
                    break
                rows.append(dict(zip(header, cells(row))))
            return rows
    raise AssertionError(f"no Markdown table in:\n{stdout}")


def by_group(rows):
    return {(row["init"], row["mode"]): row for row in rows}


def near(text, value, decimals):
    """text, printed with `decimals` decimals, is value."""
    return abs(float(text) - value) <= 0.5 * 10.0 ** -decimals + 1e-9


def same(text, value):
    """text, printed with 3 significant digits (%.2e), is value; 0 exactly."""
    return float(text) == value if value == 0 else abs(float(text) / value - 1) < 5e-3


def check_mean_sd(cell, values, scale=1.0, decimals=2):
    v = np.asarray(values, float) * scale
    mean, sd = cell.split(" ± ")
    assert near(mean, v.mean(), decimals) and near(sd, v.std(ddof=1), decimals), (cell, v)


@pytest.mark.parametrize("command", ["learning", "drift"])
def test_sfmnist_figures(sfmnist_runs, command):
    r, png = sfmnist_runs[command]
    assert r.returncode == 0, r.stderr
    assert "sfmnist plot test" in r.stdout and "8 tasks, 8 done" in r.stdout
    assert "pending" not in r.stdout
    check_png(png)


def test_sfmnist_pdf(sfmnist, tmp_path):
    out = tmp_path / "learning.pdf"
    r = plot("learning", sfmnist, "-o", out)
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:4] == b"%PDF"


def test_learning_table_matches_file(sfmnist, sfmnist_runs):
    r, _ = sfmnist_runs["learning"]
    assert r.returncode == 0, r.stderr
    groups, res, threshold = file_groups(sfmnist)
    rows = by_group(markdown_rows(r.stdout))
    # grouped by the swept parameters, init and mode: repeat and the fixed ones are not columns
    assert set(rows) == set(groups) and len(groups) == 4
    assert list(markdown_rows(r.stdout)[0])[:3] == ["init", "mode", "seeds"]
    reached_any = False
    for key, idx in groups.items():
        row = rows[key]
        assert row["seeds"] == str(len(idx))
        check_mean_sd(row["test acc (%)"], res["test_acc"][idx], 100)
        check_mean_sd(row["final val acc (%)"], res["final_val_acc"][idx], 100)
        assert abs(float(row["epoch time (s)"]) / res["epoch_seconds"][idx].mean() - 1) < 5e-3
        # epochs to threshold: mean over the seeds that reached it, (reached/seeds);
        # the file's scalar is the first epoch whose validation accuracy reaches it
        ept = res["epochs_to_threshold"][idx]
        for e, curve in zip(ept, res["val_acc"][idx]):
            hit = np.where(curve >= threshold)[0]
            assert (np.isnan(e) and not len(hit)) or e == hit[0] + 1
        hit = ept[np.isfinite(ept)]
        cell = row[f"epochs to val acc ≥ {100 * threshold:g}%"]
        assert cell.endswith(f"({len(hit)}/{len(idx)})"), cell
        if len(hit):
            reached_any = True
            assert near(cell.split()[0], hit.mean(), 2), cell
        else:
            assert cell.startswith("–")
    assert reached_any, "no seed reached the threshold: lower it in SFMNIST_SPEC"
    # the columns of the validation accuracy curve, default thresholds 80% and 85%
    check_val_acc_columns(rows, groups, res["val_acc"], (80, 85))


def expected_epochs_to(curves, percent):
    """Per seed (the group's rows in file order) the first epoch, from 1,
    whose validation accuracy is >= percent / 100, '–' if none: as the
    README's table prints it, '2, 3, 2'."""
    cells = []
    for curve in curves:
        first = next((e + 1 for e, acc in enumerate(curve) if acc >= percent / 100), None)
        cells.append("–" if first is None else str(first))
    return ", ".join(cells)


def expected_val_acc(curves):
    """The epochs shown (1, 2, the last of the longest curve; those that
    exist) and the mean over the seeds of the validation accuracy (%) at each."""
    n_epochs = max(int(np.flatnonzero(np.isfinite(c))[-1]) + 1 for c in curves)
    epochs = sorted({1, 2, n_epochs} & set(range(1, n_epochs + 1)))
    return epochs, [100 * np.mean([c[e - 1] for c in curves if np.isfinite(c[e - 1])]) for e in epochs]


def check_val_acc_columns(rows, groups, val_acc, percents):
    """The table's 'val acc epoch 1 → 2 → N (%)' and 'epochs to val ≥ T%'
    cells, computed here from the file's curves."""
    headers = list(next(iter(rows.values())))
    shown = set()
    for key, idx in groups.items():
        row = rows[key]
        epochs, means = expected_val_acc(val_acc[idx])
        shown.add(tuple(epochs))
        cells = row[f"val acc epoch {' → '.join(map(str, epochs))} (%)"].split(" → ")
        assert len(cells) == len(means) and all(near(c, m, 1) for c, m in zip(cells, means)), (key, cells, means)
        for percent in percents:
            assert row[f"epochs to val ≥ {percent:g}%"] == expected_epochs_to(val_acc[idx], percent), (key, percent)
    assert len(shown) == 1
    # the threshold columns follow the val acc column, in the order given
    k = headers.index(f"val acc epoch {' → '.join(map(str, shown.pop()))} (%)")
    assert headers[k + 1:k + 1 + len(percents)] == [f"epochs to val ≥ {p:g}%" for p in percents], headers


def test_learning_acc_thresholds(sfmnist, tmp_path):
    """--acc-thresholds: thresholds picked from the file so that some seeds
    reach them (a number) and some do not (–); one not a whole percent."""
    groups, res, _ = file_groups(sfmnist)
    done = np.concatenate(list(groups.values()))
    best = np.sort(np.unique(np.nanmax(res["val_acc"][done], 1)))
    assert len(best) >= 2, f"every seed has the same best validation accuracy {best}: change SFMNIST_SPEC"
    # per seed best accuracies, rounded down to 0.1%: the median one and the highest are reached by some seeds
    middle = np.floor(1000 * best[(len(best) - 1) // 2]) / 10
    percents = list(dict.fromkeys([middle - 0.5, middle, np.floor(1000 * best[-1]) / 10]))
    r = plot("learning", sfmnist, "-o", tmp_path / "l.png", "--acc-thresholds", ",".join(f"{p:g}" for p in percents))
    assert r.returncode == 0, r.stderr
    rows = by_group(markdown_rows(r.stdout))
    check_val_acc_columns(rows, groups, res["val_acc"], percents)
    assert "epochs to val ≥ 80%" not in markdown_rows(r.stdout)[0]
    cells = [c for row in rows.values() for p in percents for c in row[f"epochs to val ≥ {p:g}%"].split(", ")]
    assert "–" in cells and any(c.isdigit() for c in cells), cells


@pytest.mark.parametrize("value", ["abc", "0", "101", "-5", "nan", "", "80,,85", "80,80"])
def test_learning_acc_thresholds_refused(sfmnist, tmp_path, value):
    r = plot("learning", sfmnist, "-o", tmp_path / "l.png", f"--acc-thresholds={value}")
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, (r.returncode, r.stderr)
    assert r.stderr.startswith("ssmsweep-plot: --acc-thresholds") and r.stdout == "", (r.stderr, r.stdout)
    assert not (tmp_path / "l.png").exists()


def test_acc_thresholds_only_for_sfmnist_learning(sfmnist, files):
    r = plot("drift", sfmnist, "--acc-thresholds", "80")
    assert r.returncode == 2 and r.stderr.strip() == "ssmsweep-plot drift: --acc-thresholds is an option of learning only"
    r = plot("learning", files["train"], "--acc-thresholds", "80")
    assert r.returncode != 0 and len(r.stderr.splitlines()) == 1 and "needs a sweep of kind sfmnist" in r.stderr


def test_drift_frozen_has_no_drift(sfmnist, sfmnist_runs):
    r, _ = sfmnist_runs["drift"]
    assert r.returncode == 0, r.stderr
    groups, res, _ = file_groups(sfmnist)
    rows = by_group(markdown_rows(r.stdout))
    assert set(rows) == set(groups)
    n_frozen = 0
    for (init, mode), idx in groups.items():
        row = rows[init, mode]
        assert near(row["MC init"], res["mc_init"][idx].mean(), 3)
        assert near(row["MC final"], res["mc_final"][idx].mean(), 3)
        assert near(row["memory length final"], res["memory_length_final"][idx].mean(), 1)
        assert same(row["eig drift (mean)"], res["eig_drift"][idx].mean())
        assert same(row["eig drift (max layer)"], res["layer_eig_drift"][idx].max())
        assert same(row["dt drift (max layer)"], res["layer_dt_drift"][idx].max())
        if mode == "frozen":
            n_frozen += len(idx)
            # the file: reservoir mode leaves every layer's eigenvalues and dt where they were
            assert (res["layer_eig_drift"][idx] == 0).all() and (res["layer_dt_drift"][idx] == 0).all()
            assert (res["layer_mc_init"][idx] == res["layer_mc_final"][idx]).all()
            # the table says so
            for column in ("eig drift (mean)", "eig drift (max layer)", "dt drift (max layer)"):
                assert float(row[column]) == 0.0, (column, row)
            assert row["MC init"] == row["MC final"]
            assert row["memory length init"] == row["memory length final"]
        else:
            assert float(row["eig drift (max layer)"]) > 0 and float(row["eig drift (mean)"]) > 0, row
    assert f"drift exactly 0 in all {n_frozen} frozen tasks" in r.stdout


def test_partial_file(sfmnist, tmp_path):
    """A file a sweep is still writing: pending rows are NaN with status 0;
    the commands show the done tasks and say how many are pending."""
    part = tmp_path / "part.h5"
    part.write_bytes(open(sfmnist, "rb").read())
    groups, res, _ = file_groups(sfmnist)
    pending = [groups["s4d-inv", "learned"][0]] + list(groups["s4d-lin", "frozen"])
    with h5py.File(part, "r+") as f:
        status = f["tasks/status"][()]
        status[pending] = 0
        f["tasks/status"][...] = status
        for k in res:
            column = f["results"][k][()]
            column[pending] = np.nan
            f["results"][k][...] = column
    for command in ("learning", "drift"):
        out = tmp_path / f"{command}.png"
        r = plot(command, part, "-o", out)
        assert r.returncode == 0, r.stderr
        assert "8 tasks, 5 done, 3 pending" in r.stdout
        check_png(out)
        rows = by_group(markdown_rows(r.stdout))
        assert rows["s4d-inv", "learned"]["seeds"] == "1 (+1 pending)"
        assert rows["s4d-lin", "frozen"]["seeds"] == "0 (+2 pending)"
        assert rows["s4d-lin", "learned"]["seeds"] == "2"
        if command == "learning":
            left = groups["s4d-inv", "learned"][1]
            assert near(rows["s4d-inv", "learned"]["test acc (%)"], 100 * res["test_acc"][left], 2)
            assert rows["s4d-lin", "frozen"]["test acc (%)"] == "–"
            # the curve columns: the one done seed of s4d-inv learned, nothing for s4d-lin frozen
            for (init, mode), row in rows.items():
                done = [i for i in groups[init, mode] if i not in pending]
                for percent in (80, 85):
                    assert row[f"epochs to val ≥ {percent}%"] == (expected_epochs_to(res["val_acc"][done], percent)
                                                                   if done else "–")
            assert rows["s4d-lin", "frozen"]["val acc epoch 1 → 2 → 3 (%)"] == "–"
            epochs, means = expected_val_acc(res["val_acc"][[left]])
            cells = rows["s4d-inv", "learned"]["val acc epoch 1 → 2 → 3 (%)"].split(" → ")
            assert epochs == [1, 2, 3] and all(near(c, m, 1) for c, m in zip(cells, means)), cells


def test_nothing_done_yet(sfmnist, tmp_path):
    part = tmp_path / "none.h5"
    part.write_bytes(open(sfmnist, "rb").read())
    with h5py.File(part, "r+") as f:
        f["tasks/status"][...] = 0
    r = plot("learning", part, "-o", tmp_path / "x.png")
    assert r.returncode != 0 and "no task is done yet (8 tasks, 0 done, 8 pending)" in r.stderr


def test_sfmnist_summary_and_export(sfmnist, tmp_path):
    r = plot("summary", sfmnist)
    assert r.returncode == 0, r.stderr
    assert "kind sfmnist: 8 tasks, 8 done, 0 failed, 0 pending" in r.stdout
    out = tmp_path / "sfmnist.csv"
    assert plot("export", sfmnist, "-o", out).returncode == 0
    rows = list(csv.DictReader(open(out)))
    _, res, _ = file_groups(sfmnist)
    assert len(rows) == 8
    assert np.allclose([float(row["test_acc"]) for row in rows], res["test_acc"])
    # the axes (epoch, layer) are dimension scales, not columns of results
    assert "epoch" not in rows[0] and "layer" not in rows[0] and "val_acc" not in rows[0]


def test_drift_refuses_mf(files):
    r = plot("drift", files["mf"])
    assert r.returncode != 0 and "needs a sweep of kind train or sfmnist" in r.stderr
