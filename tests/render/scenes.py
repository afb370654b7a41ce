#!/usr/bin/env python3
"""The renderer's shipped scenes run headless (`nnxr run configs/X.toml --headless --frames N
--out DIR`) and their last picture means what the scene says:
  - configs/graph_view.toml (a synthetic 784-3-4-10 MLP): right of the HUD panel, 1 red,
    3 blue, 4 yellow and 1 green node blob; the HUD's header text is drawn;
  - configs/aiive.toml (a 784-16-16-10 MLP training on Fashion-MNIST): training steps were
    taken, the graph shows the red input, the green output and many blue and yellow neurons
    (presence only: dense links cut the halos into pieces),
    and the HUD's plots have both curves (train and validation) in their colours."""
import argparse
import json
import os
import shutil
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.dirname(here))
from picture import blobs  # noqa: E402
from pngread import read_png, srgb  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failures.append(what)


def run(nnxr, scene, out, frames):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [nnxr, "run", scene, "--headless", "--frames", str(frames), "--out", out,
           "--validate"]
    print("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print(r.stdout + r.stderr[-2000:])
    check(r.returncode == 0, f"{os.path.basename(scene)}: exit status {r.returncode}")
    summary = os.path.join(out, "summary.json")
    s = json.load(open(summary)) if os.path.exists(summary) else {}
    last = os.path.join(out, "frames", "%06d.png" % (frames - 1))
    check(os.path.exists(last), f"{os.path.basename(scene)}: the last frame {last} exists")
    rows = read_png(last)[2] if os.path.exists(last) else [[(0, 0, 0, 255)]]
    return s, rows


def near(p, c, tol=6):
    return all(abs(p[i] - c[i]) <= tol for i in range(3))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxr", required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--scene", choices=["graph_view", "aiive"], required=True)
    a = ap.parse_args()
    if a.scene == "graph_view":
        graph_view(a)
    else:
        aiive(a)
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    sys.exit(1 if failures else 0)


def graph_view(a):
    s, rows = run(a.nnxr, os.path.join(a.configs, "graph_view.toml"),
                  os.path.join(a.out, "graph_view"), 3)
    w, h = len(rows[0]), len(rows)
    got = blobs(rows, box=(430, 0, w, h))
    want = {"red": 1, "blue": 3, "yellow": 4, "green": 1}
    check(got == want, f"graph_view.toml: node blobs {got}, want {want}")
    white = sum(1 for y in range(16, 36) for x in range(16, 200)
                if y < h and x < w and min(rows[y][x][:3]) > 240)
    check(white > 100, f"graph_view.toml: the HUD's header text ({white} white pixels)")


def aiive(a):
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        check(False, "aiive.toml needs Debian's dataset-fashion-mnist")
    else:
        s, rows = run(a.nnxr, os.path.join(a.configs, "aiive.toml"),
                      os.path.join(a.out, "aiive"), 80)
        check(s.get("steps", 0) > 0, f"aiive.toml: training steps taken ({s.get('steps')})")
        w, h = len(rows[0]), len(rows)
        got = blobs(rows, box=(430, 0, w, h))
        # Dense links cut the glow halos into pieces, so only presence is counted here; the
        # exact counts are checked on graph_view.toml and in test_render_plugins.
        check(got.get("red", 0) >= 1 and got.get("green", 0) >= 1 and got.get("blue", 0) >= 8 and
              got.get("yellow", 0) >= 8,
              f"aiive.toml: red input, green output, blue and yellow neurons: {got}")
        train = tuple(srgb(c) for c in (0.25, 0.6, 1.0))
        val = tuple(srgb(c) for c in (1.0, 0.55, 0.1))
        # The two plots (loss, accuracy); where the curves coincide validation is drawn over
        # train, so each colour is looked for in both.
        plots = [rows[y][x] for y in list(range(80, 165)) + list(range(196, 281))
                 for x in range(20, 402) if y < h and x < w]
        nt = sum(1 for p in plots if near(p, train))
        nv = sum(1 for p in plots if near(p, val))
        check(nt > 50 and nv > 50, f"aiive.toml: train and validation curves drawn (train {nt}, "
              f"val {nv} px)")


if __name__ == "__main__":
    main()
