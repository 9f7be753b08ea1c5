#!/usr/bin/env bash
# The whole test suite. Installs what it needs, the run-time packages and the
# test set on top, and builds the C module (scripts/setup.sh --tests), then
# runs these phases, each a TAP producer whose "ok"/"not ok" lines are
# added up:
#   lua5.4          every busted spec on Lua 5.4 (the soak spec included)
#   LuaJIT, Lua 5.1, Lua 5.2, Lua 5.3
#                   the library's specs again (LIBRARY_SPECS below) on each of
#                   the other Lua versions the rock supports, with the C module
#                   built against that Lua's headers (scripts/build-lua.sh:
#                   build-luajit/, build-lua5.1/...); busted is Debian's, which
#                   installs itself for every Lua version
#   Prism           scripts/prism.sh: the 34 calls by the library and the
#                   command against Stoplight Prism (npm, pinned by
#                   package.json) mocking the API document, static and with
#                   generated answers, and as a validating proxy in front of
#                   the sandbox (docs/openapi-checks.md)
#   fuzz            the money parser's and the answer decoder's fuzzers
#                   (scripts/fuzz.sh, FUZZ_SECONDS each, default 20); one test
#   LDoc reference  scripts/docs.sh builds the reference without a warning;
#                   one test
#   bench           scripts/bench.sh --short still runs and ends with its
#                   summary line; one test (not a measurement)
#   valgrind        the specs that drive the C module (MEMORY_SPECS below)
#                   under valgrind memcheck: zero errors, zero definite leaks
#   ASan+UBSan      the same specs against the C module built with
#                   -DENABLE_ASAN=ON into build-asan/; any report fails
# It ends with one line "N passed, N failed" over all phases and exits
# non-zero when any phase failed. A phase that fails with no failing test of
# its own (a build that breaks, valgrind errors or an ASan report while every
# test passed, a run with no test at all) counts as one more failed test,
# named after the phase.
#   usage: scripts/test.sh [busted args...]   e.g. scripts/test.sh spec/money_spec.lua
#   With arguments, only the Lua 5.4 busted run is done, with those arguments.
#   PROXYSHARD_QUICK=1 scripts/test.sh   skips the slow phases (valgrind,
#   ASan+UBSan) for local use; CI sets nothing and runs them all.
# shellcheck disable=SC2317 # the phase functions run only through phase()
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

source scripts/lib/build.sh

quick=${PROXYSHARD_QUICK:-0}
[[ $quick == 0 ]] && quick=
if ! scripts/setup.sh --tests; then
  echo "not ok - scripts/setup.sh --tests: the packages or the build of the C module"
  echo "0 passed, 1 failed"
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The specs that drive proxyshard.core for real (libcurl sessions, money),
# for the valgrind and ASan+UBSan phases. Not the sandbox's own
# specs (they test Lua code) nor lint, packaging, demo or nginx (they mostly
# run other programs).
MEMORY_SPECS=(
  spec/core_session_spec.lua spec/money_spec.lua spec/proxy_spec.lua
  spec/integration_spec.lua spec/fault_matrix_spec.lua spec/tls_spec.lua
  spec/hostile_spec.lua spec/client_spec.lua spec/retry_spec.lua
  spec/reconcile_spec.lua spec/validate_spec.lua spec/secrets_and_typos_spec.lua
  spec/operations_client_spec.lua spec/map_spec.lua spec/top_up_spec.lua
  spec/api_calls_spec.lua spec/soak_spec.lua spec/core_state_spec.lua spec/answer_decode_spec.lua
)

# The specs of the library itself, for the phases of the other Lua versions
# (LuaJIT: the same code runs inside nginx). Not the sandbox's own specs
# (it runs on Lua 5.4 only, on lua-http), nor the command's, nginx's or the
# ones that run other programs. The sandbox that many of them start is a
# separate lua5.4 process (spec/support/sandbox_process.lua), whatever Lua
# runs the specs.
LIBRARY_SPECS=(
  spec/validate_spec.lua spec/json_spec.lua spec/money_spec.lua spec/proxy_spec.lua
  spec/core_session_spec.lua spec/client_spec.lua spec/retry_spec.lua spec/reconcile_spec.lua
  spec/nginx_transport_spec.lua spec/integration_spec.lua spec/fault_matrix_spec.lua
  spec/hostile_spec.lua spec/tls_spec.lua spec/secrets_and_typos_spec.lua
  spec/operations_client_spec.lua spec/map_spec.lua spec/top_up_spec.lua spec/api_calls_spec.lua
  spec/spend_spec.lua spec/writes_spec.lua spec/core_state_spec.lua spec/document_bounds_spec.lua
  spec/request_plan_spec.lua spec/jit_trace_spec.lua
  spec/options_first_spec.lua spec/answers_spec.lua spec/proxy_export_spec.lua spec/time_spec.lua
  spec/desired_file_spec.lua spec/desired_state_spec.lua spec/answer_decode_spec.lua
)

passed=0
failed=0
status=0
recap=()

now() { date +%s.%N; }

# phase NAME COMMAND...: run COMMAND, a TAP producer, showing its output, and
# add its results to the totals.
phase() {
  local name=$1 tap="$work/phase.tap" start rc p f secs
  shift
  echo "# phase: $name"
  start=$(now)
  "$@" | tee "$tap"
  rc=${PIPESTATUS[0]}
  p=$(grep '^ok ' "$tap" | grep -vc '# SKIP')
  f=$(grep -c '^not ok ' "$tap")
  if [[ $f -eq 0 && ($rc -ne 0 || $p -eq 0) ]]; then
    # broke with no failing test to show for it: that is one failed test
    echo "not ok - $name: exit status $rc with $p passed, 0 failed"
    f=1
  fi
  secs=$(awk -v a="$start" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }')
  echo "# phase: $name: $p passed, $f failed, $secs s"
  recap+=("# phase: $name: $p passed, $f failed, $secs s")
  passed=$((passed + p))
  failed=$((failed + f))
  if [[ $rc -ne 0 || $f -ne 0 ]]; then status=1; fi
}

skip_phase() {
  echo "# phase: $1: skipped ($2)"
  recap+=("# phase: $1: skipped ($2)")
}

# cmake_build DIR ARGS...: configure and build the C module into DIR
# (build_module, scripts/lib/build.sh), quiet unless it fails; then it prints
# "not ok" with the compiler's output as TAP comments, for the phase to count.
cmake_build() {
  local dir=$1 log
  if ! log=$(build_module "$@"); then
    echo "not ok - build of the C module into $dir"
    # shellcheck disable=SC2001
    sed 's/^/# /' <<<"$log"
    return 1
  fi
}

# lua5.4 explicitly: /usr/bin/busted's shebang would pick Lua 5.1
lua54_specs() {
  lua5.4 /usr/bin/busted -o TAP "$@"
}

# library_specs VERSION (luajit, 5.1, 5.2, 5.3): LIBRARY_SPECS on that Lua,
# against the C module built for it
library_specs() {
  local version=$1 log
  if ! log=$(scripts/build-lua.sh "$version" 2>&1 >/dev/null); then
    echo "not ok - build of the C module for Lua $version (scripts/build-lua.sh $version)"
    # shellcheck disable=SC2001
    sed 's/^/# /' <<<"$log"
    return 1
  fi
  # lpath still comes from .busted; only the cpath points at this Lua's build
  "$(lua_interpreter "$version")" /usr/bin/busted --cpath="$(lua_build_dir "$version")/lib/?.so" \
    -o TAP "${LIBRARY_SPECS[@]}"
}

# A command that is one test: ok when it exits 0.
fuzz_test() {
  if scripts/fuzz.sh; then
    echo "ok 1 - fuzzers: the money parser and the answer decoder"
  else
    echo "not ok 1 - fuzzers: the money parser and the answer decoder"
    return 1
  fi
}

# The benchmark suite in its short mode (tiny N, one round): not a
# measurement here, only the proof that it still runs. One test: ok when it
# exits 0 and its last line is its summary ("bench: ..."). Its output is
# shown as TAP comments.
bench_test() {
  local out rc
  out=$(scripts/bench.sh --short 2>&1)
  rc=$?
  # shellcheck disable=SC2001
  sed 's/^/# /' <<<"$out"
  if [[ $rc -eq 0 && $(tail -n 1 <<<"$out") == "bench: "* ]]; then
    echo "ok 1 - bench runs"
  else
    echo "not ok 1 - bench runs (scripts/bench.sh --short: exit status $rc, or no summary line last)"
    return 1
  fi
}

# The reference (scripts/docs.sh: LDoc over the doc comments, into the
# ignored docs/reference/). One test: ok when it builds without an LDoc
# warning; the warnings are shown as TAP comments.
docs_test() {
  local out
  if out=$(scripts/docs.sh 2>&1); then
    echo "ok 1 - the LDoc reference builds without warnings"
  else
    echo "not ok 1 - the LDoc reference (scripts/docs.sh) has warnings or does not build"
    # shellcheck disable=SC2001
    sed 's/^/# /' <<<"$out"
    return 1
  fi
}

# valgrind memcheck over MEMORY_SPECS, with fewer iterations/requests where a
# spec allows it (memcheck runs Lua some 20 times slower). Only busted is
# under valgrind, not the processes it starts (the sandbox, test servers).
# Exit 9 = valgrind found errors or definite leaks: its report is shown and
# counted as a failed test.
memcheck_specs() {
  local log="$work/valgrind.log" rc
  MONEY_SPEC_ITERATIONS=300 SOAK_REQUESTS=2000 \
    valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
    --keep-debuginfo=yes --num-callers=20 --quiet --log-file="$log" \
    lua5.4 /usr/bin/busted -o TAP "${MEMORY_SPECS[@]}"
  rc=$?
  if [[ $rc -eq 9 ]]; then
    echo "not ok - valgrind memcheck: errors or definite leaks in the run above"
  fi
  if [[ -s $log ]]; then
    echo "# valgrind's report:"
    sed 's/^/# /' "$log"
  fi
  return "$rc"
}

# ASan+UBSan over MEMORY_SPECS. lua5.4 itself is not instrumented, so the
# ASan runtime must be preloaded (it has to come first); libubsan needs no
# preload, it comes in as a dependency of core.so. -fno-sanitize-recover
# makes any UBSan finding fatal; halt_on_error does the same for ASan, and
# LeakSanitizer checks at exit (clean for lua5.4 + busted: nothing is
# suppressed). spec/support/keep_c_modules.lua keeps the C modules loaded
# to the end, so that LSan's stacks name their functions. The preload is
# given to busted only, through `env`; the processes it starts (sandbox,
# test servers, openssl, sh) inherit it and run fine with it: they are
# uninstrumented, so only malloc is intercepted, and LSan finds nothing in
# them at exit. Their stderr, like busted's, is shown after the run.
asan_specs() {
  local log="$work/asan.log" rc
  cmake_build build-asan -DENABLE_ASAN=ON -DCMAKE_C_FLAGS=-fno-sanitize-recover=undefined || return 1
  env LD_PRELOAD="$(gcc -print-file-name=libasan.so)" \
    ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    SOAK_REQUESTS=2000 \
    lua5.4 /usr/bin/busted --cpath='build-asan/lib/?.so' --helper=spec/support/keep_c_modules.lua \
    -o TAP "${MEMORY_SPECS[@]}" 2>"$log"
  rc=$?
  if [[ $rc -ne 0 ]] && grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$log"; then
    echo "not ok - ASan+UBSan: a sanitizer report in the run above"
  fi
  if [[ -s $log ]]; then
    echo "# stderr of the ASan+UBSan run:"
    sed 's/^/# /' "$log"
  fi
  return "$rc"
}

phase "lua5.4 busted" lua54_specs "$@"
if [[ $# -eq 0 ]]; then
  phase "LuaJIT" library_specs luajit
  phase "Lua 5.1" library_specs 5.1
  phase "Lua 5.2" library_specs 5.2
  phase "Lua 5.3" library_specs 5.3
  # Stoplight Prism from npm (package.json): the 34 calls against the
  # document, mocked and as a validating proxy (docs/openapi-checks.md)
  phase "Prism" bash scripts/prism.sh
  phase "fuzz" fuzz_test
  phase "LDoc reference" docs_test
  phase "bench" bench_test
  if [[ -z $quick ]]; then
    phase "valgrind memcheck" memcheck_specs
    phase "ASan+UBSan" asan_specs
  else
    skip_phase "valgrind memcheck" "PROXYSHARD_QUICK"
    skip_phase "ASan+UBSan" "PROXYSHARD_QUICK"
  fi
fi

# the phases again, together, when there was more than one
((${#recap[@]} > 1)) && printf '%s\n' "${recap[@]}"
echo "$passed passed, $failed failed"
exit "$status"
