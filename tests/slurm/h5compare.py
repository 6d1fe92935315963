"""h5compare.py REF.h5 OTHER.h5 -- do two ssmsweep results files hold the same sweep?

Run with Debian's /usr/bin/python3 (h5py).  Compares bit for bit every
dataset of /params and /results (rows matched by the group's task scale,
so files written in different task orders compare equal), /tasks/hash and
/tasks/seed, and demands that every task of OTHER is done (/tasks/status
all 1) and that both files hold the same task ids.  Prints one line per
difference; exit status 0 same, 1 different, 2 unreadable.
"""
import sys

import h5py
import numpy as np


def rows_by_task(group):
    """Per-task dataset name -> array with rows sorted by task id."""
    task = group["task"][()]
    order = np.argsort(task, kind="stable")
    out = {"task": task[order]}
    for name, d in group.items():
        if name == "task":
            continue
        v = d[()]
        scales = [s.name for s in d.dims[0].values()] if d.ndim else []
        if scales == [group["task"].name]:
            v = v[order]
        out[name] = v
    return out


def same(a, b):
    if a.shape != b.shape:
        return False
    if a.dtype.kind == "O" or b.dtype.kind == "O":
        return [x.decode() if isinstance(x, bytes) else x for x in a.ravel()] == \
               [x.decode() if isinstance(x, bytes) else x for x in b.ravel()]
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


def main(ref_path, other_path):
    bad = []
    with h5py.File(ref_path, "r") as ref, h5py.File(other_path, "r") as other:
        for g in ("params", "results", "tasks"):
            a, b = rows_by_task(ref[g]), rows_by_task(other[g])
            names = sorted(a) if g != "tasks" else ["task", "hash", "seed"]
            if g != "tasks" and sorted(a) != sorted(b):
                bad.append(f"/{g}: datasets {sorted(a)} vs {sorted(b)}")
                names = sorted(set(a) & set(b))
            for n in names:
                if not same(a[n], b[n]):
                    bad.append(f"/{g}/{n} differs (shapes {a[n].shape} vs {b[n].shape})")
        status = other["tasks/status"][()]
        if status.size == 0 or not (status == 1).all():
            bad.append(f"/tasks/status of {other_path}: {int((status == 1).sum())} of {status.size} done")
        n = status.size
    for line in bad:
        print("h5compare:", line)
    if not bad:
        print(f"h5compare: {n} tasks, all done, /params /results /tasks equal")
    return 1 if bad else 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        sys.exit(2)
    try:
        sys.exit(main(sys.argv[1], sys.argv[2]))
    except (OSError, KeyError) as e:
        print(f"h5compare: {e}", file=sys.stderr)
        sys.exit(2)
