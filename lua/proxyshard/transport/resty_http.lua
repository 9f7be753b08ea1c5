--- A transport for nginx over lua-resty-http (`require "resty.http"`), on
-- cosockets: non-blocking, with its connection pool for keep-alive. Works
-- in every phase that has cosockets (rewrite, access, content, timer, …).
-- Follows lua-resty-http's documented request_uri API. It never resends a
-- request by itself.
--
-- TLS: verification is on (ssl_verify = true); nginx checks the chain
-- against `lua_ssl_trusted_certificate`, so the client's ca_file option
-- does not apply here.
local normalize_headers = require "proxyshard.transport.headers"

local setmetatable = setmetatable
local pairs = pairs
local type = type
local find = string.find
local floor = math.floor

local M = {}

-- The phases where cosockets work.
M.PHASES = { rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true }

local Transport = { __name = "proxyshard.transport.resty_http" }
Transport.__index = Transport

--- The lua-resty-http module, or nil when it is not installed.
function M.library()
  local ok, http = pcall(require, "resty.http")
  if ok and type(http) == "table" and type(http.new) == "function" then return http end
  return nil
end

--- opts: keepalive_timeout (ms, default 60000), keepalive_pool (default
-- 16), max_response_bytes.
function M.new(opts)
  local http = M.library()
  if not http then
    error("proxyshard: transport \"resty\" needs lua-resty-http (require \"resty.http\" failed)", 3)
  end
  return setmetatable({
    http = http,
    keepalive_timeout = opts.keepalive_timeout or 60000,
    keepalive_pool = opts.keepalive_pool or 16,
    max_response_bytes = opts.max_response_bytes,
  }, Transport)
end

local function ms(seconds)
  return floor(seconds * 1000 + 0.5)
end

-- request_uri reports failures as text. Only a failure to connect proves
-- the request never left; everything else may have reached the server.
local function failure(err)
  err = err or "unknown error"
  if err == "timeout" then
    return { kind = "timeout", message = "timeout", request_sent = true }
  end
  local never_sent = find(err, "connection refused", 1, true) or find(err, "no resolver", 1, true)
    or find(err, "failed to resolve", 1, true) or find(err, "could not be resolved", 1, true)
  if find(err, "handshake", 1, true) or find(err, "certificate", 1, true) then
    return { kind = "tls", message = err, request_sent = false }
  end
  return { kind = "network", message = err, request_sent = not never_sent }
end

function Transport:request(req)
  local httpc = self.http.new()
  local connect = ms(req.connect_timeout)
  local total = ms(req.timeout)
  httpc:set_timeouts(connect, total, total)
  local headers = {}
  for _, line in pairs(req.headers) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  local res, err = httpc:request_uri(req.url, {
    method = req.method,
    headers = headers,
    body = req.body,
    ssl_verify = true,
    keepalive_timeout = self.keepalive_timeout,
    keepalive_pool = self.keepalive_pool,
  })
  if not res then return nil, failure(err) end
  if self.max_response_bytes and res.body and #res.body > self.max_response_bytes then
    return nil, { kind = "too_large", message = "response body larger than max_response_bytes ("
      .. self.max_response_bytes .. ")", request_sent = true }
  end
  return { status = res.status, headers = normalize_headers(res.headers), body = res.body or "" }
end

function Transport.close() end

return M
