"""pytest tests of ssmsweep.mf, eig and s4d_eigenvalues (libssm through
ctypes, found by SSMSWEEP_LIBSSM in the build tree) against the CLI
(SSMSWEEP): the same memory functions to 1e-12 for every method on several
spectra, the same eigenvalues bit for bit, the same error messages."""
import os
import subprocess
import sys

import numpy as np
import pytest

import ssmsweep

SSMSWEEP = os.environ.get("SSMSWEEP", "ssmsweep")

# (name, `ssmsweep eig` options): well and badly conditioned, real modes,
# a duplicated real mode (S4D-Lin), aliasing, the discrete families
SPECTRA = [
    ("s4d-inv", ["--init", "s4d-inv", "--N", "16", "--dt", "0.01"]),
    ("s4d-lin-aliased", ["--init", "s4d-lin", "--N", "12", "--dt", "0.1"]),
    ("s4d-real", ["--init", "s4d-real", "--N", "6", "--dt", "0.05"]),
    ("s4d-legs-bilinear", ["--init", "s4d-legs", "--N", "10", "--disc", "bilinear"]),
    ("random-odd", ["--init", "random", "--N", "9", "--seed", "3", "--rho", "0.9"]),
    ("step", ["--init", "step", "--N", "16", "--groups", "4"]),
]
TAU_MAX, T = 60, 200


def cli(*args):
    return subprocess.run([SSMSWEEP, *map(str, args)], capture_output=True, text=True)


def cli_eig(options):
    r = cli("eig", *options)
    assert r.returncode == 0, r.stderr
    rows = np.loadtxt(r.stdout.splitlines()[1:], delimiter=",", ndmin=2)
    return rows[:, 1] + 1j * rows[:, 2], r.stdout


def cli_mf(csv_path, method):
    r = cli("mf", "--init", "file", "--file", csv_path, "--method", method, "--tau-max", TAU_MAX, "--T", T)
    assert r.returncode == 0, r.stderr
    mf = np.loadtxt(r.stdout.splitlines()[1:], delimiter=",", ndmin=2)[:, 1]
    stats = dict(line.split(" = ", 1) for line in r.stderr.splitlines() if " = " in line)
    return mf, float(stats["MC"]), int(stats["rank"].split()[0]), float(stats["memory length"])


@pytest.fixture(scope="module")
def spectra(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spectra")
    out = {}
    for name, options in SPECTRA:
        lam, text = cli_eig(options)
        path = tmp / f"{name}.csv"
        path.write_text(text)
        out[name] = (lam, path)
    return out


@pytest.mark.parametrize("method", ["blaschke", "analytic", "finite"])
@pytest.mark.parametrize("name", [name for name, _ in SPECTRA])
def test_mf_equals_cli(spectra, name, method):
    lam, path = spectra[name]
    want, mc, rank, length = cli_mf(path, method)
    got = ssmsweep.mf(lam, TAU_MAX, method=method, T=T)
    assert got.mf.shape == (TAU_MAX + 1,)
    assert np.max(np.abs(got.mf - want)) <= 1e-12
    assert abs(got.mc - mc) <= 1e-12 * max(1, mc) and got.rank == rank
    assert abs(got.memory_length - length) <= 1e-5 * max(1, length)   # the CLI prints 6 digits
    assert isinstance(got.rank, int) and isinstance(got.mc, float)


@pytest.mark.parametrize("name,options", SPECTRA)
def test_eig_equals_cli(name, options):
    want, _ = cli_eig(options)
    args = dict(zip(options[::2], options[1::2]))
    params = {k.lstrip("-").replace("-", "_"): v for k, v in args.items() if k not in ("--init", "--N")}
    params = {k: (v if k == "disc" else float(v) if "." in v else int(v)) for k, v in params.items()}
    got = ssmsweep.eig(args["--init"], int(args["--N"]), **params)
    assert np.array_equal(got, want), name


def test_eig_from_a_file(spectra):
    lam, path = spectra["step"]
    assert np.array_equal(ssmsweep.eig("file", file=str(path)), lam)


def test_batch_is_one_mf_per_row(spectra):
    a, b = spectra["s4d-inv"][0][:12], spectra["s4d-lin-aliased"][0]
    both = ssmsweep.mf(np.stack([a, b]).reshape(1, 2, 12), 30, method="analytic")
    assert both.mf.shape == (1, 2, 31) and both.mc.shape == (1, 2) and both.rank.dtype.kind == "i"
    for k, lam in enumerate((a, b)):
        one = ssmsweep.mf(lam, 30, method="analytic")
        assert np.array_equal(both.mf[0, k], one.mf) and both.mc[0, k] == one.mc and both.rank[0, k] == one.rank


def test_b_leaves_out_undriven_modes(spectra):
    lam = spectra["s4d-inv"][0]
    b = np.ones(len(lam), dtype=complex)
    b[4:8] = 0
    b[:2] = [2 - 1j, 2 + 1j]   # nonzero weights change nothing
    got = ssmsweep.mf(lam, 40, b=b)
    want = ssmsweep.mf(np.delete(lam, [4, 5, 6, 7]), 40)
    assert np.array_equal(got.mf, want.mf) and got.rank == len(lam) - 4
    with pytest.raises(ValueError, match="one input weight per eigenvalue"):
        ssmsweep.mf(lam, 40, b=np.ones(3))


def cli_error(*args):
    """The CLI's one-line message, its option name (--tau-max) spelled as the
    core and the package name the parameter (tau_max)."""
    r = cli(*args)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1, r.stderr
    prefix = f"ssmsweep {args[0]}: "
    assert r.stderr.startswith(prefix)
    message = r.stderr[len(prefix):].strip()
    if message.startswith("--"):
        option, rest = message[2:].split(": ", 1)
        message = f"{option.replace('-', '_')}: {rest}"
    return message


@pytest.mark.parametrize("case", ["not-real", "T-short", "tau-limit", "unstable", "method"])
def test_mf_errors_carry_the_core_message(tmp_path, case):
    lam = {"not-real": [0.5 + 0.2j, 0.3], "unstable": [1.2, 0.5]}.get(case, [0.5, 0.4])
    kwargs = {"not-real": dict(method="analytic"), "T-short": dict(method="finite", T=10),
              "tau-limit": dict(tau_max=200000000), "unstable": dict(method="blaschke"),
              "method": dict(method="fast")}[case]
    tau_max = kwargs.pop("tau_max", 20)
    path = tmp_path / "lam.csv"
    path.write_text("re,im\n" + "".join(f"{z.real!r},{z.imag!r}\n" for z in np.asarray(lam, complex)))
    args = ["mf", "--init", "file", "--file", path, "--tau-max", tau_max, "--method", kwargs.get("method", "blaschke")]
    if "T" in kwargs:
        args += ["--T", kwargs["T"]]
    want = cli_error(*args)
    with pytest.raises(ssmsweep.SsmInvalidInput) as e:
        ssmsweep.mf(lam, tau_max, **kwargs)
    assert str(e.value) == want and e.value.status == "invalid argument" and isinstance(e.value, ValueError)


@pytest.mark.parametrize("init,N,params,cli_args", [
    ("s4d-inv", 7, {}, ["--N", "7"]),
    ("step", 16, {"groups": 5}, ["--N", "16", "--groups", "5"]),
    ("lin", 8, {"rho": 1.5}, ["--N", "8", "--rho", "1.5"]),
    ("nope", 8, {}, ["--N", "8"]),
    ("s4d-inv", 8, {"disc": "euler"}, ["--N", "8", "--disc", "euler"]),
])
def test_eig_errors_carry_the_core_message(init, N, params, cli_args):
    want = cli_error("eig", "--init", init, *cli_args)
    with pytest.raises(ssmsweep.SsmError) as e:
        ssmsweep.eig(init, N, **params)
    assert str(e.value) == want


def test_bad_parameters_are_refused():
    with pytest.raises(ssmsweep.SsmError, match="unknown parameter 'step_size'"):
        ssmsweep.eig("s4d-inv", 8, step_size=0.1)
    with pytest.raises(ssmsweep.SsmError, match="dt: expected a number, got 'fast'"):
        ssmsweep.eig("s4d-inv", 8, dt="fast")
    with pytest.raises(ValueError, match="tau_max must be a non-negative integer"):
        ssmsweep.mf([0.5], -1)
    with pytest.raises(ValueError, match="non-empty"):
        ssmsweep.mf([], 10)


def test_s4d_eigenvalues_are_the_s4d_families():
    """The standard S4D parametrization at S4D-Lin's and S4D-Inv's
    initial values gives `ssmsweep eig`'s eigenvalues."""
    H, N, dt = 3, 16, 0.01
    n = np.arange(N // 2)
    for init, imag, disc in (("s4d-lin", np.pi * n, "zoh"), ("s4d-inv", N / np.pi * (N / (2 * n + 1) - 1), "bilinear")):
        log_A_real = np.log(0.5 * np.ones((H, N // 2)))
        lam = ssmsweep.s4d_eigenvalues(log_A_real, np.tile(imag, (H, 1)), np.log(dt) * np.ones(H), disc=disc)
        want = ssmsweep.eig(init, N, dt=dt, disc=disc)
        assert lam.shape == (H, N)
        assert np.max(np.abs(lam - want)) < 1e-14, init
    # one line: the MF of every channel
    r = ssmsweep.mf(lam, 100)
    assert r.mf.shape == (H, 101) and np.allclose(r.mc, ssmsweep.mf(want, 100).mc, rtol=1e-12)


class Tensor:
    """What s4d_eigenvalues and mf use of a torch tensor with gradients:
    detach().cpu().numpy() (torch itself takes seconds to import)."""

    def __init__(self, values):
        self.values = np.asarray(values, dtype=float)

    def detach(self):
        return self

    def cpu(self):
        return self

    def numpy(self):
        return self.values

    def __array__(self, dtype=None):
        raise TypeError("a tensor with gradients cannot be turned into an array directly")


def test_s4d_eigenvalues_of_tensors():
    log_A_real = Tensor(np.log(0.5 * np.ones((2, 4))))
    A_imag = Tensor(np.tile(np.pi * np.arange(4.0), (2, 1)))
    log_dt = Tensor(np.log([0.01, 0.1]))
    r = ssmsweep.mf(ssmsweep.s4d_eigenvalues(log_A_real, A_imag, log_dt), 50)
    assert r.mc.shape == (2,) and (r.rank == 7).all()   # S4D-Lin: the n = 0 mode is its own conjugate
    assert ssmsweep.mf(Tensor([0.5, 0.25]), 5).rank == 2
    with pytest.raises(ValueError, match="one value per channel"):
        ssmsweep.s4d_eigenvalues(log_A_real, A_imag, Tensor([0.01]))


def test_pydoc():
    r = subprocess.run([sys.executable, "-m", "pydoc", "ssmsweep"], capture_output=True, text=True,
                       env={**os.environ, "PAGER": "cat"})
    assert r.returncode == 0, r.stderr
    for name in ("open_sweep", "open_sweeps", "mf(eigenvalues, tau_max", "eig(init", "s4d_eigenvalues", "MFResult"):
        assert name in r.stdout, name
