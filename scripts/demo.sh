#!/usr/bin/env bash
# The main job, end to end: starts the sandbox on a free port, runs
# examples/topup.lua against it (quote, buy under a cap, sign IPs, schedule
# and cancel a downgrade), prints what it did in dollars and cents, and
# stops the sandbox. Installs (as root) only what the library and the
# sandbox need at run time, not the test set (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

export LUA_PATH_5_4="$PWD/lua/?.lua;$PWD/lua/?/init.lua;;"
export LUA_CPATH_5_4="$PWD/build/lib/?.so;;"

log=$(mktemp)
requests=$(mktemp)
# the sandbox logs each request it serves to stderr: kept aside, shown at the end
lua5.4 bin/proxyshard-sandbox --port 0 >"$log" 2>"$requests" &
sandbox=$!
finish() {
  kill -TERM $sandbox 2>/dev/null && wait $sandbox 2>/dev/null
  echo
  echo "what the sandbox saw:"
  sed 's/^/  /' "$requests"
  rm -f "$log" "$requests"
}
trap finish EXIT

url=""
for _ in $(seq 100); do
  url=$(grep -o 'http://[0-9.:]*' "$log" || true)
  [[ -n "$url" ]] && break
  kill -0 $sandbox 2>/dev/null || { echo "the sandbox did not start" >&2; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "the sandbox did not print its URL" >&2; exit 1; }
echo "sandbox: $url"

PROXYSHARD_BASE_URL="$url" PROXYSHARD_TOKEN=sandbox-token lua5.4 examples/topup.lua
