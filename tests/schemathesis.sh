#!/usr/bin/env bash
# The OpenAPI document checked by openapi-spec-validator, then schema-driven
# tests: schemathesis (pinned, each tool in its own venv under target/)
# generates requests from the running API's /openapi.json and checks every
# answer: no 5xx, documented statuses, content types and bodies. Seeded, so
# a failure reproduces; 50 examples per operation. Unloading a model is left
# out: it takes the default model away on purpose, after which readiness is
# rightly a 503 (the reload tests cover it). Called by tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
source tests/start-api.sh
validator="$target/venvs/openapi"
pinned_venv "$validator" tests/python/openapi.txt
spec=$(mktemp --suffix=.json)
python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1]).read().decode())' \
  "http://$API_ADDR/openapi.json" >"$spec"
"$validator/bin/openapi-spec-validator" "$spec"
rm -f "$spec"

venv="$target/venvs/schemathesis"
pinned_venv "$venv" tests/python/schemathesis.txt

"$venv/bin/schemathesis" run "http://$API_ADDR/openapi.json" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --exclude-path-regex '^/v2/repository/models/.*/unload$' \
  --max-examples 50 --seed 20261201 --generation-database none --workers 1 --no-color
