#!/usr/bin/env bash
# Builds proxyshard.core for LuaJIT — the Lua inside nginx's lua module and
# OpenResty — into build-luajit/lib/proxyshard/core.so, against the LuaJIT
# headers (Debian: libluajit2-5.1-dev, pkg-config module "luajit"; a module
# built against Lua 5.4 does not load there). Installs nothing. Prints the
# path of the module; point nginx at it with
#   lua_package_cpath "/path/to/checkout/build-luajit/lib/?.so;;";
# The same as scripts/build-lua.sh luajit, kept under this name for nginx's
# set-up (README) and the scripts that use it.
#   usage: scripts/build-luajit.sh      (PROXYSHARD_BUILD_TYPE as in setup.sh)
set -euo pipefail
exec "$(dirname "$0")/build-lua.sh" luajit
