#!/usr/bin/env python3
"""A run shows its progress on a terminal (frames, frames/s, steps/s, time left) and stays
quiet when stderr is not a terminal."""
import argparse
import os
import pty
import subprocess
import sys

p = argparse.ArgumentParser()
p.add_argument("--nnxr", required=True)
p.add_argument("--out", required=True)
a = p.parse_args()
cmd = [a.nnxr, "run", "default", "--headless", "--seconds", "1.2", "--frames", "100000",
       "--out", a.out]
failures = []

# Not a terminal: nothing but errors on stderr.
r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
if r.returncode != 0 or r.stderr.strip():
    failures.append(f"piped run: exit {r.returncode}, stderr {r.stderr!r}")

# A terminal: progress lines.
pid, fd = pty.fork()
if pid == 0:
    os.execv(cmd[0], cmd)
out = b""
while True:
    try:
        chunk = os.read(fd, 4096)
    except OSError:
        break
    if not chunk:
        break
    out += chunk
_, status = os.waitpid(pid, 0)
text = out.decode(errors="replace")
if os.waitstatus_to_exitcode(status) != 0:
    failures.append(f"tty run exit {status}")
for want in ("nnxr: frame ", "frames/s", "steps/s", "s left"):
    if want not in text:
        failures.append(f"tty output lacks {want!r}: {text[-300:]!r}")
for f in failures:
    print("FAILED: " + f)
print(f"{0 if failures else 1} passed, {1 if failures else 0} failed")
sys.exit(1 if failures else 0)
