#!/usr/bin/env bash
# Builds proxyshard.core for LuaJIT — the Lua inside nginx's lua module and
# OpenResty — into build-luajit/lib/proxyshard/core.so, against the LuaJIT
# headers (Debian: libluajit2-5.1-dev, pkg-config module "luajit"; a module
# built against Lua 5.4 does not load there). Installs nothing. Prints the
# path of the module; point nginx at it with
#   lua_package_cpath "/path/to/checkout/build-luajit/lib/?.so;;";
# A build-luajit/ configured for another path (a moved checkout) is built
# afresh (scripts/lib/build.sh).
#   usage: scripts/build-luajit.sh      (PROXYSHARD_BUILD_TYPE as in setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/build.sh

if ! pkg-config --exists luajit; then
  echo "build-luajit: no LuaJIT headers (pkg-config luajit). On Debian, as root:" >&2
  echo "  apt-get install --no-install-recommends libluajit2-5.1-dev   (or scripts/setup.sh --tests)" >&2
  exit 1
fi
# quiet when all is well; the compiler's output when it is not
build_module build-luajit -DLUA_PKG=luajit >&2 || exit 1
echo "$PWD/build-luajit/lib/proxyshard/core.so"
