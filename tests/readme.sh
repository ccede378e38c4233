#!/usr/bin/env bash
# The README's curl examples, run against the real API: each must answer
# what the README shows. Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/start-api.sh
python3 tests/readme.py "$API_ADDR"
