--- A transport for nginx: an nginx subrequest (ngx.location.capture) to an
-- internal location that proxy_passes to the API. Non-blocking, and the
-- connection to the API is kept alive by an `upstream` block with
-- `keepalive`. Works in the rewrite, access and content phases.
--
-- The location receives the request's headers through variables (the
-- parent request's own headers must not reach the API). The variables are
-- declared in a location of their own: a `set` inside the proxying
-- location would run again in each subrequest and blank them. See the
-- README's OpenResty section for the whole configuration:
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
-- (a request for /user/api/me goes to /proxyshard/user/api/me).
function M.new(opts)
  local location = opts.location
  if type(location) ~= "string" or not location:find("^/") then
    error("proxyshard: subrequest_location must be a path such as \"/proxyshard\"", 3)
  end
  return setmetatable({ location = location:gsub("/+$", "") }, Transport)
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
  if res.truncated then
    -- the upstream connection broke mid-answer, or the answer did not fit
    -- subrequest_output_buffer_size
    return nil, { kind = "network", message = "the answer was cut short (HTTP " .. res.status .. ")",
      request_sent = true }
  end
  return { status = res.status, headers = normalize_headers(res.header), body = res.body or "" }
end

function Transport.close() end

return M
