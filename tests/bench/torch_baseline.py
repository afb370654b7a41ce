#!/usr/bin/env python3
"""tests/bench/torch_baseline.py — PyTorch (Debian's python3-torch, CPU) on the four training
benchmarks of `nnxr bench train`, the baseline nnxr is compared with:

  mlp   784-128-128-10 relu, batch 64, SGD with momentum
  tiny  784-8-8-10 relu, batch 32, SGD with momentum (AIive's size: overhead rules)
  vae   784-256-3 (+ decoder 3-256-784, classifier 3-32-10 on mu, 10 % of labels), batch 128,
        Adam; loss BCE + KL + classifier CE
  cnn   conv16-conv32-maxpool-fc64-fc64-10 (3x3 same, relu), batch 64, Adam

Each model runs in a fresh process per threading setting and the fastest is kept: Debian's
torch uses an OpenMP pool and OpenBLAS brings its own threads, and the two fight when both use
every core, so the settings are 1 thread, 2 torch threads with a 1-thread OpenBLAS, and the
stock setting. A step gathers a shuffled batch of uint8 images and normalises it, as nnxr does.

  torch_baseline.py [--models mlp,tiny,vae,cnn] [--seconds S] [--json] [--tsv]
  torch_baseline.py --accuracy     (mlp 3 epochs and cnn 1 epoch on Fashion-MNIST: test accuracy)

--tsv prints "model<TAB>samples_per_s<TAB>steps_per_s<TAB>setting" lines (what nnxr bench train
reads); --json one JSON object; the default is a table.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import time

BATCH = {"mlp": 64, "tiny": 32, "vae": 128, "cnn": 64}
SETTINGS = [
    ("1 thread", {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}, 1),
    ("2 threads, openblas 1", {"OMP_NUM_THREADS": "2", "OPENBLAS_NUM_THREADS": "1"}, 2),
    ("stock", {}, 0),
]
FASHION = "/usr/share/datasets/fashion-mnist"


def build(name, torch):
    nn = torch.nn
    if name in ("mlp", "tiny"):
        h = 128 if name == "mlp" else 8
        model = nn.Sequential(nn.Linear(784, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(),
                              nn.Linear(h, 10))
        opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
        return model, opt
    if name == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
                              nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(32 * 14 * 14, 64), nn.ReLU(),
                              nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
        return model, torch.optim.Adam(model.parameters(), lr=1e-3)

    class Vae(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Sequential(nn.Linear(784, 256), nn.ReLU())
            self.mu = nn.Linear(256, 3)
            self.logvar = nn.Linear(256, 3)
            self.dec = nn.Sequential(nn.Linear(3, 256), nn.ReLU(), nn.Linear(256, 784))
            self.cls = nn.Sequential(nn.Linear(3, 32), nn.ReLU(), nn.Linear(32, 10))

    model = Vae()
    return model, torch.optim.Adam(model.parameters(), lr=1e-3)


def loss_of(name, model, x, y, mask, torch):
    F = torch.nn.functional
    if name != "vae":
        if name == "cnn":
            x = x.view(-1, 1, 28, 28)
        return F.cross_entropy(model(x), y)
    h = model.enc(x)
    mu, lv = model.mu(h), model.logvar(h)
    z = mu + torch.exp(0.5 * lv) * torch.randn_like(mu)
    rec = model.dec(z)
    n = x.shape[0]
    bce = F.binary_cross_entropy_with_logits(rec, x, reduction="sum") / n
    kl = -0.5 * torch.sum(1 + lv - mu * mu - lv.exp()) / n
    ce = F.cross_entropy(model.cls(mu), y, reduction="none")
    cls = (ce * mask).sum() / mask.sum().clamp(min=1)
    return bce + kl + cls


def data(torch, n=60000):
    g = torch.Generator().manual_seed(1)
    pixels = torch.randint(0, 256, (n, 784), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (n,), dtype=torch.int64, generator=g)
    mask = (torch.rand(n, generator=g) < 0.1).float()
    return pixels, labels, mask


def run_one(name, seconds):
    """Samples/s and steps/s of one model in this process's threading setting."""
    import torch
    torch.manual_seed(1)
    pixels, labels, mask = data(torch)
    model, opt = build(name, torch)
    b = BATCH[name]
    perm = torch.randperm(pixels.shape[0])
    pos = [0]

    def step():
        if pos[0] + b > perm.shape[0]:
            perm.copy_(torch.randperm(pixels.shape[0]))
            pos[0] = 0
        idx = perm[pos[0]:pos[0] + b]
        pos[0] += b
        x = pixels[idx].float().div_(255.0)
        loss = loss_of(name, model, x, labels[idx], mask[idx], torch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    for _ in range(10):
        step()
    steps, t0 = 0, time.perf_counter()
    while True:
        for _ in range(10):
            step()
        steps += 10
        dt = time.perf_counter() - t0
        if dt >= seconds:
            break
    return {"steps_per_s": steps / dt, "samples_per_s": steps * b / dt, "steps": steps,
            "seconds": dt, "threads": torch.get_num_threads()}


def child(args):
    print(json.dumps(run_one(args.child, args.seconds)))


def measure(name, seconds):
    best = None
    for label, env, _ in SETTINGS:
        e = dict(os.environ)
        e.update(env)
        r = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", name,
                            "--seconds", str(seconds)], env=e, capture_output=True, text=True)
        if r.returncode != 0:
            sys.stderr.write(f"torch_baseline: {name} ({label}) failed: {r.stderr[-500:]}\n")
            continue
        res = json.loads(r.stdout.strip().splitlines()[-1])
        res["setting"] = label
        res["batch"] = BATCH[name]
        if best is None or res["samples_per_s"] > best["samples_per_s"]:
            best = res
    return best


# ---- accuracy on Fashion-MNIST ----

def idx(path, offset):
    import numpy as np
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def accuracy():
    import torch
    torch.set_num_threads(1)
    tr_x = idx(FASHION + "/train-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    tr_y = idx(FASHION + "/train-labels-idx1-ubyte.gz", 8)
    te_x = idx(FASHION + "/t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784)
    te_y = idx(FASHION + "/t10k-labels-idx1-ubyte.gz", 8)
    X = torch.tensor(tr_x.copy()).float() / 255
    Y = torch.tensor(tr_y.copy()).long()
    TX = torch.tensor(te_x.copy()).float() / 255
    TY = torch.tensor(te_y.copy()).long()
    out = {}
    for name, epochs in (("mlp", 3), ("cnn", 1)):
        torch.manual_seed(1)
        model, opt = build(name, torch)
        b = BATCH[name]
        t0 = time.perf_counter()
        for _ in range(epochs):
            perm = torch.randperm(X.shape[0])
            for i in range(0, X.shape[0] - b + 1, b):
                idxs = perm[i:i + b]
                loss = loss_of(name, model, X[idxs], Y[idxs], None, torch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
        with torch.no_grad():
            tx = TX.view(-1, 1, 28, 28) if name == "cnn" else TX
            acc = (model(tx).argmax(1) == TY).float().mean().item()
        out[name] = {"epochs": epochs, "test_accuracy": acc, "seconds": time.perf_counter() - t0}
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="mlp,tiny,vae,cnn")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--tsv", action="store_true")
    ap.add_argument("--accuracy", action="store_true")
    ap.add_argument("--child")
    args = ap.parse_args()
    if args.child:
        return child(args)
    if args.accuracy:
        return accuracy()
    import torch
    results = {}
    for name in args.models.split(","):
        if name not in BATCH:
            sys.exit(f"torch_baseline: unknown model '{name}' (mlp, tiny, vae, cnn)")
        results[name] = measure(name, args.seconds)
    if args.tsv:
        for name, r in results.items():
            if r:
                print(f"{name}\t{r['samples_per_s']:.1f}\t{r['steps_per_s']:.1f}\t{r['setting']}")
    elif args.json:
        print(json.dumps({"torch": torch.__version__, "units": {"samples_per_s": "samples/s",
                          "steps_per_s": "steps/s"}, "models": results}))
    else:
        print(f"PyTorch {torch.__version__} (CPU)")
        for name, r in results.items():
            if r:
                print(f"  {name:5s} batch {r['batch']:4d}: {r['samples_per_s']:10.0f} samples/s "
                      f"{r['steps_per_s']:9.1f} steps/s  ({r['setting']})")


if __name__ == "__main__":
    main()
