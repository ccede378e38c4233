#!/usr/bin/env bash
# The Open Inference Protocol journey with the stock Python clients
# (tritonclient[http] and the kserve SDK, pinned, in a venv under target/)
# against the real API. Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/start-api.sh
venv="$target/venvs/clients"
pinned_venv "$venv" tests/python/clients.txt
"$venv/bin/python" tests/v2_clients.py "$API_ADDR"
