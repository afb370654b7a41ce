#!/usr/bin/env python3
"""Runs the example plugin headless with a trace and checks: the host calls it in the frame's
order (create, prepare, then update → compute → draw per frame, release, destroy); its
config reaches it (the colour it draws, the size of its square); its pause command takes
effect on the next frame; its metric reaches metrics.jsonl."""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngread import read_png, srgb  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED: " + what)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nnxr", required=True)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    trace = os.path.join(a.out, "trace.txt")
    scene = os.path.join(a.out, "scene.toml")
    frames = 5
    with open(scene, "w") as f:
        f.write(f"""[scene]
frames = {frames}
[view]
width = 200
height = 100
frame_every = 1
background = [0.0, 0.0, 0.0]
[[plugin]]
id = "nnxr.example"
color = [0.0, 1.0, 0.25]
size = 0.5
pulse_hz = 0.0
pause_at_frame = 2
trace = "{trace}"
""")
    cmd = [a.nnxr, "run", scene, "--headless", "--out", os.path.join(a.out, "run"), "--validate"]
    print("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, f"exit status {r.returncode}")

    lines = open(trace).read().split("\n")[:-1] if os.path.exists(trace) else []
    want = ["create", "prepare 200x100 views=1"]
    for i in range(frames):
        want += [f"update {i} paused={1 if i >= 3 else 0}", f"compute {i}", f"draw {i} view 0"]
    want += ["release", "destroy"]
    check(lines == want, "trace differs:\n  got  " + "\n       ".join(lines) +
          "\n  want " + "\n       ".join(want))

    w, h, rows = read_png(os.path.join(a.out, "run", "frames", "000004.png"))
    green = (srgb(0.0), srgb(1.0), srgb(0.25))
    centre, corner = rows[h // 2][w // 2][:3], rows[2][2][:3]
    check(all(abs(c - g) <= 1 for c, g in zip(centre, green)), f"centre {centre}, want {green}")
    check(corner == (0, 0, 0), f"corner {corner}, want black")
    # The square is 0.5 of the height: 50 px, centred.
    inside = [x for x in range(w) if rows[h // 2][x][:3] == centre]
    check(len(inside) == 50 and inside[0] == 75, f"square spans x {inside[:1]}..{inside[-1:]}")

    sides = [json.loads(l)["value"] for l in open(os.path.join(a.out, "run", "metrics.jsonl"))
             if json.loads(l)["name"] == "example.side_px"]
    check(sides == [50.0] * frames, f"example.side_px {sides}")
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
