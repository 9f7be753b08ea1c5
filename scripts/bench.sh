#!/usr/bin/env bash
# The benchmark suite (issue 11). Not a pass/fail test: it prints figures.
# It starts its own nginx on a free loopback port (bench/nginx.conf.template,
# its own prefix in a temporary folder): the calculate path answers a fixed
# JSON at once, and under /slow after 20 ms (ngx.sleep, the worker does not
# block). It builds the C module (scripts/lib/build.sh, and
# scripts/build-luajit.sh for LuaJIT) and its own C programs with cc
# against libcurl (bench/*.c: the easy-handle loop that is the limit, the
# same loop decoding each answer's JSON (bench/quote_json.h), a curl_multi
# program, a timer), then prints:
#   - the request rate of each client on one kept-alive connection (3
#     rounds, interleaved, the order rotated each round; medians), its
#     ratio to the C loop, CPU µs per request (the client's own, from
#     getrusage / os.clock, and nginx's worker's, from /proc/PID/schedstat),
#     the ratio again from those CPU times, and peak RSS (VmHWM) after N
#     and after 10·N requests;
#   - quote() on Lua 5.4 and LuaJIT against the two limits: the C loop,
#     and the C loop that also parses each answer as JSON and pulls the
#     quote's fields out as integers (the fairer limit);
#   - 200 quotes against the 20 ms answer: C curl_multi at concurrency 20,
#     client:map at concurrency 20 (when the client has it), one after the
#     other;
#   - memory per call in flight: 10,000 quotes (--short: 500) against the
#     20 ms answer through client:map at concurrency 10 and 100, and
#     through C curl_multi alike: (VmHWM - VmRSS before) / concurrency;
#   - in nginx: an app nginx (bench/nginx-app.conf.template, one worker)
#     whose handler calls quote() through proxyshard's lua-resty-http
#     transport (the client made once per worker), against the same
#     handler doing a bare lua-resty-http request + cjson.decode, both to
#     the bench's nginx; wrk at 1 and 20 connections (3 rounds of 5 s,
#     --short 1 of 1 s; medians). Needs wrk and lua-resty-http with
#     lua-resty-string, found as the nginx specs find them: the
#     PROXYSHARD_RESTY_HTTP_LIB list of folders (.ci/run sets it to
#     ../shared/vendor); without them these rows are n/a;
#   - cold start: `require "proxyshard"` over a bare interpreter (median of
#     20 interleaved runs);
#   - start-up of the command (issue 18, item 6): one read (`proxyshard
#     --sandbox me` against a sandbox it starts) from the checkout and
#     through the rock installed into a temporary tree (luarocks make),
#     against `curl -s` doing the same read, and `--help`; medians of 30
#     interleaved runs (--short: 5), ratios to curl;
#   - and, last, one summary line "bench: ...".
# Client and server run pinned to one and the same CPU (taskset -c
# $BENCH_CPU, default 1), as the issue measured, every time (wrk and both
# nginx too): the ratios are of whole request costs, client and server, on
# one core.
#   usage: scripts/bench.sh             the full run (about 3.5 minutes)
#          scripts/bench.sh --short     tiny N, one round: proves it runs (BENCH_SHORT=1 too)
#          scripts/bench.sh --profile   instructions per request under valgrind --tool=callgrind
#                                       (C loop, C+decode, perform, quote(), the Lua layer alone; by shared
#                                       object; the Lua functions by VM instructions; cold start)
#   BENCH_N (default 5000; --short 200) timed requests per client and round
#   BENCH_CPU (default 1) the CPU client and server are pinned to
#   BENCH_RSS_BUDGET (default 15) seconds a client may take for its 9·N
#     requests more (peak RSS after 10·N); a slower one is skipped
#   BENCH_PROFILE_N (default 1000) requests of the longer callgrind run
#   BENCH_MEM_COUNT (default 10000; --short 500) quotes of the memory runs
#   BENCH_WRK_SECONDS (default 5; --short 1) seconds of each wrk run
# Exit status 0 when every client that is there ran; 1 when one failed or
# nothing could be measured (the summary line says so). Installs nothing:
# the tools come from scripts/setup.sh --tests (nginx and its Lua module,
# luajit2, lua-socket, curl, valgrind, wrk); lua-http from scripts/setup.sh
# (the sandbox: without it the start-up reads are n/a), luarocks (without
# it the installed rows are n/a).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
source scripts/lib/build.sh

usage() { echo "usage: scripts/bench.sh [--short | --profile]" >&2; }
short=${BENCH_SHORT:-0}
[[ $short == 0 ]] && short=
profile=
for arg in "$@"; do
  case $arg in
    --short) short=1 ;;
    --profile) profile=1 ;;
    -h | --help) usage; exit 0 ;;
    *) usage; exit 2 ;;
  esac
done

if [[ -n $short ]]; then
  N=${BENCH_N:-200} rounds=1 slow_count=40 cold_runs=5 startup_runs=5
  mem_count=${BENCH_MEM_COUNT:-500} wrk_secs=${BENCH_WRK_SECONDS:-1}
else
  N=${BENCH_N:-5000} rounds=3 slow_count=200 cold_runs=20 startup_runs=30
  mem_count=${BENCH_MEM_COUNT:-10000} wrk_secs=${BENCH_WRK_SECONDS:-5}
fi
mem_concurrencies=(10 100)
wrk_concurrencies=(1 20)
concurrency=20
cpu=${BENCH_CPU:-1}
rss_budget=${BENCH_RSS_BUDGET:-15}
profile_n=${BENCH_PROFILE_N:-1000}
if ((cpu >= $(nproc))); then cpu=0; fi
warm=$((N / 10))
((warm > 200)) && warm=200
((warm < 10)) && warm=10

started=$(date +%s.%N)
elapsed() { awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }'; }

# The summary line, last, and out.
finish() {
  echo "$1"
  exit "$2"
}

need=()
for tool in nginx cc pkg-config lua5.4 taskset timeout; do
  command -v "$tool" >/dev/null || need+=("$tool")
done
[[ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]] || need+=("nginx's Lua module")
pkg-config --exists libcurl 2>/dev/null || need+=("libcurl headers")
[[ -n $profile ]] && ! command -v valgrind >/dev/null && need+=(valgrind)
if ((${#need[@]})); then
  echo "bench: missing: ${need[*]} (scripts/setup.sh --tests installs them)" >&2
  finish "bench: failed: missing ${need[*]}" 1
fi

work=$(mktemp -d /tmp/proxyshard-bench.XXXXXX)
nginx_pid=
app_pid=
sandbox_pid=
# stop_nginx PID: a graceful stop, then KILL after 5 s
stop_nginx() {
  kill -QUIT "$1" 2>/dev/null
  for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$1" 2>/dev/null
  wait "$1" 2>/dev/null
}
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  if [[ -n $sandbox_pid ]]; then
    kill -TERM "$sandbox_pid" 2>/dev/null
    wait "$sandbox_pid" 2>/dev/null
  fi
  [[ -n $app_pid ]] && stop_nginx "$app_pid"
  [[ -n $nginx_pid ]] && stop_nginx "$nginx_pid"
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- build ---------------------------------------------------------------

if ! log=$(build_module build); then
  printf '%s\n' "$log" >&2
  finish "bench: failed: the build of the C module (build/)" 1
fi
have_luajit=''
luajit_built=''
scripts/build-luajit.sh >/dev/null 2>"$work/luajit-build.log" && luajit_built=1 # also what nginx loads
if command -v luajit >/dev/null && [[ -n $luajit_built ]] && luajit -e 'require "cjson"' 2>/dev/null; then
  have_luajit=1
fi
curl_cflags=$(pkg-config --cflags libcurl) curl_libs=$(pkg-config --libs libcurl)
for prog in easy_loop multi timeit; do
  # shellcheck disable=SC2086 # the flags are words
  if ! cc -O2 -Wall -Wextra -o "$work/$prog" "bench/$prog.c" $curl_cflags $curl_libs 2>"$work/cc.log"; then
    cat "$work/cc.log" >&2
    finish "bench: failed: cc bench/$prog.c" 1
  fi
done

export LUA_PATH_5_4="$root/lua/?.lua;$root/lua/?/init.lua;$root/bench/?.lua;;"
export LUA_CPATH_5_4="$root/build/lib/?.so;;"
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/bench/?.lua;;"
export LUA_CPATH="$root/build-luajit/lib/?.so;;"
if ! core_error=$(lua5.4 -e 'require "proxyshard.core"' 2>&1); then
  echo "bench: warning: proxyshard.core (build/) does not load; the rows that need it will fail:" >&2
  grep -m1 . <<<"$core_error" >&2
fi

# ---- nginx ---------------------------------------------------------------

QUOTE='{"success":true,"addon_key":"p0f_slots","catalog_id":1,"price_per_unit":30,"current_qty":3,"add_qty":2,"new_qty":5,"add_total":60}'
CALC=/user/api/orders/12345/addons/calculate
run_as=
[[ $(id -u) == 0 ]] && run_as="user root;" # the worker must read the 0700 prefix

# start_nginx PIDVAR NAME TEMPLATE [SED-EXPRESSION...]: TEMPLATE rendered
# into the prefix $work/NAME (@PREFIX@, @PORT@, @USER@, and the expressions
# given), started pinned on a free loopback port that /health answers on:
# its pid into the variable PIDVAR (which the cleanup stops), its port
# into $port; or its logs on stderr, return 1
start_nginx() {
  local pidvar=$1 prefix=$work/$2 template=$3 attempt pid e exprs=()
  shift 3
  for e in "$@"; do exprs+=(-e "$e"); done
  for attempt in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 40000))
    rm -rf "$prefix"
    mkdir -p "$prefix/logs" "$prefix/tmp"
    sed -e "s|@PREFIX@|$prefix|g" -e "s|@PORT@|$port|g" -e "s|@USER@|$run_as|g" "${exprs[@]}" \
      "$template" >"$prefix/nginx.conf"
    taskset -c "$cpu" nginx -p "$prefix/" -c "$prefix/nginx.conf" -e "$prefix/logs/error.log" \
      </dev/null >"$prefix/logs/stderr.log" 2>&1 &
    pid=$!
    printf -v "$pidvar" '%s' "$pid"
    for _ in $(seq 100); do
      kill -0 "$pid" 2>/dev/null || break
      if curl -sf -o /dev/null "http://127.0.0.1:$port/health" 2>/dev/null; then return 0; fi
      sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    printf -v "$pidvar" '%s' ""
    grep -qs "Address already in use" "$prefix/logs/error.log" "$prefix/logs/stderr.log" || break
    echo "bench: port $port taken (attempt $attempt), another one" >&2
  done
  cat "$prefix/logs/stderr.log" "$prefix/logs/error.log" >&2 2>/dev/null
  return 1
}
if ! command -v curl >/dev/null; then
  finish "bench: failed: no curl (scripts/setup.sh --tests installs it)" 1
fi
start_nginx nginx_pid nginx bench/nginx.conf.template "s|@QUOTE@|$QUOTE|g" ||
  finish "bench: failed: nginx did not start" 1
base="http://127.0.0.1:$port"
url="$base$CALC?addon_key=p0f_slots&add_qty=2" # what quote(2) asks for
slow_base="$base/slow"
slow_url="$slow_base$CALC?addon_key=p0f_slots&add_qty=2"

# ---- helpers -------------------------------------------------------------

# field LINE NAME: the value of NAME=value in a result line
field() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<" $1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
calc() { awk "BEGIN { printf \"$1\", ($2) }"; }  # parenthesised: a bare ">" would make awk write to a file
pinned() { timeout 600 taskset -c "$cpu" "$@"; }

# run_result CMD...: run CMD pinned; its result line into $out, or return 1
# with the reason in $why
out="" why=""
run_result() {
  local rc
  out=$(pinned "$@" 2>"$work/stderr.log")
  rc=$?
  out=$(grep '^result ' <<<"$out" | tail -1)
  if [[ $rc -ne 0 || -z $out ]]; then
    why="exit $rc: $(grep -m1 . "$work/stderr.log" | cut -c1-110)"
    return 1
  fi
}

# ---- callgrind -----------------------------------------------------------

if [[ -n $profile ]]; then
  n1=$((profile_n / 5)) n2=$profile_n pwarm=50
  echo "# bench --profile: instructions per request under valgrind --tool=callgrind ($(valgrind --version))"
  echo "# the client process only (nginx runs natively on CPU $cpu, not counted): (Ir after $n2 requests"
  echo "# - Ir after $n1) / $((n2 - n1)), so start-up and the $pwarm warm-up requests cancel out"
  echo
  declare -A ir pname objk
  profiles=(c_loop c_decode perform quote fake)
  pname=([c_loop]="C loop, one reused easy handle" [c_decode]="the same + JSON decode to integers"
    [perform]="proxyshard.core session:perform"
    [quote]="client:order(id):addon(k):quote(n), Lua 5.4" [fake]="the Lua layer alone (fake transport)")
  pstatus=0
  annotate() { callgrind_annotate --inclusive=no --threshold=100 "$1" 2>/dev/null; }
  for p in "${profiles[@]}"; do
    for n in $n1 $n2; do
      case $p in
        c_loop) cmd=("$work/easy_loop" "$url" "$n" "$n" "$pwarm") ;;
        c_decode) cmd=("$work/easy_loop" "$url" "$n" "$n" "$pwarm" decode) ;;
        perform) cmd=(lua5.4 bench/perform.lua "$url" "$n" "$n" "$pwarm") ;;
        quote) cmd=(lua5.4 bench/quote.lua "$base" "$n" "$n" "$pwarm") ;;
        fake) cmd=(lua5.4 bench/quote.lua "$base" "$n" "$n" "$pwarm" fake) ;;
      esac
      if ! run_result valgrind --tool=callgrind --log-file="$work/cg.$p.$n.log" \
          --callgrind-out-file="$work/cg.$p.$n.out" "${cmd[@]}"; then
        echo "${pname[$p]}: failed ($why)"
        pstatus=1
        continue 2
      fi
      ir[$p.$n]=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cg.$p.$n.log")
      annotate "$work/cg.$p.$n.out" >"$work/cg.$p.$n.txt"
    done
    ir[$p]=$(calc "%.0f" "(${ir[$p.$n2]} - ${ir[$p.$n1]}) / ($n2 - $n1)")
    printf '%-50s %8s instructions per request\n' "${pname[$p]}" "$(calc "%.1fk" "${ir[$p]} / 1000")"
    while IFS='|' read -r o v; do objk[$p|$o]=$v; done < <(awk -v n=$((n2 - n1)) -v mode=objects \
      -f bench/cgdiff.awk "$work/cg.$p.$n1.txt" "$work/cg.$p.$n2.txt")
  done
  if [[ -n ${ir[quote]:-} && -n ${ir[c_loop]:-} && -n ${ir[perform]:-} ]]; then
    echo "# quote() - C loop: $(calc "%.1fk" "(${ir[quote]} - ${ir[c_loop]}) / 1000");" \
      "perform - C loop: $(calc "%.1fk" "(${ir[perform]} - ${ir[c_loop]}) / 1000");" \
      "quote() - perform: $(calc "%.1fk" "(${ir[quote]} - ${ir[perform]}) / 1000")"
  fi
  if [[ -n ${ir[c_decode]:-} && -n ${ir[c_loop]:-} ]]; then
    echo "# C+decode - C loop: $(calc "%.1fk" "(${ir[c_decode]} - ${ir[c_loop]}) / 1000") (the JSON decode in C)"
  fi

  echo
  echo "== the same, by shared object (k instructions per request; lua5.4 and libcurl are stripped) =="
  printf '%-40s %9s %9s %9s %9s %9s\n' object "C loop" "C+decode" perform "quote()" "Lua only"
  mapfile -t objects < <(for key in "${!objk[@]}"; do echo "${key#*|}"; done | sort -u)
  # largest in quote() first
  for o in "${objects[@]}"; do echo "${objk[quote|$o]:-0}|$o"; done | sort -t'|' -k1,1 -gr |
    while IFS='|' read -r _ o; do
      printf '%-40s' "$o"
      for p in "${profiles[@]}"; do printf ' %9s' "${objk[$p|$o]:--}"; done
      echo
    done

  if [[ -f $work/cg.quote.$n2.txt ]]; then
    echo
    echo "== quote(): the functions with the most instructions of their own, k per request =="
    awk -v n=$((n2 - n1)) -v mode=functions -f bench/cgdiff.awk "$work/cg.quote.$n1.txt" "$work/cg.quote.$n2.txt" |
      sort -t'|' -k1,1 -gr | head -20 | while IFS='|' read -r v f; do printf '%8s  %s\n' "$v" "${f//$root\//}"; done
  fi

  echo
  echo "== quote(): the Lua functions with the most Lua VM instructions (debug.sethook count, every 7th) =="
  if out=$(pinned lua5.4 bench/luaprof.lua "$base" "$n2" 2>"$work/stderr.log"); then
    while IFS='|' read -r kind share per where; do
      case $kind in
        total) echo "$per Lua VM instructions per request (C functions such as cjson's do not count here)" ;;
        file) printf '  file %6s %6s  %s\n' "$share" "$per" "${where//$root\//}" ;;
        fn) printf '  fn   %6s %6s  %s\n' "$share" "$per" "${where//$root\//}" ;;
      esac
    done <<<"$out"
  else
    echo "failed: $(grep -m1 . "$work/stderr.log")"
    pstatus=1
  fi

  echo
  echo "== cold start under callgrind: the whole process =="
  cold_ir=()
  for e in '' 'require "proxyshard"'; do
    if run_result "$work/timeit" valgrind --tool=callgrind --log-file="$work/cg.cold.log" \
        --callgrind-out-file="$work/cg.cold.out" lua5.4 -e "$e"; then
      cold_ir+=("$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$work/cg.cold.log")")
      printf '%-50s %8s instructions\n' "lua5.4 -e '$e'" "$(calc "%.2fM" "${cold_ir[-1]} / 1e6")"
    fi
  done
  require_ir=n/a
  if ((${#cold_ir[@]} == 2)); then
    require_ir=$(calc "%.1fM" "(${cold_ir[1]} - ${cold_ir[0]}) / 1e6")
    echo "# require \"proxyshard\": $require_ir instructions over a bare lua5.4"
  fi
  echo
  k() {
    if [[ -n ${ir[$1]:-} ]]; then calc "%.0fk" "${ir[$1]} / 1000"; else echo failed; fi
  }
  finish "bench: instructions per request (callgrind): C loop $(k c_loop), C+decode $(k c_decode), perform $(k perform), quote $(k quote), Lua layer alone $(k fake); require $require_ir" "$pstatus"
fi

# ---- the rate table --------------------------------------------------------

clients=(c_loop c_decode perform quote54 quotejit fake curl_cli luahttp luasocket luasocket_raw requests)
declare -A label=(
  [c_loop]="C loop, one reused easy handle (the limit)"
  [c_decode]="the same + JSON decode to integers (C+decode)"
  [perform]="proxyshard.core session:perform"
  [quote54]="client:order(id):addon(k):quote(n), Lua 5.4"
  [quotejit]="the same, LuaJIT"
  [fake]="the same, Lua layer alone (fake transport)"
  [curl_cli]="curl CLI, N URLs in one process"
  [luahttp]="lua-http, kept-alive (+ cjson.decode)"
  [luasocket]="LuaSocket socket.http (+ cjson.decode)"
  [luasocket_raw]="LuaSocket, HTTP/1.1 by hand, kept-alive"
  [requests]="Python requests.Session (+ .json())"
)
declare -A state rates cpus srv hwm_n hwm_end
# nginx's one worker: its CPU time (ns, user + system) from /proc/PID/schedstat
worker_pid=$(pgrep -P "$nginx_pid" | head -n 1)
server_ns() {
  local ns=0
  [[ -n $worker_pid ]] && read -r ns _ <"/proc/$worker_pid/schedstat" 2>/dev/null
  echo "${ns:-0}"
}
for c in "${clients[@]}"; do state[$c]=ok; done
[[ -n $have_luajit ]] || state[quotejit]="not installed (luajit, its cjson, or scripts/build-luajit.sh)"
lua5.4 -e 'package.path = package.path .. ";/usr/share/lua/5.3/?.lua;/usr/share/lua/5.3/?/init.lua"
  .. ";/usr/share/lua/5.2/?.lua;/usr/share/lua/5.2/?/init.lua"
  require "http.client"' 2>/dev/null || state[luahttp]="not installed (lua-http)"
lua5.4 -e 'require "socket.http"' 2>/dev/null || { state[luasocket]="not installed (lua-socket)"; state[luasocket_raw]=${state[luasocket]}; }
python3 -c "import requests" 2>/dev/null || state[requests]="not installed (python3 -c \"import requests\" fails)"
have_map=$(lua5.4 -e 'local c = require("proxyshard").new { token = "test-token", base_url = "http://127.0.0.1:1" }
  io.write(type(c.map) == "function" and "yes" or "no")' 2>/dev/null)

# curl CLI: a config file of K URLs (and the same three headers)
curl_config() {
  local file=$work/urls.$1
  if [[ ! -f $file ]]; then
    {
      echo 'header = "Accept: application/json"'
      echo 'header = "User-Agent: proxyshard-lua/bench (curl CLI)"'
      echo 'header = "Authorization: Bearer bench-token"'
      yes "url = \"$url\"" | head -n "$1"
    } >"$file"
  fi
  echo "$file"
}

# run_client NAME TOTAL: one run; adds to rates/cpus/srv, sets hwm_n/hwm_end
run_client() {
  local c=$1 total=$2 cmd s0
  s0=$(server_ns)
  case $c in
    c_loop) cmd=("$work/easy_loop" "$url" "$N" "$total" "$warm") ;;
    c_decode) cmd=("$work/easy_loop" "$url" "$N" "$total" "$warm" decode) ;;
    perform) cmd=(lua5.4 bench/perform.lua "$url" "$N" "$total" "$warm") ;;
    quote54) cmd=(lua5.4 bench/quote.lua "$base" "$N" "$total" "$warm") ;;
    quotejit) cmd=(luajit bench/quote.lua "$base" "$N" "$total" "$warm") ;;
    fake) cmd=(lua5.4 bench/quote.lua "$base" "$N" "$total" "$warm" fake) ;;
    luahttp) cmd=(lua5.4 bench/luahttp.lua "$url" "$N" "$total" "$warm") ;;
    luasocket) cmd=(lua5.4 bench/luasocket_http.lua "$url" "$N" "$total" "$warm") ;;
    luasocket_raw) cmd=(lua5.4 bench/luasocket.lua "$url" "$N" "$total" "$warm") ;;
    requests) cmd=(python3 bench/requests_loop.py "$url" "$N" "$total" "$warm") ;;
    curl_cli)
      # one process per figure, start-up included (no warm-up possible)
      if ! run_result "$work/timeit" curl -s -K "$(curl_config "$N")"; then
        state[$c]="failed ($why)"
        return
      fi
      srv[$c]+=" $(calc "%.2f" "($(server_ns) - $s0) / 1000 / $N")"
      rates[$c]+=" $(calc "%.1f" "$N / $(field "$out" wall)")"
      cpus[$c]+=" $(calc "%.2f" "$(field "$out" cpu) * 1e6 / $N")"
      hwm_n[$c]=$(field "$out" maxrss)
      if ((total > N)); then
        if run_result "$work/timeit" curl -s -K "$(curl_config "$total")"; then
          hwm_end[$c]=$(field "$out" maxrss)
        fi
      fi
      return
      ;;
  esac
  if ! run_result "${cmd[@]}"; then
    state[$c]="failed ($why)"
    return
  fi
  srv[$c]+=" $(calc "%.2f" "($(server_ns) - $s0) / 1000 / ($warm + $total)")"
  rates[$c]+=" $(calc "%.1f" "$N / $(field "$out" wall)")"
  cpus[$c]+=" $(calc "%.2f" "$(field "$out" cpu) * 1e6 / $N")"
  hwm_n[$c]=$(field "$out" hwm_n)
  ((total > N)) && hwm_end[$c]=$(field "$out" hwm_end)
}

echo "# proxyshard bench$([[ -n $short ]] && echo " --short"), $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -srm)," \
  "$(nproc) CPUs ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $(lua5.4 -v 2>&1 | cut -d' ' -f1-2), $(luajit -v 2>/dev/null | cut -d' ' -f1-2), $(curl --version | head -1 | cut -d' ' -f1-4)," \
  "$(nginx -v 2>&1 | cut -d: -f2 | tr -d ' '), module build ${PROXYSHARD_BUILD_TYPE:-RelWithDebInfo}"
echo "# nginx on 127.0.0.1:$port (one worker, no access log); client and server both pinned to CPU $cpu (taskset -c $cpu)"
echo
echo "== GET the calculate path (fixed JSON, 130 bytes), one kept-alive connection; N=$N timed requests after" \
  "$warm warm-up, $rounds round(s) interleaved; medians =="

rotation=("${clients[@]}")
for ((r = 1; r <= rounds; r++)); do
  last_round=$((r == rounds))
  for c in "${rotation[@]}"; do
    [[ ${state[$c]} == ok ]] || continue
    total=$N
    if ((last_round)); then
      # the last round goes on to 10·N for the peak RSS, when that fits the budget
      total=$((10 * N))
      if [[ -n ${rates[$c]:-} ]]; then
        # shellcheck disable=SC2086 # the rates are words
        est=$(calc "%.0f" "9 * $N / $(median ${rates[$c]})")
        ((est > rss_budget)) && total=$N
      fi
      [[ $c == luasocket ]] && ((10 * N > 20000)) && total=$N # a connection per request: TIME_WAIT
    fi
    run_client "$c" "$total"
  done
  # rotate the order by a third for the next round
  shift_by=$(((${#rotation[@]} + 2) / 3))
  rotation=("${rotation[@]:shift_by}" "${rotation[@]:0:shift_by}")
done

declare -A med_rate med_cpu med_srv
for c in "${clients[@]}"; do
  [[ -n ${rates[$c]:-} ]] || continue
  # shellcheck disable=SC2086
  med_rate[$c]=$(median ${rates[$c]})
  # shellcheck disable=SC2086
  med_cpu[$c]=$(median ${cpus[$c]})
  # shellcheck disable=SC2086
  med_srv[$c]=$(median ${srv[$c]})
done
limit=${med_rate[c_loop]:-}
# ratio_to LIMIT CLIENT: CLIENT's req/s over LIMIT's
ratio_to() { [[ -n ${med_rate[$1]:-} && -n ${med_rate[$2]:-} ]] && calc "%.2f" "${med_rate[$2]} / ${med_rate[$1]}"; }
ratio() { ratio_to c_loop "$1"; }
# the same ratio from CPU time, client + nginx per request: less moved by
# what else runs on the machine
cpu_ratio_to() {
  [[ -n ${med_cpu[$1]:-} && -n ${med_cpu[$2]:-} ]] &&
    calc "%.2f" "(${med_cpu[$1]} + ${med_srv[$1]}) / (${med_cpu[$2]} + ${med_srv[$2]})"
}
cpu_ratio() { cpu_ratio_to c_loop "$1"; }
spread() {
  ((rounds > 1)) || { echo "-"; return; }
  # shellcheck disable=SC2086
  printf '%s\n' ${rates[$1]} | sort -g | awk -v m="${med_rate[$1]}" '{ a[NR] = $1 } END { printf "%.0f%%", (a[NR] - a[1]) * 100 / m }'
}

# (µ is two bytes: the header's width for that column is one more)
printf '%-46s %9s %6s %6s %11s %7s %6s %9s %10s\n' client "req/s" ratio spread "CPU µs/req" nginx by-CPU \
  "RSS@N kB" "RSS@10N kB"
for c in "${clients[@]}"; do
  if [[ ${state[$c]} != ok || -z ${med_rate[$c]:-} ]]; then
    printf '%-46s %s\n' "${label[$c]}" "${state[$c]}"
    continue
  fi
  r=$(ratio "$c")
  [[ $c == fake ]] && r="-"
  nginx_us=$(calc "%.1f" "${med_srv[$c]}") by_cpu=$(cpu_ratio "$c")
  [[ $c == fake ]] && nginx_us="-" by_cpu="-"
  printf '%-46s %9.0f %6s %6s %10.1f %7s %6s %9s %10s\n' "${label[$c]}" "${med_rate[$c]}" "$r" "$(spread "$c")" \
    "${med_cpu[$c]}" "$nginx_us" "$by_cpu" "${hwm_n[$c]:--}" "${hwm_end[$c]:-skipped}"
done
echo "# ratio: req/s over the C loop's; spread: (max - min) / median of the rounds; CPU: the client process's"
echo "# (user + system); nginx: its worker's CPU µs per request meanwhile (/proc/PID/schedstat), on the same"
echo "# CPU; by-CPU: the ratio from CPU time instead, (client + nginx) of the C loop over this row's, which"
echo "# what else runs on the machine moves less; RSS: VmHWM after warm-up + N and after warm-up + 10·N requests"
echo "# (curl CLI: ru_maxrss of a process doing N, and of one doing 10·N; its req/s and CPU include its start);"
echo "# skipped: 9·N more would take over BENCH_RSS_BUDGET=${rss_budget} s (socket.http: a connection per request)."
echo "# The fake row has no HTTP at all: what the Lua layer of quote() costs by itself. C+decode: the C"
echo "# loop parsing each answer as JSON (bench/quote_json.h, the whole text) and reading the quote's"
echo "# fields as integers (strtoll), as quote() does."

echo
echo "== quote() against the two limits: req/s over the limit's (from CPU time, client + nginx) =="
printf '%-46s %16s %16s\n' client "/ C loop" "/ C+decode"
for c in quote54 quotejit; do
  if [[ ${state[$c]} != ok || -z ${med_rate[$c]:-} ]]; then
    printf '%-46s %s\n' "${label[$c]}" "${state[$c]}"
    continue
  fi
  limits=()
  for l in c_loop c_decode; do
    if r=$(ratio_to "$l" "$c"); then limits+=("$r ($(cpu_ratio_to "$l" "$c"))"); else limits+=("${state[$l]}"); fi
  done
  printf '%-46s %16s %16s\n' "${label[$c]}" "${limits[@]}"
done

# RSS flat: the library's rows grow by at most 5 % (and 256 kB) from N to 10·N
rss_flat=yes rss_rows=0
for c in perform quote54 quotejit; do
  [[ -n ${hwm_n[$c]:-} && -n ${hwm_end[$c]:-} ]] || continue
  rss_rows=$((rss_rows + 1))
  if (($(calc "%d" "${hwm_end[$c]} > ${hwm_n[$c]} * 1.05 + 256"))); then rss_flat="no (${label[$c]})"; fi
done
((rss_rows)) || rss_flat="not measured"

# ---- 200 quotes against 20 ms --------------------------------------------

echo
echo "== $slow_count quotes against an answer that takes 20 ms; $rounds round(s), medians =="
declare -A swall
slow_state_map=ok slow_state_multi=ok slow_state_seq=ok
[[ $have_map == yes ]] || slow_state_map="client:map not available"
for ((r = 1; r <= rounds; r++)); do
  if [[ $slow_state_multi == ok ]]; then
    if run_result "$work/multi" "$slow_url" "$slow_count" "$concurrency"; then
      swall[multi]+=" $(field "$out" wall)"
    else
      slow_state_multi="failed ($why)"
    fi
  fi
  if [[ $slow_state_map == ok ]]; then
    if run_result lua5.4 bench/map.lua "$slow_base" "$slow_count" "$concurrency" map; then
      if [[ $out == "result unavailable" ]]; then
        slow_state_map="client:map not available"
      else
        swall[map]+=" $(field "$out" wall)"
        ok=$(field "$out" ok)
        ((ok == slow_count)) || slow_state_map="failed (only $ok of $slow_count results are quotes)"
      fi
    else
      slow_state_map="failed ($why)"
    fi
  fi
  if [[ $slow_state_seq == ok ]]; then
    if run_result lua5.4 bench/map.lua "$slow_base" "$slow_count" 1 seq; then
      swall[seq]+=" $(field "$out" wall)"
    else
      slow_state_seq="failed ($why)"
    fi
  fi
done
slow_row() { # KEY LABEL STATE
  if [[ $3 == ok && -n ${swall[$1]:-} ]]; then
    # shellcheck disable=SC2086
    printf '%-46s %8.3f s\n' "$2" "$(median ${swall[$1]})"
  else
    printf '%-46s %s\n' "$2" "$3"
  fi
}
slow_row multi "C curl_multi, concurrency $concurrency (the limit)" "$slow_state_multi"
slow_row map "client:map, concurrency $concurrency" "$slow_state_map"
slow_row seq "client quote(), one after the other" "$slow_state_seq"

# ---- memory per call in flight ---------------------------------------------

echo
echo "== memory per call in flight: $mem_count quotes against the 20 ms answer;" \
  "(VmHWM - VmRSS before) / concurrency, KB =="
# mem[KEY.C]: KB per call in flight; mem_total[KEY.C]: VmHWM - VmRSS before
declare -A mem mem_total
mem_state_multi=ok mem_state_map=ok
[[ $have_map == yes ]] || mem_state_map="n/a (client:map not available)"
for conc in "${mem_concurrencies[@]}"; do
  if [[ $mem_state_multi == ok ]]; then
    if run_result "$work/multi" "$slow_url" "$mem_count" "$conc" mem &&
        [[ -n $(field "$out" hwm) && -n $(field "$out" rss_before) ]]; then
      mem_total[multi.$conc]=$(($(field "$out" hwm) - $(field "$out" rss_before)))
      mem[multi.$conc]=$(calc "%.1f" "${mem_total[multi.$conc]} / $conc")
    else
      mem_state_multi="failed (${why:-no rss_before/hwm in its result line})"
    fi
  fi
  if [[ $mem_state_map == ok ]]; then
    if run_result lua5.4 bench/map.lua "$slow_base" "$mem_count" "$conc" mem; then
      if [[ $out == "result unavailable" ]]; then
        mem_state_map="n/a (client:map not available)"
      elif [[ $(field "$out" ok) != "$mem_count" ]]; then
        mem_state_map="failed (only $(field "$out" ok) of $mem_count results are the quote's total)"
      else
        mem_total[map.$conc]=$(($(field "$out" hwm) - $(field "$out" rss_before)))
        mem[map.$conc]=$(calc "%.1f" "${mem_total[map.$conc]} / $conc")
      fi
    else
      mem_state_map="failed ($why)"
    fi
  fi
done
# mem_ratio C: client:map's KB per call over curl_multi's
mem_ratio() {
  [[ -n ${mem[map.$1]:-} && -n ${mem[multi.$1]:-} ]] && (($(calc "%d" "${mem[multi.$1]} > 0"))) &&
    calc "%.1f" "${mem[map.$1]} / ${mem[multi.$1]}"
}
# mem_step KEY: KB each call more in flight adds, from the first concurrency to the last
mem_step() {
  local lo=${mem_concurrencies[0]} hi=${mem_concurrencies[-1]}
  [[ -n ${mem_total[$1.$lo]:-} && -n ${mem_total[$1.$hi]:-} ]] &&
    calc "%.1f" "(${mem_total[$1.$hi]} - ${mem_total[$1.$lo]}) / ($hi - $lo)"
}
# mem_step_ratio: client:map's step over curl_multi's
mem_step_ratio() {
  local a b
  a=$(mem_step map) && b=$(mem_step multi) && (($(calc "%d" "$b > 0"))) && calc "%.1f" "$a / $b"
}
printf '%-46s' ""
for conc in "${mem_concurrencies[@]}"; do printf ' %22s' "concurrency $conc"; done
printf ' %10s\n' "step"
mem_row() { # KEY LABEL STATE
  printf '%-46s' "$2"
  if [[ $3 != ok ]]; then
    echo " $3"
    return
  fi
  for conc in "${mem_concurrencies[@]}"; do
    printf ' %22s' "${mem[$1.$conc]:--} (${mem_total[$1.$conc]:--} in all)"
  done
  printf ' %10s\n' "$(mem_step "$1")"
}
mem_row multi "C curl_multi (the limit)" "$mem_state_multi"
mem_row map "client:map, Lua 5.4" "$mem_state_map"
# as_times CMD...: CMD's figure followed by "x", or "-"
as_times() {
  local r
  if r=$("$@"); then echo "${r}x"; else echo "-"; fi
}
printf '%-46s' "ratio"
for conc in "${mem_concurrencies[@]}"; do printf ' %22s' "$(as_times mem_ratio "$conc")"; done
printf ' %10s\n' "$(as_times mem_step_ratio)"
echo "# KB per call in flight: (VmHWM at the end - VmRSS before) / concurrency, \"in all\" the difference;"
echo "# before: after one request of its own (libcurl set up; the Lua side: the modules loaded). fn keeps"
echo "# the quote's total (a number), not the quote. Lua's figure includes the result list ($mem_count"
echo "# entries) and the garbage the collector has not yet freed at the peak, which do not grow with the"
echo "# concurrency; step: (in all at ${mem_concurrencies[-1]} - in all at ${mem_concurrencies[0]}) /" \
  "$((mem_concurrencies[-1] - mem_concurrencies[0])), what each call more in flight adds."

# ---- in nginx: quote() against a bare lua-resty-http handler ----------------

echo
echo "== in nginx: a handler calling quote() through the lua-resty-http transport, against lua-resty-http" \
  "+ cjson.decode; wrk -t1, ${wrk_secs} s per run, $rounds round(s), medians =="
# resty_path: the lua_package_path entries ("DIR/?.lua;" each) of
# lua-resty-http and lua-resty-string from PROXYSHARD_RESTY_HTTP_LIB, read
# as spec/support/nginx/harness.lua reads it (a ";"-list of folders,
# relative to the checkout or absolute, each a lib folder holding resty/,
# or a folder of unpacked modules, each with its lib/): into resty_entries,
# or return 1 with why
resty_entries=""
resty_path() {
  local value=${PROXYSHARD_RESTY_HTTP_LIB:-} entry dir lib m dirs=() entries=()
  if [[ -z $value ]]; then
    why="PROXYSHARD_RESTY_HTTP_LIB is not set (.ci/run sets it to ../shared/vendor)"
    return 1
  fi
  IFS=';' read -ra entries <<<"$value"
  for entry in "${entries[@]}"; do
    [[ -n $entry ]] || continue
    if [[ $entry == /* ]]; then dir=$entry; else dir=$root/$entry; fi
    dir=$(realpath -m "$dir")
    if [[ -f $dir/resty/http.lua || -f $dir/resty/string.lua ]]; then
      dirs+=("$dir")
    else
      for lib in "$dir"/*/lib; do [[ -d $lib ]] && dirs+=("$lib"); done
    fi
  done
  for m in http string; do
    for dir in "${dirs[@]}" ""; do [[ -n $dir && -f $dir/resty/$m.lua ]] && break; done
    if [[ -z $dir ]]; then
      why="PROXYSHARD_RESTY_HTTP_LIB=$value has no resty/$m.lua (lua-resty-$m)"
      return 1
    fi
  done
  resty_entries=$(printf '%s/?.lua;' "${dirs[@]}")
}
# run_wrk HANDLER CONNECTIONS SECONDS: wrk against the app nginx, its
# requests/second into $out; or return 1 with why (an error or a non-200
# answer counts as a failure)
run_wrk() {
  local text rc
  text=$(pinned wrk -t1 -c"$2" -d"${3}s" --timeout 10s "$app_url/$1" 2>"$work/stderr.log")
  rc=$?
  if ((rc != 0)); then
    why="wrk: exit $rc: $(grep -m1 . "$work/stderr.log" | cut -c1-100)"
    return 1
  fi
  if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$text"; then
    why="wrk /$1 -c$2: $(grep -m1 -e 'Non-2xx' -e 'Socket errors' <<<"$text" | sed 's/^ *//')"
    return 1
  fi
  out=$(sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p' <<<"$text")
  [[ -n $out ]] || { why="wrk printed no Requests/sec"; return 1; }
}
declare -A wrk_rates
ngx_state=ok
if ! command -v wrk >/dev/null; then
  ngx_state="n/a (no wrk: scripts/setup.sh --tests installs it)"
elif ! resty_path; then
  ngx_state="n/a (no lua-resty-http: $why)"
elif [[ -z $luajit_built ]]; then
  ngx_state="n/a (no LuaJIT build of proxyshard.core: scripts/build-luajit.sh failed)"
elif ! start_nginx app_pid app bench/nginx-app.conf.template "s|@ROOT@|$root|g" \
    "s|@RESTY_PATH@|$resty_entries|g" "s|@UPSTREAM@|$base|g" 2>"$work/app.log"; then
  ngx_state="failed (the app nginx did not start: $(grep -m1 -i -e emerg -e error "$work/app.log" | cut -c1-100))"
else
  app_url="http://127.0.0.1:$port"
  # each handler answers the quote's total once, then a warm-up run (the JIT, the pools)
  for h in quote bare; do
    answer=$(curl -s --max-time 10 "$app_url/$h")
    if [[ $answer != 60 ]]; then
      ngx_state="failed (/$h answered: $(head -c 100 <<<"${answer:-nothing}"; grep -m1 -e '\[error\]' \
        "$work/app/logs/error.log" 2>/dev/null | cut -c1-100))"
      break
    fi
    run_wrk "$h" 20 1 || { ngx_state="failed ($why)"; break; }
  done
  wrk_order=(quote bare)
  for ((r = 1; r <= rounds; r++)); do
    [[ $ngx_state == ok ]] || break
    for conc in "${wrk_concurrencies[@]}"; do
      for h in "${wrk_order[@]}"; do
        if ! run_wrk "$h" "$conc" "$wrk_secs"; then
          ngx_state="failed ($why)"
          break 3
        fi
        wrk_rates[$h.$conc]+=" $out"
      done
    done
    wrk_order=("${wrk_order[1]}" "${wrk_order[0]}") # the other one first next round
  done
  stop_nginx "$app_pid"
  app_pid=
fi
# wrk_rate HANDLER C: the median req/s
wrk_rate() { # shellcheck disable=SC2086
  [[ -n ${wrk_rates[$1.$2]:-} ]] && median ${wrk_rates[$1.$2]}
}
wrk_ratio() {
  local q b
  q=$(wrk_rate quote "$1") && b=$(wrk_rate bare "$1") && calc "%.2f" "$q / $b"
}
printf '%-46s' handler
for conc in "${wrk_concurrencies[@]}"; do printf ' %12s' "c=$conc req/s"; done
echo
if [[ $ngx_state != ok ]]; then
  printf '%-46s %s\n' "both" "$ngx_state"
else
  for h in quote bare; do
    case $h in
      quote) printf '%-46s' "quote(), lua-resty-http transport" ;;
      bare) printf '%-46s' "lua-resty-http + cjson.decode (the limit)" ;;
    esac
    for conc in "${wrk_concurrencies[@]}"; do printf ' %12.0f' "$(wrk_rate "$h" "$conc")"; done
    echo
  done
  printf '%-46s' ratio
  for conc in "${wrk_concurrencies[@]}"; do printf ' %12s' "$(wrk_ratio "$conc")"; done
  echo
  echo "# an app nginx (bench/nginx-app.conf.template, one worker, bench/resty_app.lua) whose handler makes"
  echo "# one request to the bench's nginx and answers the quote's total: through"
  echo "# client:order(12345):addon(\"p0f_slots\"):quote(2) (the client made once per worker, in"
  echo "# init_worker), or lua-resty-http's request_uri (kept alive) + cjson.decode. wrk, the app nginx and"
  echo "# the bench's nginx all on CPU $cpu; c: wrk's connections; ratio: quote() over the bare handler."
fi

# ---- cold start ------------------------------------------------------------

echo
echo "== cold start: wall time of the whole process, median of $cold_runs runs, interleaved =="
declare -A cold
cold_cmds=(bare54 req54)
[[ -n $have_luajit ]] && cold_cmds+=(barejit reqjit)
cold_failed=
for ((i = 1; i <= cold_runs; i++)); do
  for k in "${cold_cmds[@]}"; do
    case $k in
      bare54) cmd=(lua5.4 -e '') ;;
      req54) cmd=(lua5.4 -e 'require "proxyshard"') ;;
      barejit) cmd=(luajit -e '') ;;
      reqjit) cmd=(luajit -e 'require "proxyshard"') ;;
    esac
    if run_result "$work/timeit" "${cmd[@]}"; then
      cold[$k]+=" $(field "$out" wall)"
    else
      cold_failed="$k: $why"
    fi
  done
done
cold_ms() { # shellcheck disable=SC2086
  calc "%.2f" "$(median ${cold[$1]}) * 1000"
}
require_ms=
if [[ -n ${cold[bare54]:-} && -n ${cold[req54]:-} ]]; then
  require_ms=$(calc "%.1f" "$(cold_ms req54) - $(cold_ms bare54)")
  printf '%-46s %8s ms\n' "lua5.4 -e ''" "$(cold_ms bare54)"
  printf '%-46s %8s ms   (+%s ms)\n' "lua5.4 -e 'require \"proxyshard\"'" "$(cold_ms req54)" "$require_ms"
fi
if [[ -n ${cold[barejit]:-} && -n ${cold[reqjit]:-} ]]; then
  printf '%-46s %8s ms\n' "luajit -e ''" "$(cold_ms barejit)"
  printf '%-46s %8s ms   (+%s ms)\n' "luajit -e 'require \"proxyshard\"'" "$(cold_ms reqjit)" \
    "$(calc "%.1f" "$(cold_ms reqjit) - $(cold_ms barejit)")"
fi
[[ -n $cold_failed ]] && echo "cold start failed: $cold_failed"

# ---- start-up of the command ------------------------------------------------

echo
echo "== start-up of the command: wall time of the whole process, median of $startup_runs runs, interleaved =="
# One read (GET /user/api/me) against a local sandbox, the command against
# curl -s; --help (no request, no libcurl). The installed rows run the
# tree's bin/proxyshard: LuaRocks' wrapper (which loads luarocks.loader
# first), or the script itself when the rockspec deploys it unwrapped.
declare -A st st_state
st_keys=(bare curl read help rock_read rock_help)
declare -A st_label=(
  [bare]="lua5.4 -e '' (the interpreter alone)"
  [curl]="curl -s, the same read"
  [read]="proxyshard --sandbox me (checkout)"
  [help]="proxyshard --help (checkout)"
  [rock_read]="proxyshard --sandbox me (installed rock)"
  [rock_help]="proxyshard --help (installed rock)"
)
for k in "${st_keys[@]}"; do st_state[$k]=ok; done
sandbox_url=
# not through pinned(): a function in the background is a subshell, whose
# pid the cleanup would stop, leaving the sandbox running
timeout 600 taskset -c "$cpu" bin/proxyshard-sandbox --port 0 >"$work/sandbox.out" 2>"$work/sandbox.err" &
sandbox_pid=$!
for _ in $(seq 100); do
  sandbox_url=$(sed -n 's/^proxyshard sandbox listening on \(http[^ ]*\).*/\1/p' "$work/sandbox.out")
  [[ -n $sandbox_url ]] && break
  kill -0 "$sandbox_pid" 2>/dev/null || break
  sleep 0.05
done
if [[ -z $sandbox_url ]]; then
  why=$(grep -m1 . "$work/sandbox.err" | cut -c1-80)
  for k in curl read rock_read; do st_state[$k]="n/a (the sandbox did not start: ${why:-no answer in 5 s})"; done
fi
rock_kind=
if ! command -v luarocks >/dev/null; then
  for k in rock_read rock_help; do st_state[$k]="n/a (no luarocks)"; done
else
  # from a copy, so that the build leaves nothing in the checkout
  mkdir -p "$work/rock"
  cp -r CMakeLists.txt csrc lua bin rockspec scripts "$work/rock/"
  if (cd "$work/rock" && LUAROCKS_CONFIG=rockspec/debian-config.lua luarocks --lua-version=5.4 \
      --tree "$work/tree" make rockspec/proxyshard-scm-1.rockspec) >"$work/rock.log" 2>&1; then
    rock_kind="the script itself"
    # a wrapper is a shell script that loads luarocks.loader; ours is Lua
    head -n 1 "$work/tree/bin/proxyshard" | grep -q '^#!/bin/sh' && rock_kind="LuaRocks' wrapper"
  else
    why=$(grep -i -m1 'error' "$work/rock.log" | cut -c1-100)
    for k in rock_read rock_help; do st_state[$k]="failed (luarocks make: ${why:-see its log})"; done
  fi
fi
# the command's environment (the last section: nothing after it minds)
unset PROXYSHARD_TOKEN PROXYSHARD_BASE_URL
export PROXYSHARD_SANDBOX_URL=$sandbox_url PROXYSHARD_STATE_DIR=$work/state
for ((i = 1; i <= startup_runs; i++)); do
  for k in "${st_keys[@]}"; do
    [[ ${st_state[$k]} == ok ]] || continue
    case $k in
      bare) cmd=(lua5.4 -e '') ;;
      curl) cmd=(curl -s -H "Authorization: Bearer sandbox-token" "$sandbox_url/user/api/me") ;;
      read) cmd=("$root/bin/proxyshard" --sandbox me) ;;
      help) cmd=("$root/bin/proxyshard" --help) ;;
      rock_read) cmd=("$work/tree/bin/proxyshard" --sandbox me) ;;
      rock_help) cmd=("$work/tree/bin/proxyshard" --help) ;;
    esac
    # from another directory, as an installed command is run
    cd / || exit 1
    if run_result "$work/timeit" "${cmd[@]}"; then
      st[$k]+=" $(field "$out" wall)"
    else
      st_state[$k]="failed ($why)"
    fi
    cd "$root" || exit 1
  done
done
st_ms() { # shellcheck disable=SC2086
  [[ ${st_state[$1]} == ok && -n ${st[$1]:-} ]] && calc "%.2f" "$(median ${st[$1]}) * 1000"
}
st_ratio() { # KEY: its median over curl's
  local a b
  a=$(st_ms "$1") b=$(st_ms curl)
  [[ -n $a && -n $b ]] && calc "%.2f" "$a / $b"
}
for k in "${st_keys[@]}"; do
  if ms=$(st_ms "$k"); then
    r=""
    case $k in
      read | rock_read) r="   $(st_ratio "$k")x curl" ;;
    esac
    printf '%-46s %8s ms%s\n' "${st_label[$k]}" "$ms" "$r"
  else
    printf '%-46s %s\n' "${st_label[$k]}" "${st_state[$k]}"
  fi
done
[[ -n $rock_kind ]] && echo "# installed: luarocks make into a temporary tree; its bin/proxyshard is $rock_kind"
echo "# targets: a read within 2.0x curl from the checkout, 2.5x installed; --help under 8 ms"
startup_failed=
for k in "${st_keys[@]}"; do [[ ${st_state[$k]} == failed* ]] && startup_failed=1; done
st_fig() { # KEY ratio|ms
  local v
  if [[ $2 == ratio ]]; then v=$(st_ratio "$1") && v="${v}x"; else v=$(st_ms "$1") && v="$v ms"; fi
  if [[ -n $v ]]; then echo "$v"
  elif [[ ${st_state[$1]} == failed* ]]; then echo failed
  else echo n/a
  fi
}

# ---- summary -------------------------------------------------------------

status=0
for c in "${clients[@]}"; do [[ ${state[$c]} == failed* ]] && status=1; done
[[ $slow_state_multi == ok && $slow_state_seq == ok && $slow_state_map != failed* && -z $cold_failed ]] || status=1
[[ -z $startup_failed ]] || status=1
[[ -n $limit ]] || status=1
[[ $mem_state_multi == failed* || $mem_state_map == failed* || $ngx_state == failed* ]] && status=1

fmt_ratio() {
  local r
  r=$(ratio "$1")
  [[ -z $r && ${state[$1]} == failed* ]] && r=failed
  echo "${r:-n/a}"
}
ahead="n/a"
if [[ -n ${med_rate[quote54]:-} && -n ${med_rate[curl_cli]:-} ]]; then
  ahead=no
  (($(calc "%d" "${med_rate[quote54]} > ${med_rate[curl_cli]}"))) && ahead=yes
fi
if [[ $slow_state_map == ok ]]; then
  # shellcheck disable=SC2086
  map_fig="$(calc "%.2f" "$(median ${swall[map]})") s"
elif [[ $slow_state_map == failed* ]]; then
  map_fig="failed"
else
  map_fig="n/a"
fi
# quote() over the C+decode limit
decode_fig() {
  local r
  r=$(ratio_to c_decode "$1")
  [[ -z $r && (${state[$1]} == failed* || ${state[c_decode]} == failed*) ]] && r=failed
  echo "${r:-n/a}"
}
# the nginx rows: quote() over the bare handler at each concurrency
ngx_fig=""
for conc in "${wrk_concurrencies[@]}"; do
  if [[ $ngx_state == ok ]] && r=$(wrk_ratio "$conc"); then :
  elif [[ $ngx_state == failed* ]]; then r=failed
  else r=n/a
  fi
  ngx_fig+=" c$conc $r"
done
# memory: client:map's KB per call in flight over curl_multi's, at each concurrency
mem_fig=""
for conc in "${mem_concurrencies[@]}"; do
  if r=$(mem_ratio "$conc"); then r="${r}x"
  elif [[ $mem_state_map == failed* || $mem_state_multi == failed* ]]; then r=failed
  else r=n/a
  fi
  mem_fig+=" c$conc $r"
done
if r=$(mem_step_ratio); then mem_fig+=" step ${r}x"; fi
echo
echo "# $(elapsed) s in all"
mode=""
[[ -n $short ]] && mode=" [short: N=$N, 1 round, $slow_count quotes, $mem_count for memory, wrk ${wrk_secs} s]"
finish "bench: quote $(fmt_ratio quote54) (target 0.80), LuaJIT $(fmt_ratio quotejit) (0.90), perform $(fmt_ratio perform) (0.95), curl CLI $(fmt_ratio curl_cli) (quote ahead: $ahead), map ${slow_count}@20ms $map_fig (0.26), require ${require_ms:-n/a} ms (3), RSS flat: $rss_flat, start-up: read $(st_fig read ratio) curl (2.0), installed $(st_fig rock_read ratio) (2.5), --help $(st_fig help ms) (8); quote/C+decode 5.4 $(decode_fig quote54), LuaJIT $(decode_fig quotejit); nginx resty$ngx_fig; map mem/call$mem_fig curl_multi$mode" "$status"
