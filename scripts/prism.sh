#!/usr/bin/env bash
# The OpenAPI checks (docs/openapi-checks.md): the 34 calls of the library
# and of the proxyshard command against Stoplight Prism, which validates
# every request, and every answer, against the API's document.
#   mock static       prism mock: the document's examples
#   mock seed-N       prism mock -d --seed N: answers generated from the
#                     schemas, a few seeds (PRISM_SEEDS)
#   proxy             prism proxy in front of the sandbox (bin/proxyshard-sandbox)
# All with --errors: a violation is an error answer, and is logged. The
# calls are spec/prism/calls.lua, run by spec/prism/driver.lua (a TAP
# producer; its last lines are the counts and the plan). Prism comes from
# npm, pinned by package.json and package-lock.json (npm ci).
#   usage: scripts/prism.sh        PRISM_SEEDS="1 2 3" scripts/prism.sh
# The document is ../shared/api/openapi-1.1.0.json: without it, one skip.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

doc=../shared/api/openapi-1.1.0.json
if [[ ! -f $doc ]]; then
  echo "1..1"
  echo "ok 1 # SKIP no $doc (the API's document is kept beside the repository)"
  exit 0
fi

# Seed 8 is among them on purpose: its answers include an empty `data`
# list of a sub-user (so do 12 and 20, of seeds 1 to 20), an answer the
# document allows that the library must read.
seeds=${PRISM_SEEDS:-1 2 3 8}

export LUA_PATH_5_4="$PWD/lua/?.lua;$PWD/lua/?/init.lua;$PWD/spec/?.lua;;"
export LUA_CPATH_5_4="$PWD/build/lib/?.so;;"

work=$(mktemp -d)
pids=()
finish() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null; done
  rm -rf "$work"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# the log of a step that failed, as TAP comments
show() { sed 's/^/# /' "$1"; }

if ! npm ci --no-audit --no-fund --loglevel=error >"$work/npm.log" 2>&1; then
  echo "not ok 1 - npm ci (Stoplight Prism, pinned by package-lock.json)"
  show "$work/npm.log"
  echo "1..1"
  exit 1
fi
prism=node_modules/.bin/prism

# A port nothing listens on (Prism cannot pick one itself and say which).
# Taken ports are skipped; one taken in between makes Prism fail, and then
# its start is tried again on another port.
# Sets `port`.
declare -A given=()
port=""
free_port() {
  while :; do
    port=$((20000 + RANDOM % 40000))
    [[ -n ${given[$port]:-} ]] && continue
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      given[$port]=1
      return
    fi
  done
}

# start_prism NAME ARGS...: Prism on a free port of 127.0.0.1, its log in
# $work/NAME.log; sets url[NAME]. Every Prism starts at once; wait_prism
# waits for them.
declare -A url=() pid_of=() args_of=()
start_prism() {
  local name=$1
  shift
  args_of[$name]="$*"
  free_port
  "$prism" "$@" --host 127.0.0.1 --port "$port" --errors >"$work/$name.log" 2>&1 &
  pid_of[$name]=$!
  pids+=($!)
  url[$name]="http://127.0.0.1:$port"
}

# wait_prism NAME: until it says it listens (it takes a few seconds), or
# it died (a port taken meanwhile: once more on another port).
wait_prism() {
  local name=$1 try
  for try in 1 2; do
    for _ in $(seq 600); do
      grep -q "Prism is listening" "$work/$name.log" && return 0
      kill -0 "${pid_of[$name]}" 2>/dev/null || break
      sleep 0.1
    done
    [[ $try == 2 ]] && break
    kill -TERM "${pid_of[$name]}" 2>/dev/null
    # shellcheck disable=SC2086 # the arguments, split again as they were given
    start_prism "$name" ${args_of[$name]}
  done
  echo "not ok 1 - Prism ($name) did not start"
  show "$work/$name.log"
  return 1
}

# The sandbox, on a port of its own choosing; it prints its URL.
lua5.4 bin/proxyshard-sandbox --host 127.0.0.1 --port 0 >"$work/sandbox.out" 2>"$work/sandbox.log" &
pids+=($!)
sandbox=""
for _ in $(seq 100); do
  sandbox=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$work/sandbox.out" || true)
  [[ -n $sandbox ]] && break
  sleep 0.1
done
if [[ -z $sandbox ]]; then
  echo "not ok 1 - the sandbox did not start"
  show "$work/sandbox.log"
  echo "1..1"
  exit 1
fi

names=(static)
start_prism static mock "$doc"
for seed in $seeds; do
  names+=("seed-$seed")
  start_prism "seed-$seed" mock "$doc" --dynamic --seed "$seed"
done
names+=(proxy)
start_prism proxy proxy "$doc" "$sandbox"
for name in "${names[@]}"; do
  if ! wait_prism "$name"; then
    echo "1..1"
    exit 1
  fi
done

targets=()
for name in "${names[@]}"; do
  if [[ $name == proxy ]]; then
    targets+=("proxy,proxy,${url[$name]},$work/$name.log,$sandbox")
  else
    targets+=("mock,$name,${url[$name]},$work/$name.log")
  fi
done
echo "# Prism $("$prism" --version) on ../shared/api/openapi-1.1.0.json; sandbox $sandbox"
mkdir -p "$work/state"
# the sandbox's token, which Prism's mock takes as any other
lua5.4 spec/prism/driver.lua sandbox-token "$work/state" "${targets[@]}"
