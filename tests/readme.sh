#!/usr/bin/env bash
# The curl examples of README.md and of every docs/*.md page, run against
# the real API: each must answer what its page shows. Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/start-api.sh
python3 tests/readme.py "$API_ADDR"
