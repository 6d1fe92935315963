"""faultcheck.py -- helpers of tests/fault_injection.sh (run with Debian's /usr/bin/python3).

  rows FILE            every row of a results file carries the parameters it was
                       computed with: for kind noop the task hash recomputed from
                       /params equals /tasks/hash, and each done row's results follow
                       from its own parameters (square = value^2, ramp[j] = value + j,
                       NaN beyond length); for kind mf, MC <= N (but for the sampling
                       engine simulate), and with the blaschke
                       engine, S4D-Inv eigenvalues, N <= 128 and tau_max >= 4000,
                       MC = N (to 1e-4 relative).  Prints one
                       line; exit 0 when every row holds, 1 otherwise.
  legacy IN OUT        writes OUT, the journal IN in format version 2 (frames
                       [len][crc][record without hash]), as builds before format 3
                       wrote it.
  damage FILE SEED N [FROM]
                       overwrites N runs of 1 to 64 random bytes at seeded offsets
                       at or after FROM (default 0); prints the offsets.
  frames FILE          prints the offset of every frame of a version-3 journal and
                       its end, one per line.
"""
import random
import struct
import sys
import zlib

import numpy as np

MASK = (1 << 64) - 1
PHILOX_W0 = 0x9E3779B97F4A7C15


def mix64(x):
    x = (x + PHILOX_W0) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def fnv(data, h=0xCBF29CE484222325):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & MASK
    return h


def noop_hash(value, sleep, fail, length, repeat):
    text = "noop:value=%.17g;sleep=%.17g;fail=%d;length=%d;repeat=%d;" % (value, sleep, fail, length, repeat)
    return mix64(fnv(text.encode()))


def rows(path):
    import h5py

    with h5py.File(path, "r", swmr=True) as f:
        kind = f.attrs["kind"]
        kind = kind.decode() if isinstance(kind, bytes) else kind
        status = f["tasks/status"][()]
        done = status == 1
        bad = []
        if kind == "noop":
            p = {k: f["params/" + k][()] for k in ("value", "sleep", "fail", "length", "repeat")}
            hashes = f["tasks/hash"][()]
            square, ramp = f["results/square"][()], f["results/ramp"][()]
            for i in range(len(status)):
                h = noop_hash(p["value"][i], p["sleep"][i], int(p["fail"][i]), int(p["length"][i]),
                              int(p["repeat"][i]))
                if h != int(hashes[i]):
                    bad.append(f"row {i}: hash {int(hashes[i]):016x}, its parameters give {h:016x}")
                if not done[i]:
                    continue
                v, n = p["value"][i], int(p["length"][i])
                if square[i] != v * v:
                    bad.append(f"row {i}: square {square[i]} for value {v}")
                want = v + np.arange(ramp.shape[1], dtype=float)
                if n and not np.array_equal(ramp[i, :n], want[:n]):
                    bad.append(f"row {i}: ramp does not start at value {v}")
                if not np.isnan(ramp[i, n:]).all():
                    bad.append(f"row {i}: ramp longer than length {n}")
        elif kind == "mf":
            n, mc = f["params/N"][()], f["results/mc"][()]
            init, method, tau_max = f["params/init"][()], f["params/method"][()], f["params/tau_max"][()]
            for i in np.nonzero(done)[0]:
                # (the simulate engine estimates from samples: its MC can exceed N)
                if method[i] not in (b"simulate", "simulate") and mc[i] > n[i] * (1 + 1e-9):
                    bad.append(f"row {i}: MC {mc[i]} above N = {n[i]}")
                # the whole memory of S4D-Inv fits in 4000 delays up to N = 128 at dt >= 0.01
                if init[i] in (b"s4d-inv", "s4d-inv") and method[i] in (b"blaschke", "blaschke") and \
                        tau_max[i] >= 4000 and n[i] <= 128 and abs(mc[i] - n[i]) > 1e-4 * n[i]:
                    bad.append(f"row {i}: MC {mc[i]} for N = {n[i]}")
        else:
            bad.append(f"kind {kind}: no invariant known")
    for line in bad[:5]:
        print("faultcheck:", line)
    print(f"faultcheck: {len(status)} rows of kind {kind}, {int(done.sum())} done, {len(bad)} inconsistent")
    return 1 if bad else 0


HEADER_FIXED = 8 + 4 + 8 + 8 + 2


def read_header(data):
    assert data[:8] == b"SSMJRNL1", "not a journal"
    version, spec_hash, n_tasks, klen = struct.unpack_from("<IQQH", data, 8)
    at = HEADER_FIXED + klen + 8 + (24 if version >= 2 else 0) + (8 if version >= 3 else 0)
    return version, at + 4


def frames(path):
    data = open(path, "rb").read()
    version, at = read_header(data)
    assert version == 3
    while at + 12 <= len(data):
        sync, n, _ = struct.unpack_from("<III", data, at)
        if sync != 0xE35A1CF7:
            break
        print(at)
        at += 12 + n
    print(at)
    return 0


def legacy(src, dst):
    data = open(src, "rb").read()
    version, at = read_header(data)
    assert version == 3
    head = bytearray(data[:at - 12])   # without the master seed and the CRC
    head[8:12] = struct.pack("<I", 2)
    head += struct.pack("<I", zlib.crc32(bytes(head)))
    out = [bytes(head)]
    while at + 12 <= len(data):
        sync, n, _ = struct.unpack_from("<III", data, at)
        payload = data[at + 12:at + 12 + n]
        old = payload[:8] + payload[16:]   # the task hash goes
        out.append(struct.pack("<II", len(old), zlib.crc32(old)) + old)
        at += 12 + n
    open(dst, "wb").write(b"".join(out))
    return 0


def damage(path, seed, count, start=0):
    rng = random.Random(seed)
    with open(path, "r+b") as f:
        f.seek(0, 2)
        size = f.tell()
        for _ in range(count):
            at = rng.randrange(start, size)
            n = min(rng.randint(1, 64), size - at)
            f.seek(at)
            f.write(bytes(rng.randrange(256) for _ in range(n)))
            print(at, n)
    return 0


def main(argv):
    if len(argv) >= 2 and argv[0] == "rows":
        return rows(argv[1])
    if len(argv) >= 3 and argv[0] == "legacy":
        return legacy(argv[1], argv[2])
    if len(argv) >= 4 and argv[0] == "damage":
        return damage(argv[1], int(argv[2]), int(argv[3]), int(argv[4]) if len(argv) > 4 else 0)
    if len(argv) >= 2 and argv[0] == "frames":
        return frames(argv[1])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
