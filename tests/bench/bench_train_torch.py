#!/usr/bin/python3
"""PyTorch peer of bench_train.c: the same single-layer S4D model (ZOH,
N/2 complex modes, readout over [Re x, Im x], skip D, bias), the kernel
computed from the Vandermonde form and applied by FFT convolution of length
2L, MSE after a washout, autograd backward and an AdamW step.  This is the
standard S4D recipe (state-spaces minimal S4D).

usage: bench_train_torch.py N L BATCH REPS THREADS"""
import math
import statistics
import sys
import time

import torch


def main():
    n, length, batch, reps, threads = (int(v) for v in sys.argv[1:6])
    torch.set_num_threads(threads)
    for dtype, cdtype, name in ((torch.float64, torch.complex128, "float64"), (torch.float32, torch.complex64, "float32")):
        torch.manual_seed(0)
        h = n // 2
        k = torch.arange(h, dtype=dtype)
        log_neg_re = torch.full((h,), math.log(0.5), dtype=dtype, requires_grad=True)
        im = (n / math.pi * (n / (2 * k + 1) - 1)).clone().requires_grad_(True)
        log_dt = torch.tensor(math.log(0.01), dtype=dtype, requires_grad=True)
        # complex weights as real pairs: AdamW handles real tensors only here
        b = torch.stack([torch.ones(h, dtype=dtype), torch.zeros(h, dtype=dtype)], -1).requires_grad_(True)
        c = (0.1 * torch.randn(h, 2, dtype=dtype)).requires_grad_(True)
        d = torch.zeros(1, dtype=dtype, requires_grad=True)
        bias = torch.zeros(1, dtype=dtype, requires_grad=True)
        ssm = [log_neg_re, im, log_dt]
        opt = torch.optim.AdamW([{"params": ssm, "lr": 1e-3, "weight_decay": 0.0},
                                 {"params": [b, c, d, bias], "lr": 1e-2, "weight_decay": 0.01}])
        u = 2 * torch.rand(batch, length, dtype=dtype) - 1
        tau = length // 4
        target = torch.zeros_like(u)
        target[:, tau:] = u[:, :-tau]
        steps = torch.arange(length, dtype=dtype)
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            a = -torch.exp(log_neg_re) + 1j * im
            dt = torch.exp(log_dt)
            lam = torch.exp(dt * a)
            bbar = (lam - 1) / a * torch.view_as_complex(b)
            # K[tau] = sum_k Re(conj(c_k) bbar_k lam_k^tau): the Vandermonde form
            vander = torch.exp((dt * a).unsqueeze(-1) * steps)
            kernel = (torch.conj(torch.view_as_complex(c)) * bbar).unsqueeze(-1).mul(vander).sum(0).real
            y = torch.fft.irfft(torch.fft.rfft(u, n=2 * length) * torch.fft.rfft(kernel, n=2 * length), n=2 * length)[:, :length]
            y = y + d * u + bias
            loss = ((y - target)[:, tau:] ** 2).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        print(f"pytorch-{torch.__version__},{name},{n},{length},{batch},{med:.6f},{batch * length / med:.4g}")


if __name__ == "__main__":
    main()
