#!/usr/bin/env python3
"""tests/bench/check_forces_json.py — smoke test of `nnxr bench forces --json` (through the
bench_forces driver): small sizes, one JSON object on stdout with the figures, units, device
and the C baselines measured in the same run (the 256-bit build too on a CPU device), all
positive and consistent."""
import json
import subprocess
import sys


def main():
    exe = sys.argv[1]
    out = subprocess.run([exe, "--sizes", "1000,2048", "--seconds", "0.2", "--json"],
                         capture_output=True, text=True, timeout=240)
    if out.returncode != 0:
        sys.exit("bench failed (%d): %s" % (out.returncode, out.stderr))
    doc = json.loads(out.stdout)  # exactly one JSON document on stdout
    assert doc["bench"] == "forces", doc
    assert "pairs_per_s" in doc["units"], doc["units"]
    shape = doc["device"]["shape"]
    assert doc["device"]["name"] and shape in ("tiles", "block", "pairs"), doc["device"]
    # A CPU device with subgroup arithmetic (lavapipe) takes the pairs shape by default.
    if doc["device"]["is_cpu"]:
        assert shape in ("block", "pairs"), doc["device"]
    assert doc["baseline"]["c_reference"], doc["baseline"]
    res = doc["results"]
    assert [r["n"] for r in res] == [1000, 2048], res
    for r in res:
        assert r["steps"] >= 1 and r["seconds"] > 0, r
        assert r["points_per_invocation"] >= 1, r
        # pairs: one forces and one fold dispatch per j-range, plus class sums, means and
        # the integration.
        per_range = 2 if shape == "pairs" else 1
        ranges = -(-r["n"] // r["chunk"])
        assert r["dispatches_per_step"] == 3 + per_range * ranges, r
        want = r["n"] ** 2 * r["steps"] / r["seconds"]
        assert abs(r["pairs_per_s"] - want) <= 1e-3 * want, (r, want)
        assert r["c_pairs_per_s"] > 0 and r["ratio_vs_c"] > 0, r
        assert abs(r["ratio_vs_c"] - r["pairs_per_s"] / r["c_pairs_per_s"]) <= 1e-3 * r["ratio_vs_c"]
        # The 256-bit build of the reference runs on CPU devices when it was built.
        if doc["device"]["is_cpu"] and doc["baseline"]["c_reference_256"]:
            assert r["c256_pairs_per_s"] > 0 and r["ratio_vs_c256"] > 0, r
        else:
            assert r["c256_pairs_per_s"] is None and r["ratio_vs_c256"] is None, r
    assert doc["memory"]["n"] == 2048 and doc["memory"]["peak_rss"] > 0
    assert doc["memory"]["gpu_buffers"] >= 2048 * 16 * 4, doc["memory"]
    print("ok:", ", ".join("n=%d %.3g pairs/s (%.2fx C)" % (r["n"], r["pairs_per_s"],
                                                            r["ratio_vs_c"]) for r in res))


if __name__ == "__main__":
    main()
