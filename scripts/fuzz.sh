#!/usr/bin/env bash
# Fuzzes the money parser (csrc/money_math.c alone) with libFuzzer, ASan and
# UBSan for a bounded time, on a copy of fuzz/corpus (the checked-in seeds
# are never written to). Exits non-zero on any crash, sanitizer report or
# broken invariant; a crashing input is kept as build/fuzz-crash-*.
#   usage: FUZZ_SECONDS=60 scripts/fuzz.sh   (default 20 s)
#   needs: clang, libclang-rt-14-dev (libFuzzer), from the test set of
#   scripts/setup.sh --tests. Builds with clang alone, not CMake: nothing of a
#   checkout's former path is kept.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

seconds=${FUZZ_SECONDS:-20}
bin=build/money_parse_fuzz
mkdir -p build

if ! out=$(clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -Icsrc csrc/money_math.c fuzz/money_parse_fuzz.c -o "$bin" 2>&1); then
  echo "$out" >&2
  echo "fuzz: build failed" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
cp fuzz/corpus/* "$work/corpus/"

# libFuzzer writes its log to stderr; keep it, show it only on failure.
"$bin" -max_total_time="$seconds" -print_final_stats=1 -max_len=256 \
  -artifact_prefix="$PWD/build/fuzz-crash-" "$work/corpus" >"$work/log" 2>&1
status=$?

execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -n 1)
if [[ $status -ne 0 ]] || grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|money_parse_fuzz: ' "$work/log"; then
  tail -n 60 "$work/log" >&2
  echo "fuzz: money parser FAILED after ${execs:-?} executions (exit $status)" >&2
  exit 1
fi
echo "fuzz: money parser: ${execs:-?} executions in ${seconds} s, no crash, no sanitizer report"
