#!/usr/bin/env bash
# Builds proxyshard.core for one Lua version, against that Lua's headers (a
# module built for one Lua does not load in another): 5.4 into build/ (as
# scripts/setup.sh does), 5.1, 5.2, 5.3 into build-lua5.1/, build-lua5.2/,
# build-lua5.3/, and LuaJIT (nginx's lua module, OpenResty) into
# build-luajit/. Installs nothing. Prints the path of the module; point that
# Lua at it with its cpath, e.g.
#   lua5.3 -e 'package.cpath = "build-lua5.3/lib/?.so;" .. package.cpath' ...
# A build folder configured for another path (a moved checkout) is built
# afresh (scripts/lib/build.sh).
#   usage: scripts/build-lua.sh 5.1|5.2|5.3|5.4|luajit   (PROXYSHARD_BUILD_TYPE as in setup.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/lib/build.sh

if [[ $# -ne 1 ]] || ! dir=$(lua_build_dir "$1"); then
  (IFS='|' && echo "usage: scripts/build-lua.sh ${LUA_VERSIONS[*]}" >&2)
  exit 2
fi
pkg=$(lua_pkg "$1")
if ! pkg-config --exists "$pkg"; then
  case $1 in
    luajit) dev=libluajit2-5.1-dev ;;
    5.1) dev=liblua5.1-0-dev ;;
    *) dev=liblua$1-dev ;;
  esac
  echo "build-lua: no headers for Lua $1 (pkg-config $pkg). On Debian, as root:" >&2
  echo "  apt-get install --no-install-recommends $dev   (or scripts/setup.sh --tests)" >&2
  exit 1
fi
# quiet when all is well; the compiler's output when it is not
build_for_lua "$1" >&2 || exit 1
echo "$PWD/$dir/lib/proxyshard/core.so"
