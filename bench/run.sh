#!/usr/bin/env bash
# The benchmark: our API against the FastAPI peer (same iris ONNX file,
# interleaved A B A B on 127.0.0.1 with wrk), the HTTP floor (a bare axum
# app beside ours, and the ladder of our layers between them), the UI's
# floor (a bare axum + askama page beside our result page), the hot path and in-process
# ceiling (criterion), the UI under load, what drift monitoring costs, and
# our tree ensembles against stock tract and onnxruntime. Prints a table;
# keeps everything under
# target/bench/results/<timestamp>/.
#
#   bash bench/run.sh            # about 15 minutes on 2 cores
#   REPEATS=1 DURATION=5 bash bench/run.sh   # a quicker, noisier run
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=target/bench
stamp=$(date -u +%Y%m%d-%H%M%S)
results=$out/results/$stamp
mkdir -p "$results"
repeats=${REPEATS:-2}
duration=${DURATION:-10}
# The Python FastAPI + Streamlit peer we compare with lives beside the
# repository, not in it: a fresh clone has none, and that part is skipped.
peer_dir=${PEER_DIR:-../shared/peers/fastapi_streamlit}

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq wrk >/dev/null; else echo "install wrk" >&2; exit 1; fi
fi

echo "== building (release)"
cargo build --release --locked -p api -p ui
cargo build --release --locked -p api --example floor -p ui --example floor-ui

if [ -f "$peer_dir/bench.py" ]; then
  echo "== the Python peer, copied somewhere writable"
  rm -rf "$out/peer"
  cp -r "$peer_dir" "$out/peer"
  chmod -R u+w "$out/peer"
  if [ ! -x "$out/peer-venv/bin/uvicorn" ]; then
    python3 -m venv "$out/peer-venv"
    "$out/peer-venv/bin/pip" install --quiet --disable-pip-version-check -r "$out/peer/requirements.txt"
  fi
  python3 bench/peer_meta.py models/iris > "$out/iris-meta.json"

  echo "== API: ours and the peer, interleaved ($repeats repeats, ${duration}s per wrk run)"
  MODEL_PATH="$root/models/iris/model.onnx" MODEL_META="$root/$out/iris-meta.json" \
  PEER_VENV_BIN="$root/$out/peer-venv/bin" BASE_URL=http://127.0.0.1:18000 \
    python3 "$out/peer/bench.py" --servers uvicorn1,gunicorn2 --with-peer \
      --cmd "$root/target/release/api --host 127.0.0.1 --port 18000 --models-dir $root/models" \
      --name rust-api --repeats "$repeats" --duration "$duration" --out "$root/$results/api"
else
  echo "== skipping ours against the Python peer: no $peer_dir/bench.py (it lives beside the repository, not in it; set PEER_DIR to point at it)"
fi

echo "== the HTTP floor: ours against a bare axum app, interleaved"
(cd bench && python3 floor.py "$root/target/release" "$root/models" "$duration" "$repeats") > "$results/floor.json"

echo "== the UI's floor: our result page against a bare axum + askama page, interleaved"
(cd bench && python3 ui_floor.py "$root/target/release" "$root/models" "$duration" "$repeats") > "$results/ui_floor.json"

echo "== hot path and in-process ceiling (criterion)"
cargo bench --locked -p api --bench hot_path -- --warm-up-time 1 --measurement-time 3 --noplot \
  2>&1 | tee "$results/hot_path.txt" | grep -E "^iris|time:|thrpt:" || true

echo "== UI under load"
python3 bench/ui_load.py "$root/target/release" "$root/models" "$duration" > "$results/ui.json"

echo "== wire formats: JSON, V2 JSON and binary, CSV; and the KServe Python server"
pinned_kserve="$out/kserve-venv"
if [ ! -x "$pinned_kserve/bin/python" ] || ! cmp -s bench/kserve.txt "$pinned_kserve/requirements.txt"; then
  rm -rf "$pinned_kserve"
  python3 -m venv "$pinned_kserve"
  "$pinned_kserve/bin/pip" install --quiet --disable-pip-version-check -r bench/kserve.txt
  cp bench/kserve.txt "$pinned_kserve/requirements.txt"
fi
python3 bench/formats.py "$root/target/release" "$root/models" "$duration" "$pinned_kserve/bin/python" > "$results/formats.json"

echo "== drift monitoring: on against off"
python3 bench/monitoring.py "$root/target/release" "$root/models" "$duration" "$repeats" > "$results/monitoring.json"

echo "== tree ensembles: ours, stock tract, onnxruntime"
bash bench/trees.sh "$results"

python3 bench/report.py "$results" | tee "$results/report.md"
