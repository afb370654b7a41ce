#!/usr/bin/env python3
"""Runs one command and checks its exit status and what it printed.

usage: expect.py [--exit N] [--stderr TEXT]... [--stdout TEXT]... [--no-stderr TEXT]...
                 [--env K=V]... -- COMMAND ARGS...

Each --stderr/--stdout TEXT must appear in that stream. Prints "1 passed, 0 failed" or the
differences and "0 passed, 1 failed"."""
import argparse
import os
import subprocess
import sys


def main():
    argv = sys.argv[1:]
    if "--" not in argv:
        sys.exit("expect.py: missing -- before the command")
    cut = argv.index("--")
    p = argparse.ArgumentParser()
    p.add_argument("--exit", type=int, default=0)
    p.add_argument("--stderr", action="append", default=[])
    p.add_argument("--stdout", action="append", default=[])
    p.add_argument("--no-stderr", action="append", default=[])
    p.add_argument("--env", action="append", default=[])
    p.add_argument("--cwd")
    a = p.parse_args(argv[:cut])
    cmd = argv[cut + 1:]
    env = dict(os.environ)
    for kv in a.env:
        k, _, v = kv.partition("=")
        env[k] = v
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=a.cwd, timeout=600)
    problems = []
    if r.returncode != a.exit:
        problems.append(f"exit status {r.returncode}, expected {a.exit}")
    for t in a.stderr:
        if t not in r.stderr:
            problems.append(f"stderr lacks: {t!r}")
    for t in a.no_stderr:
        if t in r.stderr:
            problems.append(f"stderr has: {t!r}")
    for t in a.stdout:
        if t not in r.stdout:
            problems.append(f"stdout lacks: {t!r}")
    print("$ " + " ".join(cmd))
    if problems:
        print("--- stdout ---\n" + r.stdout[-4000:])
        print("--- stderr ---\n" + r.stderr[-4000:])
        for pr in problems:
            print("FAILED: " + pr)
        print("0 passed, 1 failed")
        sys.exit(1)
    print("1 passed, 0 failed")


if __name__ == "__main__":
    main()
