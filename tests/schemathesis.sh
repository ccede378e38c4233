#!/usr/bin/env bash
# Schema-driven tests: schemathesis (pinned, in its own venv under target/)
# generates requests from the running API's /openapi.json and checks every
# answer: no 5xx, documented statuses, content types and bodies. Seeded, so
# a failure reproduces; 50 examples per operation. Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
venv="$target/venvs/schemathesis"
if [ ! -x "$venv/bin/schemathesis" ] || ! cmp -s tests/python/schemathesis.txt "$venv/requirements.txt"; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/python/schemathesis.txt
  cp tests/python/schemathesis.txt "$venv/requirements.txt"
fi

cargo build --locked --quiet -p api
log=$(mktemp)
HOST=127.0.0.1 PORT=0 MODELS_DIR=models LOG_FORMAT=json RUST_LOG=info "$target/debug/api" >"$log" 2>&1 &
api=$!
trap 'kill $api 2>/dev/null || true; rm -f "$log"' EXIT
addr=""
for _ in $(seq 1 300); do
  addr=$(grep -o '"addr":"[^"]*"' "$log" | head -1 | cut -d'"' -f4 || true)
  [ -n "$addr" ] && break
  kill -0 "$api" 2>/dev/null || { cat "$log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$addr" ] || { echo "the API never logged its address" >&2; cat "$log" >&2; exit 1; }

"$venv/bin/schemathesis" run "http://$addr/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 50 --seed 20261201 --generation-database none --workers 1 --no-color
