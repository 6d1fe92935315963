#!/bin/sh
# End to end against numpy: the CLI's eigenvalues and memory functions
# match a plain numpy evaluation of the formulas in paper-notes.md.
. "$TOP_BUILDDIR/tests/setup.sh"
have_python3_module numpy || { echo "SKIP: Debian's python3-numpy is missing"; exit 77; }

for init in s4d-inv s4d-lin s4d-legs s4d-real; do
  "$SSMSWEEP" eig --init $init --N 24 --dt 0.03 --real-part 0.4 --imag-scale 1.5 > "$scratch/eig-$init.csv" \
    || fail "eig $init"
done
"$SSMSWEEP" mf --init s4d-inv --N 24 --dt 0.03 --real-part 0.4 --imag-scale 1.5 --tau-max 400 \
  > "$scratch/mf.csv" 2>/dev/null || fail "mf s4d-inv"
"$SSMSWEEP" mf --init s4d-inv --N 24 --dt 0.03 --real-part 0.4 --imag-scale 1.5 --method finite \
  --tau-max 300 --T 300 > "$scratch/finite.csv" 2>/dev/null || fail "mf finite"

"$PYTHON3" - "$scratch" <<'PY' || fail "numpy cross-check"
import sys
import numpy as np

d = sys.argv[1]
N, dt, a, s = 24, 0.03, 0.4, 1.5
n = np.arange(N // 2)
cont = {
    "s4d-inv": -a + 1j * s * (N / np.pi) * (N / (2 * n + 1) - 1),
    "s4d-lin": -a + 1j * s * np.pi * n,
}
q = np.arange(N)
legs = -np.sqrt(2 * q + 1)[:, None] * np.sqrt(2 * q + 1)[None, :]
legs = np.tril(legs, -1) - np.diag(q + 1.0)
normal = legs + np.sqrt(q + 0.5)[:, None] * np.sqrt(q + 0.5)[None, :]
omega = np.sort(np.linalg.eigvals(normal).imag)[::-1][: N // 2]
cont["s4d-legs"] = -a + 1j * s * omega
bad = 0
for name, c in cont.items():
    lam = np.exp(dt * c)
    want = np.empty(N, complex)
    want[0::2], want[1::2] = lam, lam.conj()
    got = np.loadtxt(f"{d}/eig-{name}.csv", delimiter=",", skiprows=1)
    err = np.max(np.abs(got[:, 1] + 1j * got[:, 2] - want))
    print(f"{name}: max |eig - numpy| = {err:.2e}")
    bad |= err > 1e-12
got = np.loadtxt(f"{d}/eig-s4d-real.csv", delimiter=",", skiprows=1)
bad |= np.max(np.abs(got[:, 1] - np.exp(-dt * (q + 1)))) > 1e-15

lam = np.exp(dt * cont["s4d-inv"])
lam = np.concatenate([lam, lam.conj()])
G = 1 / (1 - np.outer(lam, lam.conj()))
H = lam[:, None] ** np.arange(401)[None, :]
mf = np.real(np.sum(H.conj() * np.linalg.solve(G, H), axis=0))
got = np.loadtxt(f"{d}/mf.csv", delimiter=",", skiprows=1)[:, 1]
err = np.max(np.abs(got - mf))
print(f"analytic MF: max |ssmsweep - numpy| = {err:.2e} (cond G = {np.linalg.cond(G):.2e})")
bad |= err > 1e-9

V = lam[None, :] ** np.arange(300)[:, None]
U, sv, _ = np.linalg.svd(V, full_matrices=False)
lev = np.sum(np.abs(U[:, sv > sv[0] * 300 * np.finfo(float).eps]) ** 2, axis=1)
got = np.loadtxt(f"{d}/finite.csv", delimiter=",", skiprows=1)[:, 1]
err = np.max(np.abs(got[:300] - lev))
print(f"finite MF: max |ssmsweep - numpy leverage| = {err:.2e}")
bad |= err > 1e-9
sys.exit(1 if bad else 0)
PY
pass "eigenvalues and MF agree with numpy"
finish
