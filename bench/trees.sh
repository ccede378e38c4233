#!/usr/bin/env bash
# The tree-ensemble part of the benchmark on its own: onnxruntime (Python) and
# our operators and stock tract (criterion) on the same forests and rows.
#   bash bench/trees.sh target/bench/results/<stamp>   (bench/run.sh calls it)
set -euo pipefail
cd "$(dirname "$0")/.."
results=${1:?results folder}
out=target/bench
mkdir -p "$results"
if [ ! -x "$out/train-venv/bin/python" ]; then
  python3 -m venv "$out/train-venv"
  "$out/train-venv/bin/pip" install --quiet --disable-pip-version-check -r models/train/requirements.txt
fi
"$out/train-venv/bin/python" bench/trees.py "$out/trees"
cp "$out/trees/ort.json" "$results/ort.json"
# RUST_BACKTRACE=0: stock tract builds an error per tree leaf, three times
# slower with backtraces on; ours is unaffected. This is stock tract's best case.
RUST_BACKTRACE=0 TREE_BENCH_DIR="$PWD/$out/trees" cargo bench --locked -p onnx-ml --bench trees -- \
  --warm-up-time 1 --measurement-time 3 --noplot 2>&1 | tee "$results/trees.txt" | grep -E "/batch|thrpt:" || true
