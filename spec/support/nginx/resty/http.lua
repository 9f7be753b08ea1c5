--- TEST STAND-IN for lua-resty-http (github.com/ledgetech/lua-resty-http),
-- which Debian does not package. Used only by spec/nginx_spec.lua; never
-- install it. It implements exactly the part of lua-resty-http's documented
-- API that proxyshard.transport.resty_http uses:
--
--   local httpc = http.new()
--   httpc:set_timeouts(connect_ms, send_ms, read_ms)
--   local res, err = httpc:request_uri(uri, { method =, headers =, body =,
--     keepalive_timeout =, keepalive_pool =, ssl_verify = })
--   -- res = { status =, headers =, body = }, or nil and the socket's error
--
-- over an ngx.socket.tcp() cosocket (non-blocking), HTTP/1.1, plain
-- http:// only (no TLS), answers with a Content-Length or delimited by the
-- close (no chunked encoding), and the connection kept in the cosocket pool
-- with setkeepalive. Enough for the sandbox; nothing more.
local ngx = ngx -- luacheck: ignore (the nginx global)

local setmetatable = setmetatable
local pairs = pairs
local type = type
local tonumber = tonumber
local lower = string.lower
local concat = table.concat

local M = { _VERSION = "0.0.0-proxyshard-test-stand-in" }

local Http = {}
Http.__index = Http

function M.new()
  local sock, err = ngx.socket.tcp()
  if not sock then return nil, err end
  return setmetatable({ sock = sock }, Http)
end

function Http:set_timeouts(connect, send, read)
  self.sock:settimeouts(connect, send, read)
end

-- The value of a header, its name in any case.
local function header(headers, name)
  for k, v in pairs(headers) do
    if lower(k) == name then return v end
  end
end

local function fail(sock, err)
  sock:close()
  return nil, err
end

function Http:request_uri(uri, params)
  params = params or {}
  local scheme, host, port, path = uri:match("^(%a[%w+.-]*)://([^/:?#]+):?(%d*)([^#]*)")
  if not scheme then return nil, "bad uri: " .. uri end
  if lower(scheme) ~= "http" then return nil, "the lua-resty-http test stand-in speaks plain http only" end
  port = tonumber(port) or 80
  if path == "" then path = "/" end
  local sock = self.sock

  local ok, err = sock:connect(host, port)
  if not ok then return nil, err end

  local method = params.method or "GET"
  local body = params.body
  local lines = { method .. " " .. path .. " HTTP/1.1", "Host: " .. host .. ":" .. port }
  for name, value in pairs(params.headers or {}) do
    if lower(name) ~= "host" then lines[#lines + 1] = name .. ": " .. value end
  end
  if body and not header(params.headers or {}, "content-length") then
    lines[#lines + 1] = "Content-Length: " .. #body
  end
  lines[#lines + 1] = ""
  lines[#lines + 1] = body or ""
  ok, err = sock:send(concat(lines, "\r\n"))
  if not ok then return fail(sock, err) end

  local status_line
  status_line, err = sock:receive("*l")
  if not status_line then return fail(sock, err) end
  local version, status = status_line:match("^HTTP/(1%.[01]) (%d%d%d)")
  if not version then return fail(sock, "bad status line: " .. status_line) end
  status = tonumber(status)

  local headers = {}
  while true do
    local line
    line, err = sock:receive("*l")
    if not line then return fail(sock, err) end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then
      local old = headers[name]
      if old == nil then
        headers[name] = value
      elseif type(old) == "table" then
        old[#old + 1] = value
      else
        headers[name] = { old, value }
      end
    end
  end
  if header(headers, "transfer-encoding") then
    return fail(sock, "the lua-resty-http test stand-in does not read Transfer-Encoding")
  end

  local res_body, reusable = "", version == "1.1"
  local length = tonumber(header(headers, "content-length"))
  if method == "HEAD" or status == 204 or status == 304 or status < 200 then -- luacheck: ignore 542
    -- no body
  elseif length then
    if length > 0 then
      res_body, err = sock:receive(length)
      if not res_body then return fail(sock, err) end
    end
  else
    res_body, err = sock:receive("*a") -- up to the close
    if not res_body then return fail(sock, err) end
    reusable = false
  end

  local connection = header(headers, "connection")
  if reusable and not (type(connection) == "string" and lower(connection):find("close", 1, true)) then
    sock:setkeepalive(params.keepalive_timeout, params.keepalive_pool)
  else
    sock:close()
  end
  return { status = status, headers = headers, body = res_body }
end

return M
