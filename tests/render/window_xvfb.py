#!/usr/bin/env python3
"""The window target under Xvfb (run this inside `xvfb-run -a -s '-screen 0 1280x720x24'`):
  - with a display, mode "auto" opens a window (summary.json says "window"); `--headless`
    still wins;
  - the window shows the graph view: a screenshot of the screen (xwd -root) has 1 red,
    3 blue, 4 yellow and 1 green node blob inside the window;
  - resized to 800x500, the window goes on drawing the graph at its new size;
  - closing the window (WM_DELETE_WINDOW, as a window manager's close button) ends the run,
    with exit status 0 and "ended": "window closed".
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from picture import blobs, read_xwd  # noqa: E402

failures = []


def check(cond, what):
    print(("ok: " if cond else "FAILED: ") + what)
    if not cond:
        failures.append(what)


SCENE = """[scene]
name = "window_test"
mode = "auto"
seconds = 60
[view]
width = 640
height = 360
background = [0.02, 0.02, 0.05]
eye = [0.0, 0.4, 3.2]
[[plugin]]
id = "nnxr.graph_view"
layers = [784, 3, 4, 10]
glow = 0.0
labels = false
node_radius = 0.05
io_radius = 0.07
size = 1.3
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nnxr", required=True)
    p.add_argument("--x11", required=True, help="the x11_window helper")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    if not os.environ.get("DISPLAY"):
        print("FAILED: no DISPLAY: run inside xvfb-run")
        sys.exit(1)
    if not shutil.which("xwd"):
        print("FAILED: xwd is missing (Debian package x11-apps)")
        sys.exit(1)
    shutil.rmtree(a.out, ignore_errors=True)
    os.makedirs(a.out)
    scene = os.path.join(a.out, "scene.toml")
    with open(scene, "w") as f:
        f.write(SCENE)

    # --headless wins over a display.
    r = subprocess.run([a.nnxr, "run", scene, "--headless", "--frames", "1", "--out",
                        os.path.join(a.out, "headless")], capture_output=True, text=True,
                       timeout=120)
    mode = json.load(open(os.path.join(a.out, "headless", "summary.json")))["mode"] \
        if r.returncode == 0 else r.stderr
    check(mode == "headless", f"--headless with a display runs headless ({mode})")

    run_out = os.path.join(a.out, "window")
    proc = subprocess.Popen([a.nnxr, "run", scene, "--out", run_out, "--validate"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    shot = os.path.join(a.out, "screen.xwd")
    want = {"red": 1, "blue": 3, "yellow": 4, "green": 1}

    def wait_for_graph(what, size):
        counts, extent, deadline = {}, None, time.time() + 40
        # Poll: lavapipe compiles shaders at the first draw, and the layout moves.
        while time.time() < deadline and proc.poll() is None:
            time.sleep(1.0)
            subprocess.run(["xwd", "-root", "-silent", "-out", shot], check=True, timeout=30)
            w, h, rows = read_xwd(shot)
            counts = blobs(rows)  # the screen is black outside the (centred) window
            # the window's extent: the non-black rows and columns of the screen
            xs = [x for x in range(0, w, 2) if any(sum(rows[y][x]) > 30 for y in range(0, h, 8))]
            ys = [y for y in range(0, h, 2) if any(sum(rows[y][x]) > 30 for x in range(0, w, 8))]
            extent = (xs[-1] - xs[0] + 2, ys[-1] - ys[0] + 2) if xs and ys else None
            if counts == want and extent and abs(extent[0] - size[0]) <= 4 and \
                    abs(extent[1] - size[1]) <= 4:
                break
        check(counts == want, f"{what}: the screenshot shows the graph's nodes: {counts}, "
              f"want {want}")
        check(extent is not None and abs(extent[0] - size[0]) <= 4 and
              abs(extent[1] - size[1]) <= 4, f"{what}: the window is {extent}, want {size}")

    wait_for_graph("first frames", (640, 360))
    r = subprocess.run([a.x11, "resize", "window_test", "800", "500"], capture_output=True,
                       text=True, timeout=30)
    check(r.returncode == 0, "the window was resized to 800x500")
    wait_for_graph("after the resize", (800, 500))
    check(proc.poll() is None, "the run is still going before the window is closed")

    c = subprocess.run([a.x11, "close", "window_test"], capture_output=True, text=True,
                       timeout=30)
    print(c.stdout + c.stderr)
    check(c.returncode == 0, "the window was found by its title and asked to close")
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    print(out + err)
    check(proc.returncode == 0, f"closing the window ends the run with status 0 "
          f"({proc.returncode})")
    summary = os.path.join(run_out, "summary.json")
    s = json.load(open(summary)) if os.path.exists(summary) else {}
    check(s.get("mode") == "window", f"mode auto with a display opened a window ({s.get('mode')})")
    check(s.get("ended") == "window closed", f"ended: {s.get('ended')}")
    check(s.get("validation_messages") == 0, f"validation messages: {s.get('validation_messages')}")
    check(s.get("frames", 0) >= 2, f"frames drawn: {s.get('frames')}")
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
