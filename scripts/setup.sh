#!/usr/bin/env bash
# Installs what proxyshard needs from Debian (when run as root) and builds
# the C module into build/. Safe to run again: it installs only what is
# missing and rebuilds only what changed.
#   usage: scripts/setup.sh            (core packages + build)
#          PROXYSHARD_EXTRA_PACKAGES="..." scripts/setup.sh   (more packages)
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  gcc make cmake pkg-config             # build the C module
  lua5.4 liblua5.4-dev                  # Lua 5.4 and its headers
  libcurl4-openssl-dev                  # libcurl (the transport)
  lua-cjson                             # JSON
  lua-http                              # the sandbox's HTTP server
  luarocks                              # packaging check
  lua-busted lua-check lua-socket curl  # tests and lint
  lua-sec openssl                       # TLS specs
  luajit2 libluajit2-5.1-dev            # LuaJIT run of the money specs (conflicts with libluajit-5.1-dev)
  clang libclang-rt-14-dev              # money parser fuzzer: libFuzzer is in libclang-rt-14-dev, only
                                        # recommended by clang, so not pulled in by --no-install-recommends
  valgrind                              # memcheck phase
  nginx libnginx-mod-http-lua lua-resty-core lua-resty-lrucache  # spec/nginx_spec.lua: a real nginx
)
# shellcheck disable=SC2206
packages+=(${PROXYSHARD_EXTRA_PACKAGES:-})

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]})); then
  line="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "proxyshard needs these Debian packages. As root, run:" >&2
    echo "  apt-get update && $line" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

cmake -S . -B build -DCMAKE_BUILD_TYPE="${PROXYSHARD_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
# quiet when all is well; the compiler's output when it is not
if ! build_log=$(cmake --build build 2>&1); then
  echo "$build_log" >&2
  exit 1
fi
