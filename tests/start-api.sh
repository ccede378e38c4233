# Sourced by the test scripts that drive the real API from outside: builds
# it (debug), starts it on a free port of 127.0.0.1 with the shipped models,
# and sets API_ADDR (host:port); the API stops when the script exits.
# Extra settings come in as environment variables of the caller.
target=${CARGO_TARGET_DIR:-target}
# The whole workspace, as `cargo test --workspace` builds it: one set of
# features, so nothing is compiled twice.
cargo build --locked --quiet --workspace --bins
api_log=$(mktemp)
HOST=127.0.0.1 PORT=0 MODELS_DIR=models LOG_FORMAT=json RUST_LOG=info "$target/debug/api" >"$api_log" 2>&1 &
api_pid=$!
trap 'kill $api_pid 2>/dev/null || true; rm -f "$api_log"' EXIT
API_ADDR=""
for _ in $(seq 1 300); do
  API_ADDR=$(grep -o '"addr":"[^"]*"' "$api_log" | head -1 | cut -d'"' -f4 || true)
  [ -n "$API_ADDR" ] && break
  kill -0 "$api_pid" 2>/dev/null || { cat "$api_log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$API_ADDR" ] || { echo "the API never logged its address" >&2; cat "$api_log" >&2; exit 1; }
export API_ADDR

# Builds (once per pinned requirements file) the venv $1 from $2.
pinned_venv() {
  local venv=$1 requirements=$2
  if [ ! -x "$venv/bin/python" ] || ! cmp -s "$requirements" "$venv/requirements.txt"; then
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements"
    cp "$requirements" "$venv/requirements.txt"
  fi
}
