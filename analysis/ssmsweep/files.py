"""Reading ssmsweep results files: every column of /params, /results and
/tasks, the root attributes and /provenance, as numpy arrays.

A file a sweep is writing (or one a killed writer left) is opened in SWMR
mode with bounded metadata retries; any other file the plain way.  This is
the layer `open_sweep` and `ssmsweep-plot` share; most users want
`ssmsweep.open_sweep` instead."""
import ctypes
import os

import h5py
import numpy as np

__all__ = ["Columns", "open_results", "write_flags", "text", "STATUS"]

# /tasks/status codes (the file's flag_values and flag_meanings)
STATUS = {0: "pending", 1: "done", 2: "failed"}

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
# Metadata reads under SWMR are retried with doubling sleeps from 1 ns; HDF5's
# default of 100 attempts never ends on a damaged file, 24 wait ~17 ms in all.
SWMR_READ_ATTEMPTS = 24


def text(value):
    """A string of the file (bytes in UTF-8, or str) as str."""
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def is_scale(dataset):
    """An axis (tau, epoch, layer, ...): an HDF5 dimension scale, not a column
    of results, even when it happens to be as long as the task table."""
    return text(dataset.attrs.get("CLASS", b"")) == "DIMENSION_SCALE"


def write_flags(path):
    """The "open for writing" flags of the superblock (bits 0 and 2 of a
    version-3 superblock, set while a writer has the file open and left by a
    killed one); 0 for any other file.  As ssmsweep's sw_h5_write_flags."""
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        at = 0
        while at + 12 <= size:
            f.seek(at)
            sb = f.read(12)
            if sb[:8] == HDF5_SIGNATURE:
                return sb[11] & 0x05 if sb[8] >= 3 else 0
            at = 512 if at == 0 else 2 * at
    return 0


def bounded_swmr_fapl():
    """A file access property list whose SWMR metadata reads give up after
    SWMR_READ_ATTEMPTS (h5py has no binding: the C call through ctypes, on
    the HDF5 library h5py itself loaded)."""
    fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    with open("/proc/self/maps") as maps:
        libs = sorted({line.split()[-1] for line in maps
                       if "libhdf5" in line and "_hl" not in line and ".so" in line})
    for lib in libs:
        try:
            setter = ctypes.CDLL(lib).H5Pset_metadata_read_attempts
        except (OSError, AttributeError):
            continue
        setter.argtypes = [ctypes.c_int64, ctypes.c_uint]
        if setter(fapl.id, SWMR_READ_ATTEMPTS) >= 0:
            break
    return fapl


# the superblock's "open for writing" without "open for SWMR writing": ssmsweep
# closing the file (it reopens it to add the final counts), or killed then
WRITING_NOT_SWMR = 0x01


def open_results(path):
    """The h5py.File for reading: SWMR (bounded) only if a writer has it open."""
    flags = write_flags(path)
    if not flags:
        return h5py.File(path, "r")
    if flags == WRITING_NOT_SWMR:
        raise OSError(f"{os.fspath(path)} is open for writing outside SWMR (ssmsweep closing it, or killed while "
                      f"closing): `ssmsweep run SPEC -o {os.fspath(path)} --resume` rebuilds it from its journal "
                      f"(`h5clear -s` reads it as it is)")
    fid = h5py.h5f.open(os.fsencode(path), h5py.h5f.ACC_RDONLY | h5py.h5f.ACC_SWMR_READ, fapl=bounded_swmr_fapl())
    return h5py.File(fid)


def plain_attrs(attrs):
    """HDF5 attributes as Python values (str for strings), without the
    dimension-scale bookkeeping."""
    out = {}
    for k, v in attrs.items():
        if k in ("CLASS", "NAME", "DIMENSION_LIST", "REFERENCE_LIST", "_Netcdf4Dimid"):
            continue
        if isinstance(v, bytes):
            v = text(v)
        elif isinstance(v, np.ndarray) and v.dtype.kind in "OS":
            v = [text(x) for x in v]
        out[k] = v
    return out


def strings(values):
    """A column of strings (variable-length or fixed-length, UTF-8) as str."""
    return np.array([text(x).rstrip("\0") for x in values], dtype=object)


def dimension_names(name, dataset):
    """The names of a result's dimensions: the attached dimension scales
    (task, tau, epoch, ...), `<name>_dim<k>` where none is attached."""
    names = []
    for k, dim in enumerate(dataset.dims):
        attached = list(dim.keys())
        names.append(text(attached[0]) if attached else ("task" if k == 0 else f"{name}_dim{k}"))
    return tuple(names)


class Columns:
    """The columns of one results file, read once: kind, title, shard
    (index, count, tasks in the whole sweep), attrs (root), provenance,
    params, results (curves as [task, axis]), result_dims, scales (the
    axes tau, epoch, ...), tasks (bookkeeping), task_ids (global ids of
    the rows), n (rows) and the CF attributes of every column."""

    def __init__(self, path):
        self.path = os.fspath(path)
        with open_results(path) as f:
            self.attrs = plain_attrs(f.attrs)
            self.kind = text(f.attrs.get("kind", "?"))
            self.title = text(f.attrs.get("title", ""))  # the spec's name
            # which part of a sweep a shard file holds (files from before shards: all of it)
            self.shard = tuple(int(f.attrs.get(k, d)) for k, d in
                               (("shard_index", 0), ("shard_count", 1), ("n_tasks_total", -1)))
            self.provenance = plain_attrs(f["provenance"].attrs) if "provenance" in f else {}
            self.params = {k: f["params"][k][()] for k in f["params"] if k != "task"}
            # /tasks before /results: the writer commits a row's status
            # after its results, so a row read done here has them there
            # (a running sweep's file changes between the reads)
            self.tasks = {k: f["tasks"][k][()] for k in f["tasks"] if k != "task"}
            results = {k: f["results"][k] for k in f["results"] if k != "task"}
            self.scales = {k: d[()] for k, d in results.items() if is_scale(d)}
            self.results = {k: d[()] for k, d in results.items() if d.ndim >= 1 and not is_scale(d)}
            self.result_dims = {k: dimension_names(k, results[k]) for k in self.results}
            self.column_attrs = {(g, k): plain_attrs(f[g][k].attrs) for g in ("params", "results", "tasks")
                                 for k in f[g] if k != "task"}
            self.n = len(self.tasks["status"])
            # the global task ids (a shard file holds every n-th task of its sweep)
            self.task_ids = f["tasks"]["task"][()] if "task" in f["tasks"] else np.arange(self.n)
        for k, v in self.params.items():
            if v.dtype.kind in "OS":
                self.params[k] = strings(v)
        for k, v in self.tasks.items():
            if v.dtype.kind in "OS":
                self.tasks[k] = strings(v)
        # a row not done has no results, also where the writer got its
        # values out before their status (read pending here)
        not_done = ~self.done()
        if not_done.any():
            for k, v in self.results.items():
                if v.dtype.kind == "f" and len(v) == self.n:
                    v[not_done] = np.nan

    def done(self):
        return self.tasks["status"] == 1

    def scalar_names(self):
        return [k for k, v in self.results.items() if v.ndim == 1 and len(v) == self.n]
