"""Memory functions and eigenvalue sets from libssm, the C core of ssmsweep,
called in-process through ctypes (no subprocess, no files)."""
import ctypes
import operator
from collections import namedtuple

import numpy as np

from . import _libssm

__all__ = ["mf", "eig", "MFResult", "SsmError", "SsmInvalidInput", "METHODS"]

METHODS = ("blaschke", "analytic", "finite", "simulate")


class SsmError(Exception):
    """A failure reported by libssm: str(e) is the core's one-line message,
    after the name of the parameter at fault as the arguments here name it
    ("tau_max: 200000000 is beyond the limit 1e8", where `ssmsweep mf` says
    --tau-max); e.status is its ssm_status name."""

    def __init__(self, message, code):
        super().__init__(message)
        self.code = code
        self.status = _libssm.STATUS_NAMES.get(code, "unknown error")


class SsmInvalidInput(SsmError, ValueError):
    """Bad input (SSM_EINVAL, SSM_EIO): also a ValueError."""


def _raise_for(code, message):
    if code:
        text = message.value.decode("utf-8", "replace")
        kind = SsmInvalidInput if code in (_libssm.SSM_EINVAL, _libssm.SSM_EIO) else SsmError
        raise kind(text, code)


MFResult = namedtuple("MFResult", "mf mc rank memory_length cond rcond")
MFResult.__doc__ = """The memory function of one system, or of each of a batch of systems.

mf             MF(tau) for tau = 0..tau_max (shape (..., tau_max + 1))
mc             memory capacity, the sum of mf over tau
rank           numerical rank (MF summed over all delays)
memory_length  the MF-weighted mean delay, sum tau MF(tau) / sum MF(tau)
cond           condition number of the equilibrated Gram matrix (NaN where
               the engine forms none: blaschke)
rcond          the singular-value cut-off used"""


def _count(value, name):
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if value < 0:
        raise ValueError(f"{name} must be a non-negative integer, got {value}")
    return value


def _spectra(lam, b):
    """The systems of lam (..., N) as complex rows, the modes with b == 0 left out."""
    if lam.ndim == 0 or lam.shape[-1] == 0:
        raise ValueError("eigenvalues: expected a non-empty array (its last axis: the N eigenvalues of a system)")
    rows = lam.astype(complex).reshape(-1, lam.shape[-1])
    if b is None:
        return list(rows)
    weights = np.asarray(_numpy(b))
    try:
        weights = np.broadcast_to(weights, lam.shape).reshape(rows.shape)
    except ValueError:
        raise ValueError(f"b: expected one input weight per eigenvalue (shape {lam.shape}), "
                         f"got shape {weights.shape}") from None
    return [row[w != 0] for row, w in zip(rows, weights)]


def _numpy(x):
    """torch tensors (also with gradients or on a GPU) and array-likes as numpy."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return x


def _one_mf(lib, lam, tau_max, method, T, rcond, out, stats):
    re = np.ascontiguousarray(lam.real, dtype=float)
    im = np.ascontiguousarray(lam.imag, dtype=float)
    message = ctypes.create_string_buffer(_libssm.MESSAGE_SIZE)
    code = lib.ssm_ffi_mf(len(lam), _libssm.doubles(re), _libssm.doubles(im), method.encode(), tau_max, T, rcond,
                          _libssm.doubles(out) if out is not None else None,
                          _libssm.doubles(stats) if stats is not None else None, message, len(message))
    _raise_for(code, message)


def mf(eigenvalues, tau_max, method="blaschke", b=None, T=None, rcond=None):
    """The memory function MF(tau), tau = 0..tau_max, of the diagonal linear
    system x[t+1] = diag(eigenvalues) x[t] + b u[t], as `ssmsweep mf` computes it.

    eigenvalues  the N discrete eigenvalues of one system, conjugates
                 included (as `ssmsweep eig` and `ssmsweep.eig` give them),
                 or an array (..., N) of several systems: one MF per row
                 (S4D: one per channel, see ssmsweep.s4d_eigenvalues).
                 numpy arrays, lists and torch tensors are accepted.
    tau_max      the largest delay.
    method       "blaschke" (default: infinite input sequence through an
                 orthonormal basis; exact also where the Gram matrix is
                 ill-conditioned, and the fastest), "analytic" (infinite
                 sequence, closed-form Gram matrix), "finite" (a sequence of
                 length T from rest) or "simulate" (i.i.d. input, T samples).
    b            input weights, one per eigenvalue (default: all 1).  MF does
                 not depend on the nonzero ones (a change of state
                 coordinates); a mode with b == 0 is not driven and is left
                 out.
    T            sequence length of "finite" and "simulate" (default 1024;
                 at least tau_max).
    rcond        relative singular-value cut-off of the rank decision
                 (default: the engine's, see `ssmsweep mf --help`).

    Returns an MFResult (mf, mc, rank, memory_length, cond, rcond): numpy
    arrays over the leading axes of `eigenvalues`, plain numbers for one
    system.  Bad input raises SsmInvalidInput (a ValueError) with the
    core's message, e.g. "eigenvalues are not closed under conjugation (1
    with Im > 0, 0 with Im < 0): not a real system"."""
    tau_max = _count(tau_max, "tau_max")
    T = 0 if T is None else _count(T, "T")
    if not isinstance(method, str):
        raise TypeError(f"method must be a string ({', '.join(METHODS)}), got {type(method).__name__}")
    lam = np.asarray(_numpy(eigenvalues))
    batch_shape = lam.shape[:-1]
    spectra = _spectra(lam, b)
    lib = _libssm.library()
    rcond = 0.0 if rcond is None else float(rcond)
    for row in spectra:   # every argument checked before tau_max + 1 doubles per system are allocated
        _one_mf(lib, row, tau_max, method, T, rcond, None, None)
    curves = np.empty((len(spectra), tau_max + 1))
    stats = np.empty((len(spectra), _libssm.N_STATS))
    for k, row in enumerate(spectra):
        _one_mf(lib, row, tau_max, method, T, rcond, curves[k], stats[k])
    rank = stats[:, _libssm.RANK].astype(np.int64)
    fields = [curves, stats[:, _libssm.MC], rank, stats[:, _libssm.MEMORY_LENGTH], stats[:, _libssm.COND],
              stats[:, _libssm.RCOND]]
    if not batch_shape:
        return MFResult(curves[0], *(f[0].item() for f in fields[1:]))
    return MFResult(*(f.reshape(batch_shape + f.shape[1:]) for f in fields))


def _param_text(name, value):
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name}: expected a number or a name, got {value!r}")
    if isinstance(value, (float, np.floating)):
        return repr(float(value))   # shortest text that reads back to the same double
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return str(value)


def eig(init, N=None, **params):
    """The N discrete eigenvalues (conjugates included) of an eigenvalue
    configuration, as `ssmsweep eig` prints them: a complex numpy array.

    init    s4d-inv, s4d-lin, s4d-real, s4d-random, s4d-legs, lin, step,
            random, file or legs-dense (ssmsweep(1) has the formulas).
    N       the real state dimension (not for init file: the file's count).
    params  the other model parameters by their names in sweep specs:
            dt, disc ("zoh" or "bilinear"), rho, groups, real_part,
            imag_scale, seed, file; the rest keep their defaults.

    Bad input raises SsmInvalidInput with the core's message, e.g.
    eig("s4d-inv", 7) -> "N: s4d-inv uses N/2 conjugate pairs, so N must
    be even (got 7)"."""
    if N is None and init != "file":
        raise TypeError("eig() needs N (the real state dimension) for init " + repr(init))
    n = 0 if N is None else _count(N, "N")
    lib = _libssm.library()
    names = [k.encode() for k in params]
    values = [_param_text(k, v).encode() for k, v in params.items()]
    c_names = (ctypes.c_char_p * max(len(names), 1))(*names)
    c_values = (ctypes.c_char_p * max(len(values), 1))(*values)
    count = ctypes.c_size_t(0)
    message = ctypes.create_string_buffer(_libssm.MESSAGE_SIZE)
    capacity = n
    while True:
        re, im = np.empty(capacity), np.empty(capacity)
        code = lib.ssm_ffi_eig(str(init).encode(), n, len(names), c_names, c_values, _libssm.doubles(re),
                               _libssm.doubles(im), capacity, ctypes.byref(count), message, len(message))
        _raise_for(code, message)
        if count.value <= capacity:
            return (re + 1j * im)[:count.value]
        capacity = count.value   # init file: now its size is known
