#!/usr/bin/env bash
# Fuzzes with libFuzzer, ASan and UBSan, each target for a bounded time, on
# a copy of its seeds (the checked-in seeds are never written to):
#   the money parser      csrc/money_math.c alone, seeds fuzz/corpus
#   the answer decoder    csrc/answer.c (core.decode) with Lua 5.4's
#                         library, seeds fuzz/corpus_answer
# Exits non-zero on any crash, sanitizer report or broken invariant; a
# crashing input is kept as build/fuzz-crash-* (money) or
# build/fuzz-answer-crash-* (answers).
#   usage: FUZZ_SECONDS=60 scripts/fuzz.sh   (default 20 s per target)
#   needs: clang, libclang-rt-14-dev (libFuzzer), liblua5.4-dev, from the
#   test set of scripts/setup.sh --tests. Builds with clang alone, not CMake:
#   nothing of a checkout's former path is kept.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

seconds=${FUZZ_SECONDS:-20}
mkdir -p build

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# fuzz NAME BIN SEEDS MAX_LEN CRASH_PREFIX: runs a built target for
# $seconds on a copy of SEEDS; its log is shown only on failure.
fuzz() {
  local name=$1 bin=$2 seeds=$3 max_len=$4 prefix=$5 status execs target corpus log
  target=$(basename "$bin")
  corpus="$work/corpus-$target"
  log="$work/log-$target"
  mkdir "$corpus"
  cp "$seeds"/* "$corpus/"
  # libFuzzer writes its log to stderr; keep it, show it only on failure.
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -max_len="$max_len" \
    -artifact_prefix="$PWD/build/$prefix" "$corpus" >"$log" 2>&1
  status=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  if [[ $status -ne 0 ]] || grep -qE "ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|$target: " "$log"; then
    tail -n 60 "$log" >&2
    echo "fuzz: $name FAILED after ${execs:-?} executions (exit $status)" >&2
    return 1
  fi
  echo "fuzz: $name: ${execs:-?} executions in ${seconds} s, no crash, no sanitizer report"
}

# build BIN SOURCES/FLAGS...: clang with libFuzzer, ASan and UBSan
build() {
  local bin=$1 out
  shift
  if ! out=$(clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
      -Icsrc "$@" -o "$bin" 2>&1); then
    echo "$out" >&2
    echo "fuzz: build of $bin failed" >&2
    return 1
  fi
}

status=0
if build build/money_parse_fuzz csrc/money_math.c fuzz/money_parse_fuzz.c; then
  fuzz "money parser" build/money_parse_fuzz fuzz/corpus 256 fuzz-crash- || status=1
else
  status=1
fi
if lua_cflags=$(pkg-config --cflags lua5.4) && lua_libs=$(pkg-config --libs lua5.4); then
  read -ra lua_cflags <<<"$lua_cflags"
  read -ra lua_libs <<<"$lua_libs"
else
  lua_cflags=() lua_libs=()
fi
if [[ ${#lua_libs[@]} -gt 0 ]] \
  && build build/answer_decode_fuzz "${lua_cflags[@]}" csrc/answer.c csrc/money.c csrc/money_math.c fuzz/answer_decode_fuzz.c "${lua_libs[@]}" -lm; then
  fuzz "answer decoder" build/answer_decode_fuzz fuzz/corpus_answer 4096 fuzz-answer-crash- || status=1
else
  [[ ${#lua_libs[@]} -gt 0 ]] || echo "fuzz: no Lua 5.4 library for the answer decoder's target (pkg-config lua5.4)" >&2
  status=1
fi
exit "$status"
