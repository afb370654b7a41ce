#!/usr/bin/env python3
"""tests/bench/check_forces_json.py — smoke test of `nnxr bench forces --json` (through the
bench_forces driver): small sizes, one JSON object on stdout with the figures, units, device
and the C baselines measured in the same run (the 256-bit build too on a CPU device), all
positive and consistent; each size measured in rounds, the figures the medians of the rounds and
the ratios the medians of the rounds' ratios, with the CPUs each side kept busy in each round;
a CPU device's worker threads pinned one per CPU, the C reference's OpenMP threads bound."""
import json
import os
import subprocess
import sys


def lower_median(values):
    return sorted(values)[(len(values) - 1) // 2]


def main():
    exe = sys.argv[1]
    for bad in ("0", "16", "x"):
        out = subprocess.run([exe, "--rounds", bad], capture_output=True, text=True, timeout=60)
        assert out.returncode == 2 and "--rounds" in out.stderr, (bad, out.returncode, out.stderr)
    out = subprocess.run([exe, "--sizes", "1000,2048", "--seconds", "0.2", "--rounds", "3",
                          "--json"], capture_output=True, text=True, timeout=240)
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
    # A CPU device's worker threads are found at start and pinned one per CPU when there are
    # two or more and no more than the CPUs the process may use; the C reference's OpenMP
    # threads are bound likewise unless the environment says otherwise.
    dev = doc["device"]
    cpus = dev["worker_cpus"]
    assert len(cpus) == dev["cpu_workers"], dev
    if dev["is_cpu"]:
        allowed = os.sched_getaffinity(0)
        assert dev["cpu_workers"] >= 1, dev
        if 2 <= dev["cpu_workers"] <= len(allowed):
            assert dev["cpu_workers_pinned"], dev
            assert len(set(cpus)) == len(cpus) and set(cpus) <= allowed, dev
        else:
            assert not dev["cpu_workers_pinned"] and dev["cpu_workers_note"], dev
    else:
        assert dev["cpu_workers"] == 0 and not dev["cpu_workers_pinned"], dev
    assert doc["baseline"]["c_omp_proc_bind"] == os.environ.get("OMP_PROC_BIND", "true"), \
        doc["baseline"]
    assert doc["rounds"] == 3, doc["rounds"]
    res = doc["results"]
    assert [r["n"] for r in res] == [1000, 2048], res
    for r in res:
        assert r["steps"] >= 1 and r["seconds"] > 0, r
        assert r["points_per_invocation"] >= 1, r
        # pairs: a forces and a fold dispatch per j-range (the class sums ride in the first,
        # the integration in the last fold); others: class sums, means, a forces dispatch
        # per j-range and the integration.
        ranges = -(-r["n"] // r["chunk"])
        want_dispatches = 2 * ranges if shape == "pairs" else 3 + ranges
        assert r["dispatches_per_step"] == want_dispatches, r
        want = r["n"] ** 2 * r["steps"] / r["seconds"]
        assert abs(r["pairs_per_s"] - want) <= 1e-3 * want, (r, want)
        assert r["c_pairs_per_s"] > 0 and r["ratio_vs_c"] > 0, r
        rounds = r["rounds"]
        assert len(rounds) == 3 and all(q["pairs_per_s"] > 0 and q["c_pairs_per_s"] > 0
                                        for q in rounds), r
        # Medians: the shader's and C's figures are those of their median rounds (the steps
        # per round are equal), the ratio the median of the rounds' ratios.
        mine = sorted(q["pairs_per_s"] for q in rounds)
        assert abs(r["pairs_per_s"] - mine[1]) <= 1e-3 * mine[1], (r, mine)
        theirs = sorted(q["c_pairs_per_s"] for q in rounds)
        assert abs(r["c_pairs_per_s"] - theirs[1]) <= 1e-3 * theirs[1], (r, theirs)
        ratio = lower_median([q["pairs_per_s"] / q["c_pairs_per_s"] for q in rounds])
        assert abs(r["ratio_vs_c"] - ratio) <= 1e-3 * ratio, (r, ratio)
        # CPUs busy per round: CPU time over wall time, neither side above the CPUs it has
        # (timer granularity aside); the shader's median round is the one reported.
        cpus = len(os.sched_getaffinity(0))
        assert all(0 < q["cpus"] <= cpus * 1.05 + 0.05 for q in rounds), (cpus, rounds)
        assert all(0 < q["c_cpus"] <= min(cpus, r["c_threads"]) * 1.05 + 0.05
                   for q in rounds), (cpus, rounds)
        busy = r["cpu_seconds"] / r["seconds"]
        assert any(abs(q["cpus"] - busy) <= 1e-3 * busy for q in rounds), (busy, rounds)
        # The 256-bit build of the reference runs on CPU devices when it was built.
        if doc["device"]["is_cpu"] and doc["baseline"]["c_reference_256"]:
            assert r["c256_pairs_per_s"] > 0 and r["ratio_vs_c256"] > 0, r
            ratio = lower_median([q["pairs_per_s"] / q["c256_pairs_per_s"] for q in rounds])
            assert abs(r["ratio_vs_c256"] - ratio) <= 1e-3 * ratio, (r, ratio)
        else:
            assert r["c256_pairs_per_s"] is None and r["ratio_vs_c256"] is None, r
            assert all(q["c256_pairs_per_s"] is None for q in rounds), r
    # The real-GPU goal as the tile shape would meet it: rates and occupancy from n.
    m = doc["model"]
    want = m["goal_points"] ** 2 * m["goal_steps_per_s"]
    assert abs(m["goal_pairs_per_s"] - want) <= 1e-3 * want, m
    for key, per in (("goal_flops", "flop_per_pair"), ("goal_fp32_per_s", "tile_fp32_per_pair"),
                     ("goal_sfu_per_s", "tile_sfu_per_pair")):
        assert abs(m[key] - want * m[per]) <= 1e-3 * m[key], (key, m)
    assert m["tile_fp32_per_pair"] < m["flop_per_pair"] <= 2 * m["tile_fp32_per_pair"], m
    assert m["goal_workgroups"] * m["tile_workgroup"] >= m["goal_points"] > \
        (m["goal_workgroups"] - 1) * m["tile_workgroup"], m
    assert m["goal_subgroups_of_32"] == -(-m["goal_points"] // 32), m
    assert m["tile_shared_bytes"] == 16 * m["tile_workgroup"], m
    assert abs(m["tile_flop_per_byte"] - m["flop_per_pair"] * m["tile_workgroup"] / 16) <= 0.1, m
    assert doc["memory"]["n"] == 2048 and doc["memory"]["peak_rss"] > 0
    assert doc["memory"]["gpu_buffers"] >= 2048 * 16 * 4, doc["memory"]
    print("ok:", ", ".join("n=%d %.3g pairs/s (%.2fx C)" % (r["n"], r["pairs_per_s"],
                                                            r["ratio_vs_c"]) for r in res))


if __name__ == "__main__":
    main()
