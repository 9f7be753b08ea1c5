--- `proxyshard repl`: Lua 5.4's own interactive loop (line editing and
-- history from readline, as Debian builds lua5.4), started with
-- proxyshard, money, help and a `client` made from the command's options
-- already loaded (proxyshard.cli.repl_session).
--
-- The token never goes on the new interpreter's command line: it inherits
-- PROXYSHARD_TOKEN from the environment, or is told the path of the token
-- file; a token read from standard input or given with --token goes
-- through a temporary file only this user can read, which the session
-- removes as soon as it has read it.
-- @module proxyshard.cli.repl
local M = {}

local format = string.format
local concat = table.concat

--- The text quoted for a POSIX shell, as one word.
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- The interpreter running us (arg's lowest index: `lua5.4`, or the path
-- a LuaRocks wrapper gives).
function M.interpreter()
  local a = rawget(_G, "arg")
  if type(a) ~= "table" or a[-1] == nil then return "lua5.4" end
  local i = -1
  while a[i - 1] ~= nil do i = i - 1 end
  return a[i]
end

M.SESSION = "proxyshard.cli.repl_session"

--- The shell command that starts the session, and the temporary file to
-- remove afterwards (or nil).
function M.command_line(ctx, args, sys)
  local token, source, err = ctx:token()
  if err then return nil, err end
  local env = {
    "LUA_PATH_5_4=" .. M.quote(package.path),
    "LUA_CPATH_5_4=" .. M.quote(package.cpath),
  }
  local base_url = ctx:base_url()
  if base_url then env[#env + 1] = "PROXYSHARD_BASE_URL=" .. M.quote(base_url) end
  local timeout = (ctx.settings or {}).timeout or args.timeout -- the flag's, the environment's or the profile's
  if timeout then env[#env + 1] = "PROXYSHARD_REPL_TIMEOUT=" .. M.quote(timeout) end
  local temp
  if token and source == "--token-file" then
    env[#env + 1] = "PROXYSHARD_REPL_TOKEN_FILE=" .. M.quote(args.token_file)
  elseif token and source ~= "PROXYSHARD_TOKEN" then
    temp = os.tmpname() -- made by mkstemp: mode 0600
    local f = assert((sys.open or io.open)(temp, "w"))
    f:write(token, "\n")
    f:close()
    env[#env + 1] = "PROXYSHARD_REPL_TOKEN_FILE=" .. M.quote(temp)
    env[#env + 1] = "PROXYSHARD_REPL_TOKEN_FILE_TEMP=1"
  end
  local line = format("%s exec %s -e %s -i", concat(env, " "), M.quote(M.interpreter()),
    M.quote(format("require(%q)", M.SESSION)))
  return line, temp
end

M.command = {
  name = "repl",
  summary = "Lua 5.4's interactive loop with proxyshard, money, help() and a client loaded",
  usage = "proxyshard repl",
}

function M.command.configure(cmd)
  cmd:epilog("Globals: proxyshard, money (proxyshard.money), client (from the token and base URL options), "
    .. "help. Expressions print their results: `client:me()` is enough. help() lists every call, "
    .. "help(obj) describes an object, help(\"purchase\") one call.")
end

function M.command.run(ctx, args)
  local line, temp = M.command_line(ctx, args, ctx.sys)
  if not line then return ctx:fail(temp) end
  local ok, how, code = ctx.sys.execute(line)
  if temp then os.remove(temp) end -- the session removes it; this is for a session that never started
  if how == "exit" then return code end
  if ok == true then return 0 end
  return type(ok) == "number" and ok or 1
end

return M
