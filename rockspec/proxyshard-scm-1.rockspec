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
(nil, err). Ships a local sandbox of the API (proxyshard-sandbox).
]],
  license = "MIT",
  labels = { "api", "http", "libcurl", "proxy" },
}
-- lua-cjson (and lua-http, for the sandbox) come from the system: Debian's
-- lua-cjson and lua-http packages. They are not listed as rock
-- dependencies so that `luarocks make` works offline against them.
dependencies = {
  "lua >= 5.1",
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
  },
}
test = {
  type = "command",
  command = "bash scripts/test.sh",
}
