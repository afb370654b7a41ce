#!/usr/bin/env python3
"""tests/bench/check_train_json.py — smoke test of `nnxr bench train --json`: two models for a
fraction of a second each, PyTorch replaced by tests/bench/fake_torch_python.sh. One JSON object
on stdout with figures, units, device and the baseline; the baseline is asked for model by
model, each right after that model's own measurement; the ratios are ours over the baseline's;
tiny takes the fused step."""
import json
import os
import subprocess
import sys
import tempfile


def main():
    nnxr, fake = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        log = os.path.join(tmp, "calls")
        env = dict(os.environ, FAKE_TORCH_LOG=log)
        out = subprocess.run([nnxr, "bench", "train", "--models", "tiny,mlp", "--seconds", "0.3",
                              "--no-eval", "--profile", "--python", fake, "--torch-script", fake, "--json"],
                             capture_output=True, text=True, timeout=600, env=env)
        if out.returncode != 0:
            sys.exit("bench failed (%d): %s" % (out.returncode, out.stderr))
        calls = open(log).read().split()
    doc = json.loads(out.stdout)  # exactly one JSON document on stdout
    assert doc["benchmark"] == "train", doc
    assert doc["device"] and doc["device_type"] in ("cpu", "gpu"), doc
    assert "samples_per_s" in doc["units"], doc["units"]
    assert doc["torch"] is True, doc
    assert doc["windows_per_model"] == 3 and doc["seconds_per_window"] == 0.3, doc
    # One call per model, in the order measured (mlp comes first in the bench's order).
    assert calls == ["mlp", "tiny"], calls
    models = doc["models"]
    assert sorted(models) == ["mlp", "tiny"], models
    fake_sps = {"mlp": 1000.0, "tiny": 2000.0}
    for name, r in models.items():
        assert r["samples_per_s"] > 0 and r["steps_per_s"] > 0, r
        assert abs(r["samples_per_s"] - r["steps_per_s"] * r["batch"]) <= 1e-3 * r["samples_per_s"]
        assert r["torch_samples_per_s"] == fake_sps[name], r
        assert r["torch_setting"] == "fake (test)", r
        want = r["samples_per_s"] / fake_sps[name]
        assert abs(r["ratio_vs_torch"] - want) <= 1e-4 * want, (r, want)  # 6 digits printed
    assert models["tiny"]["batch"] == 32 and models["mlp"]["batch"] == 64
    assert models["tiny"]["fused"] is True, models["tiny"]
    assert models["mlp"]["fused"] is False, models["mlp"]
    # The profile: the calls of one step, each timed; the mlp's are its layers' calls in
    # recording order (a gather first, the optimizer last), tiny's the one fused kernel.
    for name, r in models.items():
        assert r["profile_runs"] == 5, r
        rows = r["profile"]
        assert rows and all(x["ms"] > 0 and x["dispatches"] >= 1 for x in rows), rows
        assert sum(x["ms"] for x in rows) < 1000, rows
    calls = [x["call"] for x in models["mlp"]["profile"]]
    assert calls[0] == "nnxr_nn_gather" and calls[-1] == "nnxr_nn_optimize", calls
    for c in ("nnxr_nn_dense_forward", "nnxr_nn_softmax_ce", "nnxr_nn_dense_backward (dw)"):
        assert c in calls, calls
    dense = [x for x in models["mlp"]["profile"] if x["call"] == "nnxr_nn_dense_forward"]
    assert dense[0]["dispatches"] == 3, dense  # 784-128-128-10: three layers
    assert [x["call"] for x in models["tiny"]["profile"]] == ["nnxr_nn_fused_mlp_steps"]
    print("ok:", ", ".join("%s %.0f samples/s (%.2fx the fake baseline)" % (
        n, r["samples_per_s"], r["ratio_vs_torch"]) for n, r in sorted(models.items())))


if __name__ == "__main__":
    main()
