#!/usr/bin/env bash
# The curl examples of README.md and of every docs/*.md page, run against
# the real API: each must answer what its page shows. Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
# Model control on, behind an admin key the examples send as $ADMIN_KEY
# (operator endpoints need it, as on a deployed API).
export MODEL_CONTROL=true ADMIN_KEY=readme-admin-key
source tests/start-api.sh
python3 tests/readme.py "$API_ADDR"
