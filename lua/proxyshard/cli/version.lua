--- `proxyshard version`: the version of proxyshard, of the Lua running it,
-- and of the libcurl proxyshard.core is linked with and that libcurl's
-- TLS library (as curl_version_info says at run time, not the headers it
-- was built with). `proxyshard --version` prints the first line only, and
-- loads neither libcurl nor the library (M.line: proxyshard.cli.parser).
--
--   $ proxyshard version
--   proxyshard 0.1.0
--   Lua 5.4
--   libcurl 7.88.1 (TLS: OpenSSL/3.0.15)
-- @module proxyshard.cli.version
local format = string.format

local M = {}

--- "proxyshard 0.1.0" (proxyshard.version).
function M.line()
  return "proxyshard " .. require("proxyshard.version")
end

--- What Lua runs the command: _VERSION, and LuaJIT's own version on
-- LuaJIT.
function M.lua()
  local jit = rawget(_G, "jit")
  if type(jit) == "table" and type(jit.version) == "string" then
    return format("%s (%s)", _VERSION, jit.version)
  end
  return _VERSION
end

--- The versions: { version, lua, libcurl, tls }, and the message of why
-- proxyshard.core could not be loaded (nil when it was). `core` defaults
-- to proxyshard.core. libcurl's or its TLS library's version is
-- "unknown" when the module does not say (an older build of it).
function M.info(core)
  local why
  if core == nil then
    local ok, loaded = pcall(require, "proxyshard.core")
    if ok then core = loaded else core, why = {}, tostring(loaded):match("^[^\n]*") end
  end
  return {
    version = require("proxyshard.version"),
    lua = M.lua(),
    libcurl = core.curl_version or "unknown",
    tls = core.curl_ssl_version or "unknown",
  }, why
end

--- The text of `info`: one line each.
function M.text(info)
  return format("proxyshard %s\n%s\nlibcurl %s (TLS: %s)", info.version, info.lua, info.libcurl, info.tls)
end

--- The command (see proxyshard.cli.commands).
M.command = {
  name = "version",
  summary = "the versions of proxyshard, of Lua, and of libcurl and its TLS library (--version: proxyshard's only)",
  usage = "proxyshard version",
}

function M.command.configure(cmd)
  cmd:epilog("libcurl's version and its TLS library's are those of the libcurl loaded at run time "
    .. "(curl_version_info). With --json: { version, lua, libcurl, tls }.")
end

function M.command.run(ctx)
  local info, why = M.info()
  if why then
    ctx:err("proxyshard: warning: proxyshard.core (libcurl) cannot be loaded: " .. why .. "\n")
  end
  return ctx:result("version", info, M.text(info))
end

return M
