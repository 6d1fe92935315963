"""ssmsweep: the results of ssmsweep sweeps as xarray Datasets, and the
memory functions of libssm (the C core) from Python.

Reading results (h5py, numpy, xarray; Debian's python3-yaml reads the spec):
    open_sweep(path, flat=False)  one results file (or a sweep's shards) as
                                  a Dataset over the spec's axes
    open_sweeps(paths, dim)       several sweeps of one kind along a new dim

Computing (libssm through ctypes, in-process):
    mf(eigenvalues, tau_max, method="blaschke", b=None, T=None)
                                  MF(tau), MC, rank and memory length
    eig(init, N, **params)        the eigenvalues of a family (ssmsweep eig)
    s4d_eigenvalues(log_A_real, A_imag, log_dt, disc="zoh")
                                  the eigenvalues of a trained S4D layer

A walk-through:
    import ssmsweep
    ds = ssmsweep.open_sweep("mc.h5")        # dims init, N (and repeat, ...)
    ds.mc.sel(init="s4d-inv")                # MC against N
    ds.mc.plot.line(x="N", hue="init")       # MC vs N per init
    lam = ssmsweep.eig("s4d-inv", 64, dt=0.01)
    r = ssmsweep.mf(lam, tau_max=2000)       # r.mf, r.mc, r.rank, r.memory_length

libssm is found through $SSMSWEEP_LIBSSM (a path), else where `make
install` put it, else the dynamic loader's path.  Errors of the core raise
SsmError (bad input: SsmInvalidInput, also a ValueError) with the core's
one-line message.  See README.md, "Analysing results in Python"."""
from .core import METHODS, MFResult, SsmError, SsmInvalidInput, eig, mf
from .s4d import s4d_eigenvalues

# xarray (and pandas with it) takes a second or more to import: loaded when
# first asked for, so that ssmsweep-plot and mf() start without it
_SWEEP_NAMES = ("open_sweep", "open_sweeps", "sweep_axes", "ABSENT")


def __getattr__(name):
    if name in _SWEEP_NAMES:
        from . import sweep
        return getattr(sweep, name)
    raise AttributeError(f"module 'ssmsweep' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_SWEEP_NAMES))


try:
    from ._install import VERSION as __version__
except ImportError:   # the source tree, not installed
    __version__ = "source tree"
__all__ = ["open_sweep", "open_sweeps", "sweep_axes", "mf", "eig", "s4d_eigenvalues", "MFResult", "SsmError",
           "SsmInvalidInput", "METHODS", "ABSENT"]
