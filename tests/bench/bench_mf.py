#!/usr/bin/python3
"""numpy peer of `ssmsweep mf`: the same formulas written the way a
researcher would write them in numpy (complex arithmetic, numpy.linalg,
whole arrays at once), so that bench_mf.sh can time both side by side and
check that they agree.  It does not call ssmsweep.

usage: bench_mf.py analytic N TAU_MAX
       bench_mf.py finite   N TAU_MAX T
       bench_mf.py simulate N TAU_MAX T
options: --dt DT (default 0.01), --reps R (default 3)

Prints `key = value` lines like ssmsweep's stderr: time (median seconds of
the repetitions, measured in-process: interpreter start-up and the numpy
import are excluded, which favours numpy), MC, rank, cond, and for
simulate the rate in samples/s."""
import argparse
import statistics
import sys
import time

import numpy as np

EPS = np.finfo(float).eps


def s4d_inv(n, dt):
    """The N eigenvalues of ZOH-discretised S4D-Inv: N/2 modes and their
    conjugates, as the complex state of a real system has them."""
    k = np.arange(n // 2)
    a = -0.5 + 1j * (n / np.pi) * (n / (2 * k + 1) - 1)
    lam = np.exp(dt * a)
    return np.concatenate([lam, lam.conj()])


def whitening(gram, n):
    """W with MF = |W h|^2: equilibrate to unit diagonal (MF does not
    depend on the scale of the features), Hermitian eigendecomposition and
    the same relative cut-off as ssmsweep (10 N eps on the eigenvalues:
    what eigh resolves on a unit-diagonal matrix)."""
    d = np.sqrt(np.real(np.diag(gram)))
    s, u = np.linalg.eigh(gram / np.outer(d, d))
    keep = s > 10 * n * EPS * s.max()
    w = (u[:, keep].conj().T / d[None, :]) / np.sqrt(s[keep])[:, None]
    return w, int(keep.sum()), s.max() / s.min() if s.min() > 0 else np.inf


def analytic(n, tau_max, dt):
    """MF(tau) = h^H G^-1 h, G_ij = 1 / (1 - l_i conj(l_j)), h = l^tau."""
    lam = s4d_inv(n, dt)
    w, rank, cond = whitening(1 / (1 - np.outer(lam, lam.conj())), n)
    h = lam[:, None] ** np.arange(tau_max + 1)[None, :]
    mf = np.sum(np.abs(w @ h) ** 2, axis=0)
    return mf, rank, cond


def finite(n, tau_max, t, dt):
    """MF_T(tau) = leverage scores of the T x N Vandermonde matrix."""
    lam = s4d_inv(n, dt)
    v = lam[None, :] ** np.arange(t)[:, None]
    # unit columns: the rank decision then does not depend on the scale
    v /= np.linalg.norm(v, axis=0)
    u, s, _ = np.linalg.svd(v, full_matrices=False)
    # numpy's matrix_rank convention, as ssmsweep's finite engine
    keep = s > s[0] * max(t, n) * EPS
    mf = np.sum(np.abs(u[:tau_max + 1, keep]) ** 2, axis=1)
    return mf, int(keep.sum()), (s[0] / s[-1]) ** 2 if s[-1] > 0 else np.inf


def block_states(lam, x0, u, powers):
    """States x_j = lam x_{j-1} + u_j for one block, from x_{-1} = x0,
    without a Python loop over time:
        x_j = lam^(j+1) x0 + sum_{i<=j} lam^(j-i) u_i,
    the sum being a lower-triangular Toeplitz matrix of u times the table
    of powers, one matrix product per block.  Blocks stay short (len
    (powers) - 1 steps) because that product costs block_len flops per
    step and mode."""
    m = len(u)
    toeplitz = np.lib.stride_tricks.sliding_window_view(
        np.concatenate([np.zeros(m - 1), u]), m)[:, ::-1]
    return toeplitz @ powers[:m] + powers[1:m + 1] * x0[None, :]


def simulate(n, tau_max, t, dt, block=512, sub=64):
    """Streaming least squares as ssmsweep's simulate engine: i.i.d.
    uniform input, features z = [Re x, Im x] of the N/2 complex modes,
    S = sum z z^T and c_tau = sum z u_{t-tau} accumulated over blocks of
    time steps (memory flat in T), MF(tau) = c^T S^+ c / sum u^2."""
    lam = s4d_inv(n, dt)[:n // 2]
    rng = np.random.default_rng(0)
    radius = np.abs(lam).max()
    # ssmsweep's automatic washout: until radius^t from the zero state < eps
    washout = max(tau_max, int(np.ceil(np.log(EPS) / np.log(radius))))
    k = tau_max + 1
    powers = lam[None, :] ** np.arange(sub + 1)[:, None]
    x = np.zeros(n // 2, complex)
    s = np.zeros((n, n))
    c = np.zeros((n, k))
    yy = np.zeros(k)
    hist = np.zeros(k - 1)   # the k-1 inputs before the current block
    done, total = 0, washout + t
    while done < total:
        m = min(block, total - done)
        u = 2 * rng.random(m) - 1
        states = np.empty((m, n // 2), complex)
        for j0 in range(0, m, sub):
            states[j0:j0 + sub] = block_states(lam, x, u[j0:j0 + sub], powers)
            x = states[min(j0 + sub, m) - 1]
        full = np.concatenate([hist, u])
        first = max(0, washout - done)   # rows of this block that are samples
        if first < m:
            z = np.concatenate([states.real, states.imag], axis=1)[first:]
            # a copy: numpy hands a reversed (negative-stride) view to its
            # own naive loop instead of BLAS, about 10x slower here
            lag = np.ascontiguousarray(
                np.lib.stride_tricks.sliding_window_view(full, k)[first:, ::-1])
            s += z.T @ z
            c += z.T @ lag
            yy += np.einsum("ij,ij->j", lag, lag)
        hist = full[len(full) - (k - 1):]
        done += m
    w, rank, cond = whitening(s, n)
    mf = np.sum((w @ c) ** 2, axis=0) / yy
    return mf, rank, cond


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("method", choices=["analytic", "finite", "simulate"])
    p.add_argument("N", type=int)
    p.add_argument("tau_max", type=int)
    p.add_argument("T", type=int, nargs="?")
    p.add_argument("--dt", type=float, default=0.01)
    p.add_argument("--reps", type=int, default=3)
    a = p.parse_args()
    if a.method != "analytic" and (a.T is None or a.T < a.tau_max):
        p.error(f"{a.method} needs T >= TAU_MAX")
    if a.method == "analytic":
        run = lambda: analytic(a.N, a.tau_max, a.dt)
    elif a.method == "finite":
        run = lambda: finite(a.N, a.tau_max, a.T, a.dt)
    else:
        run = lambda: simulate(a.N, a.tau_max, a.T, a.dt)
    times = []
    for _ in range(a.reps):
        t0 = time.perf_counter()
        mf, rank, cond = run()
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    print(f"time = {med:.4f}")
    print(f"MC = {mf.sum():.17g}")
    print(f"rank = {rank} of N = {a.N}")
    print(f"cond = {cond:.3g}")
    if a.method == "simulate":
        print(f"rate = {a.T / med:.4g} samples/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
