#!/usr/bin/env python3
"""Labels shape the latent: configs/latent_cloud.toml run twice for the same 600 frames of
exactly 4 optimizer steps (so the two runs differ only by the labels) — once with the
simulated careful annotator labelling a sphere every frame, once with no annotator. The VAE
means' 5-NN accuracy against the true classes (cloud.knn_accuracy), averaged over the second
half of the run, must be higher with the labels. Measured here: 0.758 with 3,670 labels (95 %
right) against 0.725 without; the test asks for a margin of 0.01. Exit 77 without
Fashion-MNIST."""
import argparse
import os
import re
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cloud_run as tcr  # noqa: E402

FRAMES = 600
MARGIN = 0.01
ANNOTATOR = "every = 1\nradius = 0.3\nmax = 600\npurity = 0.9"


def fixed_steps(path):
    """Training takes exactly 4 steps a frame, whatever the machine's speed."""
    text = open(path).read()
    text = re.sub(r"(?m)^budget_ms = .*$", "budget_ms = 10000\nmax_steps_per_frame = 4", text)
    open(path, "w").write(text)


def second_half_mean(out):
    knn = tcr.metrics(os.path.join(out, "metrics.jsonl"), "cloud.knn_accuracy")
    late = [v for f, v in knn if f >= FRAMES // 2]
    print(f"{os.path.basename(out)}: " + " ".join(f"{f}:{v:.3f}" for f, v in knn))
    return sum(late) / len(late) if late else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxr", required=True)
    ap.add_argument("--scene", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if not os.path.exists("/usr/share/datasets/fashion-mnist"):
        print("dataset-fashion-mnist is not installed: skipped")
        sys.exit(77)
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    runs = {}
    for name, labels in (("with_labels", True), ("without_labels", False)):
        scene = os.path.join(a.out, name + ".toml")
        tcr.scene_copy(a.scene, scene, drop_drawing=True,
                       annotator=ANNOTATOR if labels else False, frames=FRAMES)
        fixed_steps(scene)
        out = os.path.join(a.out, name)
        t0 = time.time()
        p, _ = tcr.run(a.nnxr, scene, out, FRAMES, timeout=1200)
        print(f"{name}: {FRAMES} frames in {time.time() - t0:.1f} s")
        if p is None:
            tcr.finish()
        runs[name] = out

    with_mean = second_half_mean(runs["with_labels"])
    without_mean = second_half_mean(runs["without_labels"])
    points, recs, label, user = tcr.check_labels(runs["with_labels"], "with labels")
    labelled = sum(1 for i in range(points) if user[i] and label[i] >= 0)
    print(f"{len(recs)} annotations, {labelled} points labelled; k-NN over frames >= "
          f"{FRAMES // 2}: {with_mean:.3f} with labels, {without_mean:.3f} without")
    tcr.check(labelled > 0 and with_mean is not None and without_mean is not None,
              "a run has no labels or no k-NN values")
    if with_mean is not None and without_mean is not None:
        tcr.check(with_mean >= without_mean + MARGIN,
                  f"labels did not raise the latent k-NN: {with_mean:.3f} with, "
                  f"{without_mean:.3f} without (margin {MARGIN})")
    tcr.finish()


if __name__ == "__main__":
    main()
