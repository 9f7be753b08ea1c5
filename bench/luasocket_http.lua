--- LuaSocket's own HTTP client, socket.http.request, as a script would
-- call it: it opens a new connection for every request (it sends
-- "Connection: close"; LuaSocket has no keep-alive), the body into an
-- ltn12 table sink, then cjson.decode.
--   usage: lua5.4 bench/luasocket_http.lua URL N TOTAL WARMUP
local lib = require "lib"
local socket = require "socket"
local http = require "socket.http"
local ltn12 = require "ltn12"
local cjson = require "cjson"

local url, n, total, warmup = lib.args()
local headers = { accept = "application/json", ["user-agent"] = "proxyshard-lua/bench (socket.http)",
  authorization = "Bearer bench-token" }
local concat = table.concat

local function step()
  local parts = {}
  local ok, status = http.request { url = url, headers = headers, sink = ltn12.sink.table(parts) }
  if not ok then return nil, status end
  if status ~= 200 then return nil, "status " .. tostring(status) end
  return cjson.decode(concat(parts)) ~= nil
end

lib.run(step, socket.gettime, n, total, warmup)
