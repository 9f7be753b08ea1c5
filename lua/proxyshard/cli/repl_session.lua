--- What `proxyshard repl` loads into Lua's interactive loop: the globals
-- proxyshard, money, help and client. Not for scripts: it sets globals.
-- The client comes from the environment the command passes on
-- (proxyshard.cli.repl): the token from PROXYSHARD_REPL_TOKEN_FILE (a
-- temporary one is removed once read) or PROXYSHARD_TOKEN, the base URL
-- from PROXYSHARD_BASE_URL.
-- @module proxyshard.cli.repl_session
local proxyshard = require "proxyshard"
local money = require "proxyshard.money"
local help = require "proxyshard.help"

local getenv = os.getenv

local function token()
  local file = getenv("PROXYSHARD_REPL_TOKEN_FILE")
  if file and file ~= "" then
    local f = io.open(file, "r")
    local line = f and f:read("l")
    if f then f:close() end
    if getenv("PROXYSHARD_REPL_TOKEN_FILE_TEMP") == "1" then os.remove(file) end
    return line and line:match("^%s*(.-)%s*$")
  end
  return getenv("PROXYSHARD_TOKEN")
end

local client, why
local t = token()
if t and t ~= "" then
  local ok, made = pcall(proxyshard.new, {
    token = t, base_url = getenv("PROXYSHARD_BASE_URL"), timeout = tonumber(getenv("PROXYSHARD_REPL_TIMEOUT") or ""),
  })
  if ok then client = made else why = tostring(made) end
else
  why = "no token (PROXYSHARD_TOKEN or --token-file)"
end

-- Lua's loop prints results through the global print: ours redacts the
-- client's token in every spelling, whatever is printed (a model, a field,
-- a string the server echoed).
if client then
  local redactor = require("proxyshard.engine.call").redactor(client)
  local select, concat = select, table.concat
  rawset(_G, "print", function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = redactor(tostring((select(i, ...)))) end
    io.stdout:write(concat(parts, "\t"), "\n")
  end)
end

rawset(_G, "proxyshard", proxyshard)
rawset(_G, "money", money)
help.global()
rawset(_G, "client", client)

io.stdout:write(("proxyshard %s: proxyshard, money, help and client are loaded; %s.\n"):format(proxyshard._VERSION,
  client and ("client is the " .. tostring(client)) or ("client is nil: " .. why)))
io.stdout:write("help() lists every call, help(obj) describes one object; results print by themselves.\n")

return client
