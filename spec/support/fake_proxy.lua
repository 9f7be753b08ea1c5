-- A fake proxy for the specs, run as a separate lua5.4 process (LuaSocket,
-- lua-cjson, LuaSec for --tls). HTTP: forwards an absolute-form request
-- (then closes), opens a CONNECT tunnel; SOCKS4/4a and SOCKS5 without
-- authentication. One connection at a time. Appends a JSON line per
-- connection to its log:
-- { kind = "http", line, headers = { {name, value}... } } or
-- { kind = "socks4"/"socks5", host, port, atyp }.
--   lua5.4 spec/support/fake_proxy.lua LOG [--reject] [--tls CERT KEY]
-- Prints "port=N" once listening on 127.0.0.1. --reject answers 403 to HTTP
-- (CONNECT included) and refuses SOCKS. Used by spec/proxy_spec.lua and
-- spec/fault_matrix_spec.lua.
local socket = require "socket"
local cjson = require "cjson"

local log_path = assert(arg[1])
local reject, tls_cert, tls_key = false, nil, nil
local i = 2
while arg[i] do
  if arg[i] == "--reject" then reject = true; i = i + 1
  elseif arg[i] == "--tls" then tls_cert, tls_key = arg[i + 1], arg[i + 2]; i = i + 3
  else error("unknown argument " .. arg[i]) end
end

local ssl, ssl_ctx
if tls_cert then
  ssl = require "ssl"
  ssl_ctx = assert(ssl.newcontext { mode = "server", protocol = "any", key = tls_key, certificate = tls_cert })
end

local function record(entry)
  local f = assert(io.open(log_path, "a"))
  f:write(cjson.encode(entry), "\n")
  f:close()
end

-- Copies bytes both ways until one side closes or 5 s of silence.
local function relay(a, b)
  a:settimeout(0)
  b:settimeout(0)
  local peer = { [a] = b, [b] = a }
  while true do
    local ready = socket.select({ a, b }, nil, 5)
    if #ready == 0 then return end
    for _, s in ipairs(ready) do
      repeat
        local data, err, partial = s:receive(8192)
        data = data or partial
        if data and #data > 0 then
          local other = peer[s]
          other:settimeout(5)
          other:send(data)
          other:settimeout(0)
        end
        if err == "closed" then return end
      until not (s.dirty and s:dirty())
    end
  end
end

-- The names this proxy resolves itself, whatever the machine's resolver
-- says (a minimal root may have no /etc/hosts): for the specs where the
-- proxy, not the client, resolves the name (socks4a, socks5h).
local NAMES = { ["upstream.proxyshard.test"] = "127.0.0.1" }

local function upstream(host, port)
  local up = socket.tcp()
  up:settimeout(2)
  if not up:connect(NAMES[host] or host, port) then up:close(); return nil end
  up:settimeout(5)
  return up
end

local function socks5(c)
  c:receive(c:receive(1):byte())              -- the offered methods
  c:send("\5\0")                              -- no authentication
  local atyp = c:receive(4):byte(4)           -- VER CMD RSV ATYP
  local host
  if atyp == 1 then host = ("%d.%d.%d.%d"):format(c:receive(4):byte(1, 4))
  elseif atyp == 3 then host = c:receive(c:receive(1):byte())
  else c:close(); return end
  local p = c:receive(2)
  local port = p:byte(1) * 256 + p:byte(2)
  record { kind = "socks5", atyp = atyp, host = host, port = port }
  local up = not reject and upstream(host, port)
  if not up then c:send("\5\2\0\1\0\0\0\0\0\0"); c:close(); return end
  c:send("\5\0\0\1\0\0\0\0\0\0")
  relay(c, up)
  up:close()
  c:close()
end

local function socks4(c)
  local req = c:receive(7)                    -- CMD PORT IP
  local port = req:byte(2) * 256 + req:byte(3)
  local host, atyp = ("%d.%d.%d.%d"):format(req:byte(4, 7)), "ip"
  repeat local ch = c:receive(1) until ch == nil or ch == "\0"   -- user id
  if host:match("^0%.0%.0%.[1-9]") then       -- SOCKS4a: a name follows
    local name = {}
    while true do
      local ch = c:receive(1)
      if ch == nil or ch == "\0" then break end
      name[#name + 1] = ch
    end
    host, atyp = table.concat(name), "name"
  end
  record { kind = "socks4", atyp = atyp, host = host, port = port }
  local up = not reject and upstream(host, port)
  if not up then c:send("\0\91\0\0\0\0\0\0"); c:close(); return end
  c:send("\0\90\0\0\0\0\0\0")
  relay(c, up)
  up:close()
  c:close()
end

local function read_head(s)
  local line = s:receive("*l")
  if not line then return nil end
  local headers, length, chunked = {}, 0, false
  while true do
    local h = s:receive("*l")
    if not h or h == "" then break end
    local name, value = h:match("^([^:]+):%s*(.-)%s*$")
    if name then
      headers[#headers + 1] = { name, value }
      if name:lower() == "content-length" then length = tonumber(value) end
      if name:lower() == "transfer-encoding" and value:lower():find("chunked") then chunked = true end
    end
  end
  return line, headers, length, chunked
end

local function read_body(s, length, chunked)
  if not chunked then return length > 0 and s:receive(length) or "" end
  local out = {}
  while true do
    local size_line = s:receive("*l")
    out[#out + 1] = size_line .. "\r\n"
    local n = tonumber(size_line:match("^%x+"), 16)
    if n == 0 then out[#out + 1] = s:receive("*l") .. "\r\n"; break end
    out[#out + 1] = s:receive(n) .. s:receive("*l") .. "\r\n"
  end
  return table.concat(out)
end

local HOP = { ["proxy-connection"] = true, ["proxy-authorization"] = true, connection = true }

local function http(c, first)
  local line, headers, length, chunked = read_head(c)
  if not line then c:close(); return end
  line = first .. line
  record { kind = "http", line = line, headers = headers }
  if reject then
    c:send("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    c:close()
    return
  end
  local method, target, version = line:match("^(%u+) (%S+) (HTTP/%d%.%d)$")
  if method == "CONNECT" then
    local host, port = target:match("^%[?([^%]]+)%]?:(%d+)$")
    local up = upstream(host, tonumber(port))
    if not up then c:send("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"); c:close(); return end
    c:send("HTTP/1.1 200 Connection established\r\n\r\n")
    relay(c, up)
    up:close()
    c:close()
    return
  end
  local body = read_body(c, length, chunked)
  local host, port, path = target:match("^http://([^:/]+):?(%d*)(/.*)$")
  local up = host and upstream(host, tonumber(port) or 80)
  if not up then c:send("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"); c:close(); return end
  local out = { method .. " " .. path .. " " .. version .. "\r\n" }
  for _, h in ipairs(headers) do
    if not HOP[h[1]:lower()] then out[#out + 1] = h[1] .. ": " .. h[2] .. "\r\n" end
  end
  out[#out + 1] = "Connection: close\r\n\r\n"
  out[#out + 1] = body
  up:send(table.concat(out))
  local status, rheaders, rlength, rchunked = read_head(up)
  local rbody = status and read_body(up, rlength, rchunked) or ""
  up:close()
  if not status then c:close(); return end
  local back = { status .. "\r\n" }
  for _, h in ipairs(rheaders) do
    if h[1]:lower() ~= "connection" then back[#back + 1] = h[1] .. ": " .. h[2] .. "\r\n" end
  end
  back[#back + 1] = "Connection: close\r\n\r\n"
  back[#back + 1] = rbody
  c:send(table.concat(back))
  c:close()
end

local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(0.5)
local _, port = server:getsockname()
io.stdout:write("port=", port, "\n")
io.stdout:flush()

local deadline = socket.gettime() + 120
while socket.gettime() < deadline do
  local c = server:accept()
  if c then
    c:settimeout(5)
    if ssl_ctx then
      local w = assert(ssl.wrap(c, ssl_ctx))
      w:settimeout(5)
      if w:dohandshake() then c = w else w:close(); c = nil end
    end
    if c then
      local first = c:receive(1)
      if first == "\5" then socks5(c)
      elseif first == "\4" then socks4(c)
      elseif first then http(c, first)
      else c:close() end
    end
  end
end
