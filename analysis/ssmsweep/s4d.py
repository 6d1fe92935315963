"""The eigenvalues of a trained S4D model, from the arrays its kernel holds."""
import numpy as np

from .core import _numpy

__all__ = ["s4d_eigenvalues", "DISCRETIZATIONS"]

DISCRETIZATIONS = ("zoh", "bilinear")


def s4d_eigenvalues(log_A_real, A_imag, log_dt, disc="zoh"):
    """The discrete eigenvalues of each channel of an S4D layer, conjugates
    included, ready for ssmsweep.mf: one MF per channel is

        ssmsweep.mf(ssmsweep.s4d_eigenvalues(k.log_A_real, k.A_imag, k.log_dt), 1000)

    for the kernel k of a layer (state-spaces' S4DKernel, `S4D(...).kernel`).
    The names are those of the standard S4D code (state-spaces/s4,
    models/s4/s4d.py), and so are the shapes and the parametrization:

    log_A_real  (H, N/2): the continuous eigenvalues have real part
                -exp(log_A_real)
    A_imag      (H, N/2): ... and imaginary part A_imag, so
                A = -exp(log_A_real) + 1j * A_imag
    log_dt      (H,): the step of each channel, dt = exp(log_dt)
    disc        "zoh" (the S4D kernel's exp(dt A), default) or "bilinear"
                ((1 + dt A/2) / (1 - dt A/2))

    H is the number of channels (d_model), N the state size (d_state): each
    of the N/2 modes stands for itself and its conjugate (the kernel takes
    2 Re of the sum).  numpy arrays and torch tensors (with gradients, on a
    GPU) are accepted; a single channel may be given as (N/2,) arrays with
    a scalar log_dt.  Returns a complex array (H, N) (or (N,)), each mode
    followed by its conjugate, as `ssmsweep eig` lists the S4D families."""
    if disc not in DISCRETIZATIONS:
        raise ValueError(f"disc must be one of {', '.join(DISCRETIZATIONS)}, got {disc!r}")
    log_A_real = np.asarray(_numpy(log_A_real), dtype=float)
    A_imag = np.asarray(_numpy(A_imag), dtype=float)
    log_dt = np.asarray(_numpy(log_dt), dtype=float)
    if log_A_real.shape != A_imag.shape or log_A_real.ndim not in (1, 2):
        raise ValueError(f"log_A_real and A_imag must both be (H, N/2) or (N/2,), got shapes {log_A_real.shape} "
                         f"and {A_imag.shape}")
    if log_dt.shape != log_A_real.shape[:-1]:
        raise ValueError(f"log_dt must have one value per channel, shape {log_A_real.shape[:-1]}, "
                         f"got shape {log_dt.shape}")
    dtA = (-np.exp(log_A_real) + 1j * A_imag) * np.exp(log_dt)[..., None]
    lam = np.exp(dtA) if disc == "zoh" else (1 + dtA / 2) / (1 - dtA / 2)
    both = np.empty(lam.shape[:-1] + (2 * lam.shape[-1],), dtype=complex)
    both[..., 0::2] = lam
    both[..., 1::2] = lam.conj()
    return both
