#!/usr/bin/env python3
"""The playground scenes run headless (`nnxr run configs/X.toml --headless --frames N --out DIR
--validate --verbose`) and their last picture means what the scene says. The playground plugin
logs where it put the output heatmap ("layout: output heatmap at X Y size S px, N heatmaps");
the picture is read there:
  - configs/playground.toml (the gauss set: class 1 around (2, 2), class 0 around (-2, -2),
    linearly separable): after training, the output heatmap is blue (class 1's colour) on the
    +x1 +x2 side and red (class 0's) on the other; the points are drawn where the data is
    (their dark test-point outlines appear over both clouds and nowhere far from them); the
    feature and neuron heatmaps (2 + 4 + 2 + 1) were laid out;
  - configs/playground_spiral.toml (spiral, x1 x2 sin x1 sin x2, 8-8 tanh): 4 + 8 + 8 + 1
    heatmaps, training ran, and the output shows both classes' colours."""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
from pngread import read_png  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failures.append(what)
    return cond


def run(nnxr, scene, out, frames):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [nnxr, "run", scene, "--headless", "--frames", str(frames), "--out", out,
           "--validate", "--verbose"]
    print("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    lines = [l for l in r.stderr.splitlines() if "layout:" in l or "playground" in l]
    print(r.stdout + "\n".join(lines[-5:]) + "\n" + r.stderr[-1000:])
    name = os.path.basename(scene)
    check(r.returncode == 0, f"{name}: exit status {r.returncode}")
    summary = os.path.join(out, "summary.json")
    s = json.load(open(summary)) if os.path.exists(summary) else {}
    check(s.get("validation_messages", 1) == 0,
          f"{name}: {s.get('validation_messages')} validation messages")
    last = os.path.join(out, "frames", "%06d.png" % (frames - 1))
    check(os.path.exists(last), f"{name}: the last frame {last} exists")
    rows = read_png(last)[2] if os.path.exists(last) else [[(0, 0, 0, 255)]]
    layout = None
    for m in re.finditer(r"layout: output heatmap at ([-\d.]+) ([-\d.]+) size ([\d.]+) px, "
                         r"(\d+) heatmaps", r.stderr):
        layout = (float(m.group(1)), float(m.group(2)), float(m.group(3)), int(m.group(4)))
    check(layout is not None, f"{name}: the plugin logged its layout")
    return s, rows, layout


def pixel(rows, layout, x1, x2, extent=6.0):
    """The pixel of domain point (x1, x2) on the output heatmap."""
    x0, y0, size = layout[:3]
    px = int(x0 + (x1 + extent) / (2 * extent) * size)
    py = int(y0 + (extent - x2) / (2 * extent) * size)
    return rows[py][px]


def box(rows, layout, a1, b1, a2, b2, step=0.25):
    """The pixels of the output heatmap over [a1, b1] x [a2, b2] of the domain."""
    out = []
    x1 = a1
    while x1 <= b1:
        x2 = a2
        while x2 <= b2:
            out.append(pixel(rows, layout, x1, x2))
            x2 += step
        x1 += step
    return out


def blue(p):
    return p[2] > p[0] + 60


def red(p):
    return p[0] > p[2] + 60


def dark(p):
    return p[0] + p[1] + p[2] < 90


def playground(a):
    s, rows, layout = run(a.nnxr, os.path.join(a.configs, "playground.toml"),
                          os.path.join(a.out, "playground"), 90)
    # The scene trains a fixed number of steps a frame (~550 in 90 frames): enough to learn.
    check(s.get("steps", 0) >= 300, f"playground.toml: training steps taken ({s.get('steps')})")
    if not layout:
        return
    check(layout[3] == 9, f"playground.toml: 2 + 4 + 2 + 1 heatmaps laid out ({layout[3]})")
    # The classes' sides, away from the clouds of points.
    b = box(rows, layout, 4.0, 5.5, 4.0, 5.5)
    r = box(rows, layout, -5.5, -4.0, -5.5, -4.0)
    nb, nr = sum(map(blue, b)), sum(map(red, r))
    check(nb >= 0.95 * len(b), f"playground.toml: class 1's side (+x1, +x2) is blue: {nb} of "
          f"{len(b)} pixels")
    check(nr >= 0.95 * len(r), f"playground.toml: class 0's side (-x1, -x2) is red: {nr} of "
          f"{len(r)} pixels")
    # Points where the data is: the test points' dark outlines over both clouds, none in a
    # corner far from both.
    x0, y0, size = layout[:3]
    scale = size / 12.0

    def dark_count(c1, c2, half):
        n = 0
        for py in range(int(y0 + (6 - c2 - half) * scale), int(y0 + (6 - c2 + half) * scale)):
            for px in range(int(x0 + (c1 + 6 - half) * scale), int(x0 + (c1 + 6 + half) * scale)):
                n += dark(rows[py][px])
        return n
    d1, d0, far = dark_count(2, 2, 1.5), dark_count(-2, -2, 1.5), dark_count(4.5, -4.5, 1.5)
    check(d1 > 20 and d0 > 20 and far == 0,
          f"playground.toml: points drawn over the clouds ({d1} and {d0} outline pixels) and "
          f"not far from them ({far})")
    # Inside the clouds, the class's colour outweighs the other (points and heatmap agree).
    c1 = box(rows, layout, 1.0, 3.0, 1.0, 3.0)
    c0 = box(rows, layout, -3.0, -1.0, -3.0, -1.0)
    b1, r1, b0, r0 = sum(map(blue, c1)), sum(map(red, c1)), sum(map(blue, c0)), sum(map(red, c0))
    check(b1 > 5 * r1 and b1 > 0.3 * len(c1) and r0 > 5 * b0 and r0 > 0.3 * len(c0),
          f"playground.toml: the clouds show their class colours (class 1's: {b1} blue, {r1} "
          f"red; class 0's: {r0} red, {b0} blue of {len(c1)})")


def spiral(a):
    s, rows, layout = run(a.nnxr, os.path.join(a.configs, "playground_spiral.toml"),
                          os.path.join(a.out, "playground_spiral"), 90)
    # ~8 steps a frame (~550 in 90 frames); fewer when llvmpipe compiles cold pipelines.
    check(s.get("steps", 0) >= 300, f"playground_spiral.toml: training steps ({s.get('steps')})")
    if not layout:
        return
    check(layout[3] == 21, f"playground_spiral.toml: 4 + 8 + 8 + 1 heatmaps ({layout[3]})")
    px = box(rows, layout, -5.8, 5.8, -5.8, 5.8, 0.2)
    nb, nr = sum(map(blue, px)), sum(map(red, px))
    check(nb > 0.1 * len(px) and nr > 0.1 * len(px),
          f"playground_spiral.toml: the output shows both classes ({nb} blue, {nr} red of "
          f"{len(px)})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxr", required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scene", choices=["playground", "playground_spiral"], required=True)
    a = ap.parse_args()
    if a.scene == "playground":
        playground(a)
    else:
        spiral(a)
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
