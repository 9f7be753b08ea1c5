--- The default transport: libcurl through proxyshard.core.
-- One session (one libcurl easy handle) per transport, so consecutive
-- requests reuse the kept-alive connection. See docs/transport.md.
local core = require "proxyshard.core"

local setmetatable = setmetatable
local floor = math.floor

local M = {}

local Transport = { __name = "proxyshard.transport.curl" }
Transport.__index = Transport

local function ms(seconds)
  local n = floor(seconds * 1000 + 0.5)
  return n < 1 and 1 or n
end

--- opts: max_response_bytes, ca_file, proxy (a proxy URL, or nil for none: the environment's proxy
-- variables are never read here; see proxyshard.proxy), no_proxy.
function M.new(opts)
  local session = core.session {
    max_response_bytes = opts.max_response_bytes,
    ca_file = opts.ca_file,
    proxy = opts.proxy,
    no_proxy = opts.no_proxy,
  }
  return setmetatable({ session = session }, Transport)
end

-- libcurl's CURLE_COULDNT_RESOLVE_HOST
local COULDNT_RESOLVE_HOST = 6

--- One attempt, bounded as a whole by req.timeout (CURLOPT_TIMEOUT_MS
-- covers connect, send and the whole answer).
function Transport:request(req)
  local res, terr = self.session:perform {
    method = req.method,
    url = req.url,
    headers = req.headers,
    body = req.body,
    timeout_ms = req.timeout and ms(req.timeout),
    connect_timeout_ms = req.connect_timeout and ms(req.connect_timeout),
    no_resend = req.no_resend,
  }
  if terr and terr.code == COULDNT_RESOLVE_HOST then terr.resolve_failed = true end
  return res, terr
end

function Transport:close()
  self.session:close()
end

Transport.__close = Transport.close

function Transport.__tostring()
  return "proxyshard.transport.curl (" .. core.curl_version .. ")"
end

--- Name of what is underneath, for the User-Agent.
function M.describe()
  return "libcurl/" .. core.curl_version
end

return M
