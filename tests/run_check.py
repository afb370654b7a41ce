#!/usr/bin/env python3
"""Runs a scene headless for N frames and checks every output a run promises: frames/*.png
(decodable, of the scene's size), metrics.jsonl (one JSON object a line), scene.resolved.toml
(TOML that Python's own tomllib reads, with every table), summary.json (device, frames, wall
time, steps, no validation messages)."""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pngread import read_png  # noqa: E402

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAILED: " + what)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--nnxr", required=True)
    p.add_argument("--scene", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--frames", type=int, default=10)
    a = p.parse_args()
    shutil.rmtree(a.out, ignore_errors=True)
    cmd = [a.nnxr, "run", a.scene, "--headless", "--frames", str(a.frames), "--out", a.out,
           "--validate"]
    print("$ " + " ".join(cmd))
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    print(r.stdout + r.stderr)
    check(r.returncode == 0, f"exit status {r.returncode}")

    scene = tomllib.load(open(a.scene, "rb"))
    view = scene.get("view", {})
    every = view.get("frame_every", 30)
    width, height = view.get("width", 1280), view.get("height", 720)
    expected = sorted({i for i in range(a.frames) if i % every == 0} | {a.frames - 1})
    frames = sorted(os.listdir(os.path.join(a.out, "frames"))) if os.path.isdir(
        os.path.join(a.out, "frames")) else []
    check(frames == [f"{i:06d}.png" for i in expected], f"frames {frames}, expected {expected}")
    for f in frames:
        w, h, _ = read_png(os.path.join(a.out, "frames", f))
        check((w, h) == (width, height), f"{f} is {w}x{h}, expected {width}x{height}")

    metrics = os.path.join(a.out, "metrics.jsonl")
    check(os.path.isfile(metrics), "metrics.jsonl missing")
    if os.path.isfile(metrics):
        for n, line in enumerate(open(metrics), 1):
            rec = json.loads(line)
            check({"frame", "step", "name", "value"} <= rec.keys(), f"metrics line {n}: {rec}")

    resolved = os.path.join(a.out, "scene.resolved.toml")
    check(os.path.isfile(resolved), "scene.resolved.toml missing")
    if os.path.isfile(resolved):
        doc = tomllib.load(open(resolved, "rb"))
        for t in ("scene", "dataset", "model", "train", "view", "audio"):
            check(t in doc, f"resolved scene lacks [{t}]")
        check(doc["train"]["lr"] == scene.get("train", {}).get("lr", 0.05), "resolved lr")
        check(len(doc.get("plugin", [])) == len(scene.get("plugin", [])), "resolved plugins")

    summary_path = os.path.join(a.out, "summary.json")
    check(os.path.isfile(summary_path), "summary.json missing")
    if os.path.isfile(summary_path):
        s = json.load(open(summary_path))
        check(s.get("frames") == a.frames, f"summary frames {s.get('frames')}")
        check(s.get("frames_written") == len(expected), "summary frames_written")
        check(bool(s.get("device")), "summary device")
        check(s.get("wall_seconds", -1) > 0, "summary wall_seconds")
        check("steps" in s, "summary steps")
        check(s.get("validation_messages") == 0, "validation messages")
        check(s.get("ended") == "completed", f"ended {s.get('ended')}")
    print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
