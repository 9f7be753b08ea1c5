--- LuaSocket: one kept-alive TCP connection, HTTP/1.1 by hand (socket.http
-- closes the connection after every request), the status line and headers
-- read line by line, the body by its Content-Length, then cjson.decode.
--   usage: lua5.4 bench/luasocket.lua URL N TOTAL WARMUP
local lib = require "lib"
local socket = require "socket"
local cjson = require "cjson"

local url, n, total, warmup = lib.args()
local host, port, path = lib.split(url)
local conn = assert(socket.connect(host, port))
conn:setoption("tcp-nodelay", true)
conn:settimeout(30)
local request = ("GET %s HTTP/1.1\r\nHost: %s:%d\r\nAccept: application/json\r\n"
  .. "User-Agent: proxyshard-lua/bench (LuaSocket)\r\nAuthorization: Bearer bench-token\r\n\r\n")
  :format(path, host, port)

local lower, match, tonumber = string.lower, string.match, tonumber

local function step()
  local _, err = conn:send(request)
  if err then return nil, err end
  local line
  line, err = conn:receive("*l")
  if not line then return nil, err end
  local status = tonumber(match(line, "^HTTP/1%.%d (%d%d%d)"))
  local length
  while true do
    line, err = conn:receive("*l")
    if not line then return nil, err end
    if line == "" then break end
    local name, value = match(line, "^([^:]+):%s*(.-)%s*$")
    if name and lower(name) == "content-length" then length = tonumber(value) end
  end
  if not length then return nil, "no Content-Length" end
  local body
  body, err = conn:receive(length)
  if not body then return nil, err end
  if status ~= 200 then return nil, "status " .. tostring(status) end
  return cjson.decode(body) ~= nil
end

lib.run(step, socket.gettime, n, total, warmup)
