#!/usr/bin/env python3
"""tests/unit/test_train_run.py — `nnxr run configs/mlp_fashion.toml --headless --frames N`
trains Fashion-MNIST in the app: the run succeeds with validation on, metrics.jsonl holds
validation accuracies that rise, summary.json counts the steps, the final checkpoint.npz is
there and numpy reads it with the model's shapes, and the exported predictions agree with the
labels as often as the last validation accuracy says. Also `nnxr check` accepts the shipped
training scenes. Exit 77 when Fashion-MNIST is not installed.

usage: test_train_run.py --nnxr PATH --out DIR [--scene PATH] [--frames N]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"check failed: {what}", file=sys.stderr)
    return cond


def python_with_numpy():
    """The checks that need numpy run in a python3 that has it (Debian's)."""
    for py in (os.environ.get("NNXR_PYTHON3"), "/usr/bin/python3", sys.executable, "python3"):
        if py and subprocess.run([py, "-c", "import numpy"], capture_output=True).returncode == 0:
            return py
    return None


NPZ_CHECK = r"""
import sys, numpy as np
out, val_acc = sys.argv[1], float(sys.argv[2])
z = np.load(out + '/checkpoint.npz')
assert z['dense0.w'].shape == (128, 784) and z['dense0.w'].dtype == np.float32, z['dense0.w'].shape
assert z['dense1.w'].shape == (128, 128) and z['dense2.w'].shape == (10, 128)
assert z['dense2.b'].shape == (10,) and z['opt1.dense0.w'].shape == (128, 784)
assert int(z['meta.step']) > 0 and list(z['meta.hidden']) == [128, 128]
assert all(np.isfinite(z[k]).all() for k in z.files if k[0] in 'do')
pred = np.load(out + '/predictions.npy')
lab = np.load(out + '/true_labels.npy')
conf = np.load(out + '/confidence.npy')
probs = np.load(out + '/probs.npy')
assert pred.shape == lab.shape == conf.shape == (5000,) and probs.shape == (5000, 10)
assert (pred == probs.argmax(1)).all() and np.allclose(conf, probs.max(1))
acc = float((pred == lab).mean())
assert abs(acc - val_acc) < 1e-6, (acc, val_acc)
print('numpy: checkpoint of', len(z.files), 'arrays and predictions (accuracy %.4f) check out' % acc)
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxr", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scene", default=os.path.join(SOURCE, "configs", "mlp_fashion.toml"))
    ap.add_argument("--frames", type=int, default=300)
    a = ap.parse_args()
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        print("Fashion-MNIST is not installed (dataset-fashion-mnist): skipped")
        return 77

    for scene in ("mlp_fashion", "playground_spiral", "vae_latent", "cnn_fashion"):
        r = subprocess.run([a.nnxr, "check", os.path.join(SOURCE, "configs", scene + ".toml")],
                           capture_output=True, text=True)
        check(r.returncode == 0 and "[model]" in r.stdout,
              f"nnxr check {scene}.toml: exit {r.returncode}: {r.stderr[-400:]}")

    shutil.rmtree(a.out, ignore_errors=True)
    r = subprocess.run([a.nnxr, "run", a.scene, "--headless", "--frames", str(a.frames),
                        "--out", a.out, "--validate"], capture_output=True, text=True)
    sys.stderr.write(r.stderr[-2000:])
    if not check(r.returncode == 0, f"nnxr run exit {r.returncode}"):
        return 1
    metrics = [json.loads(l) for l in open(os.path.join(a.out, "metrics.jsonl"))]
    acc = [m["value"] for m in metrics if m["name"] == "val.accuracy"]
    loss = [m["value"] for m in metrics if m["name"] == "val.loss"]
    steps = [m["step"] for m in metrics if m["name"] == "val.accuracy"]
    print(f"val.accuracy {['%.4f' % v for v in acc]} at steps {steps}")
    check(len(acc) >= 3, f"at least 3 validation accuracies (got {len(acc)})")
    if len(acc) >= 3:
        check(acc[-1] > acc[0] + 0.01, f"accuracy rises: {acc[0]:.4f} -> {acc[-1]:.4f}")
        check(loss[-1] < loss[0], f"validation loss falls: {loss[0]:.4f} -> {loss[-1]:.4f}")
        check(acc[-1] > 0.7, f"final validation accuracy {acc[-1]:.4f} > 0.7")
        check(all(s2 >= s1 for s1, s2 in zip(steps, steps[1:])), "steps only grow")
    check(any(m["name"] == "train.loss" for m in metrics), "train.loss published")
    summary = json.load(open(os.path.join(a.out, "summary.json")))
    check(summary["steps"] > 0 and summary["validation_messages"] == 0,
          f"summary: {summary['steps']} steps, {summary['validation_messages']} validation "
          f"messages")
    check(summary["steps"] == steps[-1] if steps else False,
          "summary steps equal the last metric's step")
    # A CPU device's worker threads: how many, and the CPU each was pinned to (or why not).
    if summary["device_type"] == "cpu":
        w = summary.get("cpu_workers") or {}
        pinned = w.get("pinned_to")
        allowed = os.sched_getaffinity(0)
        check(w.get("count", 0) >= 1, f"summary names the CPU device's workers: {w}")
        check(pinned is None and w.get("note") or
              pinned is not None and len(pinned) == w.get("count") and
              len(set(pinned)) == len(pinned) and set(pinned) <= allowed,
              f"workers pinned one per allowed CPU, or the reason why not: {w}")
        if 2 <= w.get("count", 0) <= len(allowed):
            check(pinned is not None, f"{w['count']} workers on {len(allowed)} CPUs pinned")
    for f in ("checkpoint.npz", "predictions.npy", "confidence.npy", "probs.npy", "true_labels.npy",
              "frames/000000.png"):
        check(os.path.isfile(os.path.join(a.out, f)), f"{f} written")
    py = python_with_numpy()
    if check(py is not None, "a python3 with numpy (Debian's python3-numpy)") and acc:
        r = subprocess.run([py, "-c", NPZ_CHECK, a.out, repr(acc[-1])], capture_output=True,
                           text=True)
        print(r.stdout.strip())
        check(r.returncode == 0, f"numpy checks: {r.stderr[-800:]}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
