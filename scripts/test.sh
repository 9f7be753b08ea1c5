#!/usr/bin/env bash
# The whole test suite: installs/builds what it needs (scripts/setup.sh),
# then runs every busted spec on Lua 5.4, the money specs again on LuaJIT
# (the C module built into build-luajit/) and the money parser fuzzer
# (scripts/fuzz.sh, FUZZ_SECONDS, default 20). Ends with one line
# "N passed, N failed" over all of them (the fuzz run counts as one test).
#   usage: scripts/test.sh [busted args...]   e.g. scripts/test.sh spec/money_spec.lua
#   With arguments, only the Lua 5.4 busted run is done, with those arguments.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
scripts/setup.sh || exit 1

tap=$(mktemp)
jit_tap=$(mktemp)
trap 'rm -f "$tap" "$jit_tap"' EXIT

count_tap() { # file -> "passed failed"
  echo "$(grep '^ok ' "$1" | grep -vc '# SKIP') $(grep -c '^not ok ' "$1")"
}

# lua5.4 explicitly: /usr/bin/busted's shebang would pick Lua 5.1
lua5.4 /usr/bin/busted -o TAP "$@" | tee "$tap"
status=${PIPESTATUS[0]}
read -r passed failed < <(count_tap "$tap")
if [[ $status -eq 0 && $passed -eq 0 ]]; then
  echo "no test ran" >&2
  status=1
fi

if [[ $# -eq 0 ]]; then
  # --- the money specs on LuaJIT, the C module built against luajit2 ---
  jit_ok=1
  if ! cmake -S . -B build-luajit -DLUA_PKG=luajit \
      -DCMAKE_BUILD_TYPE="${PROXYSHARD_BUILD_TYPE:-RelWithDebInfo}" >/dev/null; then
    echo "LuaJIT build: cmake configure failed" >&2
    jit_ok=0
  elif ! build_log=$(cmake --build build-luajit 2>&1); then
    echo "$build_log" >&2
    echo "LuaJIT build failed" >&2
    jit_ok=0
  fi
  if [[ $jit_ok -eq 1 ]]; then
    echo "# LuaJIT: spec/money_spec.lua spec/core_cents_spec.lua"
    # lpath still comes from .busted; only the cpath points at the LuaJIT build
    luajit /usr/bin/busted --cpath='build-luajit/lib/?.so' -o TAP \
      spec/money_spec.lua spec/core_cents_spec.lua | tee "$jit_tap"
    jit_status=${PIPESTATUS[0]}
    read -r jit_passed jit_failed < <(count_tap "$jit_tap")
    passed=$((passed + jit_passed))
    failed=$((failed + jit_failed))
    if [[ $jit_status -ne 0 || $jit_passed -eq 0 ]]; then
      if [[ $jit_failed -eq 0 ]]; then # busted itself broke: count it
        echo "LuaJIT busted run failed (exit $jit_status, $jit_passed passed)" >&2
        failed=$((failed + 1))
      fi
      [[ $status -ne 0 ]] || status=1
    fi
  else
    failed=$((failed + 1))
    [[ $status -ne 0 ]] || status=1
  fi

  # --- the parser fuzzer: one test ---
  if scripts/fuzz.sh; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    [[ $status -ne 0 ]] || status=1
  fi
fi

echo "$passed passed, $failed failed"
exit "$status"
