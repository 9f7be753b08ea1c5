#!/usr/bin/env bash
# Builds proxyshard.core for LuaJIT — the Lua inside nginx's lua module and
# OpenResty — into build-luajit/lib/proxyshard/core.so, against the LuaJIT
# headers (Debian: libluajit2-5.1-dev, pkg-config module "luajit"; a module
# built against Lua 5.4 does not load there). Installs nothing. Prints the
# path of the module; point nginx at it with
#   lua_package_cpath "/path/to/checkout/build-luajit/lib/?.so;;";
#   usage: scripts/build-luajit.sh      (PROXYSHARD_BUILD_TYPE as in setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."

if ! pkg-config --exists luajit; then
  echo "build-luajit: no LuaJIT headers (pkg-config luajit). On Debian, as root:" >&2
  echo "  apt-get install libluajit2-5.1-dev" >&2
  exit 1
fi
cmake -S . -B build-luajit -DLUA_PKG=luajit \
  -DCMAKE_BUILD_TYPE="${PROXYSHARD_BUILD_TYPE:-RelWithDebInfo}" >/dev/null
# quiet when all is well; the compiler's output when it is not
if ! build_log=$(cmake --build build-luajit 2>&1); then
  echo "$build_log" >&2
  exit 1
fi
echo "$PWD/build-luajit/lib/proxyshard/core.so"
