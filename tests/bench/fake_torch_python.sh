#!/bin/sh
# tests/bench/fake_torch_python.sh — stands in for python3 with torch in check_train_json.py:
# answers `-c 'import torch'`, and for `SCRIPT --tsv --models M --seconds S` prints the TSV line
# torch_baseline.py would (samples/s = 1000 x the model's position + 1000, steps/s = that /
# 100) and appends "M" to $FAKE_TORCH_LOG, so the test sees each call.
if [ "$1" = "-c" ]; then
    exit 0
fi
models=""
while [ $# -gt 0 ]; do
    if [ "$1" = "--models" ]; then
        models="$2"
        shift
    fi
    shift
done
echo "$models" >> "$FAKE_TORCH_LOG"
for m in $(echo "$models" | tr ',' ' '); do
    case "$m" in
        mlp) s=1000 ;;
        tiny) s=2000 ;;
        vae) s=3000 ;;
        cnn) s=4000 ;;
        *) s=0 ;;
    esac
    printf '%s\t%s.0\t%s\tfake (test)\n' "$m" "$s" "$((s / 100))"
done
