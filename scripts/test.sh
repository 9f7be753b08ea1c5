#!/usr/bin/env bash
# The whole test suite: installs/builds what it needs (scripts/setup.sh),
# then runs every busted spec on Lua 5.4 and ends with "N passed, N failed".
#   usage: scripts/test.sh [busted args...]   e.g. scripts/test.sh spec/money_spec.lua
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh || exit 1

tap=$(mktemp)
trap 'rm -f "$tap"' EXIT
# lua5.4 explicitly: /usr/bin/busted's shebang would pick Lua 5.1
lua5.4 /usr/bin/busted -o TAP "$@" | tee "$tap"
status=${PIPESTATUS[0]}
passed=$(grep '^ok ' "$tap" | grep -vc '# SKIP')
failed=$(grep -c '^not ok ' "$tap")
echo "$passed passed, $failed failed"
if [[ $status -eq 0 && $passed -eq 0 ]]; then
  echo "no test ran" >&2
  exit 1
fi
exit "$status"
