#!/usr/bin/python3
"""Regenerates the reference files of the C tests (run from this folder).

philox.csv        Philox4x64-10 blocks from numpy's independent implementation.
mf_reference.csv  memory functions in 50-digit arithmetic (mpmath): the
                  Gram matrix G_ij = 1/(1 - l_i conj(l_j)) is inverted
                  exactly enough that the values are correct to all printed
                  digits for the double-precision eigenvalues listed with
                  them, however ill-conditioned G is.

Both tools are independent of ssmsweep: numpy's Philox and mpmath's
arbitrary-precision linear algebra."""
import mpmath as mp
import numpy as np

mp.mp.dps = 50


def philox_rows():
    rows = []
    cases = [((0, 0, 0, 0), (0, 0)),
             ((1, 0, 0, 0), (0, 0)),
             ((2**64 - 1, 2**64 - 1, 2**64 - 1, 2**64 - 1), (2**64 - 1, 2**64 - 1)),
             ((0x243F6A8885A308D3, 0x13198A2E03707344, 0xA4093822299F31D0, 0x082EFA98EC4E6C89),
              (0x452821E638D01377, 0xBE5466CF34E90C6C)),
             ((12345, 7, 0, 0), (42, 0xDEADBEEF))]
    for ctr, key in cases:
        # numpy increments the counter before each block: start one below
        value = sum(c << (64 * i) for i, c in enumerate(ctr))
        prev = (value - 1) % 2**256
        start = np.array([(prev >> (64 * i)) & (2**64 - 1) for i in range(4)], dtype=np.uint64)
        bitgen = np.random.Philox(counter=start, key=np.array(key, dtype=np.uint64))
        out = bitgen.random_raw(4)
        rows.append(list(ctr) + list(key) + [int(x) for x in out])
    return rows


def s4d(kind, n, dt):
    k = np.arange(n // 2)
    if kind == "inv":
        a = -0.5 + 1j * (n / np.pi) * (n / (2 * k + 1) - 1)
    else:
        a = -0.5 + 1j * np.pi * k
    lam = np.exp(dt * a)
    out = np.empty(n, dtype=complex)
    out[0::2] = lam
    out[1::2] = lam.conj()
    return out


def mf_exact(lams, taus):
    lam = [mp.mpc(complex(x)) for x in lams]
    n = len(lam)
    g = mp.matrix(n, n)
    for i in range(n):
        for j in range(n):
            g[i, j] = 1 / (1 - lam[i] * mp.conj(lam[j]))
    gi = mp.inverse(g)
    vals = []
    for t in taus:
        h = mp.matrix([x**t for x in lam])
        vals.append(mp.re((h.H * gi * h)[0]))
    return vals


CASES = {
    # well conditioned: the notes' oracle, all engines must agree
    "s4d-inv-32-0.01": (s4d("inv", 32, 0.01), [0, 1, 2, 10, 100, 500, 1000, 3000]),
    "s4d-inv-32-0.001": (s4d("inv", 32, 0.001), [0, 1, 10, 100, 1000, 5000, 20000]),
    # S4D-Real (the spectrum of HiPPO-LegS), cond(G) ~ 3e10: only an
    # accurate method gets all digits
    "s4d-real-8-0.01": (np.exp(-0.01 * np.arange(1, 9)).astype(complex), [0, 1, 5, 20, 100, 300, 1000]),
    "s4d-real-6-0.1": (np.exp(-0.1 * np.arange(1, 7)).astype(complex), [0, 1, 2, 5, 10, 30, 100]),
    # complex pairs at different radii
    "pairs-4": (np.array([0.9 * np.exp(0.3j), 0.9 * np.exp(-0.3j), 0.5 * np.exp(2.0j), 0.5 * np.exp(-2.0j)]),
                [0, 1, 2, 3, 4, 5, 10, 40]),
}


def main():
    with open("philox.csv", "w") as f:
        f.write("# c0,c1,c2,c3,k0,k1,o0,o1,o2,o3 (numpy.random.Philox, Philox4x64-10)\n")
        for row in philox_rows():
            f.write(",".join(str(x) for x in row) + "\n")
    with open("mf_reference.csv", "w") as f:
        f.write("# case,eig,index,re,im  |  case,mf,tau,value  (mpmath, 50 digits)\n")
        for name, (lams, taus) in CASES.items():
            for i, z in enumerate(lams):
                f.write(f"{name},eig,{i},{z.real!r},{z.imag!r}\n")
            for t, v in zip(taus, mf_exact(lams, taus)):
                f.write(f"{name},mf,{t},{mp.nstr(v, 25)}\n")


if __name__ == "__main__":
    main()
