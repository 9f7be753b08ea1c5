-- LuaRocks configuration to build the rock on Debian, offline:
--   LUAROCKS_CONFIG=rockspec/debian-config.lua luarocks --lua-version=5.4 make rockspec/proxyshard-scm-1.rockspec
-- lua-cjson, a run-time dependency of the rock, comes from Debian's lua-cjson
-- package (apt), which LuaRocks does not see: without this it would look for
-- the lua-cjson rock on a rock server, and fail offline. (--deps-mode=none
-- also builds, but LuaRocks 3.8 then writes the proxyshard-sandbox wrapper
-- without the tree's paths.) It replaces ~/.luarocks/config-5.4.lua for that
-- one command; /etc/luarocks/config-5.4.lua still applies.
rocks_provided = {
  ["lua-cjson"] = "2.1.0-1", -- Debian 12: lua-cjson 2.1.0+dfsg
}
