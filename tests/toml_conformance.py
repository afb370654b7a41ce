#!/usr/bin/env python3
"""tests/toml_conformance.py: runs a TOML decoder over the toml-test cases named in
files-toml-1.0.0. Valid cases must exit 0 with JSON equal to the expected .json as values;
invalid cases must exit 1. Prints each failure, the pass counts per group, and a last line
"N passed, M failed"; exits non-zero if any case failed.

The decoder is run as `DECODER toml-json FILE`.
"""

import argparse
import json
import math
import os
import re
import subprocess
import sys
from collections import OrderedDict

TIMEOUT_S = 20

_DT_RE = re.compile(
    r"^(?:(\d{4}-\d{2}-\d{2}))?"      # date
    r"(?:[Tt ]?(\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d+))?)?"  # time, seconds optional
    r"([Zz]|[+-]\d{2}:\d{2})?$"        # offset
)

DATETIME_TYPES = ("datetime", "datetime-local", "date-local", "time-local")


class Mismatch(Exception):
    pass


def norm_datetime(kind, text):
    """A canonical form of an RFC 3339 value: 'T' between date and time, seconds present,
    no trailing zeros in the fraction, and Z for a zero offset."""
    m = _DT_RE.match(text.strip())
    if not m:
        raise Mismatch("unreadable %s %r" % (kind, text))
    date, hh, mm, ss, frac, off = m.groups()
    out = date or ""
    if hh is not None:
        if date:
            out += "T"
        out += "%s:%s:%s" % (hh, mm, ss or "00")
        frac = (frac or "").rstrip("0")
        if frac:
            out += "." + frac
    if off:
        off = off.upper()
        if off in ("Z", "+00:00", "-00:00"):
            off = "Z"
        out += off
    return out


def norm_scalar(tagged, where):
    kind, value = tagged["type"], tagged["value"]
    if kind == "string":
        return ("string", value)
    if kind == "integer":
        try:
            return ("integer", int(value))
        except ValueError:
            raise Mismatch("%s: integer %r is not a number" % (where, value))
    if kind == "float":
        v = value.strip().lower()
        if v in ("nan", "+nan", "-nan"):
            return ("float", "nan")
        if v in ("inf", "+inf", "infinity", "+infinity"):
            return ("float", math.inf)
        if v in ("-inf", "-infinity"):
            return ("float", -math.inf)
        try:
            return ("float", float(v))
        except ValueError:
            raise Mismatch("%s: float %r is not a number" % (where, value))
    if kind == "bool":
        if value not in ("true", "false"):
            raise Mismatch("%s: bool %r" % (where, value))
        return ("bool", value == "true")
    if kind in DATETIME_TYPES:
        return (kind, norm_datetime(kind, value))
    raise Mismatch("%s: unknown type %r" % (where, kind))


def is_tagged(obj):
    return (isinstance(obj, dict) and set(obj.keys()) == {"type", "value"}
            and isinstance(obj["type"], str) and isinstance(obj["value"], str))


def normalise(obj, where="$"):
    """Turns tagged JSON into plain comparable values."""
    if is_tagged(obj):
        return norm_scalar(obj, where)
    if isinstance(obj, dict):
        return {k: normalise(v, "%s.%s" % (where, k)) for k, v in obj.items()}
    if isinstance(obj, list):
        return [normalise(v, "%s[%d]" % (where, i)) for i, v in enumerate(obj)]
    raise Mismatch("%s: untagged value %r" % (where, obj))


def compare(want, got, where="$"):
    if isinstance(want, dict):
        if not isinstance(got, dict):
            raise Mismatch("%s: expected a table, got %r" % (where, got))
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        if missing or extra:
            raise Mismatch("%s: keys differ: missing %r, unexpected %r" % (where, missing, extra))
        for k in want:
            compare(want[k], got[k], "%s.%s" % (where, k))
        return
    if isinstance(want, list):
        if not isinstance(got, list):
            raise Mismatch("%s: expected an array, got %r" % (where, got))
        if len(want) != len(got):
            raise Mismatch("%s: expected %d elements, got %d" % (where, len(want), len(got)))
        for i, (w, g) in enumerate(zip(want, got)):
            compare(w, g, "%s[%d]" % (where, i))
        return
    if not isinstance(got, tuple) or want[0] != got[0]:
        raise Mismatch("%s: expected %r, got %r" % (where, want, got))
    if want[0] == "float" and want[1] != "nan" and got[1] != "nan":
        if want[1] == got[1]:
            return
        if math.isfinite(want[1]) and math.isfinite(got[1]) and \
                abs(want[1] - got[1]) <= 1e-15 * max(abs(want[1]), abs(got[1])):
            return
        raise Mismatch("%s: expected float %r, got %r" % (where, want[1], got[1]))
    if want[1] != got[1]:
        raise Mismatch("%s: expected %s %r, got %r" % (where, want[0], want[1], got[1]))


def run(decoder, path):
    try:
        proc = subprocess.run([decoder, "toml-json", path], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None, b"", b"timed out after %d s" % TIMEOUT_S
    return proc.returncode, proc.stdout, proc.stderr


def check_valid(decoder, suite, case):
    toml_path = os.path.join(suite, case)
    json_path = toml_path[:-len(".toml")] + ".json"
    code, out, err = run(decoder, toml_path)
    if code != 0:
        return "exit %r, expected 0: %s" % (code, err.decode("utf-8", "replace").strip())
    try:
        got = json.loads(out.decode("utf-8"), object_pairs_hook=OrderedDict)
    except (ValueError, UnicodeDecodeError) as e:
        return "output is not JSON: %s" % e
    with open(json_path, "rb") as f:
        want = json.loads(f.read().decode("utf-8"), object_pairs_hook=OrderedDict)
    try:
        compare(normalise(want), normalise(got))
    except Mismatch as e:
        return str(e)
    return None


def check_invalid(decoder, suite, case):
    code, out, err = run(decoder, os.path.join(suite, case))
    if code == 1:
        if not err.strip():
            return "exit 1 but no message on stderr"
        return None
    if code == 0:
        return "accepted (exit 0), expected exit 1; output: %s" % out.decode("utf-8", "replace")[:200]
    return "exit %r, expected 1: %s" % (code, err.decode("utf-8", "replace").strip()[:200])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--decoder", required=True, help="the decoder command (e.g. build/bin/nnxr)")
    ap.add_argument("--suite", required=True, help="the toml-test directory")
    ap.add_argument("--list", default="files-toml-1.0.0", help="the list of cases in the suite")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every case")
    args = ap.parse_args()

    with open(os.path.join(args.suite, args.list), encoding="utf-8") as f:
        cases = [line.strip() for line in f if line.strip().endswith(".toml")]
    if not cases:
        print("no cases in %s" % args.list)
        print("0 passed, 1 failed")
        return 1

    groups = OrderedDict()
    passed = failed = 0
    for case in cases:
        kind = case.split("/", 1)[0]
        group = os.path.dirname(case)
        if kind == "valid":
            problem = check_valid(args.decoder, args.suite, case)
        elif kind == "invalid":
            problem = check_invalid(args.decoder, args.suite, case)
        else:
            problem = "neither valid/ nor invalid/"
        counts = groups.setdefault(group, [0, 0])
        if problem is None:
            passed += 1
            counts[0] += 1
            if args.verbose:
                print("ok    %s" % case)
        else:
            failed += 1
            counts[1] += 1
            print("FAIL  %s: %s" % (case, problem))

    for group, (ok, bad) in groups.items():
        print("%-28s %4d passed, %d failed" % (group, ok, bad))
    for kind in ("valid", "invalid"):
        ok = sum(c[0] for g, c in groups.items() if g.split("/", 1)[0] == kind)
        bad = sum(c[1] for g, c in groups.items() if g.split("/", 1)[0] == kind)
        print("%-28s %4d passed, %d failed" % ("all " + kind, ok, bad))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
