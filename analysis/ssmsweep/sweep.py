"""Results files as xarray Datasets over the sweep's own axes."""
import os
import warnings

import numpy as np
import xarray as xr

from .files import Columns, STATUS

__all__ = ["open_sweep", "open_sweeps", "sweep_axes", "Axis", "ABSENT"]

# task_status of a grid cell no row of the file holds (the other shards' tasks)
ABSENT = -1
# /tasks columns as variables: the prefix keeps them apart from results and
# parameters (/tasks/rank, the MPI rank, against the result rank)
TASK_PREFIX = "task_"


class Axis:
    """One dimension of a sweep: an entry of the spec's `axes` (one
    parameter), a group of `zip` (several parameters varying together) or
    the replicas (`repeats`).  name: the dimension's name (the parameter;
    for a zip group its parameters joined by '_'; 'repeat'); params: the
    parameters along it; size; values: per parameter the spec's values as
    text (lists), or a range (from, to, num, scale) as text, or None
    (repeat)."""

    def __init__(self, params, size, values):
        self.params, self.size, self.values = list(params), size, values
        self.name = "_".join(self.params)

    def __repr__(self):
        return f"Axis({self.name!r}, size {self.size})"


def _spec_mapping(spec_text):
    """The spec's YAML as nested dicts and lists of strings: the structure
    only, every scalar as the text the C parser reads (Debian: python3-yaml)."""
    try:
        import yaml
    except ImportError:
        raise ImportError("open_sweep reads the sweep's spec with PyYAML: apt-get install python3-yaml") from None
    spec = yaml.load(spec_text, Loader=yaml.BaseLoader)
    if not isinstance(spec, dict):
        raise ValueError("the spec in /provenance is not a mapping")
    return spec


def _axis(group):
    """An Axis of the parameters of a mapping (an `axes` entry or a zip group)."""
    sizes, values = [], {}
    for name, v in group.items():
        if isinstance(v, dict):   # a range {from, to, num, scale}
            values[name] = ("range", v["from"], v["to"], int(v["num"]), v.get("scale", "linear"))
            sizes.append(int(v["num"]))
        else:
            values[name] = ("list", list(v))
            sizes.append(len(v))
    if len(set(sizes)) != 1:
        raise ValueError(f"the spec's zip group {list(group)} has lists of different lengths")
    return Axis(group, sizes[0], values)


def sweep_axes(spec_text):
    """The dimensions of a sweep, slowest first, as the C code enumerates
    its tasks: the `axes` in order, then the `zip` groups, then the
    replicas (only with repeats > 1)."""
    spec = _spec_mapping(spec_text)
    axes = [_axis({name: v}) for name, v in (spec.get("axes") or {}).items()]
    axes += [_axis(group) for group in (spec.get("zip") or [])]
    repeats = int(spec.get("repeats", "1"))
    if repeats > 1:
        axes.append(Axis(["repeat"], repeats, {"repeat": None}))
    return axes


def _range_point(start, stop, num, scale, k):
    """Point k of a range, as src/sweep/spec.c's range_point computes it."""
    if k == 0:
        return start
    if k == num - 1:
        return stop
    m, w = float(num - 1), float(k)
    if scale == "log":
        return 10.0 ** ((np.log10(start) * (m - w) + np.log10(stop) * w) / m)
    return (start * (m - w) + stop * w) / m


def _number(text):
    try:
        return float(text)
    except ValueError:
        return float.fromhex(text)


def _spec_values(axis, param, like):
    """The values of param along axis from the spec's text, as the type of
    the file's column `like` (used where no row of the file shows them)."""
    if param == "repeat":
        return np.arange(axis.size, dtype=like.dtype)
    form = axis.values[param]
    if form[0] == "range":
        start, stop, num, scale = _number(form[1]), _number(form[2]), form[3], form[4]
        points = [_range_point(start, stop, num, scale, k) for k in range(num)]
        return np.round(points).astype(like.dtype) if like.dtype.kind in "iu" else np.array(points)
    if like.dtype.kind in "iu":
        return np.array([int(round(_number(v))) for v in form[1]], dtype=like.dtype)
    if like.dtype.kind == "f":
        return np.array([_number(v) for v in form[1]])
    return np.array([str(v) for v in form[1]], dtype=object)


def _grid_index(axes, task_ids):
    """Per axis the index of each task along it (mixed radix, the last
    axis fastest)."""
    index, rest = [], np.asarray(task_ids, dtype=np.int64)
    for axis in reversed(axes):
        index.append(rest % axis.size)
        rest = rest // axis.size
    return index[::-1]


# ---- the flat Dataset: one row per task of the file ---------------------------------

def _float_with_nan(values, done):
    """A result column with NaN where its task is not done."""
    v = np.array(values, dtype=float, copy=True)
    v[~done] = np.nan
    return v


def _attrs_of(cols, group, name):
    return dict(cols.column_attrs.get((group, name), {}))


def _flat(cols):
    """The file's rows as a Dataset over `task` (the global task ids)."""
    done = cols.done()
    data, coords = {}, {"task": ("task", np.asarray(cols.task_ids, dtype=np.int64), {"long_name": "task id"})}
    for name, values in cols.scales.items():
        coords[name] = (name, values, _attrs_of(cols, "results", name))
    for name, values in cols.params.items():
        coords[name] = ("task", values, _attrs_of(cols, "params", name))
    for name, values in cols.results.items():
        if values.shape[0] != cols.n:
            continue
        data[name] = (cols.result_dims[name], _float_with_nan(values, done), _attrs_of(cols, "results", name))
    for name, values in cols.tasks.items():
        attrs = _attrs_of(cols, "tasks", name)
        attrs.pop("_Encoding", None)
        data[TASK_PREFIX + name] = ("task", values, attrs)
    ds = xr.Dataset(data, coords=coords)
    ds.attrs.update(_dataset_attrs(cols))
    return ds


def _dataset_attrs(cols):
    """The root attributes and the provenance (the spec verbatim among
    them); a provenance entry named like a root attribute gets the prefix
    provenance_."""
    attrs = dict(cols.attrs)
    for k, v in cols.provenance.items():
        attrs[k if k not in attrs else "provenance_" + k] = v
    attrs["source"] = cols.path
    return attrs


def _merge_rows(flats):
    """The rows of several files of one sweep (its shards) as one flat
    Dataset in task order; a task two files hold counts once, done before
    failed before pending."""
    ds = xr.concat(flats, dim="task", data_vars="minimal", coords="minimal", compat="override",
                   combine_attrs="override", join="outer")
    status = ds[TASK_PREFIX + "status"].values
    rank = np.select([status == 1, status == 2], [0, 1], 2)
    order = np.lexsort((rank, ds.task.values))
    keep = np.ones(len(order), bool)
    keep[1:] = ds.task.values[order][1:] != ds.task.values[order][:-1]
    return ds.isel(task=order[keep])


# ---- the grid ---------------------------------------------------------------------------

def _constant(values):
    return len(values) > 0 and bool(np.all(values == values[0]))


def _empty_like(var, shape):
    """A grid of a bookkeeping column filled for absent cells."""
    kind = var.dtype.kind
    if kind == "f":
        return np.full(shape, np.nan)
    if kind == "O":
        return np.full(shape, "", dtype=object)
    if kind in "iu" and var.name == TASK_PREFIX + "status":
        return np.full(shape, ABSENT, dtype=var.dtype)
    return np.full(shape, -1 if kind == "i" else 0, dtype=var.dtype)


def _coordinates(flat, axes, index):
    """Per axis, per parameter: its values along the axis, from the rows
    where they hold them and the spec elsewhere; ValueError where the rows
    contradict the spec's structure."""
    coords = {}
    for axis, idx in zip(axes, index):
        positions, first = np.unique(idx, return_index=True)
        for param in axis.params:
            column = flat[param].values
            values = _spec_values(axis, param, column)
            if len(values) != axis.size:
                raise ValueError(f"axis {axis.name}: {len(values)} values of {param} for {axis.size} positions")
            # every row at a position must hold what the first one there holds
            seen = column[first]
            if len(column) and not np.all(column == seen[np.searchsorted(positions, idx)]):
                raise ValueError(f"rows at one position of {param} hold different values: the file's /params "
                                 "do not follow its spec")
            values[positions] = seen
            coords[param] = (axis.name, values, dict(flat[param].attrs))
    return coords


def _grid(flat, axes, n_total):
    """The flat Dataset on the grid of axes: each variable over the axes
    (then its own axes: tau, epoch, ...), absent cells NaN."""
    ids = flat.task.values
    if len(ids) and (ids.min() < 0 or ids.max() >= n_total):
        raise ValueError(f"task ids beyond the sweep's {n_total} tasks")
    index = _grid_index(axes, ids)
    shape = tuple(a.size for a in axes)
    dims = tuple(a.name for a in axes)
    coords = _coordinates(flat, axes, index)
    cell = tuple(index)
    task = np.full(shape, -1, dtype=np.int64)
    task[cell] = ids
    data = {"task": (dims, task, {"long_name": "task id (-1: not in this file)"})}
    for name, var in flat.data_vars.items():
        rest = var.dims[1:]
        grid = _empty_like(var, shape + var.shape[1:])
        grid[cell] = var.values
        data[name] = (dims + rest, grid, dict(var.attrs))
    in_grid = {p for a in axes for p in a.params}
    for name, var in flat.coords.items():
        if name in in_grid or name == "task":
            continue
        if var.dims == ("task",):
            # a parameter that no axis varies: one value (a scalar
            # coordinate), or per task where the file says otherwise
            if _constant(var.values):
                coords[name] = ((), var.values[0], dict(var.attrs))
            else:
                grid = _empty_like(var, shape)
                grid[cell] = var.values
                coords[name] = (dims, grid, dict(var.attrs))
        else:
            coords[name] = var
    return xr.Dataset(data, coords=coords, attrs=dict(flat.attrs))


def _read(path):
    cols = Columns(path)
    return cols, _flat(cols)


def open_sweep(path, flat=False):
    """An ssmsweep results file (or the shard files of one sweep) as an
    xarray.Dataset over the sweep's axes.

    path   OUT.h5: a finished, running (SWMR), partial, sharded or merged
           file; or a list of files of one sweep (its shards), joined.
    flat   True: keep the file's `task` dimension (one row per task).

    The dimensions are the spec's: each entry of `axes` is a dimension
    named after its parameter, with the parameter's values as its
    coordinate; each `zip` group is one dimension named after its
    parameters joined by '_' (T_tau_max), each of them a coordinate along
    it; `repeat` is a dimension when the spec has repeats > 1.  Parameters
    that no axis varies are scalar coordinates.  Curves keep their own axis
    after the sweep's (mf over tau, val_loss over epoch, ...).

    Every result is a variable, NaN where the task is pending or failed;
    the task bookkeeping of /tasks is there too with the prefix task_
    (task_status: 0 pending, 1 done, 2 failed, -1 not in this file;
    task_rank (the MPI rank), task_host, task_elapsed, task_error, ...),
    and `task` holds each cell's task id.  attrs: the file's root
    attributes (kind, title, spec_hash, shard_index, ...) and its
    provenance (spec, version, git_describe, hosts, start_utc, ...).

    Example:
        ds = ssmsweep.open_sweep("mc.h5")
        ds.mc.sel(init="s4d-inv")            # MC against N (and the other axes)
        ds.mf.sel(init="random", N=64).mean("repeat")
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        raise ValueError("open_sweep: no file")
    read = [_read(p) for p in paths]
    cols, ds = read[0]
    for other, _ in read[1:]:
        for key in ("spec_hash", "kind"):
            if other.attrs.get(key) != cols.attrs.get(key):
                raise ValueError(f"{other.path} is from another sweep ({key} {other.attrs.get(key)}, "
                                 f"{cols.path} has {cols.attrs.get(key)})")
    if len(read) > 1:
        ds = _merge_rows([d for _, d in read])
        ds.attrs["source"] = [c.path for c, _ in read]
    if flat:
        return ds
    spec = cols.provenance.get("spec")
    if spec is None:
        warnings.warn(f"{cols.path} has no spec in /provenance: kept over its task dimension")
        return ds
    n_total = cols.shard[2] if cols.shard[2] >= 0 else cols.n
    axes = sweep_axes(spec)
    if int(np.prod([a.size for a in axes], dtype=np.int64)) != n_total:
        raise ValueError(f"{cols.path}: the spec's axes give {np.prod([a.size for a in axes])} tasks, "
                         f"the file says {n_total}")
    if not axes:
        return ds.isel(task=0, drop=False) if ds.sizes["task"] == 1 else ds
    return _grid(ds, axes, n_total)


def open_sweeps(paths, dim="sweep", names=None):
    """Several sweeps of one kind as one Dataset, along a new dimension.

    paths  results files (or lists of shard files, each one sweep).
    dim    the new dimension's name; its coordinate is `names` (default:
           each sweep's title, the spec's name, or its file name).

    The sweeps' axes are joined (outer join: NaN where a sweep has no such
    point); a parameter that one sweep varies and another fixes becomes a
    dimension of both.  Per-sweep attributes (title, spec, spec_hash,
    source) become coordinates along `dim`.

    Example:
        ds = ssmsweep.open_sweeps(["mc-small.h5", "mc-large.h5"])
        ds.mc.max("sweep")
    """
    sweeps = [open_sweep(p) for p in paths]
    if not sweeps:
        raise ValueError("open_sweeps: no sweep")
    kinds = {s.attrs.get("kind") for s in sweeps}
    if len(kinds) > 1:
        raise ValueError(f"open_sweeps: sweeps of different kinds ({', '.join(sorted(map(str, kinds)))}) "
                         "have different results")
    if names is None:
        names = [s.attrs.get("title") or os.path.basename(str(s.attrs.get("source"))) for s in sweeps]
        if len(set(names)) < len(names):
            names = [f"{n} ({k})" for k, n in enumerate(names)]
    grid_dims = []
    for s in sweeps:
        grid_dims += [d for d in s["task"].dims if d not in grid_dims]
    per_sweep = ("title", "spec", "spec_hash", "source", "master_seed")
    aligned = []
    for s in sweeps:
        missing = [d for d in grid_dims if d not in s.dims]
        for d in missing:
            if d not in s.coords or s[d].ndim != 0:
                raise ValueError(f"open_sweeps: sweep {s.attrs.get('title')!r} has no parameter {d!r} to put on "
                                 "the dimension the others have")
        s = s.expand_dims(missing) if missing else s
        s = s.assign_coords({k: str(s.attrs[k]) if k in ("source", "spec") else s.attrs[k]
                             for k in per_sweep if k in s.attrs})
        aligned.append(s)
    out = xr.concat(aligned, dim=dim, join="outer", combine_attrs="drop_conflicts", coords="different",
                    compat="equals", fill_value={"task": -1, TASK_PREFIX + "status": ABSENT})
    return out.assign_coords({dim: list(names)})
