#!/usr/bin/env python3
"""usage: docs_in_sync.py DOC COMMAND...: the command's output must appear verbatim in DOC."""
import subprocess
import sys

doc, cmd = sys.argv[1], sys.argv[2:]
out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
if out and out in open(doc).read():
    print("1 passed, 0 failed")
    sys.exit(0)
print(f"{doc} does not hold the current output of: {' '.join(cmd)}\n"
      f"regenerate that part of {doc} from it.")
print("0 passed, 1 failed")
sys.exit(1)
