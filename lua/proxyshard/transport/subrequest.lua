--- A transport for nginx: an nginx subrequest (ngx.location.capture) to an
-- internal location that proxy_passes to the API. Non-blocking, and the
-- connection to the API is kept alive by an `upstream` block with
-- `keepalive`. Works in the rewrite, access and content phases.
--
-- Time: nginx bounds the attempt, not req.timeout. A subrequest cannot be
-- cut short from Lua (ngx.thread.kill refuses a thread waiting on one), and
-- proxy_*_timeout take no variables. What bounds it (docs/transport.md):
-- proxy_connect_timeout the connect and TLS handshake; proxy_send_timeout
-- each write of the request; proxy_read_timeout the wait from the request
-- sent to the end of the answer's headers (bytes arriving do not re-arm
-- it), then each gap between two reads of the body. An answer that arrives,
-- however late, is returned as it is.
--
-- Size: ngx.location.capture keeps the whole answer in memory whatever
-- subrequest_output_buffer_size says; max_response_bytes is checked after.
--
-- The location receives the request's headers through variables (the
-- parent request's own headers must not reach the API). The variables are
-- declared in a location of their own: a `set` inside the proxying
-- location would run again in each subrequest and blank them. See the
-- docs/nginx.md for the whole configuration:
--
--   location /proxyshard/ {
--     internal;
--     proxy_pass_request_headers off;
--     proxy_set_header Authorization $proxyshard_authorization;
--     proxy_set_header User-Agent $proxyshard_user_agent;
--     proxy_set_header Content-Type $proxyshard_content_type;
--     proxy_set_header Accept application/json;
--     proxy_http_version 1.1; proxy_set_header Connection "";
--     proxy_next_upstream off;             # never resend a POST
--     proxy_connect_timeout 10s;           # <= the client's connect_timeout
--     proxy_send_timeout 30s;              # <= the client's timeout
--     proxy_read_timeout 30s;              # <= the client's timeout
--     proxy_pass https://proxyshard_api/;  # an upstream with keepalive
--   }
--   location = /proxyshard-variables {
--     internal;
--     set $proxyshard_authorization ""; set $proxyshard_user_agent "";
--     set $proxyshard_content_type "";
--     return 404;
--   }
local ngx = ngx -- luacheck: ignore (the nginx global)

local normalize_headers = require "proxyshard.transport.headers"

local setmetatable = setmetatable
local pairs = pairs
local type = type
local lower = string.lower
local format = string.format

local M = {}

-- The phases where ngx.location.capture is allowed.
M.PHASES = { rewrite = true, access = true, content = true }

local METHODS = {
  GET = "HTTP_GET", POST = "HTTP_POST", PUT = "HTTP_PUT", PATCH = "HTTP_PATCH", DELETE = "HTTP_DELETE",
}

-- Request headers travel as variables named after them.
local HEADER_VARS = {
  authorization = "proxyshard_authorization",
  ["user-agent"] = "proxyshard_user_agent",
  ["content-type"] = "proxyshard_content_type",
}

local Transport = { __name = "proxyshard.transport.subrequest" }
Transport.__index = Transport

--- opts.location: the internal location's prefix, e.g. "/proxyshard"
-- (a request for /user/api/me goes to /proxyshard/user/api/me);
-- opts.max_response_bytes.
function M.new(opts)
  local location = opts.location
  if type(location) ~= "string" or not location:find("^/") then
    error("proxyshard: subrequest_location must be a path such as \"/proxyshard\"", 3)
  end
  return setmetatable({ location = (location:gsub("/+$", "")), max_response_bytes = opts.max_response_bytes },
    Transport)
end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- res.truncated: nginx did not see the end of the answer. Its own 504 is
-- a proxy_*_timeout that fired; a 1xx, nginx's proxy module taking an
-- interim answer (103 Early Hints) for the final one and waiting in vain
-- for its body; anything else, the upstream connection broke.
local function cut_short(status, seconds)
  if status == 504 then
    return { kind = "timeout", request_sent = true, message = format("no complete answer after %.3g s: a "
      .. "proxy_*_timeout of the subrequest location fired (HTTP 504 from nginx)", seconds) }
  end
  if status >= 100 and status < 200 then
    return { kind = "network", request_sent = true, message = format("the answer was cut short (HTTP %d: "
      .. "nginx's proxy module took an interim answer for the final one)", status) }
  end
  return { kind = "network", message = "the answer was cut short (HTTP " .. status .. ")", request_sent = true }
end

function Transport:request(req)
  -- only the path and query of req.url: the location decides the host
  local path = req.url:match("^https?://[^/]+(/.*)$") or "/"
  -- every variable gets a value ("" sends no header), so nginx never
  -- reads one uninitialised
  local vars = { proxyshard_authorization = "", proxyshard_user_agent = "", proxyshard_content_type = "" }
  for _, line in pairs(req.headers) do
    local name, value = line:match("^([^:]+):%s*(.*)$")
    local var = name and HEADER_VARS[lower(name)]
    if var then vars[var] = value end
  end
  local started = now()
  local res = ngx.location.capture(self.location .. path, {
    method = ngx[METHODS[req.method]],
    body = req.body,
    vars = vars,
    -- the parent's body is the parent's business
    always_forward_body = false,
  })
  if not res then
    return nil, { kind = "network", message = "subrequest failed", request_sent = true }
  end
  local seconds = now() - started
  if res.truncated then return nil, cut_short(res.status, seconds) end
  local body = res.body or ""
  local cap = self.max_response_bytes
  if cap and #body > cap then
    return nil, { kind = "too_large", request_sent = true,
      message = format("the answer is larger than max_response_bytes (%d): %d bytes", cap, #body) }
  end
  -- late or not: a real answer is never turned into an error
  return { status = res.status, headers = normalize_headers(res.header), body = body, total_time = seconds }
end

function Transport.close() end

return M
