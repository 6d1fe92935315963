#!/usr/bin/python3
"""Plots the figure-1 data written by `ssmsweep figure1`: |lambda| against
the eigenvalue index, and MF against the delay, per initialization.

usage: plot_figure1.py DIR   (reads DIR/eigenvalues.csv and DIR/mf.csv,
                              writes DIR/figure1.png)
Needs only numpy and matplotlib (Debian: python3-numpy python3-matplotlib)."""
import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")  # no display on cluster nodes
import matplotlib.pyplot as plt  # noqa: E402


def read_columns(path, value_columns):
    series = defaultdict(lambda: [[] for _ in value_columns])
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            for k, col in enumerate(value_columns):
                series[row["init"]][k].append(float(row[col]))
    return series


def main(directory):
    eig = read_columns(f"{directory}/eigenvalues.csv", ["abs"])
    mf = read_columns(f"{directory}/mf.csv", ["tau", "mf"])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    for name, (mags,) in eig.items():
        # sorted magnitudes: the staircase of 'step' and the spread of the S4D sets
        left.plot(range(len(mags)), sorted(mags, reverse=True), marker=".", label=name)
    left.set_xlabel("eigenvalue index (sorted)")
    left.set_ylabel("|λ|")
    left.set_title("eigenvalue magnitudes")
    for name, (tau, values) in mf.items():
        right.plot(tau, values, label=f"{name} (MC {sum(values):.1f})")
    right.set_xscale("symlog", linthresh=1)
    right.set_xlabel("delay τ")
    right.set_ylabel("MF(τ)")
    right.set_title("memory function, N = %d, T = %d" % (len(next(iter(eig.values()))[0]), len(next(iter(mf.values()))[0])))
    for ax in (left, right):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    out = f"{directory}/figure1.png"
    fig.savefig(out, dpi=130)
    print(f"wrote {out}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
