--- lua-http (Debian's lua-http 0.4, over cqueues): one kept-alive HTTP/1.1
-- connection (http.client.connect), a new stream per request, the body
-- read whole, then cjson.decode. Used outside a cqueues loop, its calls
-- block, as a script's would.
--   usage: lua5.4 bench/luahttp.lua URL N TOTAL WARMUP
-- Debian packages lua-http for Lua 5.1-5.3; it runs on 5.4 from those
-- directories (as the sandbox does: lua/proxyshard/sandbox/server.lua).
package.path = package.path .. ";/usr/share/lua/5.3/?.lua;/usr/share/lua/5.3/?/init.lua"
  .. ";/usr/share/lua/5.2/?.lua;/usr/share/lua/5.2/?/init.lua"
local lib = require "lib"
local http_client = require "http.client"
local http_headers = require "http.headers"
local cqueues = require "cqueues"
local cjson = require "cjson"

local url, n, total, warmup = lib.args()
local host, port, path = lib.split(url)
local conn = assert(http_client.connect { host = host, port = port, tls = false, version = 1.1 })
local authority = host .. ":" .. port

local function step()
  local h = http_headers.new()
  h:append(":method", "GET")
  h:append(":scheme", "http")
  h:append(":authority", authority)
  h:append(":path", path)
  h:append("accept", "application/json")
  h:append("user-agent", "proxyshard-lua/bench (lua-http)")
  h:append("authorization", "Bearer bench-token")
  local stream, err = conn:new_stream()
  if not stream then return nil, err end
  local ok
  ok, err = stream:write_headers(h, true, 30)
  if not ok then return nil, err end
  local got
  got, err = stream:get_headers(30)
  if not got then return nil, err end
  local body
  body, err = stream:get_body_as_string(30)
  if not body then return nil, err end
  local status = got:get(":status")
  if status ~= "200" then return nil, "status " .. tostring(status) end
  return cjson.decode(body) ~= nil
end

lib.run(step, cqueues.monotime, n, total, warmup)
