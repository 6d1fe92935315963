#!/usr/bin/python3
"""PyTorch peer of bench_deep.c: the state-spaces minimal S4D classifier
(example/s4d.py): linear encoder 1 -> H; L blocks of [S4D convolution
(Vandermonde kernel, FFT of length 2T) + D skip, GELU, Conv1d H -> 2H
with GLU, residual, post-LayerNorm]; mean pooling; linear decoder;
cross-entropy; autograd backward and an AdamW step.  Written here from the
recipe, float32, no dropout (as the C benchmark).

usage: bench_deep_torch.py H N L BATCH LENGTH REPS THREADS
prints CSV: impl,precision,H,N,L,batch,length,median_s,p10_s,p90_s,-,peak_rss_MiB,-,-,median_cpu_s
(the columns of bench_deep.c; median_cpu_s in CPU time of the process)"""
import math
import resource
import statistics
import sys
import time

import torch
import torch.nn as nn


class S4DKernel(nn.Module):
    def __init__(self, h, n, dt_min=0.001, dt_max=0.1):
        super().__init__()
        log_dt = torch.rand(h) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.c = nn.Parameter(torch.view_as_real(torch.randn(h, n // 2, dtype=torch.cfloat)))
        self.log_a_real = nn.Parameter(torch.log(0.5 * torch.ones(h, n // 2)))
        self.a_imag = nn.Parameter(math.pi * torch.arange(n // 2).repeat(h, 1).float())

    def forward(self, length):
        dt = torch.exp(self.log_dt)
        c = torch.view_as_complex(self.c)
        a = -torch.exp(self.log_a_real) + 1j * self.a_imag
        dta = a * dt.unsqueeze(-1)
        k = dta.unsqueeze(-1) * torch.arange(length, device=a.device)
        c = c * (torch.exp(dta) - 1.0) / a
        return 2 * torch.einsum("hn,hnl->hl", c, torch.exp(k)).real


class S4D(nn.Module):
    def __init__(self, h, n):
        super().__init__()
        self.d = nn.Parameter(torch.randn(h))
        self.kernel = S4DKernel(h, n)
        self.activation = nn.GELU()
        self.output_linear = nn.Sequential(nn.Conv1d(h, 2 * h, kernel_size=1), nn.GLU(dim=-2))

    def forward(self, u):  # (B, H, L)
        length = u.size(-1)
        k = self.kernel(length)
        k_f = torch.fft.rfft(k, n=2 * length)
        u_f = torch.fft.rfft(u, n=2 * length)
        y = torch.fft.irfft(u_f * k_f, n=2 * length)[..., :length]
        y = y + u * self.d.unsqueeze(-1)
        return self.output_linear(self.activation(y))


class Model(nn.Module):
    def __init__(self, h, n, layers, classes=10):
        super().__init__()
        self.encoder = nn.Linear(1, h)
        self.layers = nn.ModuleList([S4D(h, n) for _ in range(layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(h) for _ in range(layers)])
        self.decoder = nn.Linear(h, classes)

    def forward(self, x):  # (B, L, 1)
        x = self.encoder(x).transpose(-1, -2)
        for layer, norm in zip(self.layers, self.norms):
            x = norm((layer(x) + x).transpose(-1, -2)).transpose(-1, -2)
        return self.decoder(x.mean(dim=-1))


def main():
    h, n, layers, batch, length, reps, threads = (int(v) for v in sys.argv[1:8])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model(h, n, layers)
    ssm = [p for name, p in model.named_parameters() if "log_dt" in name or "log_a_real" in name or "a_imag" in name]
    rest = [p for name, p in model.named_parameters() if not any(s in name for s in ("log_dt", "log_a_real", "a_imag"))]
    opt = torch.optim.AdamW([{"params": rest}, {"params": ssm, "lr": 1e-3, "weight_decay": 0.0}], lr=1e-2,
                            weight_decay=0.01)
    x = torch.randn(batch, length, 1)
    y = torch.arange(batch) % 10
    loss_fn = nn.CrossEntropyLoss()
    times, cpu = [], []
    for r in range(reps + 1):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        if r:
            times.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
    times.sort()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"PyTorch {torch.__version__},float32,{h},{n},{layers},{batch},{length},{statistics.median(times):.6f},"
          f"{times[len(times) // 10]:.6f},{times[(9 * len(times)) // 10]:.6f},,{rss:.1f},,,{statistics.median(cpu):.6f}")


if __name__ == "__main__":
    main()
