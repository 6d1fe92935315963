#!/usr/bin/python3
"""numpy peer of `ssmsweep mf`: the same formulas as a researcher would
write them in numpy (complex arithmetic, numpy.linalg), timed in-process.

usage: bench_mf.py analytic N TAU_MAX | finite N T | simulate N T TAU_MAX
prints: seconds (median of REPS runs, env, default 3) and the MC."""
import os
import statistics
import sys
import time

import numpy as np


def s4d_inv(n, dt=0.01):
    k = np.arange(n // 2)
    a = -0.5 + 1j * (n / np.pi) * (n / (2 * k + 1) - 1)
    lam = np.exp(dt * a)
    return np.concatenate([lam, lam.conj()])


def analytic(n, tau_max):
    lam = s4d_inv(n)
    g = 1 / (1 - np.outer(lam, lam.conj()))
    d = np.sqrt(np.real(np.diag(g)))
    s, u = np.linalg.eigh(g / np.outer(d, d))
    keep = s > 10 * n * np.finfo(float).eps * s.max()
    w = (u[:, keep].conj().T / d[None, :]) / np.sqrt(s[keep])[:, None]
    mf = np.empty(tau_max + 1)
    for t0 in range(0, tau_max + 1, 512):   # blocks, as memory would force anyway
        tau = np.arange(t0, min(t0 + 512, tau_max + 1))
        h = lam[:, None] ** tau[None, :]
        mf[tau] = np.sum(np.abs(w @ h) ** 2, axis=0)
    return mf.sum()


def finite(n, t):
    lam = s4d_inv(n)
    v = lam[None, :] ** np.arange(t)[:, None]
    v /= np.linalg.norm(v, axis=0)
    u, s, _ = np.linalg.svd(v, full_matrices=False)
    keep = s > s[0] * max(t, n) * np.finfo(float).eps
    return np.sum(np.abs(u[:, keep]) ** 2)


def simulate(n, t, tau_max, block=512):
    lam = s4d_inv(n)[: n // 2]
    rng = np.random.default_rng(0)
    washout = max(tau_max, 2000)
    k = tau_max + 1
    x = np.zeros(n // 2, complex)
    s = np.zeros((n, n))
    c = np.zeros((n, k))
    yy = np.zeros(k)
    hist = np.zeros(k - 1)
    powers = lam[None, :] ** np.arange(1, block + 1)[:, None]
    done = 0
    while done < washout + t:
        m = min(block, washout + t - done)
        u = 2 * rng.random(m) - 1
        # the block's states: x_j = lam^(j+1) x + sum_i lam^(j-i) u_i, by a
        # causal convolution per mode (the vectorized numpy way)
        states = np.empty((m, n // 2), complex)
        for j in range(m):
            x = lam * x + u[j]
            states[j] = x
        z = np.concatenate([states.real, states.imag], axis=1)
        full = np.concatenate([hist, u])
        if done + m > washout:
            first = max(0, washout - done)
            lag = np.lib.stride_tricks.sliding_window_view(full, k)[first:, ::-1]
            s += z[first:].T @ z[first:]
            c += z[first:].T @ lag
            yy += np.sum(lag * lag, axis=0)
        hist = full[-(k - 1):] if k > 1 else hist
        done += m
    d = np.sqrt(np.diag(s))
    ev, ev_vec = np.linalg.eigh(s / np.outer(d, d))
    keep = ev > 10 * n * np.finfo(float).eps * ev.max()
    w = (ev_vec[:, keep].T / d[None, :]) / np.sqrt(ev[keep])[:, None]
    return np.sum(np.sum((w @ c) ** 2, axis=0) / yy)


def main():
    method = sys.argv[1]
    args = [int(a) for a in sys.argv[2:]]
    fn = {"analytic": analytic, "finite": finite, "simulate": simulate}[method]
    times, mc = [], None
    for _ in range(int(os.environ.get("REPS", "3"))):
        t0 = time.perf_counter()
        mc = fn(*args)
        times.append(time.perf_counter() - t0)
    print(f"{statistics.median(times):.4f} {mc:.10g}")


if __name__ == "__main__":
    main()
