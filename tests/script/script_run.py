#!/usr/bin/env python3
"""nnxr.script drives a real run: the scene tests/script/training.toml adds two neurons to the
first hidden layer, removes one from the second, sets lr and momentum, evaluates, tries an
annotation the scene cannot carry out, and pauses. The final checkpoint (read with numpy) must
show the new widths [6, 3] and weight shapes, lr 0.125 and momentum 0.5; the log must show
each command pushed at its frame and the annotation refused with the host's reason; no
optimizer step may happen after the pause."""
import argparse
import json
import os
import shutil
import subprocess
import sys

import numpy as np

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failures.append(what)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nnxr", required=True)
    p.add_argument("--scene", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    frames = 14
    cmd = [a.nnxr, "run", a.scene, "--headless", "--frames", str(frames), "--out", a.out,
           "--validate", "--verbose"]
    print("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, f"exit status {r.returncode}")
    log = r.stdout + r.stderr
    for f, c in [(2, "add_neuron 0"), (4, "remove_neuron 1 2"), (5, "set_hparam lr 0.125"),
                 (6, "evaluate"), (9, "pause")]:
        check(f"frame {f}: {f} {c}" in log, f"the log shows '{c}' pushed at frame {f}")
    check("\"7 annotate_sphere 0 0 0 1 3\" refused: command 'annotate_sphere' cannot be "
          "carried out" in log, "the annotation is refused with the host's reason")

    ck = os.path.join(a.out, "checkpoint.npz")
    check(os.path.exists(ck), "checkpoint.npz written")
    if os.path.exists(ck):
        z = np.load(ck)
        hidden = list(z["meta.hidden"])
        check(hidden == [6, 3], f"hidden widths after surgery {hidden}, expected [6, 3]")
        hp = z["meta.hparams"]
        check(abs(hp[0] - 0.125) < 1e-12, f"lr {hp[0]}, expected 0.125")
        check(abs(hp[1] - 0.5) < 1e-12, f"momentum {hp[1]}, expected 0.5")
        shapes = {k: z[k].shape for k in z.files if not k.startswith(("meta.", "opt"))}
        print("tensors:", shapes)
        sizes = sorted(int(np.prod(s)) for s in shapes.values())
        # 2 features -> 6 -> 3 -> 2 classes: W 12, 18, 6 and b 6, 3, 2.
        check(sizes == sorted([12, 6, 18, 3, 6, 2]), f"parameter sizes {sizes}")

    # The hyperparameters in effect are published from the start and after each change.
    lr = [(r["frame"], r["value"]) for r in map(json.loads, open(os.path.join(a.out,
          "metrics.jsonl"))) if r.get("name") == "hparam.lr"]
    check(len(lr) >= 2 and lr[0] == (0, 0.03) and lr[-1] == (5, 0.125),
          f"hparam.lr published at the start (0.03) and at the change in frame 5: {lr}")

    # Steps stop at the pause: metrics.jsonl carries the step of each record; after the frame
    # of the pause no record may show a later step than the one at the pause.
    steps_at = {}
    for line in open(os.path.join(a.out, "metrics.jsonl")):
        rec = json.loads(line)
        if "frame" in rec and "step" in rec:
            steps_at[rec["frame"]] = max(steps_at.get(rec["frame"], 0), rec["step"])
    late = [s for f, s in steps_at.items() if f > 9]
    at_pause = max((s for f, s in steps_at.items() if f <= 9), default=None)
    check(at_pause is not None and at_pause > 0, f"training ran before the pause ({at_pause})")
    check(len(late) > 0, "records after the pause (the run's final evaluation) exist")
    check(all(s == at_pause for s in late), f"no step after the pause: {at_pause} then {late}")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
