#!/usr/bin/env python3
"""[view] stereo = true on the headless target: the picture holds two views side by side,
each showing the whole graph (1 red, 3 blue, 4 yellow, 1 green node blob), and the two views
differ as two eyes do: the nodes, in front of or near the look-at point, appear further right
in the left eye's view than in the right eye's (crossed parallax), by a few pixels at most
for the far nodes and never in the other direction; heights agree. A mono run of the same
scene shows one graph across the whole width."""
import argparse
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.dirname(here))
from picture import blobs, classify  # noqa: E402
from pngread import read_png  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failures.append(what)


def run(nnxr, scene, out, extra=()):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [nnxr, "run", scene, "--headless", "--frames", "3", "--out", out, "--validate",
           *extra]
    print("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print(r.stdout + r.stderr[-2000:])
    check(r.returncode == 0, f"exit status {r.returncode}")
    last = os.path.join(out, "frames", "000002.png")
    return read_png(last)[2] if os.path.exists(last) else None


def centroid(rows, cls, x0, x1):
    pts = [(x - x0, y) for y in range(len(rows)) for x in range(x0, x1)
           if classify(rows[y][x]) == cls]
    if not pts:
        return None
    return (sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxr", required=True)
    ap.add_argument("--scene", required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    rows = run(a.nnxr, a.scene, os.path.join(a.out, "stereo"))
    if rows is None:
        check(False, "the stereo frame was written")
    else:
        w, h = len(rows[0]), len(rows)
        half = w // 2
        want = {"red": 1, "blue": 3, "yellow": 4, "green": 1}
        left = blobs(rows, box=(0, 0, half, h))
        right = blobs(rows, box=(half, 0, w, h))
        check(left == want, f"left eye's view: node blobs {left}, want {want}")
        check(right == want, f"right eye's view: node blobs {right}, want {want}")
        for cls in ("red", "blue", "yellow", "green"):
            cl, cr = centroid(rows, cls, 0, half), centroid(rows, cls, half, w)
            if cl is None or cr is None:
                check(False, f"{cls} nodes in both views")
                continue
            dx, dy = cl[0] - cr[0], cl[1] - cr[1]
            check(0.5 < dx < 60, f"{cls}: the left view shows the nodes {dx:.1f} px further "
                  "right than the right view (crossed parallax)")
            check(abs(dy) < 3.0, f"{cls}: heights agree in both views ({dy:.2f} px; nodes that "
                  "overlap differently in the two views move the centroid a little)")
    mono_scene = os.path.join(a.out, "mono.toml")
    os.makedirs(a.out, exist_ok=True)
    with open(a.scene) as f, open(mono_scene, "w") as g:
        g.write(f.read().replace("stereo = true", "stereo = false"))
    rows = run(a.nnxr, mono_scene, os.path.join(a.out, "mono"))
    if rows is not None:
        w, h = len(rows[0]), len(rows)
        got = blobs(rows, box=(0, 0, w, h))
        check(got == {"red": 1, "blue": 3, "yellow": 4, "green": 1},
              f"mono: one graph across the whole width {got}")
    if failures:
        print(f"{len(failures)} check(s) failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    main()
