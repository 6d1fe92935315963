#!/usr/bin/python3
"""The coordinator's scaling model: calibrate, validate, predict.

  sim_scaling.py calibrate OUT.txt   measure rank 0's costs with real runs of
                                     `ssmsweep run` (timing shim preloaded)
  sim_scaling.py validate CALIB      real runs at 1..64 ranks with sleeping
                                     tasks against the simulator's prediction
  sim_scaling.py calibrate-parts CALIB
                                     the part files' costs (leader per record,
                                     rank 0 per status, rank 0's merge per part
                                     record) from SSMSWEEP_COORD_STATS of 10^6
                                     noop tasks on 6 ranks in groups of 2;
                                     rewrites those lines of CALIB only
  sim_scaling.py predict CALIB       10^2..10^5 ranks x 1 ms..10 s, flat and
                                     hierarchical; and where results are written

Environment: SSMSWEEP (the binary), SSMSIM (tests/bench/ssmsim), SIMCAL_SHIM
(the shim .so; calibrate builds one when unset).  Prints Markdown tables.
Not a test: timings drift on shared machines (medians/minima of repeats).
"""
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SSMSWEEP = os.environ.get("SSMSWEEP", "ssmsweep")
SSMSIM = os.environ.get("SSMSIM", os.path.join(HERE, "ssmsim"))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OPENBLAS_NUM_THREADS="1")


def spec(path, tasks, sleep):
    with open(path, "w") as f:
        f.write(f"kind: noop\nname: sim\nrepeats: {tasks}\n")
        if sleep > 0:
            f.write(f"axes:\n  sleep: [{sleep!r}]\n")


def mpirun(ranks, spec_path, out, extra=(), shim=None, shim_dir=None):
    """Runs the sweep; returns the wall time of mpirun."""
    cmd = ["mpirun", "-np", str(ranks)]
    if ranks > 2:
        cmd.append("--oversubscribe")
    if shim:
        cmd += ["-x", f"LD_PRELOAD={shim}", "-x", f"SSMSIM_SHIM_DIR={shim_dir}"]
    for stale in (out, out + ".journal"):   # a fresh sweep: nothing reused from a previous run
        if os.path.exists(stale):
            os.remove(stale)
    cmd += [SSMSWEEP, "run", spec_path, "-o", out, "--quiet", *extra]
    t0 = time.monotonic()
    subprocess.run(cmd, env=ENV, check=True, stdout=subprocess.DEVNULL)
    return time.monotonic() - t0


def read_shim(path):
    values = {}
    with open(path) as f:
        for line in f:
            k, v = line.strip().split("=")
            values[k] = float(v)
    return values


def shim_run(work, shim, ranks, tasks, sleep, sync):
    """One run under the shim: rank 0's and rank 1's tallies."""
    d = tempfile.mkdtemp(dir=work)
    spec(os.path.join(d, "s.yaml"), tasks, sleep)
    mpirun(ranks, os.path.join(d, "s.yaml"), os.path.join(d, "o.h5"), ["--sync", str(sync)], shim, d)
    return read_shim(os.path.join(d, "rank0.txt")), read_shim(os.path.join(d, "rank1.txt"))


def build_shim(work):
    so = os.path.join(work, "simcal_shim.so")
    cflags = subprocess.run(["pkg-config", "--cflags", "hdf5-openmpi"], capture_output=True, text=True,
                            check=True).stdout.split()
    subprocess.run(["mpicc", "-O2", "-shared", "-fPIC", "-o", so, os.path.join(HERE, "simcal_shim.c"),
                    *cflags, "-ldl"], check=True)
    return so


def calibrate(out_path):
    reps = 3
    with tempfile.TemporaryDirectory() as work:
        shim = os.environ.get("SIMCAL_SHIM") or build_shim(work)
        # A: trivial tasks on 2 ranks, rank 0 is the bottleneck; its main
        # thread's CPU time against the task count gives the cost per record
        small, large = 20000, 200000
        a = {n: [shim_run(work, shim, 2, n, 0, 1) for _ in range(reps)] for n in (small, large)}
        cpu = {n: min(r0["main_cpu_s"] for r0, _ in a[n]) for n in a}
        c_rec_all = (cpu[large] - cpu[small]) / (large - small)
        h5 = min(r0["h5write_s"] / (large / 1024) for r0, _ in a[large])
        w_task = min(r1["batch_s"] / r1["batch_tasks"] for _, r1 in a[large])
        # B: 1 ms tasks on 2 ranks with --sync 0.02: many small messages,
        # frequent fsyncs, and rank 0 idling between them (its nap)
        b = [shim_run(work, shim, 2, 2000, 0.001, 0.02) for _ in range(reps)]
        msg = min((r0["iprobe_hit_s"] + r0["recv_s"] + r0["isend_s"] + r0["test_s"]) / r0["iprobe_hit_calls"]
                  for r0, _ in b)
        sync = min((r0["fsync_s"] + r0["h5flush_s"]) / r0["fsync_calls"] for r0, _ in b)
        nap = sorted((r0["nap_s"] + r0["iprobe_miss_s"]) / r0["nap_calls"] for r0, _ in b)[reps // 2]
        sleep_over = sorted(r1["sleep_s"] / r1["sleep_calls"] - 0.001 for _, r1 in b)[reps // 2]
    c_rec = c_rec_all - h5 / 1024
    lines = [
        "# ssmsim calibration: rank 0's costs measured with real runs of `ssmsweep run`",
        f"# (tests/bench/simcal_shim.c preloaded), {time.strftime('%Y-%m-%d')}, {os.uname().nodename}, "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}.",
        "# Reproduce: SSMSWEEP=_build/src/ssmsweep tests/bench/sim_scaling.py calibrate tests/bench/sim-calibration.txt",
        f"# A: {small} and {large} trivial noop tasks, 2 ranks, {reps} runs each; rank 0 main-thread CPU",
        f"#    {cpu[small]:.3f} s and {cpu[large]:.3f} s (minima): {c_rec_all * 1e6:.2f} us per record all-in,",
        f"#    of which HDF5 writes {h5 / 1024 * 1e6:.2f} us (H5Dwrite time per {1024}-row batch / 1024).",
        "# B: 2000 tasks sleeping 1 ms, 2 ranks, --sync 0.02: MPI time per message, fsync + H5Fflush per sync,",
        f"#    rank 0's nap as it really lasts; workers' 1 ms sleeps overran by {sleep_over * 1e6:.0f} us (median).",
        f"c_rec = {c_rec:.4g}      # per record: unpack, journal append, state (HDF5 separate)",
        f"c_h5 = {h5:.4g}        # one HDF5 write of 1024 rows",
        f"c_msg = {msg:.4g}      # per message: Iprobe, Recv, Isend of the reply, Test",
        f"c_sync = {sync + h5:.4g}     # journal fsync + H5Fflush (+ one partial HDF5 write)",
        f"nap = {nap:.4g}        # rank 0's idle loop period (nanosleep of 200 us as it lasts + Iprobe)",
        f"leader_nap = {nap:.4g} # leaders assumed to poll like rank 0",
        f"w_task = {w_task:.4g}  # worker per-task overhead (run bookkeeping, pack)",
        "lat = 2e-06          # one-way latency: assumed (not measured; small next to the nap)",
        "c_fwd = 3e-07        # leader per forwarded record: assumed (a copy, no unpack or journal)",
        "c_ack = 1e-07        # rank 0 per record written by a leader (status only): see calibrate-parts",
        "c_part = 3e-07       # leader per record into its part journal: see calibrate-parts",
        "c_merge = 1.2e-06    # rank 0's merge per part record after the last task: see calibrate-parts",
    ]
    with open(out_path, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def calibrate_parts(calib):
    """Part files: medians of 3 runs of 10^6 noop tasks, 6 ranks in groups
    of 2 (--part-files), main-thread CPU times from SSMSWEEP_COORD_STATS."""
    import re
    spec_path = os.path.join(HERE, "specs", "run-1e6.yaml")
    leader, status, merge = [], [], []
    with tempfile.TemporaryDirectory() as work:
        for rep in range(3):
            out = os.path.join(work, f"p{rep}.h5")
            cmd = ["mpirun", "-np", "6", "--oversubscribe", SSMSWEEP, "run", spec_path, "-o", out, "--quiet",
                   "--leaders", "2", "--part-files"]
            text = subprocess.run(cmd, env=dict(ENV, SSMSWEEP_COORD_STATS="1"), check=True, capture_output=True,
                                  text=True).stderr
            leader += [float(x) for x in re.findall(r"CPU taking its ranks' records: ([0-9.]+) us per record", text)]
            m = re.search(r"with ([0-9]+) tasks, [0-9.]+ s CPU: ([0-9.]+) us per task.*merged .* in [0-9.]+ s wall, "
                          r"([0-9.]+) s CPU", text)
            status.append(float(m.group(2)))
            merge.append(float(m.group(3)) / int(m.group(1)) * 1e6)
    med = lambda v: sorted(v)[len(v) // 2]
    new = {
        "c_part": f"c_part = {med(leader) * 1e-6:.3g}     # leader per record into its part journal (peek, hash "
                  f"check, append; no HDF5): median of {len(leader)}",
        "c_ack": f"c_ack = {med(status) * 1e-6:.3g}      # rank 0 per (id, status) word of a leader: median of 3",
        "c_merge": f"c_merge = {med(merge) * 1e-6:.3g}    # rank 0's merge per part record (read, append to "
                   f"OUT.h5.journal, HDF5 write; closing the files included): median of 3",
    }
    lines = open(calib).read().splitlines()
    lines = [new.get(line.split("=")[0].strip(), line) for line in lines if not line.startswith("# C: part files")]
    lines.append(f"# C: part files measured {time.strftime('%Y-%m-%d')}, load average {os.getloadavg()[0]:.1f}: "
                 "SSMSWEEP=_build/src/ssmsweep tests/bench/sim_scaling.py calibrate-parts CALIB")
    with open(calib, "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(new.values()))


def simulate(calib, **kw):
    args = [SSMSIM, f"calib={calib}"] + [f"{k}={v}" for k, v in kw.items()]
    out = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    return {k: float(v) for k, v in (item.split("=") for item in out.split())}


def measured(h5path):
    import h5py
    import numpy as np
    with h5py.File(h5path, "r") as f:
        fin = f["tasks/finished"][:]
        el = f["tasks/elapsed"][:]
    return float(np.max(fin) - np.min(fin - el)), float(np.mean(el)), float(np.sum(el))


def validate(calib):
    cases = [(p, d) for d in (0.001, 0.01, 0.1) for p in (1, 2, 4, 8, 16, 32, 64)]
    print("| ranks | task | tasks | measured span | simulated span | error | measured eff. | simulated eff. "
          "| mpirun wall |")
    print("|---|---|---|---|---|---|---|---|---|")
    errors = []
    with tempfile.TemporaryDirectory() as work:
        for ranks, d in cases:
            tasks = max(ranks, 1) * max(1, round(1.0 / d))   # about 1 s of work per rank
            s, o = os.path.join(work, "s.yaml"), os.path.join(work, "o.h5")
            spec(s, tasks, d)
            wall = mpirun(ranks, s, o)
            span, mean_el, work_s = measured(o)
            # the simulator gets the durations the tasks really had (sleeps overrun)
            sim = simulate(calib, ranks=ranks, tasks=tasks, duration=mean_el)
            err = (sim["span"] - span) / span
            errors.append(abs(err))
            eff_m = work_s / (ranks * span)
            eff_s = sim["work"] / (ranks * sim["span"])
            print(f"| {ranks} | {d * 1e3:g} ms | {tasks} | {span:.3f} s | {sim['span']:.3f} s | {err * 100:+.1f}% "
                  f"| {eff_m * 100:.1f}% | {eff_s * 100:.1f}% | {wall:.2f} s |", flush=True)
    errors.sort()
    print(f"\nmedian |error| {errors[len(errors) // 2] * 100:.1f}%, largest {errors[-1] * 100:.1f}%")


def predict(calib):
    ranks = (100, 1000, 10000, 100000)
    durations = (0.001, 0.01, 0.1, 1, 10)
    for title, kw in (("flat", {}), ("hierarchical, 128 ranks per node, rank 0 writes", {"hier": 1}),
                      ("hierarchical, 128 ranks per node, per-node part files (merged in the job / kept for a "
                       "later --resume)", {"hier": 1, "writer_node": 1})):
        print(f"\n{title}: efficiency (rank 0 busy; busiest leader), 100 tasks per rank\n")
        print("| ranks | " + " | ".join(f"{d * 1e3:g} ms" if d < 1 else f"{d:g} s" for d in durations) + " |")
        print("|---|" + "---|" * len(durations))
        for p in ranks:
            cells = []
            for d in durations:
                # 100 ranks make no two nodes of 128: nodes of 50 there
                node = {"rpn": min(128, p // 2)} if "hier" in kw else {}
                r = simulate(calib, ranks=p, tasks=100 * p, duration=d, **kw, **node)
                leader = f"; {r['leader_util_max'] * 100:.0f}%" if "hier" in kw else ""
                keep = f" / {r['efficiency_keep'] * 100:.1f}%" if "writer_node" in kw else ""
                cells.append(f"{r['efficiency'] * 100:.1f}%{keep} ({r['rank0_util'] * 100:.0f}%{leader})")
            print(f"| {p} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("calibrate", "calibrate-parts", "validate", "predict"):
        sys.exit(__doc__)
    {"calibrate": calibrate, "calibrate-parts": calibrate_parts, "validate": validate,
     "predict": predict}[sys.argv[1]](sys.argv[2])
