#!/usr/bin/env bash
# Schema-driven tests: schemathesis (pinned, in its own venv under target/)
# generates requests from the running API's /openapi.json and checks every
# answer: no 5xx, documented statuses, content types and bodies. Seeded, so
# a failure reproduces; 50 examples per operation. Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/start-api.sh
venv="$target/venvs/schemathesis"
pinned_venv "$venv" tests/python/schemathesis.txt

"$venv/bin/schemathesis" run "http://$API_ADDR/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples 50 --seed 20261201 --generation-database none --workers 1 --no-color
