#!/usr/bin/env bash
# Runs every test of the workspace, including the browser journeys, which
# need Debian's Chromium and ChromeDriver (installed when missing and this
# is a Debian/Ubuntu machine we may install on: root, as in CI), then the
# tests that drive the running API from outside: the curl examples of
# the README and docs/, schemathesis, and the stock Open Inference Protocol clients
# (each Python tool in its own pinned venv under target/).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "== installing chromium and chromium-driver (browser tests)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
  else
    echo "The browser tests need Chromium and ChromeDriver:" >&2
    echo "  sudo apt-get install -y chromium chromium-driver" >&2
    exit 1
  fi
fi

cargo test --workspace --locked
bash tests/readme.sh
bash tests/schemathesis.sh
bash tests/v2_clients.sh
