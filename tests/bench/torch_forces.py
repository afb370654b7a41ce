#!/usr/bin/env python3
"""tests/bench/torch_forces.py — PyTorch's dense formulation of the latent cloud's step, the
second baseline of `nnxr bench forces`: the same model as engine/sim (spring to the target,
class attraction to the class mean, softened all-pairs repulsion, damped integration) in
fp32 on the CPU, the pair term as broadcast tensor ops over row chunks: per coordinate a
(chunk, n) difference tensor (contiguous, reductions over the last axis; a (chunk, n, 3)
layout with its size-3 reduction measured 10× slower in Debian's torch 1.13), chunks of
--chunk-floats elements so that temporaries stay in cache and memory stays O(n).

PyTorch runs at its best threading: unless --threads is given, a short probe times the pair
loop on a few chunks with 1 thread and with all cores and keeps the faster (Debian's torch
1.13 on 2 cores: 2 threads measured ~25× slower than 1 — its OpenMP pool fights).

usage: torch_forces.py --n N [--seconds S] [--threads T]
prints one JSON line: {"n", "steps", "seconds", "cpu_seconds", "pairs_per_s", "threads"}
(pairs counted as n² per step, as the shader and the C reference count them)."""
import argparse
import json
import os
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--chunk-floats", type=int, default=1 << 16)
    a = ap.parse_args()
    n, classes = a.n, 10
    g = torch.Generator().manual_seed(12345)
    x = 0.6 * torch.randn(n, 3, generator=g)
    target = x.clone()
    v = torch.zeros(n, 3)
    label = torch.arange(n) % (classes + 1) - 1
    # nnxr_cloud_params_default()
    k_s, k_a, k_r, eps, damping, dt = 1.0, 0.5, 1e-5, 0.02, 0.1, 0.05
    eps2 = eps * eps
    chunk = max(1, min(n, a.chunk_floats // n))
    onehot = torch.zeros(n, classes)
    has = label >= 0
    onehot[has, label[has]] = 1.0

    def step():
        nonlocal x, v
        counts = onehot.sum(0)
        means = (onehot.t() @ x) / counts.clamp(min=1).unsqueeze(1)
        f = k_s * (target - x)
        cls = torch.where(has.unsqueeze(1), means[label.clamp(min=0)] - x, torch.zeros_like(x))
        f += k_a * cls
        cx, cy, cz = x[:, 0].contiguous(), x[:, 1].contiguous(), x[:, 2].contiguous()
        for i0 in range(0, n, chunk):
            i1 = min(n, i0 + chunk)
            dx = cx[i0:i1, None] - cx[None, :]
            dy = cy[i0:i1, None] - cy[None, :]
            dz = cz[i0:i1, None] - cz[None, :]
            inv = (dx * dx).addcmul_(dy, dy).addcmul_(dz, dz).add_(eps2).rsqrt_()
            inv3 = inv * inv * inv
            f[i0:i1, 0] += k_r * (dx.mul_(inv3)).sum(1)
            f[i0:i1, 1] += k_r * (dy.mul_(inv3)).sum(1)
            f[i0:i1, 2] += k_r * (dz.mul_(inv3)).sum(1)
        v = (1 - damping) * v + dt * f
        x = x + dt * v

    def probe(threads):
        torch.set_num_threads(threads)
        cx, cy, cz = x[:, 0].contiguous(), x[:, 1].contiguous(), x[:, 2].contiguous()
        t = time.perf_counter()
        for i0 in range(0, min(n, 4 * chunk), chunk):
            dx = cx[i0:i0 + chunk, None] - cx[None, :]
            dy = cy[i0:i0 + chunk, None] - cy[None, :]
            dz = cz[i0:i0 + chunk, None] - cz[None, :]
            inv = (dx * dx).addcmul_(dy, dy).addcmul_(dz, dz).add_(eps2).rsqrt_()
            (dx * (inv * inv * inv)).sum(1)
        return time.perf_counter() - t

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    else:
        cores = os.cpu_count() or 1
        probe(1)
        best = min((probe(th), th) for th in sorted({1, cores}))
        torch.set_num_threads(best[1])
    t = time.perf_counter()
    step()  # warm-up, and the step count for the time budget
    first = time.perf_counter() - t
    steps = max(1, min(1000, int(a.seconds / max(first, 1e-6))))
    t, c = time.perf_counter(), time.process_time()
    for _ in range(steps):
        step()
    secs, cpu = time.perf_counter() - t, time.process_time() - c
    print(json.dumps({"n": n, "steps": steps, "seconds": secs, "cpu_seconds": cpu,
                      "pairs_per_s": n * n * steps / secs, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
