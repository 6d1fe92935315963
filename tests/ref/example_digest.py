"""example_digest.py NAME FILE.h5 -- one line per task of a results file, to
compare runs of the example specs across versions of ssmsweep.

Run with Debian's /usr/bin/python3 (h5py, numpy).  The digest is over values,
not storage, so a change of layout (string or chunk storage, the length of
a curve axis in a shard) that keeps every value leaves it unchanged:

    NAME TASK HASH SEED STATUS PARAMS RESULTS

TASK, HASH and SEED as decimal integers, STATUS 0/1/2, PARAMS and RESULTS
the first 16 hex digits of a SHA-256 over the row's parameter values (in
name order; reals as float.hex, strings as UTF-8) and over its results
(scalars as float.hex, curves cut after their last non-NaN value), leaving
out wall times (results in units of "s"), which no two runs share.
Exit status 2 with one line if the file cannot be read.
"""
import hashlib
import sys

import h5py
import numpy as np


def text(v):
    if isinstance(v, bytes):
        return v.decode("utf-8")
    if isinstance(v, (float, np.floating)):
        return float(v).hex()
    return str(v)


def rows(group, name):
    """The dataset's rows, the task dimension first."""
    return group[name][()]


def digest(parts):
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def curve_text(row):
    kept = np.flatnonzero(~np.isnan(row))
    cut = row[: kept[-1] + 1] if kept.size else row[:0]
    return ",".join(float(x).hex() for x in cut)


def main():
    name, path = sys.argv[1], sys.argv[2]
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        print(f"example_digest: {path}: {e}", file=sys.stderr)
        sys.exit(2)
    with f:
        params, results, tasks = f["params"], f["results"], f["tasks"]
        ids = tasks["task"][()]
        pnames = sorted(n for n in params if n != "task")
        pvals = {n: rows(params, n) for n in pnames}
        # results over the task dimension: scalars [task], curves [task, axis]
        rnames = sorted(n for n in results
                        if n != "task" and results[n].ndim >= 1 and results[n].shape[0] == len(ids)
                        and results[n].dims[0] and results[n].dims[0][0].name.endswith("/task")
                        and results[n].attrs.get("units") not in ("s", b"s"))
        rvals = {n: rows(results, n) for n in rnames}
        hashes, seeds, status = tasks["hash"][()], tasks["seed"][()], tasks["status"][()]
        for row, task in enumerate(ids):
            p = [f"{n}={text(pvals[n][row])}" for n in pnames]
            r = []
            for n in rnames:
                v = rvals[n][row]
                r.append(f"{n}={curve_text(v) if np.ndim(v) else text(v)}")
            print(name, int(task), int(hashes[row]), int(seeds[row]), int(status[row]), digest(p), digest(r))


if __name__ == "__main__":
    main()
