#!/usr/bin/env python3
"""configs/cnn_activations.toml runs headless (`nnxr run ... --headless --frames N --out DIR`)
and its pictures have their parts, read for meaning:
  - training ran (steps taken, validation accuracy above chance) with no validation message;
  - the activation grid's area holds one legend bar per shown layer — a horizontal run of
    viridis colours whose left end is viridis(0) and right end viridis(1) — and many cells
    in viridis colours, which change between an early frame and the last (the views follow
    training);
  - the gallery's area shows thumbnails (grey images) with true class names in green and
    predicted ones in red;
  - the PCA's area shows points in at least three class colours.
The areas are the plugin's rects from the scene file (fractions of the view, 8 px margins)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(here))
from pngread import read_png  # noqa: E402

failures = []

# Viridis as nnxr/draw.h defines it: nine sRGB stops, interpolated in sRGB.
STOPS = [
    (0.267004, 0.004874, 0.329415), (0.282623, 0.140926, 0.457517),
    (0.229739, 0.322361, 0.545706), (0.172719, 0.448791, 0.557885),
    (0.127568, 0.566949, 0.550556), (0.157851, 0.683765, 0.501686),
    (0.369214, 0.788888, 0.382914), (0.678489, 0.863742, 0.189503),
    (0.993248, 0.906157, 0.143936)]


def viridis8(t):
    x = min(max(t, 0.0), 1.0) * 8.0
    i = min(int(x), 7)
    return tuple(round((STOPS[i][c] + (STOPS[i + 1][c] - STOPS[i][c]) * (x - i)) * 255.0)
                 for c in range(3))


TABLE = [viridis8(i / 512.0) for i in range(513)]
CLASS_SRGB = [(0.90, 0.10, 0.10), (0.10, 0.45, 0.90), (0.15, 0.70, 0.20), (1.00, 0.60, 0.05),
              (0.60, 0.25, 0.80), (0.05, 0.80, 0.80), (0.95, 0.35, 0.70), (0.60, 0.40, 0.15),
              (0.75, 0.85, 0.10), (0.10, 0.25, 0.45)]
_cache = {}


def on_viridis(p, tol=3):
    """Whether colour p is on the viridis map (within tol per channel)."""
    key = p[:3]
    v = _cache.get(key)
    if v is None:
        v = sum(key) > 40 and any(max(abs(key[c] - t[c]) for c in range(3)) <= tol
                                  for t in TABLE)
        _cache[key] = v
    return v


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failures.append(what)


def image(path):
    return read_png(path)[2]


def near(p, c, tol):
    return all(abs(p[i] - c[i]) <= tol for i in range(3))


def rect(f, w, h):
    x, y = int(f[0] * w + 8), int(f[1] * h + 8)
    return x, y, int(x + f[2] * w - 16), int(y + f[3] * h - 16)


def legend_bars(rows, box):
    """Horizontal viridis runs of at least 90 px in box, one (y, x0, x1) per bar (y: a row
    inside it, one above its lowest)."""
    x0, y0, x1, y1 = box
    runs = []
    for y in range(y0, y1):
        x = x0
        while x < x1:
            if on_viridis(rows[y][x]):
                e = x
                while e < x1 and on_viridis(rows[y][e]):
                    e += 1
                if e - x >= 90:
                    runs.append((y, x, e - 1))
                x = e
            else:
                x += 1
    bars = []
    for (y, a, b) in runs:
        if bars and y - bars[-1][3] <= 1 and abs(bars[-1][1] - a) <= 2:
            bars[-1] = (bars[-1][0], a, b, y)
        else:
            bars.append((y, a, b, y))
    return [(max(top, bot - 1), a, b) for (top, a, b, bot) in bars]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nnxr", required=True)
    ap.add_argument("--configs", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--frames", type=int, default=120)
    a = ap.parse_args()
    if not os.path.isdir("/usr/share/datasets/fashion-mnist"):
        check(False, "cnn_activations.toml needs Debian's dataset-fashion-mnist")
        return finish()
    scene = os.path.join(a.configs, "cnn_activations.toml")
    cfg = tomllib.load(open(scene, "rb"))
    grid_plugin = [p for p in cfg["plugin"] if p["id"] == "nnxr.activation_grid"][0]
    out = os.path.join(a.out, "cnn_activations")
    shutil.rmtree(out, ignore_errors=True)
    cmd = [a.nnxr, "run", scene, "--headless", "--frames", str(a.frames), "--out", out,
           "--validate"]
    print("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    print(r.stdout + r.stderr[-3000:])
    check(r.returncode == 0, f"exit status {r.returncode}")
    summary = os.path.join(out, "summary.json")
    s = json.load(open(summary)) if os.path.exists(summary) else {}
    check(s.get("steps", 0) > 0, f"training steps taken ({s.get('steps')})")
    check(s.get("validation_messages", 1) == 0,
          f"no validation messages ({s.get('validation_messages')})")
    acc = []
    mpath = os.path.join(out, "metrics.jsonl")
    if os.path.exists(mpath):
        for line in open(mpath):
            m = json.loads(line)
            if m.get("name") == "val.accuracy":
                acc.append(m["value"])
    check(len(acc) >= 2 and acc[-1] > 0.4,
          f"validation accuracy measured and above chance: {acc[-3:]}")
    frames = sorted(os.listdir(os.path.join(out, "frames"))) if os.path.isdir(
        os.path.join(out, "frames")) else []
    last = os.path.join(out, "frames", "%06d.png" % (a.frames - 1))
    check(os.path.exists(last), f"the last frame {last} exists")
    if not os.path.exists(last) or len(frames) < 2:
        return finish()
    rows = image(last)
    h, w = len(rows), len(rows[0])

    # The grid: one legend bar per layer, its ends viridis's ends; cells in viridis.
    gbox = rect(grid_plugin.get("grid_rect", [0.0, 0.0, 0.64, 0.72]), w, h)
    bars = legend_bars(rows, gbox)
    ends = sum(1 for (y, a, b) in bars
               if near(rows[y][a], viridis8(0.0), 3) and near(rows[y][b], viridis8(1.0), 3))
    check(len(bars) >= 4, f"grid: legend bars of at least 4 layers ({len(bars)})")
    check(ends == len(bars) and ends > 0,
          f"grid: every legend runs from viridis(0) to viridis(1) ({ends} of {len(bars)})")
    x0, y0, x1, y1 = gbox
    cells = sum(1 for y in range(y0, y1) for x in range(x0, x1) if on_viridis(rows[y][x]))
    cells -= sum(b - a + 1 for (_, a, b) in bars) * 9
    check(cells > 8000, f"grid: cells drawn in viridis ({cells} px)")
    early = image(os.path.join(out, "frames", frames[1]))
    changed = sum(1 for y in range(y0, y1) for x in range(x0, x1)
                  if not near(early[y][x], rows[y][x], 8))
    check(changed > 2000, f"grid: the activations changed as training ran ({frames[1]} vs "
          f"the last frame: {changed} px)")

    # The gallery: thumbnails (grey, not black) with green and red names under them.
    gx0, gy0, gx1, gy1 = rect(grid_plugin.get("gallery_rect", [0.0, 0.72, 1.0, 0.28]), w, h)
    grey = green = red = 0
    for y in range(gy0 + 24, gy1):
        for x in range(gx0, gx1):
            r, g, b = rows[y][x][:3]
            grey += max(r, g, b) - min(r, g, b) <= 3 and min(r, g, b) > 60
            green += g > 200 and r < 200 and b < 200 and g > r + 40
            red += r > 200 and g < 170 and b < 170
    check(grey > 3000, f"gallery: thumbnails of evaluation images ({grey} grey px)")
    check(green > 300 and red > 300,
          f"gallery: true (green, {green} px) and predicted (red, {red} px) class names")

    # The PCA: points in several class colours.
    px0, py0, px1, py1 = rect(grid_plugin.get("pca_rect", [0.64, 0.0, 0.36, 0.56]), w, h)
    seen = 0
    for c in CLASS_SRGB:
        want = tuple(round(v * 255) for v in c)
        n = sum(1 for y in range(py0 + 40, py1) for x in range(px0, px1)
                if near(rows[y][x], want, 40))
        seen += n >= 15
    check(seen >= 3, f"PCA: points of at least 3 classes in their colours ({seen})")
    return finish()


def finish():
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
