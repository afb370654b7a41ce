#!/usr/bin/env python3
"""`nnxr run configs/latent_cloud_full.toml`: the latent cloud over all of Fashion-MNIST (train
and test joined, 1,000 held out for validation: 69,000 points, each step 4.8e9 pair
interactions over 18 j-chunk dispatches) runs headless with the simulated annotator and the
cloud's drawing, with no validation message, within a memory bound; its outputs cover every
point: labels.npy (69,000 int32, equal to labels.csv and to the journal's replay), latents.npy
(69,000 × 3), the cloud metrics. Exit 77 when Fashion-MNIST is not installed."""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_cloud_run as tcr  # noqa: E402

POINTS = 69000
RSS_LIMIT_MIB = 2048


def npy_shape(path):
    code = "import numpy, sys; a = numpy.load(sys.argv[1]); print(a.dtype, list(a.shape))"
    out = subprocess.run(["/usr/bin/python3", "-c", code, path], capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else "unreadable: " + out.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxr", required=True)
    ap.add_argument("--scene", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=21)
    a = ap.parse_args()
    if not os.path.exists("/usr/share/datasets/fashion-mnist"):
        print("dataset-fashion-mnist is not installed: skipped")
        sys.exit(77)
    shutil.rmtree(a.out, ignore_errors=True)
    cmd = [a.nnxr, "run", a.scene, "--headless", "--frames", str(a.frames), "--out", a.out,
           "--validate"]
    print("$ " + " ".join(cmd))
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    print(f"{a.frames} frames in {time.time() - t0:.1f} s, peak RSS {rss_mib:.0f} MiB")
    if not tcr.check(p.returncode == 0, f"exit {p.returncode}:\n{p.stderr[-3000:]}"):
        tcr.finish()
    tcr.check(rss_mib < RSS_LIMIT_MIB, f"peak RSS {rss_mib:.0f} MiB, expected < {RSS_LIMIT_MIB}")

    summary = json.load(open(os.path.join(a.out, "summary.json")))
    tcr.check(summary["validation_messages"] == 0,
              f"{summary['validation_messages']} validation messages")
    tcr.check(summary["frames"] == a.frames and summary["ended"] == "completed",
              f"summary: {summary['frames']} frames, ended {summary['ended']}")
    print(f"GPU ms per frame: {summary['gpu_ms_per_frame']}")

    points, recs, label, _ = tcr.check_labels(a.out, "full run")
    tcr.check(points == POINTS, f"the cloud holds {points} points, expected {POINTS}")
    tcr.check(len(recs) > 0 and sum(1 for v in label if v >= 0) > 0,
              f"{len(recs)} annotations, {sum(1 for v in label if v >= 0)} points labelled")
    shape = npy_shape(os.path.join(a.out, "latents.npy"))
    tcr.check(shape == f"float32 [{POINTS}, 3]", f"latents.npy: {shape}")

    mpath = os.path.join(a.out, "metrics.jsonl")
    knn = tcr.metrics(mpath, "cloud.knn_accuracy")
    labelled = tcr.metrics(mpath, "cloud.labelled")
    print(f"cloud.knn_accuracy {knn}, cloud.labelled {labelled}")
    tcr.check(knn and all(0.0 < v <= 1.0 for _, v in knn), f"cloud.knn_accuracy: {knn}")
    tcr.check(labelled and labelled[-1][1] == sum(1 for v in label if v >= 0),
              f"cloud.labelled {labelled[-1:] if labelled else None} vs labels.csv")
    frames = sorted(os.listdir(os.path.join(a.out, "frames")))
    tcr.check(len(frames) >= 2, f"frames written: {frames}")
    tcr.finish()


if __name__ == "__main__":
    main()
