rockspec_format = "3.0"
package = "proxyshard"
version = "scm-1"
source = {
  url = "git+https://github.com/proxyshard/proxyshard-lua.git",
}
description = {
  summary = "Client for the ProxyShard User API: p0f add-ons, OS signatures, orders",
  detailed = [[
An exact, safe client for the ProxyShard User API: price previews and
purchases of order add-ons (p0f signature slots) in integer cents with a
spending cap, downgrades at renewal, OS signatures of proxy IPs, and order
details. HTTP over libcurl from a small C module; errors are values
(nil, err). Ships the proxyshard command (every call from the shell, and
a REPL) and a local sandbox of the API (proxyshard-sandbox).
]],
  license = "MIT",
  labels = { "api", "http", "libcurl", "proxy" },
}
-- lua-cjson is needed at run time: `luarocks install` from a rock server
-- brings it. On Debian it comes from apt (lua-cjson), which LuaRocks does not
-- know about, so build offline with `luarocks make --deps-mode=none` (see the
-- README). The sandbox (bin/proxyshard-sandbox) also needs lua-http (the
-- "http" rock; Debian: lua-http), and the command (bin/proxyshard)
-- lua-argparse (the "argparse" rock; Debian: lua-argparse); the library
-- needs neither, so they are not listed. The Lua versions are those the
-- library's specs run on (scripts/test.sh: 5.1, 5.2, 5.3, 5.4 and LuaJIT);
-- the two commands (bin/) are tested on Lua 5.4 only.
dependencies = {
  "lua >= 5.1, < 5.5",
  "lua-cjson",
}
external_dependencies = {
  -- library only: Debian keeps curl.h under a multiarch include directory
  -- that LuaRocks' header probe does not search
  CURL = { library = "curl" },
}
build = {
  type = "cmake",
  variables = {
    CMAKE_BUILD_TYPE = "Release",
    CMAKE_INSTALL_PREFIX = "$(PREFIX)",
    LUA_INCDIR = "$(LUA_INCDIR)",
    INSTALL_CMOD = "$(LIBDIR)",
    INSTALL_LMOD = "$(LUADIR)",
    -- the manual page, made by lua5.4 (the command's Lua; none: no page,
    -- a warning), into the rock's own folder: share/man/man1/proxyshard.1.
    -- LuaRocks deploys bin, lua and lib into the tree, no man folder
    -- (docs/setup.md: MANPATH)
    PROXYSHARD_MAN = "ON",
  },
  install = {
    -- installed as they are: each finds the rock's modules next to itself
    bin = { ["proxyshard-sandbox"] = "bin/proxyshard-sandbox", proxyshard = "bin/proxyshard" },
  },
}
deploy = {
  -- LuaRocks' wrapper would load luarocks.loader (its config, a shell, a
  -- manifest search per module) before the command's first line: more than
  -- a whole read costs (scripts/bench.sh, start-up)
  wrap_bin_scripts = false,
}
-- `luarocks --lua-version=5.4 test rockspec/proxyshard-scm-1.rockspec` from
-- the checkout: the busted specs on Lua 5.4, against the C module built into
-- build/ by scripts/setup.sh --tests (which installs the test packages when
-- run as root). Extra arguments go to busted. A "command" test and no
-- test_dependencies: busted comes from Debian (lua-busted), and LuaRocks
-- would try to download it. The whole suite (the other Lua versions,
-- fuzzer, valgrind, ASan): scripts/test.sh.
test = {
  type = "command",
  command = "scripts/setup.sh --tests && lua5.4 /usr/bin/busted",
}
